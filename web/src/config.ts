// Runtime configuration comes from /config.json on the page's own origin (the socket node serves
// it), so one build runs in every environment. Without it, sensible same-host defaults apply.

export interface AppConfig {
  apiBase: string;
  wsUrl: string;
  devLogin: boolean;
  currency: string;
  /** Supabase Auth (both set, or sign-in through Supabase is off). */
  supabaseUrl: string | null;
  supabaseAnonKey: string | null;
}

interface LocationLike {
  protocol: string;
  hostname: string;
  host: string;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

export function fallbackConfig(loc: LocationLike): AppConfig {
  const wsProto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    apiBase: `${loc.protocol}//${loc.hostname}:8000`,
    wsUrl: `${wsProto}//${loc.host}/ws`,
    // Only a local machine can plausibly be a development stack.
    devLogin: LOCAL_HOSTS.has(loc.hostname),
    currency: 'INR',
    supabaseUrl: null,
    supabaseAnonKey: null,
  };
}

/** Fills gaps in a (possibly partial) config.json from the fallback. */
export function resolveConfig(raw: unknown, loc: LocationLike): AppConfig {
  const base = fallbackConfig(loc);
  if (!raw || typeof raw !== 'object') return base;
  const r = raw as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  const supabaseUrl = text(r.supabaseUrl)?.replace(/\/+$/, '') ?? null;
  const supabaseAnonKey = text(r.supabaseAnonKey);
  const supabase = supabaseUrl !== null && supabaseAnonKey !== null;
  return {
    apiBase: (text(r.apiBase) ?? base.apiBase).replace(/\/+$/, ''),
    wsUrl: text(r.wsUrl) ?? base.wsUrl,
    devLogin: typeof r.devLogin === 'boolean' ? r.devLogin : base.devLogin,
    currency: (text(r.currency) ?? base.currency).toUpperCase(),
    supabaseUrl: supabase ? supabaseUrl : null,
    supabaseAnonKey: supabase ? supabaseAnonKey : null,
  };
}

export async function loadConfig(fetchFn: typeof fetch = fetch, loc: LocationLike = location): Promise<AppConfig> {
  try {
    const res = await fetchFn('/config.json', { cache: 'no-store', headers: { Accept: 'application/json' } });
    if (!res.ok) return fallbackConfig(loc);
    return resolveConfig(await res.json(), loc);
  } catch {
    return fallbackConfig(loc);
  }
}

/** ws://host:8080/ws -> http://host:8080 (the socket node's HTTP origin, for /admin/rooms). */
export function socketHttpOrigin(wsUrl: string): string | null {
  try {
    const u = new URL(wsUrl);
    const proto = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
    return `${proto}//${u.host}`;
  } catch {
    return null;
  }
}
