import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { describeError, fieldErrors, type CreateAuctionInput } from '../api';
import { useApp } from '../app';
import { localInputToIso, toLocalInput } from '../datetime';
import { auctionHref, navigate } from '../router';
import type { ShippingInput } from '../types';

type FormValues = Record<
  | 'itemName'
  | 'description'
  | 'startPrice'
  | 'bidIncrement'
  | 'goLiveAt'
  | 'durationMins'
  | 'reservePrice'
  | 'buyNowPrice'
  | 'softCloseSecs'
  | 'category'
  | 'shippingMethod'
  | 'shippingCost'
  | 'pickupCity',
  string
>;

function defaults(): FormValues {
  return {
    itemName: '',
    description: '',
    startPrice: '',
    bidIncrement: '',
    goLiveAt: toLocalInput(new Date(Date.now() + 5 * 60_000)),
    durationMins: '60',
    reservePrice: '',
    buyNowPrice: '',
    softCloseSecs: '',
    category: '',
    shippingMethod: 'ship',
    shippingCost: '',
    pickupCity: '',
  };
}

/** The `shipping` member from the form's three fields (none when no method is chosen). */
export function toShipping(v: Pick<FormValues, 'shippingMethod' | 'shippingCost' | 'pickupCity'>): ShippingInput | null {
  if (v.shippingMethod === 'ship') {
    return v.shippingCost.trim() ? { method: 'ship', cost: v.shippingCost.trim() } : { method: 'ship' };
  }
  if (v.shippingMethod === 'pickup') {
    return v.pickupCity.trim() ? { method: 'pickup', pickupCity: v.pickupCity.trim() } : { method: 'pickup' };
  }
  return null;
}

/** Builds the request from the form; the server validates, so values go as typed. */
export function toCreateInput(v: FormValues): CreateAuctionInput {
  const num = (s: string) => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s.trim());
  const input: CreateAuctionInput = {
    itemName: v.itemName.trim(),
    description: v.description.trim(),
    startPrice: v.startPrice.trim(),
    bidIncrement: v.bidIncrement.trim(),
    goLiveAt: localInputToIso(v.goLiveAt) ?? v.goLiveAt,
    durationMins: num(v.durationMins) as number,
  };
  if (v.reservePrice.trim()) input.reservePrice = v.reservePrice.trim();
  if (v.buyNowPrice.trim()) input.buyNowPrice = v.buyNowPrice.trim();
  if (v.softCloseSecs.trim()) input.softCloseSecs = num(v.softCloseSecs) as number;
  if (v.category.trim()) input.category = v.category.trim().toLowerCase();
  const shipping = toShipping(v);
  if (shipping) input.shipping = shipping;
  return input;
}

export function CreateAuction() {
  const { api, me, userId } = useApp();
  const [values, setValues] = useState<FormValues>(defaults);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (!userId) {
    return (
      <section class="card narrow">
        <h1>New auction</h1>
        <p>
          <a href="#/login">Sign in</a> as a seller to create an auction.
        </p>
      </section>
    );
  }
  if (me && me.role !== 'seller' && me.role !== 'admin') {
    return (
      <section class="card narrow" data-testid="start-selling-first">
        <h1>New auction</h1>
        <p>Anyone can sell: tell buyers who you are and where you sell from, then list your first item.</p>
        <p>
          <a class="button-link button-primary" href="#/sell" data-testid="start-selling-link">
            Start selling
          </a>
        </p>
      </section>
    );
  }

  const set = (k: keyof FormValues) => (e: Event) => {
    const value = (e.currentTarget as HTMLInputElement).value;
    setValues((v) => ({ ...v, [k]: value }));
  };

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      const auction = await api.createAuction(toCreateInput(values));
      navigate(auctionHref(auction.id));
    } catch (err) {
      // `shipping.cost` and `shipping.method` are the form's shippingCost and shippingMethod.
      const { cost, method, ...byField } = fieldErrors(err);
      if (cost) byField.shippingCost = cost;
      if (method) byField.shippingMethod = method;
      setErrors(byField);
      setFormError(Object.keys(byField).length ? 'Please correct the highlighted fields.' : describeError(err));
    } finally {
      setBusy(false);
    }
  }

  const field = (
    name: keyof FormValues,
    label: string,
    input: (common: Record<string, unknown>) => ComponentChildren,
    hint?: string,
  ) => {
    const id = `create-${name}`;
    const err = errors[name];
    const describedBy = [hint ? `${id}-hint` : '', err ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
    return (
      <div class={`field${err ? ' field-invalid' : ''}`}>
        <label for={id}>{label}</label>
        {input({
          id,
          name,
          value: values[name],
          onInput: set(name),
          'aria-invalid': err ? true : undefined,
          'aria-describedby': describedBy,
          'data-testid': `create-${name}`,
        })}
        {hint && (
          <small id={`${id}-hint`} class="hint">
            {hint}
          </small>
        )}
        {err && (
          <small id={`${id}-error`} class="error field-error" data-testid={`error-${name}`} data-field={name}>
            {err}
          </small>
        )}
      </div>
    );
  };

  const moneyInput = { type: 'text', inputMode: 'decimal', autoComplete: 'off', placeholder: '0.00' } as const;
  const otherErrors = Object.entries(errors).filter(([k]) => !(k in values));

  return (
    <section class="card">
      <h1>New auction</h1>
      <form class="form form-grid" onSubmit={submit} noValidate data-testid="create-form">
        {field('itemName', 'Item name', (c) => (
          <input type="text" required {...c} />
        ))}
        {field('description', 'Description', (c) => (
          <textarea rows={4} {...c} />
        ))}
        {field('startPrice', 'Start price', (c) => (
          <input {...moneyInput} required {...c} />
        ))}
        {field('bidIncrement', 'Bid increment', (c) => (
          <input {...moneyInput} required {...c} />
        ))}
        {field(
          'goLiveAt',
          'Goes live at',
          (c) => (
            <input type="datetime-local" required {...c} />
          ),
          'Your local time; stored in UTC.',
        )}
        {field('durationMins', 'Duration (minutes)', (c) => (
          <input type="number" min={1} step={1} inputMode="numeric" required {...c} />
        ))}
        {field(
          'category',
          'Category',
          (c) => (
            <input type="text" maxLength={40} autoComplete="off" placeholder="e.g. clocks" {...c} />
          ),
          'Optional: lowercase letters, digits and hyphens.',
        )}
        <fieldset class="optional" data-testid="create-shipping">
          <legend>Delivery</legend>
          {field('shippingMethod', 'How the buyer gets it', (c) => (
            <select {...c} onChange={c.onInput as (e: Event) => void}>
              <option value="ship">I ship it</option>
              <option value="pickup">The buyer picks it up</option>
            </select>
          ))}
          {values.shippingMethod === 'ship' &&
            field(
              'shippingCost',
              'Shipping cost',
              (c) => (
                <input {...moneyInput} {...c} />
              ),
              'Charged to the buyer; leave empty for free shipping.',
            )}
          {values.shippingMethod === 'pickup' &&
            field('pickupCity', 'Pickup city', (c) => (
              <input type="text" maxLength={100} autoComplete="address-level2" {...c} />
            ))}
        </fieldset>
        <fieldset class="optional">
          <legend>Optional rules</legend>
          {field(
            'reservePrice',
            'Reserve price',
            (c) => (
              <input {...moneyInput} {...c} />
            ),
            'Hidden from bidders; they only see whether it is met.',
          )}
          {field(
            'buyNowPrice',
            'Buy-now price',
            (c) => (
              <input {...moneyInput} {...c} />
            ),
            'A bid at this price wins at once.',
          )}
          {field(
            'softCloseSecs',
            'Soft close (seconds)',
            (c) => (
              <input type="number" min={0} max={600} step={1} inputMode="numeric" {...c} />
            ),
            'A late bid extends the end by this much (0–600).',
          )}
        </fieldset>
        {formError && (
          <div class="error" role="alert" data-testid="create-error">
            <p>{formError}</p>
            {otherErrors.length > 0 && (
              <ul>
                {otherErrors.map(([k, m]) => (
                  <li key={k}>
                    {k}: {m}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <div class="actions">
          <button type="submit" class="button-primary" disabled={busy} data-testid="create-submit">
            {busy ? 'Creating…' : 'Create auction'}
          </button>
          <a href="#/" class="button-quiet">
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
