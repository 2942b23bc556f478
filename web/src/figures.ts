/**
 * The admin page's live figures: samples of the socket node's `/admin/metrics` (its Prometheus
 * registry as JSON) turned into points over the last minutes. Pure functions, no I/O.
 *
 * Counters and histograms are cumulative since the node started, so a latency quantile over
 * the last interval comes from the difference of two samples' buckets (as Prometheus's
 * `histogram_quantile(rate(...))` does); a node that restarted (its counts went down, or
 * another node answered) starts afresh.
 */

/** A histogram as the node sends it: cumulative buckets [upper bound (null: +Inf), count]. */
export interface Histogram {
  buckets: [number | null, number][];
  count: number;
  sum: number;
}

/** `/admin/metrics`: each family by name; labelled ones as { "label=value": number }. */
export interface NodeMetrics {
  nodeId: string;
  at: number;
  auction_ws_connections?: number;
  auction_ws_rooms?: number;
  auction_events_fanout_seconds?: Histogram;
  auction_ticker_lag_seconds?: Histogram;
  auction_outbox_pending?: number | Record<string, number>;
  auction_jobs_dead?: number;
  auction_ticker_overdue_seconds?: number | Record<string, number>;
  [family: string]: unknown;
}

export interface FigurePoint {
  at: number;
  connections: number | null;
  rooms: number | null;
  /** p99 of the fan-out latency over the interval before `at`, ms (null: no event). */
  fanoutP99Ms: number | null;
  /** Seconds: the worse of how late transitions fired in the interval (p99) and how long a
   * due transition has been waiting now. */
  tickerLagS: number | null;
  outboxPending: number | null;
  jobsDead: number | null;
}

export interface FiguresState {
  last: NodeMetrics | null;
  points: FigurePoint[];
}

export const WINDOW_MS = 10 * 60_000;
export const POLL_MS = 5_000;
export const EMPTY: FiguresState = { last: null, points: [] };

/** The `q` quantile of what was observed between two cumulative histograms: the upper bound
 * of the first bucket that holds it (null when nothing was observed; the largest finite bound
 * when it lies past them all). */
export function intervalQuantile(
  before: Histogram | undefined,
  now: Histogram | undefined,
  q: number,
): number | null {
  if (!now) return null;
  const base = before && before.buckets.length === now.buckets.length ? before : undefined;
  const total = now.count - (base?.count ?? 0);
  if (!(total > 0)) return null;
  const rank = q * total;
  let finite: number | null = null;
  for (let i = 0; i < now.buckets.length; i++) {
    const [le, cumulative] = now.buckets[i];
    const seen = cumulative - (base ? base.buckets[i][1] : 0);
    if (le !== null) finite = le;
    if (seen >= rank) return le ?? finite;
  }
  return finite;
}

/** A gauge that may be labelled: the sum over its labels (null when absent). */
export function total(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object') {
    const numbers = Object.values(value as Record<string, unknown>).filter(
      (v): v is number => typeof v === 'number',
    );
    return numbers.length ? numbers.reduce((a, b) => a + b, 0) : null;
  }
  return null;
}

/** The largest value over a gauge's labels (null when absent). */
export function largest(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object') {
    const numbers = Object.values(value as Record<string, unknown>).filter(
      (v): v is number => typeof v === 'number',
    );
    return numbers.length ? Math.max(...numbers) : null;
  }
  return null;
}

function restarted(before: NodeMetrics, now: NodeMetrics): boolean {
  if (before.nodeId !== now.nodeId) return true;
  const counts = ['auction_events_fanout_seconds', 'auction_ticker_lag_seconds'] as const;
  return counts.some((name) => (now[name]?.count ?? 0) < (before[name]?.count ?? 0));
}

/** One more sample: a point for the graphs, and points older than `windowMs` dropped. */
export function reduceFigures(
  state: FiguresState,
  sample: NodeMetrics,
  windowMs: number = WINDOW_MS,
): FiguresState {
  const before = state.last && !restarted(state.last, sample) ? state.last : undefined;
  const fanout = intervalQuantile(
    before?.auction_events_fanout_seconds,
    sample.auction_events_fanout_seconds,
    0.99,
  );
  const fired = intervalQuantile(before?.auction_ticker_lag_seconds, sample.auction_ticker_lag_seconds, 0.99);
  const waiting = largest(sample.auction_ticker_overdue_seconds);
  const lag = fired === null && waiting === null ? null : Math.max(fired ?? 0, waiting ?? 0);
  const point: FigurePoint = {
    at: sample.at,
    connections: typeof sample.auction_ws_connections === 'number' ? sample.auction_ws_connections : null,
    rooms: typeof sample.auction_ws_rooms === 'number' ? sample.auction_ws_rooms : null,
    fanoutP99Ms: fanout === null ? null : fanout * 1000,
    tickerLagS: lag,
    outboxPending: total(sample.auction_outbox_pending),
    jobsDead: typeof sample.auction_jobs_dead === 'number' ? sample.auction_jobs_dead : null,
  };
  const points = [...state.points, point].filter((p) => p.at > sample.at - windowMs);
  return { last: sample, points };
}

/** An SVG path through `values` (nulls leave gaps) on a width x height box, from 0 up to the
 * largest value (at least `floor`, so a flat line of zeros sits at the bottom). */
export function sparkPath(
  values: (number | null)[],
  width: number,
  height: number,
  floor = 1,
): string {
  const top = Math.max(floor, ...values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  let path = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    const x = (i * step).toFixed(1);
    const y = (height - (v / top) * height).toFixed(1);
    path += `${pen ? 'L' : 'M'}${x},${y}`;
    pen = true;
  });
  return path;
}
