import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, describeError, type Api, type BidBody } from '../api';
import { useApp } from '../app';
import { compareMoney, isValidAmount, normaliseAmount } from '../money';
import type { Bid } from '../types';
import { uuid } from '../uuid';

/** Failures where the server may not have seen (or finished) the request: retry with the same key. */
export function isRetryable(e: unknown): boolean {
  return e instanceof ApiError && (e.isNetwork || e.status === 502 || e.status === 503 || e.status === 504);
}

/** The server sent the bid on and heard nothing back: it may or may not be placed. */
export function isOutcomeUnknown(e: unknown): boolean {
  return e instanceof ApiError && (e.code === 'outcome_unknown' || e.isNetwork || e.status === 504);
}

const RETRY_DELAYS_MS = [400, 1200];
// An unknown outcome is worth more patience: the same key either returns the bid (it was
// placed) or places it once, so each retry is safe; Redis usually answers within seconds.
const UNKNOWN_OUTCOME_DELAYS_MS = [500, 1000, 2000, 4000];

/** Places a bid, retrying transient failures with the same Idempotency-Key so at most one bid is made. */
export async function placeBidWithRetry(
  api: Pick<Api, 'placeBid'>,
  auctionId: string,
  body: BidBody,
  key: string,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<Bid> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.placeBid(auctionId, body, key);
    } catch (e) {
      if (!isRetryable(e)) throw e;
      const delays = isOutcomeUnknown(e) ? UNKNOWN_OUTCOME_DELAYS_MS : RETRY_DELAYS_MS;
      if (attempt >= delays.length) throw e;
      const asked = e instanceof ApiError && e.retryAfter ? e.retryAfter * 1000 : 0;
      await sleep(Math.max(delays[attempt], asked));
    }
  }
}

export function BidBox(props: {
  auctionId: string;
  status: string;
  minNextBid: string | null;
  onPlaced: (bid: Bid) => void;
}) {
  const { api, money } = useApp();
  const [value, setValue] = useState(props.minNextBid ?? '');
  const [edited, setEdited] = useState(false);
  const [proxy, setProxy] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const inFlight = useRef(false);
  /** The key of an attempt whose outcome is unknown; reused when the same bid is submitted again. */
  const pending = useRef<{ key: string; body: string } | null>(null);

  // Follow the minimum unless the user typed a higher amount of their own.
  useEffect(() => {
    const min = props.minNextBid;
    if (!min) return;
    if (!edited || !isValidAmount(value) || compareMoney(value, min) < 0) {
      setValue(min);
      setEdited(false);
    }
  }, [props.minNextBid]);

  async function submit(e: Event) {
    e.preventDefault();
    if (inFlight.current) return;
    setDone(null);
    if (!isValidAmount(value)) {
      setError('Enter an amount such as 1250 or 1250.50.');
      return;
    }
    const amount = normaliseAmount(value);
    const body: BidBody = proxy ? { maxAmount: amount } : { amount };
    const bodyKey = JSON.stringify(body);
    if (!pending.current || pending.current.body !== bodyKey) pending.current = { key: uuid(), body: bodyKey };

    inFlight.current = true;
    setBusy(true);
    setError(null);
    try {
      const bid = await placeBidWithRetry(api, props.auctionId, body, pending.current.key);
      pending.current = null;
      setEdited(false);
      setDone(
        proxy
          ? `Maximum of ${money(amount)} set: we bid for you up to it.`
          : `Bid of ${money(bid?.amount ?? amount)} placed.`,
      );
      props.onPlaced(bid);
    } catch (err) {
      if (!isRetryable(err) && !(err instanceof ApiError && err.code === 'rate_limited')) pending.current = null;
      if (err instanceof ApiError && err.code === 'bid_too_low' && err.problem.minNextBid) {
        setValue(String(err.problem.minNextBid));
        setEdited(false);
      }
      setError(describeError(err, money));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  }

  return (
    <form class="form bid-form" onSubmit={submit} aria-busy={busy}>
      <h2>Place a bid</h2>
      {props.status === 'scheduled' && <p class="hint">Bidding opens when the auction goes live.</p>}
      <label class="field" for="bid-amount">
        <span>{proxy ? 'Your maximum' : 'Your bid'}</span>
      </label>
      <div class="bid-row">
        <input
          id="bid-amount"
          name="amount"
          type="text"
          inputMode="decimal"
          autoComplete="off"
          value={value}
          onInput={(e) => {
            setValue(e.currentTarget.value);
            setEdited(true);
          }}
          aria-describedby={error ? 'bid-error' : 'bid-hint'}
          aria-invalid={error ? true : undefined}
          data-testid="bid-input"
        />
        <button type="submit" class="button-primary" disabled={busy} data-testid="bid-submit">
          {busy ? 'Placing…' : proxy ? 'Set maximum' : 'Place bid'}
        </button>
      </div>
      <label class="check">
        <input
          type="checkbox"
          name="proxy"
          checked={proxy}
          onChange={(e) => setProxy(e.currentTarget.checked)}
          data-testid="bid-proxy-toggle"
        />
        <span>Proxy bid (maximum): bid for me up to this amount</span>
      </label>
      <p id="bid-hint" class="hint">
        Minimum next bid: {money(props.minNextBid)}
      </p>
      {error && (
        <p id="bid-error" class="error" role="alert" data-testid="bid-error">
          {error}
        </p>
      )}
      {done && (
        <p class="ok" role="status" data-testid="bid-success">
          {done}
        </p>
      )}
    </form>
  );
}
