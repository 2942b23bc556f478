import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../api';
import { formatTime, STATUS_LABELS, useApp } from '../app';
import { auctionHref } from '../router';
import type { Auction, BidStanding, MyBid, Purchase } from '../types';

import { AuctionCards } from './AuctionList';
import { CardPhoto } from './Photos';
import { StatusBadge } from './ui';

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A cursor list with "Load more", for any of the personal pages. */
function usePages<T>(load: (cursor: string | null) => Promise<Page<T>>, deps: unknown[]) {
  const { userId } = useApp();
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function more(from: string | null, replace: boolean, signal?: { cancelled: boolean }) {
    setLoading(true);
    setError(null);
    try {
      const page = await load(from);
      if (signal?.cancelled) return;
      setItems((prev) => (replace ? page.items : [...prev, ...page.items]));
      setCursor(page.nextCursor);
    } catch (e) {
      if (!signal?.cancelled) setError(describeError(e));
    } finally {
      if (!signal?.cancelled) setLoading(false);
    }
  }

  useEffect(() => {
    if (!userId) return;
    const signal = { cancelled: false };
    more(null, true, signal);
    return () => {
      signal.cancelled = true;
    };
  }, [userId, ...deps]);

  return { items, cursor, loading, error, more: () => more(cursor, false) };
}

function Frame(props: {
  title: string;
  testId: string;
  loading: boolean;
  error: string | null;
  empty: boolean;
  emptyText: string;
  cursor: string | null;
  onMore: () => void;
  children: ComponentChildren;
  filters?: ComponentChildren;
}) {
  const { userId } = useApp();
  if (!userId) {
    return (
      <section class="card narrow">
        <h1>{props.title}</h1>
        <p>
          <a href="#/login">Sign in</a> to see this page.
        </p>
      </section>
    );
  }
  return (
    <section data-testid={props.testId}>
      <div class="page-title">
        <h1>{props.title}</h1>
      </div>
      {props.filters}
      {props.error && (
        <p class="error" role="alert">
          {props.error}
        </p>
      )}
      <div aria-busy={props.loading}>{props.children}</div>
      {!props.loading && !props.error && props.empty && <p class="empty">{props.emptyText}</p>}
      {props.loading && <p class="muted">Loading…</p>}
      {props.cursor && !props.loading && (
        <button type="button" class="button-quiet load-more" onClick={props.onMore}>
          Load more
        </button>
      )}
    </section>
  );
}

const STANDINGS: { value: BidStanding | 'all'; label: string }[] = [
  { value: 'all', label: 'All' },
  { value: 'leading', label: 'Leading' },
  { value: 'outbid', label: 'Outbid' },
  { value: 'won', label: 'Won' },
  { value: 'lost', label: 'Lost' },
];

export function MyBids() {
  const { api, money } = useApp();
  const [state, setState] = useState<BidStanding | 'all'>('all');
  const page = usePages<MyBid>((c) => api.myBids(state === 'all' ? undefined : state, c), [state]);
  return (
    <Frame
      title="My bids"
      testId="my-bids"
      {...page}
      empty={page.items.length === 0}
      emptyText="You have not bid on anything yet."
      onMore={page.more}
      filters={
        <div class="tabs" role="group" aria-label="Filter by where you stand">
          {STANDINGS.map((s) => (
            <button
              type="button"
              key={s.value}
              class="tab"
              aria-pressed={state === s.value}
              onClick={() => setState(s.value)}
            >
              {s.label}
            </button>
          ))}
        </div>
      }
    >
      <ul class="row-list">
        {page.items.map((b) => (
          <li key={b.auction.id} class="row" data-testid="my-bid" data-state={b.state} data-auction-id={b.auction.id}>
            <CardPhoto image={b.auction.images?.[0]} alt={b.auction.itemName} />
            <a href={auctionHref(b.auction.id)} class="row-title">
              {b.auction.itemName}
            </a>
            <StatusBadge status={b.auction.status} />
            <span class={`standing standing-${b.state}`}>{STANDINGS.find((s) => s.value === b.state)?.label}</span>
            <span>
              My highest <strong>{money(b.myHighestBid)}</strong>
              {b.myMaxAmount ? ` · my maximum ${money(b.myMaxAmount)}` : ''}
              {b.retractedAt && (
                <span class="muted" data-testid="my-bid-retracted">
                  {' '}· retracted {formatTime(b.retractedAt, true)}
                </span>
              )}
            </span>
          </li>
        ))}
      </ul>
    </Frame>
  );
}

export function MyAuctions() {
  const { api, me } = useApp();
  const page = usePages<Auction>((c) => api.myAuctions(undefined, c), []);
  if (me && me.role === 'buyer') {
    return (
      <section class="card narrow">
        <h1>My auctions</h1>
        <p>Only sellers have auctions of their own.</p>
      </section>
    );
  }
  const waiting = page.items.filter((a) => a.status === 'ended').length;
  return (
    <Frame
      title="My auctions"
      testId="my-auctions"
      {...page}
      empty={page.items.length === 0}
      emptyText="You have no auctions yet."
      onMore={page.more}
      filters={
        waiting > 0 ? (
          <p class="banner banner-warn" role="status">
            {waiting} {waiting === 1 ? 'auction awaits' : 'auctions await'} your decision (listed first).
          </p>
        ) : undefined
      }
    >
      <AuctionCards items={page.items} />
    </Frame>
  );
}

export function Purchases() {
  const { api, money } = useApp();
  const page = usePages<Purchase>((c) => api.myPurchases(c), []);
  return (
    <Frame
      title="My purchases"
      testId="my-purchases"
      {...page}
      empty={page.items.length === 0}
      emptyText="Nothing bought yet."
      onMore={page.more}
    >
      <ul class="row-list">
        {page.items.map((p) => (
          <li key={p.auction.id} class="row" data-testid="purchase">
            <CardPhoto image={p.auction.images?.[0]} alt={p.auction.itemName} />
            <a href={auctionHref(p.auction.id)} class="row-title">
              {p.auction.itemName}
            </a>
            <strong>{money(p.finalPrice)}</strong>
            <span>Invoice {p.invoiceNumber}</span>
            <span class="muted">{p.payment ? `Payment ${p.payment.status}` : STATUS_LABELS.sold}</span>
          </li>
        ))}
      </ul>
    </Frame>
  );
}

export function Watchlist() {
  const { api } = useApp();
  const page = usePages<Auction>((c) => api.myWatchlist(c), []);
  return (
    <Frame
      title="Watchlist"
      testId="watchlist"
      {...page}
      empty={page.items.length === 0}
      emptyText="You are not watching anything. Use “Watch” on an auction."
      onMore={page.more}
    >
      <AuctionCards items={page.items} />
    </Frame>
  );
}
