import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { name: 'list' }
  | { name: 'auction'; id: string }
  | { name: 'new' }
  | { name: 'sell' }
  | { name: 'adminDisputes' }
  | { name: 'admin' }
  | { name: 'adminUsers' }
  | { name: 'adminAudit' }
  | { name: 'adminTrust' }
  | { name: 'user'; id: string }
  | { name: 'login' }
  | { name: 'myBids' }
  | { name: 'myAuctions' }
  | { name: 'purchases' }
  | { name: 'watchlist' }
  | { name: 'notFound' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/[?].*$/, '') || '/';
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'auctions')) return { name: 'list' };
  if (parts[0] === 'auctions' && parts.length === 2) return { name: 'auction', id: decodeURIComponent(parts[1]) };
  if (parts.length === 1 && parts[0] === 'new') return { name: 'new' };
  if (parts.length === 1 && parts[0] === 'sell') return { name: 'sell' };
  if (parts.length === 2 && parts[0] === 'admin' && parts[1] === 'disputes') return { name: 'adminDisputes' };
  if (parts.length === 1 && parts[0] === 'admin') return { name: 'admin' };
  if (parts.length === 2 && parts[0] === 'admin' && parts[1] === 'users') return { name: 'adminUsers' };
  if (parts.length === 2 && parts[0] === 'admin' && parts[1] === 'audit') return { name: 'adminAudit' };
  if (parts.length === 2 && parts[0] === 'admin' && parts[1] === 'trust') return { name: 'adminTrust' };
  if (parts[0] === 'users' && parts.length === 2) return { name: 'user', id: decodeURIComponent(parts[1]) };
  if (parts.length === 1 && parts[0] === 'login') return { name: 'login' };
  if (parts.length === 2 && parts[0] === 'me') {
    const page = { bids: 'myBids', auctions: 'myAuctions', purchases: 'purchases', watchlist: 'watchlist' }[parts[1]];
    if (page) return { name: page } as Route;
  }
  return { name: 'notFound' };
}

export const auctionHref = (id: string) => `#/auctions/${encodeURIComponent(id)}`;
/** A person's reputation card. */
export const userHref = (id: string) => `#/users/${encodeURIComponent(id)}`;

export function navigate(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** The query of a hash route (`#/?q=clock&sort=ending_soon`): a list's state lives there, so
 * a search can be shared as a link. */
export function hashQuery(hash: string = location.hash): URLSearchParams {
  const at = hash.indexOf('?');
  return new URLSearchParams(at >= 0 ? hash.slice(at + 1) : '');
}

/** The hash for `path` with these query values (empty ones left out). */
export function withQuery(path: string, values: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v) params.set(k, v);
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

/** The current hash's query, re-read on every change. */
export function useHashQuery(): URLSearchParams {
  const [query, setQuery] = useState(() => hashQuery());
  useEffect(() => {
    const onChange = () => setQuery(hashQuery());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return query;
}
