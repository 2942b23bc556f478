// Money arrives as decimal strings ("1250.00"). Arithmetic is done in integer paise/cents so
// that comparisons never suffer from binary floating point.

const formatters = new Map<string, Intl.NumberFormat>();

export function localeForCurrency(currency: string): string {
  return currency.toUpperCase() === 'INR' ? 'en-IN' : 'en-US';
}

function formatter(currency: string): Intl.NumberFormat {
  const key = currency.toUpperCase();
  let f = formatters.get(key);
  if (!f) {
    try {
      f = new Intl.NumberFormat(localeForCurrency(key), { style: 'currency', currency: key });
    } catch {
      // Unknown currency code in config: still show grouped numbers.
      f = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    }
    formatters.set(key, f);
  }
  return f;
}

/** "120000.00", "INR" -> "₹1,20,000.00". Empty / null / unparsable -> "—". */
export function formatMoney(amount: string | number | null | undefined, currency: string): string {
  if (amount === null || amount === undefined || amount === '') return '—';
  const n = typeof amount === 'number' ? amount : Number(amount);
  if (!Number.isFinite(n)) return '—';
  return formatter(currency).format(n);
}

const AMOUNT_RE = /^\d+(\.\d{1,2})?$/;

/** What the API accepts: a positive decimal with at most two fractional digits. */
export function isValidAmount(text: string): boolean {
  const t = text.trim();
  return AMOUNT_RE.test(t) && toCents(t) > 0;
}

/** "12.5" -> 1250. Returns NaN for anything that is not a plain non-negative decimal. */
export function toCents(amount: string | number): number {
  const text = typeof amount === 'number' ? amount.toFixed(2) : amount.trim();
  const m = /^(\d+)(?:\.(\d{0,2})\d*)?$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
}

/** Normalises user input ("1200", "1200.5") to the API's decimal-string form ("1200.00", "1200.50"). */
export function normaliseAmount(text: string): string {
  const cents = toCents(text);
  if (Number.isNaN(cents)) return text.trim();
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

export function compareMoney(a: string, b: string): number {
  return toCents(a) - toCents(b);
}
