import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../api';
import { EMPTY, type FigurePoint, type FiguresState, POLL_MS, reduceFigures, sparkPath } from '../figures';
import { formatTime, STATUS_LABELS, useApp } from '../app';
import { socketHttpOrigin } from '../config';
import { localInputToIso, toLocalInput } from '../datetime';
import { auctionHref } from '../router';
import { AUCTION_STATUSES, type Auction, type DeadJob, type RoomsInfo } from '../types';
import { AdminNav } from './AdminModeration';
import { StatusBadge } from './ui';

export function Admin() {
  const { me, userId } = useApp();
  if (!userId || (me && me.role !== 'admin')) {
    return (
      <section class="card narrow">
        <h1>Admin</h1>
        <p>This page is for admins. {userId ? '' : <a href="#/login">Sign in</a>}</p>
      </section>
    );
  }
  return (
    <section class="admin">
      <h1>Admin</h1>
      <AdminNav current="auctions" />
      <LiveFigures />
      <AdminAuctions />
      <div class="admin-columns">
        <DeadLetters />
        <LiveRooms />
      </div>
    </section>
  );
}

function AdminAuctions() {
  const { api, money } = useApp();
  const [status, setStatus] = useState('');
  const [items, setItems] = useState<Auction[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [resetAt, setResetAt] = useState<Record<string, string>>({});
  const [seq, setSeq] = useState(0);

  async function loadPage(from: string | null) {
    setError(null);
    try {
      const page = await api.adminAuctions(status || undefined, from);
      setItems((prev) => (from ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor ?? null);
    } catch (e) {
      setError(describeError(e));
    }
  }

  useEffect(() => {
    loadPage(null);
  }, [status, seq]);

  async function act(id: string, what: 'start' | 'reset') {
    if (busyId) return;
    setBusyId(id);
    setMessage(null);
    setError(null);
    try {
      if (what === 'start') {
        await api.adminStart(id);
        setMessage('Auction started.');
      } else {
        const iso = localInputToIso(resetAt[id] ?? defaultResetTime());
        if (!iso) throw new Error('Pick a go-live time for the reset.');
        await api.adminReset(id, iso);
        setMessage('Auction reset to scheduled.');
      }
      setSeq((n) => n + 1);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusyId(null);
    }
  }

  return (
    <section class="card">
      <div class="page-title">
        <h2>Auctions</h2>
        <div class="inline-field">
          <label for="admin-status-filter">Status</label>
          <select
            id="admin-status-filter"
            value={status}
            onChange={(e) => setStatus(e.currentTarget.value)}
            data-testid="admin-status-filter"
          >
            <option value="">All</option>
            {AUCTION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {message && (
        <p class="ok" role="status">
          {message}
        </p>
      )}
      {error && (
        <p class="error" role="alert" data-testid="admin-error">
          {error}
        </p>
      )}
      <ul class="admin-list" data-testid="admin-auctions">
        {items.map((a) => {
          const inputId = `reset-${a.id}`;
          return (
            <li key={a.id} class="admin-row" data-testid="admin-auction" data-auction-id={a.id}>
              <div class="admin-row-main">
                <a href={auctionHref(a.id)}>{a.itemName}</a> <StatusBadge status={a.status} />
                <p class="muted small">
                  Live {formatTime(a.goLiveAt)} · ends {formatTime(a.endsAt)} · {a.bidCount ?? 0} bids
                  {a.highestBid ? ` · highest ${money(a.highestBid.amount)}` : ''}
                </p>
              </div>
              <div class="admin-row-actions">
                <button
                  type="button"
                  class="button-quiet"
                  disabled={busyId === a.id}
                  aria-label={`Start ${a.itemName} now`}
                  onClick={() => act(a.id, 'start')}
                  data-testid="admin-start"
                >
                  Start now
                </button>
                <label class="visually-hidden" for={inputId}>
                  New go-live time for {a.itemName}
                </label>
                <input
                  id={inputId}
                  type="datetime-local"
                  value={resetAt[a.id] ?? defaultResetTime()}
                  onInput={(e) => {
                    const v = e.currentTarget.value;
                    setResetAt((r) => ({ ...r, [a.id]: v }));
                  }}
                  data-testid="admin-reset-at"
                />
                <button
                  type="button"
                  class="button-quiet"
                  disabled={busyId === a.id}
                  aria-label={`Reset ${a.itemName} to scheduled`}
                  onClick={() => act(a.id, 'reset')}
                  data-testid="admin-reset"
                >
                  Reset
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      {items.length === 0 && !error && <p class="muted">No auctions.</p>}
      {cursor && (
        <button type="button" class="button-quiet load-more" onClick={() => loadPage(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}

function defaultResetTime(): string {
  return toLocalInput(new Date(Date.now() + 5 * 60_000));
}

function DeadLetters() {
  const { api } = useApp();
  const [items, setItems] = useState<DeadJob[] | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [seq, setSeq] = useState(0);

  useEffect(() => {
    api
      .deadJobs()
      .then((r) => {
        setItems(r.items ?? []);
        setUnavailable(false);
      })
      .catch(() => setUnavailable(true));
  }, [seq]);

  async function replay(id: string) {
    setMessage(null);
    try {
      await api.replayDeadJob(id);
      setMessage('Job queued again.');
      setSeq((n) => n + 1);
    } catch (e) {
      setMessage(describeError(e));
    }
  }

  return (
    <section class="card" data-testid="admin-dead-letters">
      <div class="page-title">
        <h2>Dead letters</h2>
        <button type="button" class="button-quiet" onClick={() => setSeq((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {message && <p role="status">{message}</p>}
      {unavailable ? (
        <p class="muted">unavailable</p>
      ) : items === null ? (
        <p class="muted">Loading…</p>
      ) : items.length === 0 ? (
        <p class="muted">None: every job went through.</p>
      ) : (
        <ul class="admin-list">
          {items.map((j) => (
            <li key={j.id} class="admin-row">
              <div class="admin-row-main">
                <strong>{j.kind}</strong>{' '}
                <span class="muted small">
                  · {j.attempts} attempts · {formatTime(j.failedAt)}
                </span>
                <p class="small error-text">{j.lastError}</p>
              </div>
              <button
                type="button"
                class="button-quiet"
                aria-label={`Replay ${j.kind} job ${j.id}`}
                onClick={() => replay(j.id)}
                data-testid="admin-replay"
              >
                Replay
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function LiveRooms() {
  const { api, config } = useApp();
  const [info, setInfo] = useState<RoomsInfo | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  const [seq, setSeq] = useState(0);
  const origin = socketHttpOrigin(config.wsUrl);

  useEffect(() => {
    if (!origin) {
      setUnavailable(true);
      return;
    }
    api
      .rooms(origin)
      .then((r) => {
        setInfo(r);
        setUnavailable(false);
      })
      .catch(() => setUnavailable(true));
  }, [seq, origin]);

  return (
    <section class="card" data-testid="admin-rooms">
      <div class="page-title">
        <h2>Live rooms</h2>
        <button type="button" class="button-quiet" onClick={() => setSeq((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {unavailable ? (
        <p class="muted">unavailable</p>
      ) : !info ? (
        <p class="muted">Loading…</p>
      ) : (
        <>
          <p>
            {info.connections} connections · {info.onlineUsers} users online
          </p>
          <ul class="admin-list">
            {(info.rooms ?? []).map((r) => (
              <li key={r.auctionId} class="admin-row">
                <a href={auctionHref(r.auctionId)}>{r.auctionId}</a>
                <span>{r.connections} watching</span>
              </li>
            ))}
          </ul>
          {(info.rooms ?? []).length === 0 && <p class="muted">No open rooms.</p>}
        </>
      )}
    </section>
  );
}

/** The figures an operator watches (docs/runbooks.md, "Runbook: figures and logs"), as this socket node
 * sees them, polled every few seconds and drawn over the last ten minutes. */
const CHARTS: { key: keyof FigurePoint; label: string; unit: string; digits: number }[] = [
  { key: 'connections', label: 'Connections', unit: '', digits: 0 },
  { key: 'rooms', label: 'Rooms', unit: '', digits: 0 },
  { key: 'fanoutP99Ms', label: 'Fan-out p99', unit: ' ms', digits: 1 },
  { key: 'tickerLagS', label: 'Ticker lag', unit: ' s', digits: 2 },
  { key: 'outboxPending', label: 'Outbox pending', unit: '', digits: 0 },
  { key: 'jobsDead', label: 'Dead jobs', unit: '', digits: 0 },
];

function LiveFigures() {
  const { api, config } = useApp();
  const [state, setState] = useState<FiguresState>(EMPTY);
  const [unavailable, setUnavailable] = useState(false);
  const origin = socketHttpOrigin(config.wsUrl);

  useEffect(() => {
    if (!origin) {
      setUnavailable(true);
      return;
    }
    let stopped = false;
    const poll = () =>
      api
        .nodeMetrics(origin)
        .then((sample) => {
          if (stopped) return;
          setState((s) => reduceFigures(s, sample));
          setUnavailable(false);
        })
        .catch(() => stopped || setUnavailable(true));
    poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [origin]);

  const last = state.points.at(-1);
  return (
    <section class="card" data-testid="admin-figures">
      <div class="page-title">
        <h2>Live figures</h2>
        <span class="muted small">
          {state.last ? `node ${state.last.nodeId} · last 10 minutes · every ${POLL_MS / 1000} s` : ''}
        </span>
      </div>
      {unavailable && <p class="muted">unavailable</p>}
      <div class="figures">
        {CHARTS.map((chart) => {
          const values = state.points.map((p) => p[chart.key] as number | null);
          const now = last ? (last[chart.key] as number | null) : null;
          const shown = now === null ? '–' : `${now.toFixed(chart.digits)}${chart.unit}`;
          return (
            <figure
              key={chart.key}
              class="figure"
              data-testid={`figure-${chart.key}`}
              data-value={now === null ? '' : String(now)}
              data-points={values.length}
            >
              <figcaption>
                <span>{chart.label}</span> <strong>{shown}</strong>
              </figcaption>
              <svg viewBox="0 0 200 48" preserveAspectRatio="none" role="img" aria-label={`${chart.label}: ${shown}`}>
                <path d={sparkPath(values, 200, 46)} transform="translate(0 1)" />
              </svg>
            </figure>
          );
        })}
      </div>
    </section>
  );
}
