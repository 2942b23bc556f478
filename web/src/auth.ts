// Who is signed in, and the access token to send. Three sources, one shape:
// - Supabase Auth through the official supabase-js client, when /config.json names a project
//   (email + password, magic link; supabase-js keeps the session in localStorage and refreshes
//   the access token before it expires);
// - development sign-in (POST /api/dev/login), when /config.json says devLogin;
// - neither: everyone is an anonymous watcher.
// Screens never hold a token: the API asks `accessToken()` on every call, and the socket is
// handed each new token as the session changes.

import type { AuthChangeEvent, Session, SupabaseClient } from '@supabase/supabase-js';
import { createClient } from '@supabase/supabase-js';
import type { AppConfig } from './config';

export interface SessionChange {
  /** supabase-js's event name (SIGNED_IN, TOKEN_REFRESHED, SIGNED_OUT...), the same for dev. */
  event: string;
  /** The access token to use from now on; null when signed out. */
  token: string | null;
  /** Who it is (the token's `sub`); a refresh keeps it, a sign-in or sign-out changes it. */
  userId: string | null;
}

type Listener = (change: SessionChange) => void;

export interface SessionSource {
  readonly kind: 'supabase' | 'dev' | 'none';
  /** The current session's access token (refreshed first when about to expire), or null. */
  accessToken(): Promise<string | null>;
  /** Every session change, starting with the current state (INITIAL_SESSION). */
  subscribe(listener: Listener): () => void;
  signOut(): Promise<void>;
}

/** The `sub` of a JWT, without verifying it (the servers do that). */
export function tokenSubject(token: string): string | null {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}

// ---- Supabase ----

/** What this app uses of supabase-js's `auth` (GoTrueClient). */
export type SupabaseAuthApi = Pick<
  SupabaseClient['auth'],
  'getSession' | 'onAuthStateChange' | 'signUp' | 'signInWithPassword' | 'signInWithOtp' | 'signOut'
>;

const SUPABASE_MESSAGES: Record<string, string> = {
  invalid_credentials: 'Wrong email or password.',
  user_already_exists: 'An account with this email already exists: sign in instead.',
  email_exists: 'An account with this email already exists: sign in instead.',
  email_not_confirmed: 'Confirm your email address first: follow the link we sent you.',
  over_email_send_rate_limit: 'Too many emails were sent: wait a minute and try again.',
  over_request_rate_limit: 'Too many attempts: wait a minute and try again.',
  otp_disabled: 'No account uses this email.',
  signup_disabled: 'New sign-ups are closed.',
};

/** One line a person can read, for an error supabase-js returned. */
export function describeAuthError(error: { message?: string; code?: string; status?: number } | null): string {
  if (!error) return 'Something went wrong.';
  if (error.code && SUPABASE_MESSAGES[error.code]) return SUPABASE_MESSAGES[error.code];
  if (error.status === 0 || /fetch/i.test(error.message ?? '')) return 'Could not reach the sign-in service. Try again.';
  return error.message || 'Something went wrong.';
}

export class AuthFailure extends Error {}

export class SupabaseSession implements SessionSource {
  readonly kind = 'supabase' as const;

  constructor(readonly auth: SupabaseAuthApi) {}

  async accessToken(): Promise<string | null> {
    // getSession() answers from storage, refreshing first when the token is within supabase-js's
    // expiry margin: always the current token, never a copy kept here.
    const { data } = await this.auth.getSession();
    return data.session?.access_token ?? null;
  }

  subscribe(listener: Listener): () => void {
    const { data } = this.auth.onAuthStateChange((event: AuthChangeEvent, session: Session | null) => {
      // Synchronous on purpose: supabase-js holds its lock while it calls this.
      listener({ event, token: session?.access_token ?? null, userId: session?.user?.id ?? null });
    });
    return () => data.subscription.unsubscribe();
  }

  /** Signs up; true when signed in at once, false when the address must be confirmed first. */
  async signUp(email: string, password: string, name: string, redirectTo: string): Promise<boolean> {
    const { data, error } = await this.auth.signUp({
      email,
      password,
      options: { data: name ? { name } : {}, emailRedirectTo: redirectTo },
    });
    if (error) throw new AuthFailure(describeAuthError(error));
    return data.session !== null;
  }

  async signIn(email: string, password: string): Promise<void> {
    const { error } = await this.auth.signInWithPassword({ email, password });
    if (error) throw new AuthFailure(describeAuthError(error));
  }

  async sendMagicLink(email: string, redirectTo: string): Promise<void> {
    const { error } = await this.auth.signInWithOtp({ email, options: { emailRedirectTo: redirectTo } });
    if (error) throw new AuthFailure(describeAuthError(error));
  }

  async signOut(): Promise<void> {
    const { error } = await this.auth.signOut();
    // Refused by the server (say, the session had already ended there): supabase-js has still
    // cleared this browser's session, and that is what signing out here means.
    if (error) console.warn('sign-out:', error.message);
  }
}

/**
 * supabase-js for this app: PKCE flow, so the emailed link comes back as `?code=` in the query
 * string and leaves the hash to the router (the implicit flow would put the tokens in the hash);
 * detectSessionInUrl exchanges the code and takes it out of the address bar.
 */
export function supabaseSession(url: string, anonKey: string): SupabaseSession {
  const client = createClient(url, anonKey, {
    auth: { flowType: 'pkce', autoRefreshToken: true, persistSession: true, detectSessionInUrl: true },
  });
  return new SupabaseSession(client.auth);
}

// ---- development sign-in ----

const TOKEN_KEY = 'auction.token';

interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function browserStorage(): StorageLike | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

export class DevSession implements SessionSource {
  readonly kind = 'dev' as const;
  private listeners = new Set<Listener>();
  private token: string | null;

  constructor(private readonly storage: StorageLike | null = browserStorage()) {
    this.token = this.read();
  }

  async accessToken(): Promise<string | null> {
    return this.token;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    listener({ event: 'INITIAL_SESSION', token: this.token, userId: this.token && tokenSubject(this.token) });
    return () => this.listeners.delete(listener);
  }

  /** The token of POST /api/dev/login. */
  signIn(token: string): void {
    this.set(token, 'SIGNED_IN');
  }

  async signOut(): Promise<void> {
    this.set(null, 'SIGNED_OUT');
  }

  private set(token: string | null, event: string): void {
    this.token = token;
    try {
      if (token) this.storage?.setItem(TOKEN_KEY, token);
      else this.storage?.removeItem(TOKEN_KEY);
    } catch {
      /* storage disabled: the session lasts until reload */
    }
    const change = { event, token, userId: token && tokenSubject(token) };
    for (const listener of [...this.listeners]) listener(change);
  }

  private read(): string | null {
    try {
      return this.storage?.getItem(TOKEN_KEY) ?? null;
    } catch {
      return null;
    }
  }
}

/** No sign-in configured: an anonymous watcher. */
export class NoSession implements SessionSource {
  readonly kind = 'none' as const;
  async accessToken(): Promise<string | null> {
    return null;
  }
  subscribe(listener: Listener): () => void {
    listener({ event: 'INITIAL_SESSION', token: null, userId: null });
    return () => {};
  }
  async signOut(): Promise<void> {}
}

export function sessionSource(config: AppConfig): SessionSource {
  if (config.supabaseUrl && config.supabaseAnonKey) return supabaseSession(config.supabaseUrl, config.supabaseAnonKey);
  if (config.devLogin) return new DevSession();
  return new NoSession();
}

// ---- the emailed link coming back ----

/** Where an emailed link sends the person back to: this page, without query or hash. */
export function returnAddress(href: string): string {
  const url = new URL(href);
  return `${url.origin}${url.pathname}`;
}

/**
 * An auth error Supabase put in the address (`#error=...&error_description=...`, e.g. a link
 * already used or expired): its message, and the address to show instead (the login page).
 * Null when the address carries none. Runs before the router, which would read the hash as a
 * route.
 */
export function authErrorInAddress(href: string): { message: string; cleaned: string } | null {
  const url = new URL(href);
  const params = new URLSearchParams(url.hash.replace(/^#\/?/, ''));
  for (const [key, value] of url.searchParams) if (!params.has(key)) params.set(key, value);
  const code = params.get('error_code');
  const description = params.get('error_description');
  if (!params.get('error') && !code && !description) return null;
  const message =
    code === 'otp_expired'
      ? 'This sign-in link is invalid or has expired. Ask for a new one.'
      : description || 'Signing in through the link failed.';
  url.search = '';
  url.hash = '#/login';
  return { message, cleaned: url.toString() };
}

/**
 * A PKCE `?code=` that supabase-js did not take (the link was opened in another browser than
 * the one that asked for it, which holds the code verifier): the address without it.
 */
export function leftoverCode(href: string): string | null {
  const url = new URL(href);
  if (!url.searchParams.has('code')) return null;
  url.searchParams.delete('code');
  return url.toString();
}
