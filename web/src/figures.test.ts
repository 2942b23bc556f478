import { describe, expect, it } from 'vitest';
import {
  EMPTY,
  type Histogram,
  intervalQuantile,
  largest,
  type NodeMetrics,
  reduceFigures,
  sparkPath,
  total,
} from './figures';

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, null] as const;

function histogram(counts: number[]): Histogram {
  // counts per bucket (not cumulative) -> the cumulative form the node sends
  let running = 0;
  const buckets = BOUNDS.map((le, i) => {
    running += counts[i] ?? 0;
    return [le, running] as [number | null, number];
  });
  return { buckets, count: running, sum: 0 };
}

function sample(at: number, extra: Partial<NodeMetrics> = {}): NodeMetrics {
  return {
    nodeId: 'n1',
    at,
    auction_ws_connections: 3,
    auction_ws_rooms: 1,
    auction_outbox_pending: { 'store=postgresql': 2, 'store=redis': 5 },
    auction_jobs_dead: 0,
    auction_ticker_overdue_seconds: { 'moment=end': 0, 'moment=start': 0 },
    ...extra,
  };
}

describe('intervalQuantile', () => {
  it('reads the quantile from the buckets observed between two samples', () => {
    const before = histogram([100, 0, 0, 0, 0, 0]);
    const now = histogram([100, 90, 9, 1, 0, 0]); // this interval: 90, 9, 1
    expect(intervalQuantile(before, now, 0.5)).toBe(0.01);
    expect(intervalQuantile(before, now, 0.99)).toBe(0.025);
    expect(intervalQuantile(before, now, 1)).toBe(0.05);
  });

  it('is null when nothing was observed in the interval', () => {
    const h = histogram([5, 5, 0, 0, 0, 0]);
    expect(intervalQuantile(h, h, 0.99)).toBeNull();
    expect(intervalQuantile(undefined, undefined, 0.99)).toBeNull();
  });

  it('past every finite bound answers the largest one', () => {
    expect(intervalQuantile(undefined, histogram([0, 0, 0, 0, 0, 4]), 0.99)).toBe(0.1);
  });

  it('without an earlier sample uses everything since the start', () => {
    expect(intervalQuantile(undefined, histogram([1, 0, 0, 0, 3, 0]), 0.5)).toBe(0.1);
  });
});

describe('labelled gauges', () => {
  it('sums and maxes over labels, plain numbers as they are', () => {
    expect(total({ a: 2, b: 5 })).toBe(7);
    expect(largest({ a: 2, b: 5 })).toBe(5);
    expect(total(4)).toBe(4);
    expect(total(undefined)).toBeNull();
    expect(total({})).toBeNull();
  });
});

describe('reduceFigures', () => {
  it('turns samples into points with the fan-out p99 of each interval', () => {
    let state = reduceFigures(EMPTY, sample(0, { auction_events_fanout_seconds: histogram([10]) }));
    state = reduceFigures(
      state,
      sample(5_000, { auction_events_fanout_seconds: histogram([10, 0, 0, 0, 50, 0]) }),
    );
    expect(state.points).toHaveLength(2);
    const [first, second] = state.points;
    expect(first.fanoutP99Ms).toBe(5);
    expect(second.fanoutP99Ms).toBe(100); // only the 50 slow ones happened in this interval
    expect(second.connections).toBe(3);
    expect(second.rooms).toBe(1);
    expect(second.outboxPending).toBe(7);
    expect(second.jobsDead).toBe(0);
  });

  it('ticker lag is the worse of a late firing and a due transition still waiting', () => {
    const lag = histogram([0, 0, 0, 0, 1, 0]);
    let state = reduceFigures(EMPTY, sample(0, { auction_ticker_lag_seconds: lag }));
    expect(state.points[0].tickerLagS).toBe(0.1);
    state = reduceFigures(
      state,
      sample(5_000, {
        auction_ticker_lag_seconds: lag,
        auction_ticker_overdue_seconds: { 'moment=end': 42, 'moment=start': 0 },
      }),
    );
    expect(state.points[1].tickerLagS).toBe(42); // nothing fired; one end waits 42 s
  });

  it('keeps only the last minutes', () => {
    let state = EMPTY;
    for (let at = 0; at <= 20 * 60_000; at += 60_000) state = reduceFigures(state, sample(at));
    expect(state.points[0].at).toBe(11 * 60_000);
    expect(state.points.at(-1)!.at).toBe(20 * 60_000);
  });

  it('starts afresh when the node restarted or another node answered', () => {
    let state = reduceFigures(EMPTY, sample(0, { auction_events_fanout_seconds: histogram([0, 0, 0, 0, 100]) }));
    state = reduceFigures(state, sample(5_000, { auction_events_fanout_seconds: histogram([3]) }));
    expect(state.points[1].fanoutP99Ms).toBe(5); // not a negative difference
    state = reduceFigures(
      state,
      sample(10_000, { nodeId: 'n2', auction_events_fanout_seconds: histogram([3, 0, 0, 1]) }),
    );
    expect(state.points[2].fanoutP99Ms).toBe(50);
  });

  it('leaves a figure the node did not send as null', () => {
    const state = reduceFigures(EMPTY, { nodeId: 'n1', at: 1 });
    expect(state.points[0]).toMatchObject({
      connections: null,
      fanoutP99Ms: null,
      tickerLagS: null,
      outboxPending: null,
      jobsDead: null,
    });
  });
});

describe('sparkPath', () => {
  it('draws from the bottom up to the largest value, with gaps for nulls', () => {
    expect(sparkPath([0, 5, 10], 100, 20)).toBe('M0.0,20.0L50.0,10.0L100.0,0.0');
    expect(sparkPath([1, null, 1], 100, 20)).toBe('M0.0,0.0M100.0,0.0');
    expect(sparkPath([0, 0], 100, 20)).toBe('M0.0,20.0L100.0,20.0');
    expect(sparkPath([], 100, 20)).toBe('');
  });
});
