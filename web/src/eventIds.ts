// Event ids are opaque but increase within a room. Servers commonly use integers
// or Redis stream ids ("1700000000000-3"); both are compared numerically here, anything else as
// a plain string.

export type EventId = string | number;

const INT_RE = /^\d+$/;
const STREAM_RE = /^(\d+)-(\d+)$/;

function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** <0 when a is older than b, 0 when equal, >0 when newer. A missing b counts as oldest. */
export function compareEventId(a: EventId, b: EventId | null | undefined): number {
  if (b === null || b === undefined) return 1;
  const x = String(a);
  const y = String(b);
  if (INT_RE.test(x) && INT_RE.test(y)) return compareDigits(x, y);
  const mx = STREAM_RE.exec(x);
  const my = STREAM_RE.exec(y);
  if (mx && my) return compareDigits(mx[1], my[1]) || compareDigits(mx[2], my[2]);
  return x < y ? -1 : x > y ? 1 : 0;
}
