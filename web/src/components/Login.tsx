import { useState } from 'preact/hooks';
import { describeError } from '../api';
import { useApp } from '../app';
import { AuthFailure, DevSession, returnAddress, SupabaseSession } from '../auth';
import { navigate } from '../router';
import type { Role } from '../types';

export function Login() {
  const { config, me, userId, session, signOut } = useApp();

  if (userId) {
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
      {session instanceof SupabaseSession && <SupabaseLogin auth={session} />}
      {session instanceof DevSession && config.devLogin && <DevLoginForm dev={session} />}
      {session.kind === 'none' && (
        <p class="hint" data-testid="login-unavailable">
          Sign-in is not configured on this server: you can watch auctions without an account.
        </p>
      )}
    </section>
  );
}

type Mode = 'signin' | 'signup' | 'magic';

const MODES: { mode: Mode; label: string }[] = [
  { mode: 'signin', label: 'Sign in' },
  { mode: 'signup', label: 'Create account' },
  { mode: 'magic', label: 'Email me a link' },
];

/** Email + password (sign in, sign up) and the magic link, through supabase-js. */
function SupabaseLogin({ auth }: { auth: SupabaseSession }) {
  const [mode, setMode] = useState<Mode>('signin');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  function choose(next: Mode) {
    setMode(next);
    setError(null);
    setNotice(null);
  }

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    setNotice(null);
    const address = email.trim();
    try {
      if (mode === 'signin') {
        await auth.signIn(address, password);
        navigate('#/');
      } else if (mode === 'signup') {
        if (await auth.signUp(address, password, name.trim(), returnAddress(location.href))) navigate('#/');
        else setNotice(`Almost there: confirm your address with the link we sent to ${address}.`);
      } else {
        await auth.sendMagicLink(address, returnAddress(location.href));
        setNotice(`Check your email: we sent a sign-in link to ${address}.`);
      }
    } catch (err) {
      setError(err instanceof AuthFailure ? err.message : describeError(err));
    } finally {
      setBusy(false);
    }
  }

  const submitLabel = { signin: 'Sign in', signup: 'Create account', magic: 'Send the link' }[mode];
  return (
    <>
      <div class="tabs" role="group" aria-label="How to sign in">
        {MODES.map(({ mode: m, label }) => (
          <button
            key={m}
            type="button"
            class="tab"
            aria-pressed={mode === m}
            onClick={() => choose(m)}
            data-testid={`auth-mode-${m}`}
          >
            {label}
          </button>
        ))}
      </div>
      <form class="form" onSubmit={submit}>
        {mode === 'signup' && (
          <div class="field">
            <label for="auth-name">Name</label>
            <input
              id="auth-name"
              type="text"
              name="name"
              autoComplete="name"
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
              data-testid="auth-name"
            />
          </div>
        )}
        <div class="field">
          <label for="auth-email">Email</label>
          <input
            id="auth-email"
            type="email"
            name="email"
            autoComplete="email"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
            data-testid="auth-email"
          />
        </div>
        {mode !== 'magic' && (
          <div class="field">
            <label for="auth-password">Password</label>
            <input
              id="auth-password"
              type="password"
              name="password"
              autoComplete={mode === 'signup' ? 'new-password' : 'current-password'}
              required
              minLength={mode === 'signup' ? 6 : undefined}
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
              data-testid="auth-password"
            />
          </div>
        )}
        {error && (
          <p class="error" role="alert" data-testid="auth-error">
            {error}
          </p>
        )}
        {notice && (
          <p class="banner" role="status" data-testid="auth-notice">
            {notice}
          </p>
        )}
        <button type="submit" class="button-primary" disabled={busy} data-testid="auth-submit">
          {busy ? 'Please wait…' : submitLabel}
        </button>
      </form>
    </>
  );
}

function DevLoginForm({ dev }: { dev: DevSession }) {
  const { api } = useApp();
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
      dev.signIn(token);
      navigate('#/');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="form" onSubmit={submit} aria-describedby="dev-login-hint" data-testid="dev-login">
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
