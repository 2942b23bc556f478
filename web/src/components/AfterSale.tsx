import { useEffect, useState } from 'preact/hooks';
import { describeError, fieldErrors, type PaymentAction } from '../api';
import { formatTime, useApp, useServerNow } from '../app';
import { isValidAmount, normaliseAmount } from '../money';
import type { RoomState } from '../room';
import type { AddressInput, Auction, CloseReason, CounterOffer, Offer, OfferList } from '../types';
import { Deadline } from './ui';

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
        {state.counterOffer.status === 'pending' && (
          <Deadline label="The buyer may answer for" until={state.counterOffer.expiresAt} testId="counter-expiry" />
        )}
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
      <Deadline label="Decide within" until={auction.decisionDeadline} testId="decision-deadline" />
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
      <Deadline label="Answer within" until={props.counter.expiresAt} testId="counter-expiry" />
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

// ---- after the hammer, complete ----

export const CLOSE_REASONS: Record<CloseReason, string> = {
  no_bids: 'nobody bid',
  rejected: 'the seller rejected the highest bid',
  counter_rejected: 'the counter offer was rejected',
  decision_expired: 'the seller did not decide in time',
  counter_expired: 'the counter offer expired unanswered',
  unpaid: 'the sale was voided: the payment never came',
  offer_declined: 'the second-chance offer was declined or expired',
  refunded: 'the sale was refunded after a dispute',
};

/** How the auction ended, in one line (what the room was told, or the REST view after a reload). */
export function Outcome({ state, isBuyer }: { state: RoomState; isBuyer: boolean }) {
  const { money } = useApp();
  const a = state.auction;
  const status = state.status ?? a?.status;
  if (status === 'closed_no_winner') {
    const reason = state.closeReason ?? a?.closeReason ?? null;
    return (
      <p class="muted" data-testid="close-reason" data-reason={reason ?? ''}>
        Closed without a winner{reason ? `: ${CLOSE_REASONS[reason] ?? reason}` : ''}.
      </p>
    );
  }
  if (status === 'sold') {
    const price = state.finalPrice ?? a?.finalPrice;
    const name = state.winnerName ?? a?.winnerName;
    const text =
      `Sold${isBuyer ? ' to you' : ''}${price ? ` for ${money(price)}` : ''}` +
      `${!isBuyer && name ? ` to ${name}` : ''}` +
      `${state.counterOffer?.status === 'accepted' ? ' (counter offer accepted)' : ''}`;
    return (
      <p class="ok" data-testid="sold-note">
        {text.endsWith('.') ? text : `${text}.`}
      </p>
    );
  }
  return null;
}

/** The bidder's answer to a second-chance offer, with its expiry on the server's clock. */
export function OfferResponse(props: { offer: Offer; onDone: (a: Auction) => void }) {
  const { api, money } = useApp();
  const { busy, error, run } = useAction();
  return (
    <div class="decision" data-testid="offer-panel">
      <h2>Second-chance offer</h2>
      <p>
        The auction closed without a sale, and the seller offers you the item at your own highest bid:{' '}
        <strong data-testid="offer-amount">{money(props.offer.amount)}</strong>.
      </p>
      <Deadline label="Answer within" until={props.offer.expiresAt} testId="offer-expiry" />
      <div class="actions">
        <button
          type="button"
          class="button-primary"
          disabled={busy}
          onClick={() => run(() => api.respondToOffer(props.offer.id, 'accept'), props.onDone)}
          data-testid="offer-accept"
        >
          Buy it for {money(props.offer.amount)}
        </button>
        <button
          type="button"
          class="button-danger"
          disabled={busy}
          onClick={() => run(() => api.respondToOffer(props.offer.id, 'reject'), props.onDone)}
          data-testid="offer-reject"
        >
          No, thanks
        </button>
      </div>
      {error && (
        <p class="error" role="alert" data-testid="offer-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** The seller's second-chance panel: the pending offer, or the other bidders with their highest bids. */
export function SecondChance(props: { auction: Auction; refreshSeq: number; onOffered: () => void }) {
  const { api, money } = useApp();
  const { busy, error, run } = useAction();
  const [list, setList] = useState<OfferList | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [seq, setSeq] = useState(0);
  const id = props.auction.id;

  useEffect(() => {
    let cancelled = false;
    api
      .listOffers(id)
      .then((l) => !cancelled && (setList(l), setLoadError(null)))
      .catch((e) => !cancelled && setLoadError(describeError(e)));
    return () => {
      cancelled = true;
    };
  }, [api, id, seq, props.refreshSeq]);

  if (loadError) return <p class="error">{loadError}</p>;
  if (!list) return <p class="muted">Loading the other bidders…</p>;
  const pending = list.items.find((o) => o.status === 'pending');
  const history = list.items.filter((o) => o.status !== 'pending');
  return (
    <div class="decision second-chance" data-testid="second-chance-panel">
      <h2>Second chance</h2>
      {pending ? (
        <>
          <p data-testid="offer-pending">
            Offered to a bidder at {money(pending.amount)}: waiting for their answer.
          </p>
          <Deadline label="They may answer for" until={pending.expiresAt} testId="offer-expiry" />
        </>
      ) : list.candidates.length === 0 ? (
        <p class="muted">No other bidder is left to offer the item to.</p>
      ) : (
        <>
          <p>Offer the item to another bidder, at their own highest bid:</p>
          <ul class="candidates" data-testid="offer-candidates">
            {list.candidates.map((c) => (
              <li key={c.bidderId} class="candidate" data-testid="offer-candidate" data-bidder-id={c.bidderId}>
                <span>
                  {c.bidderName} · highest bid <strong>{money(c.amount)}</strong>
                </span>
                <button
                  type="button"
                  class="button-quiet"
                  disabled={busy}
                  aria-label={`Offer the item to ${c.bidderName} for ${money(c.amount)}`}
                  onClick={() =>
                    run(
                      () => api.makeOffer(id, c.bidderId),
                      () => {
                        setSeq((n) => n + 1);
                        props.onOffered();
                      },
                    )
                  }
                  data-testid="offer-send"
                >
                  Offer at {money(c.amount)}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {history.length > 0 && (
        <ul class="offer-history small muted">
          {history.map((o) => (
            <li key={o.id}>
              Offer at {money(o.amount)}: {o.status}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="error" role="alert" data-testid="second-chance-error">
          {error}
        </p>
      )}
    </div>
  );
}

const PAYMENT_LABELS: Record<string, string> = {
  pending: 'not paid yet',
  paid: 'marked paid by the buyer',
  confirmed: 'confirmed by the seller',
  unpaid: 'reported unpaid',
  refunded: 'refunded after a dispute',
};

/** The payment of a sale, with the buttons each party may press now. */
export function PaymentPanel(props: {
  auction: Auction;
  isBuyer: boolean;
  isSeller: boolean;
  onDone: (a: Auction) => void;
}) {
  const { api, clock, money } = useApp();
  const { busy, error, run } = useAction();
  const [paying, setPaying] = useState(false);
  const now = useServerNow(clock, 1000);
  const payment = props.auction.payment;
  if (!payment) return null;
  const due = Date.parse(payment.dueAt);
  const overdue = !Number.isNaN(due) && now >= due;
  const open = payment.status === 'pending' || payment.status === 'paid';
  const act = (action: PaymentAction) => run(() => api.payment(props.auction.id, action), props.onDone);
  const ships = props.auction.shipping?.method === 'ship';
  return (
    <div class="payment" data-testid="payment-panel">
      <h2>Payment</h2>
      <p>
        Payment: <strong data-testid="payment-status" data-status={payment.status}>{PAYMENT_LABELS[payment.status]}</strong>
        {open && <span class="muted"> · due {formatTime(payment.dueAt)}</span>}
      </p>
      {payment.totalDue && (
        <p data-testid="payment-total" data-amount={payment.totalDue}>
          Total due: <strong>{money(payment.totalDue)}</strong>{' '}
          <span class="muted small">(price, buyer's premium, shipping and tax: see the invoice)</span>
        </p>
      )}
      {open && !overdue && <Deadline label="Due in" until={payment.dueAt} testId="payment-due" />}
      {props.isBuyer && payment.status === 'pending' && paying && (
        <PaidForm
          ships={ships}
          busy={busy}
          onCancel={() => setPaying(false)}
          onSubmit={(extra) => run(() => api.payment(props.auction.id, 'mark_paid', extra), props.onDone)}
        />
      )}
      <div class="actions">
        {props.isBuyer && payment.status === 'pending' && !paying && (
          <button type="button" class="button-primary" disabled={busy} onClick={() => setPaying(true)} data-testid="payment-mark-paid">
            I have paid
          </button>
        )}
        {props.isSeller && open && (
          <button type="button" class="button-primary" disabled={busy} onClick={() => act('confirm')} data-testid="payment-confirm">
            Confirm payment received
          </button>
        )}
        {props.isSeller && open && overdue && (
          <button
            type="button"
            class="button-danger"
            disabled={busy}
            onClick={() => act('report_unpaid')}
            data-testid="payment-report-unpaid"
          >
            Report unpaid (voids the sale)
          </button>
        )}
      </div>
      {error && (
        <p class="error" role="alert" data-testid="payment-error">
          {error}
        </p>
      )}
    </div>
  );
}

/** The buyer's "I have paid": the delivery address (required when the item ships; else the
 * address the invoice names, optional) and a registered buyer's GSTIN. */
function PaidForm(props: {
  ships: boolean;
  busy: boolean;
  onCancel: () => void;
  onSubmit: (extra: { address?: AddressInput; gstin?: string }) => void;
}) {
  const [a, setA] = useState({ line1: '', line2: '', city: '', state: '', postalCode: '', gstin: '' });
  const input = (name: keyof typeof a, label: string, extra: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={`pay-${name}`}>{label}</label>
      <input
        id={`pay-${name}`}
        type="text"
        value={a[name]}
        onInput={(e) => {
          const value = e.currentTarget.value;
          setA((v) => ({ ...v, [name]: value }));
        }}
        data-testid={`pay-${name}`}
        {...extra}
      />
    </div>
  );
  const given = [a.line1, a.line2, a.city, a.state, a.postalCode].some((v) => v.trim());
  return (
    <form
      class="form paid-form"
      data-testid="paid-form"
      onSubmit={(e) => {
        e.preventDefault();
        const extra: { address?: AddressInput; gstin?: string } = {};
        if (props.ships || given) {
          extra.address = {
            line1: a.line1.trim(),
            line2: a.line2.trim() || null,
            city: a.city.trim(),
            state: a.state.trim(),
            postalCode: a.postalCode.trim(),
            country: 'IN',
          };
        }
        if (a.gstin.trim()) extra.gstin = a.gstin.trim();
        props.onSubmit(extra);
      }}
    >
      <p class="muted small">
        {props.ships
          ? 'Where should the seller ship it? Its state also decides the GST on your tax invoice.'
          : 'Your address for the invoice (optional).'}
      </p>
      {input('line1', 'Address', { autoComplete: 'address-line1' })}
      {input('line2', 'Address, line 2 (optional)', { autoComplete: 'address-line2' })}
      {input('city', 'City', { autoComplete: 'address-level2' })}
      {input('state', 'State', { autoComplete: 'address-level1' })}
      {input('postalCode', 'PIN code', { inputMode: 'numeric', maxLength: 6, autoComplete: 'postal-code' })}
      {input('gstin', 'Your GSTIN (optional, for a business)', { maxLength: 15, spellcheck: false })}
      <div class="actions">
        <button type="submit" class="button-primary" disabled={props.busy} data-testid="pay-submit">
          I have paid
        </button>
        <button type="button" class="button-quiet" onClick={props.onCancel}>
          Not yet
        </button>
      </div>
    </form>
  );
}

/** The PDF needs the bearer token, so it is fetched as a blob and saved from an object URL. */
export function InvoiceLink({ auctionId }: { auctionId: string }) {
  return <DocumentLink auctionId={auctionId} kind="invoice" label="Download invoice" />;
}

export function DocumentLink({
  auctionId,
  kind,
  label,
}: {
  auctionId: string;
  kind: 'invoice' | 'statement' | 'credit-note';
  label: string;
}) {
  const { api } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function download(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const blob = await api.document(auctionId, kind);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `${kind}-${auctionId}.pdf`;
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
        data-testid={`${kind}-link`}
      >
        {label}
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
