import { describe, expect, it } from 'vitest';
import {
  authErrorInAddress,
  describeAuthError,
  DevSession,
  leftoverCode,
  returnAddress,
  SupabaseSession,
  type SessionChange,
  type SupabaseAuthApi,
  tokenSubject,
} from './auth';

/** A JWT-shaped token with the given payload (unsigned: only the servers verify). */
function jwt(payload: object): string {
  const part = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${part({ alg: 'ES256' })}.${part(payload)}.sig`;
}

/** supabase-js's auth surface as this app uses it, driven by hand. */
class FakeSupabaseAuth {
  session: { access_token: string; user: { id: string } } | null = null;
  listeners = new Set<(event: string, session: unknown) => void>();
  calls: string[] = [];
  nextError: { message: string; code?: string; status?: number } | null = null;

  emit(event: string) {
    for (const l of this.listeners) l(event, this.session);
  }
  async getSession() {
    this.calls.push('getSession');
    return { data: { session: this.session }, error: null };
  }
  onAuthStateChange(cb: (event: string, session: unknown) => void) {
    this.listeners.add(cb);
    return { data: { subscription: { unsubscribe: () => this.listeners.delete(cb) } } };
  }
  private result<T>(data: T) {
    const error = this.nextError;
    this.nextError = null;
    return { data, error };
  }
  async signUp(args: { email: string; options: { data: object; emailRedirectTo: string } }) {
    this.calls.push(`signUp ${args.email} ${JSON.stringify(args.options.data)} ${args.options.emailRedirectTo}`);
    return this.result({ user: {}, session: this.session });
  }
  async signInWithPassword(args: { email: string }) {
    this.calls.push(`signIn ${args.email}`);
    return this.result({});
  }
  async signInWithOtp(args: { email: string; options: { emailRedirectTo: string } }) {
    this.calls.push(`otp ${args.email} ${args.options.emailRedirectTo}`);
    return this.result({});
  }
  async signOut() {
    this.calls.push('signOut');
    return this.result(null);
  }
}

function supabase() {
  const fake = new FakeSupabaseAuth();
  return { fake, session: new SupabaseSession(fake as unknown as SupabaseAuthApi) };
}

describe('supabase session', () => {
  it("reads the current session's token on every call, never a copy", async () => {
    const { fake, session } = supabase();
    expect(await session.accessToken()).toBeNull();
    fake.session = { access_token: 'first', user: { id: 'u1' } };
    expect(await session.accessToken()).toBe('first');
    fake.session = { access_token: 'refreshed', user: { id: 'u1' } };
    expect(await session.accessToken()).toBe('refreshed');
    expect(fake.calls.filter((c) => c === 'getSession')).toHaveLength(3);
  });

  it('passes every session change on with its token and user', () => {
    const { fake, session } = supabase();
    const seen: SessionChange[] = [];
    const stop = session.subscribe((c) => seen.push(c));
    fake.session = { access_token: 't1', user: { id: 'u1' } };
    fake.emit('SIGNED_IN');
    fake.session = { access_token: 't2', user: { id: 'u1' } };
    fake.emit('TOKEN_REFRESHED');
    fake.session = null;
    fake.emit('SIGNED_OUT');
    stop();
    fake.emit('SIGNED_OUT');
    expect(seen).toEqual([
      { event: 'SIGNED_IN', token: 't1', userId: 'u1' },
      { event: 'TOKEN_REFRESHED', token: 't2', userId: 'u1' },
      { event: 'SIGNED_OUT', token: null, userId: null },
    ]);
  });

  it('signs up with the name as user metadata and says whether a confirmation is needed', async () => {
    const { fake, session } = supabase();
    expect(await session.signUp('a@example.com', 'pw1234', 'Asha', 'http://app.test/')).toBe(false);
    fake.session = { access_token: 't', user: { id: 'u' } };
    expect(await session.signUp('b@example.com', 'pw1234', '', 'http://app.test/')).toBe(true);
    expect(fake.calls).toEqual([
      'signUp a@example.com {"name":"Asha"} http://app.test/',
      'signUp b@example.com {} http://app.test/',
    ]);
  });

  it('turns supabase-js errors into sentences', async () => {
    const { fake, session } = supabase();
    fake.nextError = { message: 'Invalid login credentials', code: 'invalid_credentials', status: 400 };
    await expect(session.signIn('a@example.com', 'nope')).rejects.toThrow('Wrong email or password.');
    fake.nextError = { message: 'Password should be at least 6 characters.', code: 'weak_password' };
    await expect(session.signUp('a@example.com', '1', '', 'http://app.test/')).rejects.toThrow('at least 6');
    expect(describeAuthError({ message: 'Failed to fetch', status: 0 })).toMatch(/Could not reach/);
    await session.sendMagicLink('c@example.com', 'http://app.test/');
    expect(fake.calls.pop()).toBe('otp c@example.com http://app.test/');
  });
});

describe('dev session', () => {
  it('keeps the dev-login token in storage and tells its listeners', async () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
    };
    const dev = new DevSession(storage);
    const seen: SessionChange[] = [];
    dev.subscribe((c) => seen.push(c));
    const token = jwt({ sub: 'user-1' });
    dev.signIn(token);
    expect(await dev.accessToken()).toBe(token);
    expect(await new DevSession(storage).accessToken()).toBe(token); // survives a reload
    await dev.signOut();
    expect(seen.map((c) => [c.event, c.userId])).toEqual([
      ['INITIAL_SESSION', null],
      ['SIGNED_IN', 'user-1'],
      ['SIGNED_OUT', null],
    ]);
    expect(store.size).toBe(0);
  });

  it('reads the subject of a token', () => {
    expect(tokenSubject(jwt({ sub: '8d0b7c9e-0000-4000-8000-000000000001', n: '>>??' }))).toBe(
      '8d0b7c9e-0000-4000-8000-000000000001',
    );
    expect(tokenSubject(jwt({ aud: 'authenticated' }))).toBeNull();
    expect(tokenSubject('nonsense')).toBeNull();
  });
});

describe('the emailed link coming back', () => {
  it('returns to this page without its query or hash', () => {
    expect(returnAddress('http://app.test:8080/?x=1#/login')).toBe('http://app.test:8080/');
  });

  it('takes an auth error out of the hash before the router reads it', () => {
    const found = authErrorInAddress(
      'http://app.test/#error=access_denied&error_code=otp_expired&error_description=Email+link+is+invalid+or+has+expired',
    );
    expect(found).toEqual({
      message: 'This sign-in link is invalid or has expired. Ask for a new one.',
      cleaned: 'http://app.test/#/login',
    });
    expect(authErrorInAddress('http://app.test/?error=server_error&error_description=Boom')?.message).toBe('Boom');
    expect(authErrorInAddress('http://app.test/#/auctions/a1')).toBeNull();
    expect(authErrorInAddress('http://app.test/')).toBeNull();
  });

  it('drops a PKCE code that supabase-js could not use, keeping the route', () => {
    expect(leftoverCode('http://app.test/?code=abc#/auctions/a1')).toBe('http://app.test/#/auctions/a1');
    expect(leftoverCode('http://app.test/#/')).toBeNull();
  });
});
