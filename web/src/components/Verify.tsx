import { useState } from 'preact/hooks';
import { describeError } from '../api';
import { useApp } from '../app';
import { browserSeenStore, verifyLedger, type Verdict } from '../ledger';

/** "Verify this auction": the log's signatures, every entry's inclusion and this browser's
 * earlier checkpoints checked here, with WebCrypto; the viewer's own bids marked as included. */
export function VerifyPanel({ auctionId }: { auctionId: string }) {
  const { api, me } = useApp();
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const verify = async () => {
    setBusy(true);
    setError(null);
    try {
      // The viewer's pseudonym in this auction's log (their own bids' page says it).
      let mine: string | null = null;
      if (me) {
        const page = await api.myBids().catch(() => null);
        mine = page?.items.find((item) => item.auction.id === auctionId)?.ledgerBidder ?? null;
      }
      setVerdict(await verifyLedger(api.ledger(auctionId), auctionId, browserSeenStore(), mine));
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card verify-panel" aria-labelledby="verify-title" data-testid="verify-panel">
      <h2 id="verify-title">Is this auction fair?</h2>
      <p class="muted small">
        Every accepted bid is an entry of a public, signed log. Your browser can check it without trusting us.
      </p>
      <button type="button" class="btn" onClick={verify} disabled={busy} data-testid="verify-auction">
        {busy ? 'Verifying…' : 'Verify this auction'}
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {verdict?.ok === true && (
        <div role="status" data-testid="verify-result" data-ok="true">
          <p>
            ✓ Verified: {verdict.size} {verdict.size === 1 ? 'entry' : 'entries'} signed by {verdict.keyName}
            {verdict.earlier > 0 && `, consistent with ${verdict.earlier} earlier check(s) from this browser`}
            {verdict.ended ? '; the published winner and price are the log’s highest standing bid.' : '.'}
          </p>
          {verdict.mine.length > 0 && (
            <p data-testid="verify-mine">
              Your {verdict.mine.length === 1 ? 'bid is' : 'bids are'} included, at{' '}
              {verdict.mine.map((i) => `#${i}`).join(', ')}.
            </p>
          )}
        </div>
      )}
      {verdict?.ok === false && (
        <p class="error" role="alert" data-testid="verify-result" data-ok="false">
          ✗ Not verified{verdict.index !== null && ` at entry #${verdict.index}`}: {verdict.why}
        </p>
      )}
    </section>
  );
}
