import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../api';
import { formatTime, STATUS_LABELS, useApp } from '../app';
import { auctionHref } from '../router';
import { AUCTION_STATUSES, type Auction } from '../types';
import { Countdown, StatusBadge } from './ui';

const FILTERS = ['all', ...AUCTION_STATUSES] as const;
type Filter = (typeof FILTERS)[number];

export function AuctionList() {
  const { api, money, me } = useApp();
  const [filter, setFilter] = useState<Filter>('all');
  const [items, setItems] = useState<Auction[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [reloadSeq, setReloadSeq] = useState(0);

  async function fetchPage(from: string | null, replace: boolean, signal?: { cancelled: boolean }) {
    setLoading(true);
    setError(null);
    try {
      const page = await api.listAuctions(filter === 'all' ? undefined : filter, from);
      if (signal?.cancelled) return;
      setItems((prev) =>
        replace ? page.items : [...prev, ...page.items.filter((a) => !prev.some((p) => p.id === a.id))],
      );
      setCursor(page.nextCursor ?? null);
    } catch (e) {
      if (!signal?.cancelled) setError(describeError(e));
    } finally {
      if (!signal?.cancelled) setLoading(false);
    }
  }

  useEffect(() => {
    const signal = { cancelled: false };
    setItems([]);
    setCursor(null);
    fetchPage(null, true, signal);
    return () => {
      signal.cancelled = true;
    };
  }, [filter, reloadSeq]);

  return (
    <section>
      <div class="page-title">
        <h1>Auctions</h1>
        <div class="actions">
          {(me?.role === 'seller' || me?.role === 'admin') && (
            <a class="button-link" href="#/new">
              Create auction
            </a>
          )}
          <button type="button" class="button-quiet" onClick={() => setReloadSeq((n) => n + 1)} disabled={loading}>
            Refresh
          </button>
        </div>
      </div>
      <div class="tabs" role="group" aria-label="Filter by status">
        {FILTERS.map((f) => (
          <button
            type="button"
            key={f}
            class="tab"
            aria-pressed={filter === f}
            data-testid={`filter-${f}`}
            onClick={() => setFilter(f)}
          >
            {f === 'all' ? 'All' : STATUS_LABELS[f]}
          </button>
        ))}
      </div>
      <div class="auction-list" data-testid="auction-list" aria-busy={loading}>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <ul class="auction-grid">
          {items.map((a) => (
            <li key={a.id} class="auction-card" data-testid="auction-card" data-auction-id={a.id}>
              <a href={auctionHref(a.id)} class="card-link">
                <span class="card-head">
                  <span class="card-title">{a.itemName}</span>
                  <StatusBadge status={a.status} />
                </span>
                <span class="card-price">
                  {a.highestBid ? (
                    <>
                      <span class="muted">Highest bid</span> <strong>{money(a.highestBid.amount)}</strong>
                    </>
                  ) : (
                    <>
                      <span class="muted">Starts at</span> <strong>{money(a.startPrice)}</strong>
                    </>
                  )}
                </span>
                <span class="card-meta">
                  {a.bidCount ?? 0} {a.bidCount === 1 ? 'bid' : 'bids'} ·{' '}
                  {a.status === 'scheduled' ? `Goes live ${formatTime(a.goLiveAt)}` : `Ends ${formatTime(a.endsAt)}`}
                </span>
                {(a.status === 'scheduled' || a.status === 'live') && (
                  <Countdown status={a.status} goLiveAt={a.goLiveAt} endsAt={a.endsAt} everyMs={1000} />
                )}
              </a>
            </li>
          ))}
        </ul>
        {!loading && !error && items.length === 0 && <p class="empty">No auctions here yet.</p>}
        {loading && <p class="muted">Loading…</p>}
      </div>
      {cursor && !loading && (
        <button
          type="button"
          class="button-quiet load-more"
          data-testid="load-more"
          onClick={() => fetchPage(cursor, false)}
        >
          Load more
        </button>
      )}
    </section>
  );
}
