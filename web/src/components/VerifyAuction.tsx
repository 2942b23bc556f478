import { useState } from 'preact/hooks';
import { ApiError, type Api } from '../api';
import { browserSeen, verifyAuction, type LedgerClose, type LedgerKey, type LedgerRow, type LedgerSource, type Verdict } from '../ledger';

/** The public bid log of one auction, read through the API. */
export function apiLedger(api: Api, id: string): LedgerSource {
  const base = `/api/auctions/${encodeURIComponent(id)}/ledger`;
  return {
    key: () => api.json<LedgerKey>('GET', '/api/ledger/key'),
    checkpoint: async () => (await api.raw('GET', `${base}/checkpoint`, { accept: 'text/plain' })).text(),
    close: async () => {
      try {
        return await api.json<LedgerClose>('GET', `${base}/close`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) return null; // not ended yet
        throw e;
      }
    },
    entries: (start, end) => api.json<{ entries: LedgerRow[]; size: number }>('GET', base, { query: { start, end } }),
  };
}

/** The caller's pseudonym in this auction's log, from their own bids (null: never bid here). */
async function myPseudonym(api: Api, id: string): Promise<string | null> {
  let cursor: string | null = null;
  for (let page = 0; page < 20; page++) {
    const bids = await api.myBids(undefined, cursor, 100);
    const mine = bids.items.find((b) => b.auction.id === id);
    if (mine) return mine.ledgerBidder;
    if (!bids.nextCursor) return null;
    cursor = bids.nextCursor;
  }
  return null;
}

/** "Verify this auction": the log checked in this browser (WebCrypto), the viewer's own bids
 * marked as included. */
export function VerifyAuction({ api, id, signedIn }: { api: Api; id: string; signedIn: boolean }) {
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const pseudonym = signedIn ? await myPseudonym(api, id).catch(() => null) : null;
      setVerdict(await verifyAuction(apiLedger(api, id), id, pseudonym, browserSeen()));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card verify-panel" aria-label="Verify this auction">
      <button type="button" onClick={run} disabled={busy} data-testid="verify-auction">
        {busy ? 'Verifying…' : 'Verify this auction'}
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {verdict && verdict.ok && (
        <div data-testid="verify-result" data-ok="true">
          <p>
            Verified: {verdict.size} {verdict.size === 1 ? 'entry' : 'entries'} signed by {verdict.keyName}
            {verdict.ended ? ', the outcome follows from the log' : ' (live: checked so far)'}.
          </p>
          {verdict.mine.length > 0 && (
            <p data-testid="verify-mine">
              Your {verdict.mine.length === 1 ? 'bid is' : 'bids are'} included: entries{' '}
              {verdict.mine.map((i) => `#${i}`).join(', ')}.
            </p>
          )}
          <p class="muted">Root {verdict.root}</p>
        </div>
      )}
      {verdict && !verdict.ok && (
        <p class="error" role="alert" data-testid="verify-result" data-ok="false">
          NOT verified: {verdict.reason}
        </p>
      )}
    </section>
  );
}
