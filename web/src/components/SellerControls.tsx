import { useState } from 'preact/hooks';
import { describeError } from '../api';
import { useApp } from '../app';
import type { Auction } from '../types';
import { toShipping } from './CreateAuction';

/** Watch / stop watching (signed-in viewers other than the seller). */
export function WatchButton({ auction, onChange }: { auction: Auction; onChange: () => void }) {
  const { api, me } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!me) return null;
  if (me.id === auction.sellerId) {
    // The seller cannot watch their own auction, but sees how many people do.
    const n = auction.watchers ?? 0;
    return (
      <span class="watch">
        <span class="muted small" data-testid="watchers">
          {n === 1 ? '1 person watches it' : `${n} people watch it`}
        </span>
      </span>
    );
  }
  const watching = !!auction.watching;
  return (
    <span class="watch">
      <button
        type="button"
        class="button-quiet"
        aria-pressed={watching}
        disabled={busy}
        data-testid="watch-button"
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await api.watch(auction.id, !watching);
            onChange();
          } catch (e) {
            setError(describeError(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {watching ? 'Watching ✓' : 'Watch'}
      </button>
      <span class="muted small" data-testid="watchers">
        {auction.watchers ?? 0} watching
      </span>
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

/** The seller's photos (while scheduled) and the cancel form (seller, or an admin). */
export function SellerControls({
  auction,
  status,
  bidCount,
  onChange,
}: {
  auction: Auction;
  status: string;
  bidCount: number;
  onChange: (next?: Auction) => void;
}) {
  const { api, me } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  if (!me) return null;
  const isSeller = me.id === auction.sellerId;
  const isAdmin = me.role === 'admin';
  const canEditPhotos = isSeller && status === 'scheduled';
  const canCancel =
    (isAdmin && status !== 'sold' && status !== 'cancelled') ||
    (isSeller && (status === 'scheduled' || (status === 'live' && bidCount === 0)));
  if (!canEditPhotos && !canCancel) return null;

  async function run(action: () => Promise<Auction | void>) {
    setBusy(true);
    setError(null);
    try {
      const next = await action();
      onChange(next || undefined);
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    } finally {
      setBusy(false);
    }
  }

  const images = auction.images ?? [];
  return (
    <section class="card seller-controls" aria-label="Seller controls">
      {canEditPhotos && <ShippingEditor auction={auction} busy={busy} run={run} />}
      {canEditPhotos && (
        <div class="photo-editor">
          <h2>Photos</h2>
          <ul class="photo-strip">
            {images.map((img, i) => (
              <li key={img.id}>
                <img src={img.thumbUrl} alt={`Photo ${i + 1}`} width={80} height={80} />
                <button
                  type="button"
                  class="button-quiet small"
                  aria-label={`Remove photo ${i + 1}`}
                  disabled={busy}
                  onClick={() => run(() => api.deleteImage(auction.id, img.id))}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
          {images.length < 8 && (
            <label class="file-pick">
              Add a photo (JPEG, PNG or WebP, up to 5 MB)
              <input
                type="file"
                accept="image/jpeg,image/png,image/webp"
                disabled={busy}
                data-testid="photo-input"
                onChange={async (e) => {
                  const input = e.currentTarget as HTMLInputElement;
                  const file = input.files?.[0];
                  if (file) await run(() => api.uploadImage(auction.id, file).then(() => undefined));
                  input.value = '';
                }}
              />
            </label>
          )}
        </div>
      )}
      {canCancel &&
        (confirming ? (
          <form
            class="form cancel-form"
            onSubmit={async (e) => {
              e.preventDefault();
              if (await run(() => api.cancelAuction(auction.id, reason.trim()))) setConfirming(false);
            }}
          >
            <label for="cancel-reason">Why are you cancelling it?</label>
            {/* One line: the reason goes into the bidders' notifications and emails, and the
                API refuses line breaks in it as it does in an item's name. */}
            <input
              id="cancel-reason"
              type="text"
              maxLength={500}
              required
              value={reason}
              onInput={(e) => setReason((e.currentTarget as HTMLInputElement).value)}
              data-testid="cancel-reason"
            />
            <div class="actions">
              <button type="submit" class="button-danger" disabled={busy || !reason.trim()} data-testid="cancel-confirm">
                Cancel the auction
              </button>
              <button type="button" class="button-quiet" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </div>
          </form>
        ) : (
          <button type="button" class="button-quiet" data-testid="cancel-auction" onClick={() => setConfirming(true)}>
            Cancel auction…
          </button>
        ))}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** The seller changes the delivery terms while the auction is scheduled. */
function ShippingEditor(props: {
  auction: Auction;
  busy: boolean;
  run: (action: () => Promise<Auction | void>) => Promise<boolean>;
}) {
  const { api } = useApp();
  const s = props.auction.shipping;
  const [values, setValues] = useState({
    shippingMethod: s?.method ?? 'ship',
    shippingCost: s?.cost ?? '',
    pickupCity: s?.pickupCity ?? '',
  });
  const set = (k: keyof typeof values) => (e: Event) => {
    const value = (e.currentTarget as HTMLInputElement).value;
    setValues((v) => ({ ...v, [k]: value }));
  };
  return (
    <form
      class="form shipping-editor"
      data-testid="shipping-editor"
      onSubmit={(e) => {
        e.preventDefault();
        props.run(() => api.editAuction(props.auction.id, { shipping: toShipping(values) }));
      }}
    >
      <h2>Delivery</h2>
      <div class="inline-field">
        <label for="edit-shipping-method">How the buyer gets it</label>
        <select id="edit-shipping-method" value={values.shippingMethod} onChange={set('shippingMethod')} data-testid="edit-shipping-method">
          <option value="ship">I ship it</option>
          <option value="pickup">The buyer picks it up</option>
        </select>
      </div>
      {values.shippingMethod === 'ship' ? (
        <div class="inline-field">
          <label for="edit-shipping-cost">Shipping cost (empty: free)</label>
          <input id="edit-shipping-cost" type="text" inputMode="decimal" value={values.shippingCost} onInput={set('shippingCost')} data-testid="edit-shipping-cost" />
        </div>
      ) : (
        <div class="inline-field">
          <label for="edit-pickup-city">Pickup city</label>
          <input id="edit-pickup-city" type="text" maxLength={100} value={values.pickupCity} onInput={set('pickupCity')} data-testid="edit-pickup-city" />
        </div>
      )}
      <button type="submit" class="button-quiet" disabled={props.busy} data-testid="edit-shipping-save">
        Save delivery
      </button>
    </form>
  );
}
