import { describe, expect, it } from 'vitest';

import { canonical, standing, verifyLedger, type Entry, type LedgerRow, type LedgerSource, type SeenStore } from './ledger';
// A log written by the server's own code (shared/domain/ledger, signed by its LedgerSigner):
// five entries of one auction (a bid, a rival's, a proxy answer, a bid, its retraction) and
// checkpoints at sizes 3 and 5. The browser must reach the server's root and accept its
// signature byte for byte.
import fixture from './ledger.fixture.json';

const AUCTION = fixture.auctionId;

function memory(): SeenStore & { data: Map<string, { size: number; root: string }[]> } {
  const data = new Map<string, { size: number; root: string }[]>();
  return { data, get: (o) => data.get(o) ?? [], set: (o, s) => void data.set(o, s) };
}

function source(
  rows: LedgerRow[] = fixture.entries,
  note: string = fixture.checkpoints['5'],
  close: Awaited<ReturnType<LedgerSource['close']>> = null,
): LedgerSource {
  return {
    key: async () => fixture.key,
    checkpoint: async () => note,
    close: async () => close,
    entries: async (start, end) => ({ entries: rows.filter((r) => r.index >= start && r.index < end), size: rows.length }),
  };
}

function edited(index: number, change: (doc: Record<string, unknown>) => void): LedgerRow[] {
  return fixture.entries.map((row) => {
    if (row.index !== index) return row;
    const doc = JSON.parse(row.entry) as Record<string, unknown>;
    change(doc);
    return { ...row, entry: canonical(doc) };
  });
}

describe('verifying an auction log in the browser', () => {
  it('reaches the signed root of a log the server wrote, and marks a bidder’s own entries', async () => {
    const verdict = await verifyLedger(source(), AUCTION, memory(), fixture.pseudonyms.asha);
    expect(verdict).toMatchObject({ ok: true, size: 5, keyName: 'auction.example', mine: [0, 2] });
    // chen's 130.00 was retracted: asha's proxy answer at 120.00 stands highest
    expect(verdict).toMatchObject({ leader: fixture.pseudonyms.asha, price: '120.00' });
  });

  it('names the index of an amount changed after hashing, or a hash made to match', async () => {
    const changed = edited(1, (doc) => void (doc.amount = '9.00'));
    expect(await verifyLedger(source(changed), AUCTION, memory())).toMatchObject({ ok: false, index: 1 });
  });

  it('fails a deleted entry, and two entries swapped', async () => {
    const deleted = fixture.entries.filter((r) => r.index !== 2);
    expect(await verifyLedger(source(deleted), AUCTION, memory())).toMatchObject({ ok: false, index: 2 });
    const [a, b] = [fixture.entries[0], fixture.entries[1]];
    const swapped = [{ ...b, index: 0 }, { ...a, index: 1 }, ...fixture.entries.slice(2)];
    expect(await verifyLedger(source(swapped), AUCTION, memory())).toMatchObject({ ok: false, index: 0 });
  });

  it('fails a checkpoint whose signature does not verify, or of another auction', async () => {
    const note = fixture.checkpoints['5'];
    const forged = note.replace(/(\S)(=*\n)$/, (_, c: string, tail: string) => (c === 'A' ? 'B' : 'A') + tail);
    expect(await verifyLedger(source(undefined, forged), AUCTION, memory())).toMatchObject({ ok: false, index: null });
    const other = await verifyLedger(source(), '00000000-0000-4000-8000-000000000000', memory());
    expect(other).toMatchObject({ ok: false });
    expect(other.ok || other.why).toContain('another log');
  });

  it('remembers what it saw: a log rewritten since an earlier visit fails', async () => {
    const seen = memory();
    const first = source(fixture.entries.slice(0, 3), fixture.checkpoints['3']);
    expect(await verifyLedger(first, AUCTION, seen)).toMatchObject({ ok: true, size: 3, earlier: 0 });
    expect(await verifyLedger(source(), AUCTION, seen)).toMatchObject({ ok: true, size: 5, earlier: 1 });
    // Another history with the same key (say, the operator re-signed a rewritten log): the
    // browser still holds the roots it saw, and the first three entries no longer make them.
    const [origin] = [...seen.data.keys()];
    seen.set(origin, [{ size: 3, root: 'E5BsER5g+Slhdo+ERH7B9nBtzgZIq7cc1JijD4DWloY=' }]);
    const verdict = await verifyLedger(source(), AUCTION, seen);
    expect(verdict).toMatchObject({ ok: false });
    expect(verdict.ok || verdict.why).toContain('first 3 entries');
  });

  it('checks the close: the winner and price are the highest standing bid', async () => {
    const close = (winner: string | null, price: string | null, reserveMet: boolean | null = null) => ({
      checkpoint: fixture.checkpoints['5'],
      outcome: { winner, price, reserveMet },
      reveals: [],
    });
    const asha = fixture.pseudonyms.asha;
    expect(await verifyLedger(source(undefined, undefined, close(asha, '120.00')), AUCTION, memory())).toMatchObject({
      ok: true,
      ended: true,
    });
    const moved = await verifyLedger(source(undefined, undefined, close(fixture.pseudonyms.bina, '110.00')), AUCTION, memory());
    expect(moved).toMatchObject({ ok: false, index: 2 });
    const unsold = close(null, null, false);
    expect(await verifyLedger(source(undefined, undefined, unsold), AUCTION, memory())).toMatchObject({ ok: true });
  });

  it('replays retractions: a bidder’s bids at or above the retracted amount leave', () => {
    const e = (index: number, bidder: string, amount: string, kind: Entry['kind'] = 'bid'): Entry => ({
      index,
      bidder,
      amount,
      kind,
      round: 1,
    });
    expect(standing([e(0, 'a', '10.00'), e(1, 'b', '12.00'), e(2, 'b', '12.00', 'retraction')])?.bidder).toBe('a');
    expect(standing([e(0, 'a', '10.00'), e(1, 'b', '10.00', 'proxy')])?.bidder).toBe('b');
    expect(() => standing([e(0, 'a', '10.00'), e(1, 'b', '10.00', 'retraction')])).toThrow(/no remaining bid/);
  });
});
