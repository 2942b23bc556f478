import { useState } from 'preact/hooks';
import { Api, describeError } from '../api';
import { useApp } from '../app';
import { navigate } from '../router';
import type { Role } from '../types';

export function Login() {
  const { config, me, token, signOut } = useApp();

  if (token) {
    return (
      <section class="card narrow">
        <h1>Signed in</h1>
        <p>{me ? `You are signed in as ${me.name || me.email} (${me.role}).` : 'You are signed in.'}</p>
        <p class="actions">
          <a class="button-link" href="#/">
            Browse auctions
          </a>
          <button type="button" class="button-quiet" onClick={signOut}>
            Sign out
          </button>
        </p>
      </section>
    );
  }

  return (
    <section class="card narrow">
      <h1>Sign in</h1>
      {config.devLogin ? (
        <>
          <DevLoginForm />
          <details class="alt-login">
            <summary>Use an access token instead</summary>
            <TokenForm submitTestId="login-token-submit" />
          </details>
        </>
      ) : (
        <TokenForm submitTestId="login-submit" />
      )}
    </section>
  );
}

function DevLoginForm() {
  const { api, signIn } = useApp();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('buyer');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const { token } = await api.devLogin(email.trim(), name.trim(), role);
      signIn(token);
      navigate('#/');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="form" onSubmit={submit} aria-describedby="dev-login-hint">
      <p id="dev-login-hint" class="hint">
        Development sign-in: pick any email and a role.
      </p>
      <div class="field">
        <label for="login-email">Email</label>
        <input
          id="login-email"
          type="email"
          name="email"
          autoComplete="email"
          required
          value={email}
          onInput={(e) => setEmail(e.currentTarget.value)}
          data-testid="login-email"
        />
      </div>
      <div class="field">
        <label for="login-name">Name</label>
        <input
          id="login-name"
          type="text"
          name="name"
          autoComplete="name"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          data-testid="login-name"
        />
      </div>
      <div class="field">
        <label for="login-role">Role</label>
        <select
          id="login-role"
          name="role"
          value={role}
          onChange={(e) => setRole(e.currentTarget.value as Role)}
          data-testid="login-role"
        >
          <option value="buyer">Buyer</option>
          <option value="seller">Seller</option>
          <option value="admin">Admin</option>
        </select>
      </div>
      {error && (
        <p class="error" role="alert" data-testid="login-error">
          {error}
        </p>
      )}
      <button type="submit" class="button-primary" disabled={busy} data-testid="login-submit">
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

function TokenForm({ submitTestId }: { submitTestId: string }) {
  const { api, signIn } = useApp();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const t = token.trim().replace(/^Bearer\s+/i, '');
    if (!t) {
      setError('Paste an access token.');
      return;
    }
    setBusy(true);
    setError(null);
    // Check the token before keeping it, so a typo does not leave a broken session behind.
    const probe = new Api(api.base, () => t);
    try {
      await probe.me();
      signIn(t);
      navigate('#/');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="form" onSubmit={submit}>
      <div class="field">
        <label for={`${submitTestId}-token`}>Supabase access token</label>
        <textarea
          id={`${submitTestId}-token`}
          name="token"
          rows={4}
          spellcheck={false}
          autoComplete="off"
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
          data-testid="login-token"
        />
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="button-primary" disabled={busy} data-testid={submitTestId}>
        {busy ? 'Checking…' : 'Use this token'}
      </button>
    </form>
  );
}
