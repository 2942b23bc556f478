import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { name: 'list' }
  | { name: 'auction'; id: string }
  | { name: 'new' }
  | { name: 'admin' }
  | { name: 'adminUsers' }
  | { name: 'adminAudit' }
  | { name: 'login' }
  | { name: 'notFound' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/[?].*$/, '') || '/';
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'auctions')) return { name: 'list' };
  if (parts[0] === 'auctions' && parts.length === 2) return { name: 'auction', id: decodeURIComponent(parts[1]) };
  if (parts.length === 1 && parts[0] === 'new') return { name: 'new' };
  if (parts.length === 1 && parts[0] === 'admin') return { name: 'admin' };
  if (parts.length === 2 && parts[0] === 'admin' && parts[1] === 'users') return { name: 'adminUsers' };
  if (parts.length === 2 && parts[0] === 'admin' && parts[1] === 'audit') return { name: 'adminAudit' };
  if (parts.length === 1 && parts[0] === 'login') return { name: 'login' };
  return { name: 'notFound' };
}

export const auctionHref = (id: string) => `#/auctions/${encodeURIComponent(id)}`;

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
