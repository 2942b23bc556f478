// The countdown follows the server's clock, never the browser's: a browser clock can be minutes
// off, and bids are judged by the server. Each sample pairs a server timestamp with the local
// times the request left and the reply arrived; the sample with the smallest round trip bounds
// the error best (NTP's rule), so that one wins.

export interface ClockSample {
  /** serverTime − local time at the reply's midpoint (ms). */
  offset: number;
  /** Round-trip time (ms); Infinity when the send time is unknown. */
  rtt: number;
}

export function makeSample(serverTimeIso: string, receivedAt: number, sentAt?: number): ClockSample | null {
  const server = Date.parse(serverTimeIso);
  if (Number.isNaN(server)) return null;
  if (sentAt === undefined || sentAt > receivedAt) {
    return { offset: server - receivedAt, rtt: Number.POSITIVE_INFINITY };
  }
  const rtt = receivedAt - sentAt;
  return { offset: server - (sentAt + rtt / 2), rtt };
}

/** Offset of the smallest-RTT sample; 0 when there is none yet. */
export function bestOffset(samples: readonly ClockSample[]): number {
  let best: ClockSample | null = null;
  for (const s of samples) if (!best || s.rtt < best.rtt) best = s;
  return best ? best.offset : 0;
}

/**
 * Keeps the most recent samples (so a drifting clock is followed) and exposes the best offset.
 * Listeners are told whenever the offset changes.
 */
export class ServerClock {
  private samples: ClockSample[] = [];
  private listeners = new Set<() => void>();
  offset = 0;
  synced = false;

  constructor(private readonly keep = 8) {}

  add(sample: ClockSample | null): void {
    if (!sample) return;
    this.samples.push(sample);
    if (this.samples.length > this.keep) this.samples.shift();
    const next = bestOffset(this.samples);
    const changed = next !== this.offset || !this.synced;
    this.offset = next;
    this.synced = true;
    if (changed) this.listeners.forEach((l) => l());
  }

  now(localNow: number = Date.now()): number {
    return serverNow(localNow, this.offset);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function serverNow(localNow: number, offset: number): number {
  return localNow + offset;
}

/** Milliseconds from server-now until the ISO time (never negative). */
export function remainingMs(targetIso: string | null | undefined, serverNowMs: number): number {
  if (!targetIso) return 0;
  const t = Date.parse(targetIso);
  if (Number.isNaN(t)) return 0;
  return Math.max(0, t - serverNowMs);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** 3723000 -> "1:02:03"; 65000 -> "01:05"; 90061000 -> "1d 01:01:01". Rounds up to whole seconds. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (days > 0) return `${days}d ${pad(h)}:${pad(m)}:${pad(s)}`;
  if (h > 0) return `${h}:${pad(m)}:${pad(s)}`;
  return `${pad(m)}:${pad(s)}`;
}

export interface CountdownView {
  label: string;
  ms: number;
  /** true in the last minute of a live auction, for emphasis. */
  urgent: boolean;
}

/** What the countdown says for an auction in a given status at a given server time. */
export function countdownFor(
  status: string,
  goLiveAt: string | null | undefined,
  endsAt: string | null | undefined,
  serverNowMs: number,
): CountdownView {
  if (status === 'scheduled') {
    const ms = remainingMs(goLiveAt, serverNowMs);
    return { label: ms > 0 ? `Starts in ${formatDuration(ms)}` : 'Starting…', ms, urgent: false };
  }
  if (status === 'live') {
    // Past endsAt a live auction is closing, not ended: bids that arrived before the end may
    // still be judged for a moment (the server's grace), and the end event says how it went.
    const ms = remainingMs(endsAt, serverNowMs);
    return { label: ms > 0 ? `Ends in ${formatDuration(ms)}` : 'Closing…', ms, urgent: ms < 60_000 };
  }
  return { label: 'Ended', ms: 0, urgent: false };
}

/** A deadline after the hammer (decision, counter, offer, payment), by the server's clock. */
export function deadlineFor(untilIso: string | null | undefined, serverNowMs: number): CountdownView {
  const ms = remainingMs(untilIso, serverNowMs);
  return { label: ms > 0 ? `${formatDuration(ms)} left` : 'Time is up', ms, urgent: ms < 3_600_000 };
}
