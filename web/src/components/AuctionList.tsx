import { useEffect, useState } from 'preact/hooks';
import { describeError, type SearchParams } from '../api';
import { formatTime, STATUS_LABELS, useApp } from '../app';
import { auctionHref, navigate, useHashQuery, withQuery } from '../router';
import { AUCTION_STATUSES, type Auction, type SortOrder } from '../types';
import { ShippingNote } from './Delivery';
import { CardPhoto } from './Photos';
import { Countdown, StatusBadge } from './ui';

const SORTS: { value: SortOrder; label: string }[] = [
  { value: 'ending_soon', label: 'Ending soon' },
  { value: 'newest', label: 'Newest' },
  { value: 'price_asc', label: 'Price: low to high' },
  { value: 'price_desc', label: 'Price: high to low' },
  { value: 'most_bids', label: 'Most bids' },
];
/** "Ending soon" first: what a visitor can still bid on, soonest first. */
const DEFAULT_SORT: SortOrder = 'ending_soon';

/** The list's state, read from the hash (`#/?q=&category=&sort=&status=`): shareable. */
export function searchFrom(query: URLSearchParams): SearchParams {
  const sort = query.get('sort') as SortOrder | null;
  return {
    q: query.get('q') ?? undefined,
    category: query.get('category') ?? undefined,
    status: query.get('status') ?? undefined,
    minPrice: query.get('minPrice') ?? undefined,
    maxPrice: query.get('maxPrice') ?? undefined,
    sort: sort && SORTS.some((s) => s.value === sort) ? sort : DEFAULT_SORT,
  };
}

function go(params: SearchParams) {
  navigate(
    withQuery('/', {
      q: params.q,
      category: params.category,
      status: params.status,
      minPrice: params.minPrice,
      maxPrice: params.maxPrice,
      sort: params.sort === DEFAULT_SORT ? undefined : params.sort,
    }),
  );
}

export function AuctionCards({ items }: { items: Auction[] }) {
  const { money } = useApp();
  return (
    <ul class="auction-grid">
      {items.map((a) => (
        <li key={a.id} class="auction-card" data-testid="auction-card" data-auction-id={a.id}>
          <a href={auctionHref(a.id)} class="card-link">
            <CardPhoto image={a.images?.[0]} alt={a.itemName} />
            <span class="card-head">
              <span class="card-title">{a.itemName}</span>
              <StatusBadge status={a.status} />
            </span>
            {a.category && <span class="chip chip-static">{a.category}</span>}
            <ShippingNote shipping={a.shipping} testId="card-shipping" />
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
              {a.bidCount ?? 0} {a.bidCount === 1 ? 'bid' : 'bids'}
              {a.watchers ? ` · ${a.watchers} watching` : ''} ·{' '}
              {a.status === 'scheduled' ? `Goes live ${formatTime(a.goLiveAt)}` : `Ends ${formatTime(a.endsAt)}`}
            </span>
            {(a.status === 'scheduled' || a.status === 'live') && (
              <Countdown status={a.status} goLiveAt={a.goLiveAt} endsAt={a.endsAt} everyMs={1000} />
            )}
          </a>
        </li>
      ))}
    </ul>
  );
}

export function AuctionList() {
  const { api, me } = useApp();
  const query = useHashQuery();
  const params = searchFrom(query);
  const key = JSON.stringify(params);
  const [text, setText] = useState(params.q ?? '');
  const [items, setItems] = useState<Auction[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [reloadSeq, setReloadSeq] = useState(0);
  // Chips: the categories met so far (a search narrows the list, the chips stay).
  const [categories, setCategories] = useState<string[]>([]);

  useEffect(() => setText(params.q ?? ''), [params.q]);

  async function fetchPage(from: string | null, replace: boolean, signal?: { cancelled: boolean }) {
    setLoading(true);
    setError(null);
    try {
      const page = await api.searchAuctions(params, from);
      if (signal?.cancelled) return;
      setItems((prev) =>
        replace ? page.items : [...prev, ...page.items.filter((a) => !prev.some((p) => p.id === a.id))],
      );
      setCategories((prev) => {
        const found = page.items.map((a) => a.category).filter((c): c is string => !!c);
        return [...new Set([...prev, ...found])].sort();
      });
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
  }, [key, reloadSeq]);

  const chips = params.category && !categories.includes(params.category) ? [...categories, params.category] : categories;

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
      <form
        class="search-bar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go({ ...params, q: text.trim() || undefined });
        }}
      >
        <label for="search-q" class="visually-hidden">
          Search auctions
        </label>
        <input
          id="search-q"
          type="search"
          placeholder="Search auctions"
          maxLength={200}
          value={text}
          onInput={(e) => setText((e.currentTarget as HTMLInputElement).value)}
          data-testid="search-input"
        />
        <button type="submit" class="button-primary" data-testid="search-submit">
          Search
        </button>
        <label for="search-sort" class="visually-hidden">
          Sort by
        </label>
        <select
          id="search-sort"
          value={params.sort}
          onChange={(e) => go({ ...params, sort: (e.currentTarget as HTMLSelectElement).value as SortOrder })}
          data-testid="sort-select"
        >
          {SORTS.map((s) => (
            <option key={s.value} value={s.value}>
              {s.label}
            </option>
          ))}
        </select>
      </form>
      {chips.length > 0 && (
        <div class="chips" role="group" aria-label="Categories">
          <button
            type="button"
            class="chip"
            aria-pressed={!params.category}
            onClick={() => go({ ...params, category: undefined })}
          >
            All categories
          </button>
          {chips.map((c) => (
            <button
              type="button"
              key={c}
              class="chip"
              aria-pressed={params.category === c}
              data-testid={`chip-${c}`}
              onClick={() => go({ ...params, category: params.category === c ? undefined : c })}
            >
              {c}
            </button>
          ))}
        </div>
      )}
      <div class="tabs" role="group" aria-label="Filter by status">
        {(['all', ...AUCTION_STATUSES] as const).map((f) => (
          <button
            type="button"
            key={f}
            class="tab"
            aria-pressed={(params.status ?? 'all') === f}
            data-testid={`filter-${f}`}
            onClick={() => go({ ...params, status: f === 'all' ? undefined : f })}
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
        <AuctionCards items={items} />
        {!loading && !error && items.length === 0 && (
          <p class="empty">{params.q ? `Nothing matches “${params.q}”.` : 'No auctions here yet.'}</p>
        )}
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
