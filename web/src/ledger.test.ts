import { describe, expect, it } from 'vitest';
import fixture from './ledger.fixture.json';
import { canonical, fromBase64, type SeenCheckpoints, leafHash, merkleRoot, toBase64, verifyAuction, type LedgerRow, type LedgerSource } from './ledger';

// An ended auction of three entries (a maximum, a bid, the proxy's answer), its checkpoint
// signed by the platform's own Python code: the browser must accept it byte for byte, and
// refuse it tampered, naming the index.

function source(rows: LedgerRow[], close: unknown = fixture.close, key = fixture.key): LedgerSource {
  return {
    key: async () => key,
    checkpoint: async () => fixture.close.checkpoint,
    close: async () => close as never,
    entries: async (start, end) => ({ entries: rows.filter((r) => r.index >= start && r.index < end), size: 3 }),
  };
}

async function rehashed(row: LedgerRow, entry: string): Promise<LedgerRow> {
  return { ...row, entry, leafHash: toBase64(await leafHash(new TextEncoder().encode(entry))) };
}

describe('verifying an auction in the browser', () => {
  it("accepts the platform's log and marks the viewer's own entries as included", async () => {
    const verdict = await verifyAuction(source(fixture.rows), fixture.auctionId, fixture.u1);
    expect(verdict).toMatchObject({ ok: true, size: 3, keyName: 'auctions.test', ended: true, mine: [0, 2] });
    const other = await verifyAuction(source(fixture.rows, null), fixture.auctionId, fixture.u2);
    expect(other).toMatchObject({ ok: true, ended: false, mine: [1] });
  });

  it('hashes as RFC 9162 and writes canonical JSON as the platform does', async () => {
    const leaves = fixture.rows.map((r) => fromBase64(r.leafHash));
    const root = fixture.close.checkpoint.split('\n')[2];
    expect(toBase64(await merkleRoot(leaves))).toBe(root);
    for (const r of fixture.rows) expect(canonical(JSON.parse(r.entry))).toBe(r.entry);
    expect(toBase64(await merkleRoot([]))).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('names the index of an amount changed, an entry deleted, two swapped', async () => {
    const changed = await rehashed(fixture.rows[1], fixture.rows[1].entry.replace('"150.00"', '"140.00"'));
    const rows = fixture.rows;
    const cases: [LedgerRow[], number | null][] = [
      [[rows[0], changed, rows[2]], null], // the root, then: the whole tree no longer signed
      [[rows[0], { ...changed, leafHash: rows[1].leafHash }, rows[2]], 1],
      [[rows[0], rows[2]], 1],
      [[rows[0], { ...rows[2], index: 1 }, { ...rows[1], index: 2 }], 1],
    ];
    for (const [tampered, index] of cases) {
      const verdict = await verifyAuction(source(tampered), fixture.auctionId, null);
      expect(verdict.ok).toBe(false);
      expect(verdict.badIndex).toBe(index);
    }
  });

  it('refuses a checkpoint not signed by the published key, and a wrong outcome', async () => {
    const otherKey = { ...fixture.key, vkey: fixture.key.vkey.replace('+36ed9953+', '+00000000+') };
    expect((await verifyAuction(source(fixture.rows, fixture.close, otherKey), fixture.auctionId, null)).ok).toBe(false);
    const wrong = { ...fixture.close, outcome: { ...fixture.close.outcome, price: '150.00' } };
    const verdict = await verifyAuction(source(fixture.rows, wrong), fixture.auctionId, null);
    expect(verdict).toMatchObject({ ok: false, badIndex: 2 });
  });

  it('remembers the checkpoints it saw and fails a log rewritten since', async () => {
    const kept = new Map<string, { size: number; root: string }[]>();
    const seen: SeenCheckpoints = { get: (o) => kept.get(o) ?? [], set: (o, v) => kept.set(o, v) };
    expect((await verifyAuction(source(fixture.rows), fixture.auctionId, null, seen)).ok).toBe(true);
    const origin = `auctions.test/auctions/${fixture.auctionId}`;
    expect(kept.get(origin)).toEqual([{ size: 3, root: fixture.close.checkpoint.split('\n')[2] }]);
    kept.set(origin, [{ size: 2, root: toBase64(await merkleRoot([fromBase64(fixture.rows[1].leafHash)])) }]);
    const verdict = await verifyAuction(source(fixture.rows), fixture.auctionId, null, seen);
    expect(verdict).toMatchObject({ ok: false, reason: 'the first 2 entries are not the ones signed before' });
    kept.set(origin, [{ size: 4, root: 'x' }]);
    expect((await verifyAuction(source(fixture.rows), fixture.auctionId, null, seen)).reason).toMatch(/had 4 entries before/);
  });
});
