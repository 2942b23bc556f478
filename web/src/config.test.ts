import { describe, expect, it } from 'vitest';
import { fallbackConfig, loadConfig, resolveConfig, socketHttpOrigin } from './config';

const loc = { protocol: 'http:', hostname: 'example.test', host: 'example.test:8080' };

describe('config', () => {
  it('falls back to same-host defaults', () => {
    expect(fallbackConfig(loc)).toEqual({
      apiBase: 'http://example.test:8000',
      wsUrl: 'ws://example.test:8080/ws',
      devLogin: false,
      currency: 'INR',
      supabaseUrl: null,
      supabaseAnonKey: null,
    });
    expect(fallbackConfig({ protocol: 'https:', hostname: 'a.test', host: 'a.test' }).wsUrl).toBe('wss://a.test/ws');
    expect(fallbackConfig({ protocol: 'http:', hostname: 'localhost', host: 'localhost:8080' }).devLogin).toBe(true);
  });

  it('reads config.json and fills gaps', () => {
    const c = resolveConfig({ apiBase: 'http://localhost:8000/', devLogin: true, currency: 'usd' }, loc);
    expect(c).toEqual({
      apiBase: 'http://localhost:8000',
      wsUrl: 'ws://example.test:8080/ws',
      devLogin: true,
      currency: 'USD',
      supabaseUrl: null,
      supabaseAnonKey: null,
    });
  });

  it('uses the fallback when the fetch fails or is not ok', async () => {
    const failing = (async () => {
      throw new TypeError('offline');
    }) as unknown as typeof fetch;
    expect(await loadConfig(failing, loc)).toEqual(fallbackConfig(loc));
    const notFound = (async () => new Response('nope', { status: 404 })) as unknown as typeof fetch;
    expect(await loadConfig(notFound, loc)).toEqual(fallbackConfig(loc));
    const ok = (async () =>
      new Response(
        JSON.stringify({ apiBase: 'http://api.test', wsUrl: 'ws://ws.test/ws', devLogin: true, currency: 'INR' }),
        {
          headers: { 'content-type': 'application/json' },
        },
      )) as unknown as typeof fetch;
    expect(await loadConfig(ok, loc)).toEqual({
      apiBase: 'http://api.test',
      wsUrl: 'ws://ws.test/ws',
      devLogin: true,
      currency: 'INR',
      supabaseUrl: null,
      supabaseAnonKey: null,
    });
  });

  it('takes the public URLs of a split deploy and the Supabase project as given', () => {
    const c = resolveConfig(
      {
        apiBase: 'https://abc.execute-api.ap-south-1.amazonaws.com/prod',
        wsUrl: 'wss://auction-socket.onrender.com/ws',
        devLogin: false,
        currency: 'INR',
        supabaseUrl: 'https://project.supabase.co/',
        supabaseAnonKey: 'anon-key',
      },
      loc,
    );
    expect(c).toEqual({
      apiBase: 'https://abc.execute-api.ap-south-1.amazonaws.com/prod',
      wsUrl: 'wss://auction-socket.onrender.com/ws',
      devLogin: false,
      currency: 'INR',
      supabaseUrl: 'https://project.supabase.co',
      supabaseAnonKey: 'anon-key',
    });
  });

  it('turns Supabase sign-in off unless both the URL and the anon key are given', () => {
    expect(resolveConfig({ supabaseUrl: 'https://p.supabase.co', supabaseAnonKey: null }, loc).supabaseUrl).toBeNull();
    expect(resolveConfig({ supabaseUrl: ' ', supabaseAnonKey: 'k' }, loc).supabaseAnonKey).toBeNull();
  });

  it("derives the socket node's HTTP origin from the WebSocket URL", () => {
    expect(socketHttpOrigin('ws://localhost:8080/ws')).toBe('http://localhost:8080');
    expect(socketHttpOrigin('wss://live.example.com/ws?x=1')).toBe('https://live.example.com');
    expect(socketHttpOrigin('not a url')).toBeNull();
  });
});
