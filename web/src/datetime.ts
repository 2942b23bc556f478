// <input type="datetime-local"> speaks local wall-clock time without a zone ("2025-01-31T14:05");
// the API speaks ISO 8601 UTC.

const pad = (n: number) => String(n).padStart(2, '0');

/** Date -> "YYYY-MM-DDTHH:mm" in the browser's time zone. */
export function toLocalInput(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "YYYY-MM-DDTHH:mm[:ss]" (local) -> ISO UTC, or null when it is not a valid local time. */
export function localInputToIso(value: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0));
  const date = new Date(y, mo - 1, d, h, mi, s || 0);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
