import { useState } from 'preact/hooks';
import { describeError, fieldErrors } from '../api';
import { useApp } from '../app';
import { isValidAmount, normaliseAmount } from '../money';
import type { RoomState } from '../room';
import type { Auction, CounterOffer } from '../types';

/** Runs one action at a time and keeps its error. */
function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { money } = useApp();
  async function run<T>(fn: () => Promise<T>, onDone: (v: T) => void) {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      onDone(await fn());
    } catch (e) {
      const fields = fieldErrors(e);
      setError(Object.values(fields)[0] ?? describeError(e, money));
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, run };
}

export function SellerDecision(props: { auction: Auction; state: RoomState; onDone: (a: Auction) => void }) {
  const { api, money } = useApp();
  const { busy, error, run } = useAction();
  const [amount, setAmount] = useState('');
  const [amountError, setAmountError] = useState<string | null>(null);
  const { state, auction } = props;

  if (state.counterOffer) {
    return (
      <div class="decision">
        <h2>Your decision</h2>
        <p>
          You offered the item at {money(state.counterOffer.amount)}:{' '}
          {state.counterOffer.status === 'pending' ? 'waiting for the buyer.' : state.counterOffer.status + '.'}
        </p>
      </div>
    );
  }

  const counter = (e: Event) => {
    e.preventDefault();
    if (!isValidAmount(amount)) {
      setAmountError('Enter the counter-offer amount, above the highest bid.');
      return;
    }
    setAmountError(null);
    run(() => api.decide(auction.id, 'counter', normaliseAmount(amount)), props.onDone);
  };

  return (
    <div class="decision" data-testid="decision-panel">
      <h2>Your decision</h2>
      <p>
        The auction ended with a highest bid of <strong>{money(state.highestBid?.amount)}</strong>.
      </p>
      {state.reserveMet === false && (
        <p class="warn" data-testid="decision-reserve-not-met">
          Reserve not met: the highest bid is below your reserve
          {auction.reservePrice ? ` of ${money(auction.reservePrice)}` : ''}. You may still accept, or make a counter
          offer.
        </p>
      )}
      <div class="actions">
        <button
          type="button"
          class="button-primary"
          disabled={busy}
          onClick={() => run(() => api.decide(auction.id, 'accept'), props.onDone)}
          data-testid="decision-accept"
        >
          Accept highest bid
        </button>
        <button
          type="button"
          class="button-danger"
          disabled={busy}
          onClick={() => run(() => api.decide(auction.id, 'reject'), props.onDone)}
          data-testid="decision-reject"
        >
          Reject
        </button>
      </div>
      <form class="form counter-form" onSubmit={counter}>
        <label class="field" for="counter-amount">
          <span>Counter-offer amount</span>
        </label>
        <div class="bid-row">
          <input
            id="counter-amount"
            name="counterAmount"
            type="text"
            inputMode="decimal"
            autoComplete="off"
            value={amount}
            onInput={(e) => setAmount(e.currentTarget.value)}
            aria-invalid={amountError ? true : undefined}
            aria-describedby={amountError ? 'counter-amount-error' : undefined}
            data-testid="decision-counter-amount"
          />
          <button type="submit" class="button-quiet" disabled={busy} data-testid="decision-counter">
            Send counter offer
          </button>
        </div>
        {amountError && (
          <p id="counter-amount-error" class="error">
            {amountError}
          </p>
        )}
      </form>
      {error && (
        <p class="error" role="alert" data-testid="decision-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function CounterResponse(props: { counter: CounterOffer; onDone: (a: Auction) => void }) {
  const { api, money } = useApp();
  const { busy, error, run } = useAction();
  return (
    <div class="decision" data-testid="counter-panel">
      <h2>Counter offer</h2>
      <p>
        The seller offers you the item for <strong>{money(props.counter.amount)}</strong>.
      </p>
      <div class="actions">
        <button
          type="button"
          class="button-primary"
          disabled={busy}
          onClick={() => run(() => api.respondToCounter(props.counter.id, 'accept'), props.onDone)}
          data-testid="counter-accept"
        >
          Accept counter offer
        </button>
        <button
          type="button"
          class="button-danger"
          disabled={busy}
          onClick={() => run(() => api.respondToCounter(props.counter.id, 'reject'), props.onDone)}
          data-testid="counter-reject"
        >
          Reject counter offer
        </button>
      </div>
      {error && (
        <p class="error" role="alert" data-testid="counter-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** The PDF needs the bearer token, so it is fetched as a blob and saved from an object URL. */
export function InvoiceLink({ auctionId }: { auctionId: string }) {
  const { api } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function download(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const blob = await api.invoice(auctionId);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `invoice-${auctionId}.pdf`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <p class="invoice">
      <a
        href={`#/auctions/${encodeURIComponent(auctionId)}`}
        onClick={download}
        aria-busy={busy}
        data-testid="invoice-link"
      >
        Download invoice
      </a>
      {busy && <span class="muted"> Preparing…</span>}
      {error && (
        <span class="error" role="alert">
          {' '}
          {error}
        </span>
      )}
    </p>
  );
}
