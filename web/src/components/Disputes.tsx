import { useEffect, useState } from 'preact/hooks';
import { describeError, fieldErrors } from '../api';
import { formatTime, useApp } from '../app';
import { auctionHref } from '../router';
import type { Dispute, DisputeOutcome } from '../types';
import { AdminNav, AdminOnly } from './AdminModeration';

/** An admin's decision on an open dispute: a refund (the sale is void, with a credit note) or
 * a release (the sale stands), with the reason both sides are told. */
export function ResolveForm({ auctionId, onDone }: { auctionId: string; onDone: () => void }) {
  const { api } = useApp();
  const [outcome, setOutcome] = useState<DisputeOutcome>('release');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      class="form resolve-form"
      data-testid="resolve-form"
      onSubmit={async (e) => {
        e.preventDefault();
        if (busy) return;
        setBusy(true);
        setError(null);
        try {
          await api.resolveDispute(auctionId, outcome, note.trim());
          onDone();
        } catch (err) {
          setError(Object.values(fieldErrors(err))[0] ?? describeError(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <div class="field">
        <label for={`resolve-outcome-${auctionId}`}>Decision</label>
        <select
          id={`resolve-outcome-${auctionId}`}
          value={outcome}
          onChange={(e) => setOutcome(e.currentTarget.value as DisputeOutcome)}
          data-testid="resolve-outcome"
        >
          <option value="release">Release: the sale stands</option>
          <option value="refund">Refund: void the sale (credit note)</option>
        </select>
      </div>
      <div class="field">
        <label for={`resolve-note-${auctionId}`}>Reason (told to both sides)</label>
        <textarea
          id={`resolve-note-${auctionId}`}
          rows={2}
          maxLength={2000}
          value={note}
          onInput={(e) => setNote(e.currentTarget.value)}
          data-testid="resolve-note"
        />
      </div>
      <button type="submit" class="button-primary" disabled={busy} data-testid="resolve-submit">
        Resolve
      </button>
      {error && (
        <p class="error" role="alert" data-testid="resolve-error">
          {error}
        </p>
      )}
    </form>
  );
}

export function AdminDisputes() {
  return (
    <AdminOnly>
      <section class="admin">
        <h1>Disputes</h1>
        <AdminNav current="disputes" />
        <DisputeList />
      </section>
    </AdminOnly>
  );
}

function DisputeList() {
  const { api } = useApp();
  const [status, setStatus] = useState<'open' | 'resolved'>('open');
  const [items, setItems] = useState<Dispute[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [seq, setSeq] = useState(0);

  async function loadPage(from: string | null) {
    setError(null);
    try {
      const page = await api.adminDisputes(status, from);
      setItems((prev) => (from ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor ?? null);
    } catch (e) {
      setError(describeError(e));
    }
  }

  useEffect(() => {
    loadPage(null);
  }, [status, seq]);

  return (
    <section class="card" data-testid="admin-disputes">
      <div class="admin-filters">
        <div class="inline-field">
          <label for="dispute-status">Show</label>
          <select
            id="dispute-status"
            value={status}
            onChange={(e) => setStatus(e.currentTarget.value as typeof status)}
            data-testid="dispute-status-filter"
          >
            <option value="open">Open, oldest first</option>
            <option value="resolved">Resolved</option>
          </select>
        </div>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <ul class="admin-list">
        {items.map((d) => (
          <li key={d.id} class="admin-row dispute-row" data-testid="admin-dispute" data-auction-id={d.auctionId}>
            <div class="admin-row-main">
              <a href={auctionHref(d.auctionId)}>
                <strong>{d.itemName}</strong>
              </a>{' '}
              <span class="muted">
                {d.reason === 'not_received' ? 'not received' : 'not as described'} · opened {formatTime(d.openedAt)}
              </span>
              <p class="small">
                <span class="muted">The buyer: </span>
                {d.detail}
              </p>
              {d.replies.map((r) => (
                <p key={r.id} class="small">
                  <span class="muted">The seller: </span>
                  {r.message}
                </p>
              ))}
              {d.status === 'resolved' && (
                <p class="small" data-testid="admin-dispute-outcome">
                  {d.outcome === 'refund' ? 'Refunded' : 'Released'} {formatTime(d.resolvedAt)}: {d.resolutionNote}
                </p>
              )}
            </div>
            {d.status === 'open' && (
              <div class="admin-row-actions">
                <ResolveForm auctionId={d.auctionId} onDone={() => setSeq((n) => n + 1)} />
              </div>
            )}
          </li>
        ))}
      </ul>
      {items.length === 0 && !error && <p class="muted">No {status} disputes.</p>}
      {cursor && (
        <button type="button" class="button-quiet load-more" onClick={() => loadPage(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}
