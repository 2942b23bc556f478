import { describe, expect, it } from 'vitest';
import { bestOffset, countdownFor, formatDuration, makeSample, remainingMs, ServerClock } from './clock';

const T0 = Date.parse('2025-01-01T12:00:00.000Z');

describe('clock samples', () => {
  it('takes the offset at the midpoint of the round trip', () => {
    // Sent at local 1000, reply at local 1200, server stamped T0: server is T0 - 1100 ahead.
    const s = makeSample(new Date(T0).toISOString(), 1200, 1000)!;
    expect(s.rtt).toBe(200);
    expect(s.offset).toBe(T0 - 1100);
  });

  it('without a send time uses the receipt time and an infinite RTT', () => {
    const s = makeSample(new Date(T0).toISOString(), 5000)!;
    expect(s.offset).toBe(T0 - 5000);
    expect(s.rtt).toBe(Infinity);
  });

  it('rejects an unparsable server time', () => {
    expect(makeSample('not a time', 1)).toBeNull();
  });

  it('prefers the smallest-RTT sample', () => {
    expect(
      bestOffset([
        { offset: 500, rtt: 900 },
        { offset: 120, rtt: 40 },
        { offset: 300, rtt: Infinity },
      ]),
    ).toBe(120);
    expect(bestOffset([])).toBe(0);
  });

  it('ServerClock follows the best of the recent samples and notifies', () => {
    const clock = new ServerClock(2);
    let calls = 0;
    clock.subscribe(() => calls++);
    clock.add({ offset: 1000, rtt: 10 });
    clock.add({ offset: 2000, rtt: 500 });
    expect(clock.offset).toBe(1000);
    expect(clock.now(0)).toBe(1000);
    // the rtt=10 sample falls out of the window of 2
    clock.add({ offset: 3000, rtt: 50 });
    expect(clock.offset).toBe(3000);
    expect(calls).toBe(2);
  });
});

describe('countdown math', () => {
  it('counts down by the server clock, not the local one', () => {
    const clock = new ServerClock();
    // Browser clock is 90 s behind the server.
    const localNow = T0 - 90_000;
    clock.add(makeSample(new Date(T0).toISOString(), localNow, localNow));
    const endsAt = new Date(T0 + 60_000).toISOString();
    expect(remainingMs(endsAt, clock.now(localNow))).toBe(60_000);
    // Trusting the browser clock would have said 2:30.
    expect(remainingMs(endsAt, localNow)).toBe(150_000);
  });

  it('never goes negative', () => {
    expect(remainingMs(new Date(T0).toISOString(), T0 + 5000)).toBe(0);
    expect(remainingMs(null, T0)).toBe(0);
  });

  it('formats durations, rounding up to whole seconds', () => {
    expect(formatDuration(65_000)).toBe('01:05');
    expect(formatDuration(64_001)).toBe('01:05');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatDuration(90_061_000)).toBe('1d 01:01:01');
    expect(formatDuration(-5)).toBe('00:00');
  });

  it('describes each status', () => {
    const goLive = new Date(T0 + 30_000).toISOString();
    const ends = new Date(T0 + 45_000).toISOString();
    expect(countdownFor('scheduled', goLive, ends, T0).label).toBe('Starts in 00:30');
    const live = countdownFor('live', goLive, ends, T0);
    expect(live.label).toBe('Ends in 00:45');
    expect(live.urgent).toBe(true);
    // past endsAt, until the end event comes: closing, not ended
    expect(countdownFor('live', goLive, ends, T0 + 50_000).label).toBe('Closing…');
    expect(countdownFor('sold', goLive, ends, T0).label).toBe('Ended');
  });
});
