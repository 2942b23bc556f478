import { useState } from 'preact/hooks';
import { describeError, fieldErrors } from '../api';
import { formatTime, useApp } from '../app';
import type { Address, Auction, DisputeReason, Shipping } from '../types';
import { ResolveForm } from './Disputes';
import { Deadline } from './ui';

/** The shipping terms in a few words: "Ships · ₹150.00", "Free shipping", "Pickup in Pune". */
export function shippingText(shipping: Shipping | undefined, money: (a: string) => string): string | null {
  if (!shipping) return null;
  if (shipping.method === 'pickup') return shipping.pickupCity ? `Pickup in ${shipping.pickupCity}` : 'Pickup';
  return shipping.cost && Number(shipping.cost) > 0 ? `Ships · ${money(shipping.cost)}` : 'Free shipping';
}

export function ShippingNote({ shipping, testId }: { shipping: Shipping | undefined; testId?: string }) {
  const { money } = useApp();
  const text = shippingText(shipping, money);
  if (!text) return null;
  return (
    <span class="shipping-note" data-testid={testId} data-method={shipping?.method}>
      {text}
    </span>
  );
}

function addressLines(a: Address): string {
  return [a.line1, a.line2, `${a.city} ${a.postalCode}`, a.state].filter(Boolean).join(', ');
}

/** One action at a time, its error kept (a field's message first). */
function useRun() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function run<T>(fn: () => Promise<T>, done: (v: T) => void) {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      done(await fn());
    } catch (e) {
      setError(Object.values(fieldErrors(e))[0] ?? describeError(e));
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, run };
}

/** A sale's way to its buyer: where it goes, the seller's shipment, the buyer's receipt. */
export function DeliveryPanel(props: {
  auction: Auction;
  isBuyer: boolean;
  isSeller: boolean;
  onDone: (a: Auction) => void;
}) {
  const { api } = useApp();
  const { busy, error, run } = useRun();
  const [carrier, setCarrier] = useState('');
  const [tracking, setTracking] = useState('');
  const a = props.auction;
  const d = a.delivery;
  if (!d || !a.payment) return null;
  const paid = a.payment.status === 'paid' || a.payment.status === 'confirmed';
  const method = a.shipping?.method;
  const canShip = props.isSeller && paid && method !== 'pickup' && !d.shippedAt;
  const canReceive = props.isBuyer && paid && !d.receivedAt && (method !== 'ship' || !!d.shippedAt);
  return (
    <div class="delivery" data-testid="delivery-panel">
      <h2>{method === 'pickup' ? 'Pickup' : 'Delivery'}</h2>
      {d.address && (
        <p data-testid="delivery-address">
          <span class="muted">{method === 'ship' ? 'Ship to' : 'Buyer'}: </span>
          {addressLines(d.address)}
        </p>
      )}
      {d.shipBy && !d.shippedAt && <Deadline label="Ships within" until={d.shipBy} testId="ship-by" />}
      {d.shippedAt && (
        <p data-testid="shipment" data-tracking={d.trackingNumber ?? ''}>
          Shipped {formatTime(d.shippedAt)} with {d.carrier}, tracking number <strong>{d.trackingNumber}</strong>.
        </p>
      )}
      {d.receivedAt && (
        <p class="ok" data-testid="received">
          Received {formatTime(d.receivedAt)}.
        </p>
      )}
      {canShip && (
        <form
          class="form shipment-form"
          data-testid="shipment-form"
          onSubmit={(e) => {
            e.preventDefault();
            run(() => api.recordShipment(a.id, carrier.trim(), tracking.trim()), props.onDone);
          }}
        >
          <div class="field">
            <label for="ship-carrier">Carrier</label>
            <input id="ship-carrier" type="text" maxLength={100} value={carrier} onInput={(e) => setCarrier(e.currentTarget.value)} data-testid="ship-carrier" />
          </div>
          <div class="field">
            <label for="ship-tracking">Tracking number</label>
            <input id="ship-tracking" type="text" maxLength={100} value={tracking} onInput={(e) => setTracking(e.currentTarget.value)} data-testid="ship-tracking" />
          </div>
          <button type="submit" class="button-primary" disabled={busy} data-testid="ship-submit">
            Mark shipped
          </button>
        </form>
      )}
      {canReceive && (
        <button type="button" class="button-primary" disabled={busy} onClick={() => run(() => api.markReceived(a.id), props.onDone)} data-testid="mark-received">
          I received it
        </button>
      )}
      {error && (
        <p class="error" role="alert" data-testid="delivery-error">
          {error}
        </p>
      )}
    </div>
  );
}

const REASONS: Record<DisputeReason, string> = {
  not_received: 'Not received',
  not_as_described: 'Not as described',
};

/** A sale's dispute: the buyer opens it, the seller replies, an admin resolves it. */
export function DisputePanel(props: {
  auction: Auction;
  isBuyer: boolean;
  isSeller: boolean;
  isAdmin: boolean;
  onDone: () => void;
}) {
  const { api } = useApp();
  const { busy, error, run } = useRun();
  const [opening, setOpening] = useState(false);
  const [reason, setReason] = useState<DisputeReason>('not_received');
  const [detail, setDetail] = useState('');
  const [message, setMessage] = useState('');
  const a = props.auction;
  const dispute = a.dispute;
  const paid = a.payment?.status === 'paid' || a.payment?.status === 'confirmed';

  if (!dispute) {
    if (!props.isBuyer || a.status !== 'sold' || !paid) return null;
    return (
      <div class="dispute" data-testid="dispute-panel">
        {!opening ? (
          <button type="button" class="button-quiet" onClick={() => setOpening(true)} data-testid="dispute-open">
            Report a problem (open a dispute)…
          </button>
        ) : (
          <form
            class="form"
            data-testid="dispute-form"
            onSubmit={(e) => {
              e.preventDefault();
              run(() => api.openDispute(a.id, reason, detail.trim()), props.onDone);
            }}
          >
            <h2>Open a dispute</h2>
            <div class="field">
              <label for="dispute-reason">What went wrong</label>
              <select id="dispute-reason" value={reason} onChange={(e) => setReason(e.currentTarget.value as DisputeReason)} data-testid="dispute-reason">
                {Object.entries(REASONS).map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="dispute-detail">Tell us more</label>
              <textarea id="dispute-detail" rows={3} maxLength={2000} value={detail} onInput={(e) => setDetail(e.currentTarget.value)} data-testid="dispute-detail" />
            </div>
            <div class="actions">
              <button type="submit" class="button-danger" disabled={busy} data-testid="dispute-submit">
                Open the dispute
              </button>
              <button type="button" class="button-quiet" onClick={() => setOpening(false)}>
                Never mind
              </button>
            </div>
          </form>
        )}
        {error && (
          <p class="error" role="alert" data-testid="dispute-error">
            {error}
          </p>
        )}
      </div>
    );
  }

  return (
    <div class="dispute" data-testid="dispute-panel" data-status={dispute.status}>
      <h2>Dispute: {REASONS[dispute.reason].toLowerCase()}</h2>
      <p class="dispute-detail">
        <span class="muted">The buyer, {formatTime(dispute.openedAt)}: </span>
        {dispute.detail}
      </p>
      {dispute.replies.length > 0 && (
        <ul class="dispute-replies" data-testid="dispute-replies">
          {dispute.replies.map((r) => (
            <li key={r.id}>
              <span class="muted">The seller, {formatTime(r.createdAt)}: </span>
              {r.message}
            </li>
          ))}
        </ul>
      )}
      {dispute.status === 'resolved' ? (
        <p class={dispute.outcome === 'refund' ? 'warn' : 'ok'} data-testid="dispute-outcome" data-outcome={dispute.outcome}>
          Resolved {formatTime(dispute.resolvedAt)}:{' '}
          {dispute.outcome === 'refund'
            ? `refunded, the sale is void${dispute.creditNoteNumber ? ` (credit note ${dispute.creditNoteNumber})` : ''}`
            : 'the sale stands'}
          {dispute.resolutionNote ? `. ${dispute.resolutionNote}` : '.'}
        </p>
      ) : (
        <p class="muted">Open: an admin decides after hearing both sides.</p>
      )}
      {props.isSeller && dispute.status === 'open' && (
        <form
          class="form"
          data-testid="dispute-reply-form"
          onSubmit={(e) => {
            e.preventDefault();
            run(
              () => api.replyToDispute(a.id, message.trim()),
              () => {
                setMessage('');
                props.onDone();
              },
            );
          }}
        >
          <div class="field">
            <label for="dispute-message">Your reply</label>
            <textarea id="dispute-message" rows={3} maxLength={2000} value={message} onInput={(e) => setMessage(e.currentTarget.value)} data-testid="dispute-message" />
          </div>
          <button type="submit" class="button-primary" disabled={busy} data-testid="dispute-reply">
            Reply
          </button>
        </form>
      )}
      {props.isAdmin && dispute.status === 'open' && <ResolveForm auctionId={a.id} onDone={props.onDone} />}
      {error && (
        <p class="error" role="alert" data-testid="dispute-error">
          {error}
        </p>
      )}
    </div>
  );
}
