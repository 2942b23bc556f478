import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, describeError, fieldErrors } from '../api';
import { useApp } from '../app';
import { navigate } from '../router';
import type { SellerProfile, SellerProfileInput } from '../types';

type Values = Record<
  'displayName' | 'phone' | 'line1' | 'line2' | 'city' | 'state' | 'postalCode' | 'gstin',
  string
>;

const EMPTY: Values = {
  displayName: '',
  phone: '',
  line1: '',
  line2: '',
  city: '',
  state: '',
  postalCode: '',
  gstin: '',
};

function valuesOf(p: SellerProfile): Values {
  return {
    displayName: p.displayName,
    phone: p.phone,
    line1: p.address.line1,
    line2: p.address.line2 ?? '',
    city: p.address.city,
    state: p.address.state,
    postalCode: p.address.postalCode,
    gstin: p.gstin ?? '',
  };
}

/** The request from the form; the server checks every field (and names every problem at once). */
export function toProfileInput(v: Values, acceptTerms: boolean): SellerProfileInput {
  return {
    displayName: v.displayName.trim(),
    phone: v.phone.trim(),
    address: {
      line1: v.line1.trim(),
      line2: v.line2.trim() || null,
      city: v.city.trim(),
      state: v.state.trim(),
      postalCode: v.postalCode.trim(),
      country: 'IN',
    },
    gstin: v.gstin.trim() || null,
    acceptTerms,
  };
}

/** "Start selling": anyone signed in gives a seller's profile and becomes a seller. */
export function StartSelling() {
  const { api, me, userId, refreshMe } = useApp();
  const [values, setValues] = useState<Values>(EMPTY);
  const [terms, setTerms] = useState(false);
  const [existing, setExisting] = useState<SellerProfile | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!userId) return;
    let cancelled = false;
    api.sellerProfile().then(
      (p) => {
        if (cancelled) return;
        setExisting(p);
        setValues(valuesOf(p));
      },
      (e) => {
        if (!cancelled && !(e instanceof ApiError && e.status === 404)) setFormError(describeError(e));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [api, userId]);

  if (!userId) {
    return (
      <section class="card narrow">
        <h1>Start selling</h1>
        <p>
          <a href="#/login">Sign in</a> (or sign up) first: anyone with an account can sell.
        </p>
      </section>
    );
  }

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      const saved = await api.startSelling(toProfileInput(values, terms));
      setExisting(saved);
      refreshMe();
      navigate('#/new');
    } catch (err) {
      const byField = fieldErrors(err);
      setErrors(byField);
      setFormError(Object.keys(byField).length ? 'Please correct the highlighted fields.' : describeError(err));
    } finally {
      setBusy(false);
    }
  }

  const field = (name: keyof Values, label: string, input: Record<string, unknown>, hint?: ComponentChildren) => {
    const id = `sell-${name}`;
    const err = errors[name];
    return (
      <div class={`field${err ? ' field-invalid' : ''}`}>
        <label for={id}>{label}</label>
        <input
          id={id}
          name={name}
          type="text"
          value={values[name]}
          onInput={(e) => {
            const value = e.currentTarget.value;
            setValues((v) => ({ ...v, [name]: value }));
          }}
          aria-invalid={err ? true : undefined}
          aria-describedby={[hint ? `${id}-hint` : '', err ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined}
          data-testid={`sell-${name}`}
          {...input}
        />
        {hint && (
          <small id={`${id}-hint`} class="hint">
            {hint}
          </small>
        )}
        {err && (
          <small id={`${id}-error`} class="error field-error" data-testid={`sell-error-${name}`}>
            {err}
          </small>
        )}
      </div>
    );
  };

  const already = me?.role === 'seller' || me?.role === 'admin';
  return (
    <section class="card" data-testid="start-selling">
      <h1>{existing ? 'Your seller profile' : 'Start selling'}</h1>
      <p class="muted">
        {already && existing
          ? 'Buyers see this name, and your invoices print it with your address and GSTIN.'
          : 'Anyone can sell. Tell buyers who you are and where you sell from; you can list an auction right after.'}
      </p>
      <form class="form form-grid" onSubmit={submit} noValidate data-testid="sell-form">
        {field('displayName', 'Name buyers see', { required: true, maxLength: 100, autoComplete: 'organization' })}
        {field('phone', 'Phone', { required: true, inputMode: 'tel', autoComplete: 'tel' }, 'E.164, e.g. +919845012345')}
        <fieldset class="optional">
          <legend>Where you sell from</legend>
          {field('line1', 'Address', { required: true, autoComplete: 'address-line1' })}
          {field('line2', 'Address, line 2 (optional)', { autoComplete: 'address-line2' })}
          {field('city', 'City', { required: true, autoComplete: 'address-level2' })}
          {field('state', 'State', { required: true, autoComplete: 'address-level1' }, 'e.g. Karnataka, KA or 29')}
          {field('postalCode', 'PIN code', { required: true, inputMode: 'numeric', maxLength: 6, autoComplete: 'postal-code' })}
          <p class="hint">Country: India.</p>
        </fieldset>
        {field(
          'gstin',
          'GSTIN (optional)',
          { maxLength: 15, autoComplete: 'off', spellcheck: false },
          'Registered for GST? Your sales then get GST tax invoices.',
        )}
        <div class={`field checkbox${errors.acceptTerms ? ' field-invalid' : ''}`}>
          <label>
            <input
              type="checkbox"
              checked={terms}
              onChange={(e) => setTerms(e.currentTarget.checked)}
              data-testid="sell-accept-terms"
            />{' '}
            I accept the seller's terms: I describe items truthfully, ship (or hand over) what I sell, and answer
            disputes.
          </label>
          {errors.acceptTerms && <small class="error field-error">{errors.acceptTerms}</small>}
        </div>
        {formError && (
          <p class="error" role="alert" data-testid="sell-error">
            {formError}
          </p>
        )}
        <div class="actions">
          <button type="submit" class="button-primary" disabled={busy} data-testid="sell-submit">
            {busy ? 'Saving…' : existing ? 'Save profile' : 'Start selling'}
          </button>
        </div>
      </form>
    </section>
  );
}
