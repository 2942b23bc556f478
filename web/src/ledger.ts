// "Verify this auction": the checks of the command-line verifier (`python -m verify_auction`),
// in the browser, with WebCrypto's SHA-256 and Ed25519 and nothing of the platform trusted but
// its published key.
//
// - the key: `GET /api/ledger/key`'s verifier key, its id recomputed from its name and key;
// - the checkpoint (or, once ended, the close certificate's): a C2SP signed note whose Ed25519
//   signature by that key verifies; its origin names this auction;
// - every entry: its leaf hash is the hash of its text, the text is canonical JSON of this
//   auction at its own index, indices run 0..n-1 without gap or duplicate;
// - the tree: the RFC 9162 root over all leaves is the signed one (so every entry is in it);
// - earlier visits: every checkpoint this browser saw before for the log is a prefix of the
//   one now (kept in localStorage): a log rewritten since then fails here;
// - once ended: the close's winner and price are the highest standing bid of the last round
//   after its retractions. The full replay of the proxy engine against the revealed maxima
//   (soft close, buy-now, increments) is the command-line verifier's.
//
// It proves the order and content of what the platform accepted; it cannot prove that a bid
// was never sent.

export interface LedgerKey {
  keyName: string;
  publicKey: string;
  vkey: string;
}

export interface LedgerRow {
  index: number;
  entry: string;
  leafHash: string;
}

export interface LedgerPage {
  entries: LedgerRow[];
  size: number;
}

export interface CloseCertificate {
  checkpoint: string;
  outcome: { winner: string | null; price: string | null; reserveMet?: boolean | null };
  reveals: { bidder: string; max: string; nonce: string }[];
}

/** Where the verifier reads the log from (the API, or a test's log). */
export interface LedgerSource {
  key(): Promise<LedgerKey>;
  checkpoint(): Promise<string>;
  /** The close certificate, or null while the auction has not ended (409). */
  close(): Promise<CloseCertificate | null>;
  entries(start: number, end: number): Promise<LedgerPage>;
}

/** What the browser remembers of logs it verified: origin → [{size, root}]. */
export interface SeenStore {
  get(origin: string): { size: number; root: string }[];
  set(origin: string, seen: { size: number; root: string }[]): void;
}

export interface Entry {
  index: number;
  kind: 'bid' | 'proxy' | 'buy_now' | 'retraction';
  bidder: string;
  amount: string;
  round: number;
}

export type Verdict =
  | {
      ok: true;
      size: number;
      keyName: string;
      root: string;
      earlier: number;
      ended: boolean;
      leader: string | null;
      price: string | null;
      /** Indices of the entries of the bidder whose pseudonym was asked for. */
      mine: number[];
    }
  | { ok: false; index: number | null; why: string };

class Failed extends Error {
  constructor(
    readonly index: number | null,
    readonly why: string,
  ) {
    super(index === null ? why : `index ${index}: ${why}`);
  }
}

const PAGE = 1000;
const KINDS = new Set(['bid', 'proxy', 'buy_now', 'retraction']);
const KEYS = ['amount', 'arrivedAt', 'auctionId', 'bidder', 'endsAt', 'index', 'judgedAt', 'kind', 'maxCommit', 'v'];
const MOMENT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const MONEY = /^(0|[1-9][0-9]*)\.[0-9]{2}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();

export function fromBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error('not standard base64');
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

/** RFC 9162 2.1.1: SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(new Uint8Array([0]), entry));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concat(new Uint8Array([1]), left, right));
}

/** The root of the first n leaves for each n asked, in one pass over the leaves: a stack of
 * the perfect subtrees of the edge, folded right to left for a root. */
export async function rootsAt(leaves: Uint8Array[], sizes: Iterable<number>): Promise<Map<number, Uint8Array>> {
  const wanted = new Set(sizes);
  const roots = new Map<number, Uint8Array>();
  if (wanted.has(0)) roots.set(0, await sha256(new Uint8Array(0)));
  const stack: Uint8Array[] = [];
  for (let n = 1; n <= leaves.length; n++) {
    let folded = leaves[n - 1];
    for (let carry = n - 1; carry & 1; carry >>= 1) folded = await nodeHash(stack.pop()!, folded);
    stack.push(folded);
    if (wanted.has(n)) {
      let root = stack[stack.length - 1];
      for (let i = stack.length - 2; i >= 0; i--) root = await nodeHash(stack[i], root);
      roots.set(n, root);
    }
  }
  return roots;
}

interface Key {
  name: string;
  id: Uint8Array;
  key: CryptoKey;
}

/** `<name>+<hex key id>+<base64(0x01 || Ed25519 key)>`; the id is the first 4 bytes of
 * SHA-256(name || 0x0A || 0x01 || key). */
export async function parseVerifierKey(vkey: string): Promise<Key> {
  // (split at the first two '+' only: the base64 key may hold more)
  const [name, hexId] = vkey.split('+', 2);
  const raw = fromBase64(vkey.slice(`${name}+${hexId}+`.length));
  if (!name || /\s/.test(name) || raw.length !== 33 || raw[0] !== 1) {
    throw new Error('not an Ed25519 note verifier key');
  }
  const id = (await sha256(concat(encoder.encode(`${name}\n`), raw))).slice(0, 4);
  if (hex(id) !== hexId) throw new Error('its key id does not match its name and key');
  const key = await crypto.subtle.importKey('raw', raw.slice(1), { name: 'Ed25519' }, false, ['verify']);
  return { name, id, key };
}

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
}

/** The checkpoint a signed note carries, once `key`'s signature on it verifies. */
export async function openCheckpoint(note: string, key: Key): Promise<Checkpoint> {
  // (control characters other than newlines never appear in a note)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw new Error('a note has no control characters but newlines');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('a note is its text, a blank line and signature lines');
  const text = note.slice(0, split + 1);
  let signed = false;
  for (const line of note.slice(split + 2, -1).split('\n')) {
    if (!line.startsWith('— ')) throw new Error('a signature line is `— <name> <base64>`');
    const [name, encoded] = line.slice(2).split(' ');
    const raw = fromBase64(encoded ?? '');
    if (raw.length < 5) throw new Error('a signature line is `— <name> <base64>`');
    if (name === key.name && equal(raw.slice(0, 4), key.id)) {
      const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key.key, raw.slice(4), encoder.encode(text));
      if (!ok) throw new Error(`the signature of ${key.name} does not verify`);
      signed = true;
    }
  }
  if (!signed) throw new Error(`no signature by ${key.name}`);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1]) || lines.includes('')) {
    throw new Error('a checkpoint is an origin, a tree size and a root hash');
  }
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new Error('the root hash is 32 bytes');
  return { origin: lines[0], size: Number(lines[1]), root };
}

/** JSON with keys sorted and no spaces, as the log's entries are written. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** One served row, checked: its hash, its canonical text, its fields. */
export async function parseEntry(index: number, row: LedgerRow, auctionId: string): Promise<[Entry, Uint8Array]> {
  if (row?.index !== index || typeof row.entry !== 'string') throw new Failed(index, 'missing, or out of order');
  const leaf = await leafHash(encoder.encode(row.entry));
  let doc: Record<string, unknown>;
  try {
    if (!equal(fromBase64(row.leafHash), leaf)) throw new Failed(index, 'its leaf hash is not the hash of its text');
    doc = JSON.parse(row.entry) as Record<string, unknown>;
  } catch (e) {
    throw e instanceof Failed ? e : new Failed(index, `unreadable: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || canonical(doc) !== row.entry) {
    throw new Failed(index, 'its text is not canonical JSON (keys sorted, no spaces)');
  }
  const keys = Object.keys(doc).filter((k) => k !== 'round').sort();
  if (keys.join() !== KEYS.join()) throw new Failed(index, `its keys are ${Object.keys(doc).sort().join(', ')}`);
  const round = doc.round ?? 1;
  const kind = String(doc.kind);
  const commits = typeof doc.maxCommit === 'string' && HEX64.test(doc.maxCommit);
  const checks: [boolean, string][] = [
    [doc.v === 1, 'v is not 1'],
    [doc.auctionId === auctionId, 'an entry of another auction'],
    [doc.index === index, `it says it is index ${String(doc.index)}`],
    [KINDS.has(kind), `unknown kind ${kind}`],
    [typeof doc.bidder === 'string' && HEX32.test(doc.bidder), 'bidder: 32 hex'],
    [typeof doc.amount === 'string' && MONEY.test(doc.amount), 'amount: 0.00'],
    [!('round' in doc) || (Number.isInteger(round) && (round as number) >= 2), 'round: 2 or more'],
    [(kind === 'proxy') === commits, "a proxy bid, and only one, carries its maximum's commitment"],
    [
      ['arrivedAt', 'judgedAt', 'endsAt'].every((k) => typeof doc[k] === 'string' && MOMENT.test(doc[k] as string)),
      'a moment is not 2026-01-31T12:00:00.000Z',
    ],
  ];
  for (const [ok, why] of checks) if (!ok) throw new Failed(index, why);
  const entry = { index, kind, bidder: doc.bidder, amount: doc.amount, round } as Entry;
  return [entry, leaf];
}

function cents(amount: string): bigint {
  const [whole, part] = amount.split('.');
  return BigInt(whole) * 100n + BigInt(part);
}

/** The highest standing bid of the last round once its retractions are applied (on equal
 * amounts the later: a proxy answer meeting the bid it answers). */
export function standing(entries: Entry[]): Entry | null {
  const last = entries.length ? entries[entries.length - 1].round : 1;
  let bids: Entry[] = [];
  for (const e of entries) {
    if (e.round !== last) continue;
    if (e.kind === 'retraction') {
      if (!bids.some((b) => b.bidder === e.bidder && b.amount === e.amount)) {
        throw new Failed(e.index, `retracts ${e.amount}: no remaining bid of this bidder`);
      }
      bids = bids.filter((b) => b.bidder !== e.bidder || cents(b.amount) < cents(e.amount));
    } else {
      bids.push(e);
    }
  }
  let top: Entry | null = null;
  for (const b of bids) if (top === null || cents(b.amount) >= cents(top.amount)) top = b;
  return top;
}

/** The whole check of one auction's log; `bidder` marks that pseudonym's entries. */
export async function verifyLedger(
  source: LedgerSource,
  auctionId: string,
  seen: SeenStore,
  bidder: string | null = null,
): Promise<Verdict> {
  try {
    const published = await source.key();
    let key: Key;
    try {
      key = await parseVerifierKey(published.vkey);
      if (published.keyName !== key.name) throw new Error("keyName is not the vkey's");
    } catch (e) {
      throw new Failed(null, `the published key: ${(e as Error).message}`);
    }
    const close = await source.close();
    let checkpoint: Checkpoint;
    try {
      checkpoint = await openCheckpoint(close ? close.checkpoint : await source.checkpoint(), key);
    } catch (e) {
      throw new Failed(null, `the checkpoint: ${(e as Error).message}`);
    }
    if (!checkpoint.origin.endsWith(`/auctions/${auctionId}`)) {
      throw new Failed(null, `the checkpoint is of another log: ${checkpoint.origin}`);
    }
    const entries: Entry[] = [];
    const leaves: Uint8Array[] = [];
    while (entries.length < checkpoint.size) {
      const start = entries.length;
      const page = await source.entries(start, Math.min(start + PAGE, checkpoint.size));
      const rows = (page.entries ?? []).filter((r) => r.index < checkpoint.size);
      if (!rows.length) throw new Failed(start, 'the log serves no entry at this index');
      for (const row of rows) {
        const [entry, leaf] = await parseEntry(entries.length, row, auctionId);
        entries.push(entry);
        leaves.push(leaf);
      }
    }
    const earlier = seen.get(checkpoint.origin);
    const shrunk = earlier.filter((c) => c.size > checkpoint.size);
    if (shrunk.length) throw new Failed(null, `the log had ${shrunk[0].size} entries before, now ${checkpoint.size}`);
    const roots = await rootsAt(leaves, [checkpoint.size, ...earlier.map((c) => c.size)]);
    if (!equal(roots.get(checkpoint.size)!, checkpoint.root)) {
      throw new Failed(null, 'the entries do not make the signed root (an entry changed or moved)');
    }
    for (const c of earlier) {
      if (toBase64(roots.get(c.size)!) !== c.root) {
        throw new Failed(null, `the first ${c.size} entries are not the ones this browser saw signed before`);
      }
    }
    const top = standing(entries);
    if (close) {
      const { winner, price, reserveMet } = close.outcome;
      const agrees = winner === (top?.bidder ?? null) && price === (top?.amount ?? null);
      const noSale = winner === null && reserveMet === false && (price === null || price === top?.amount);
      if (!agrees && !noSale) {
        throw new Failed(
          top?.index ?? null,
          `the close names ${winner} at ${price}; the log's highest standing bid is ${top?.bidder ?? 'none'} at ${top?.amount ?? '-'}`,
        );
      }
    }
    const sizes = [...new Set([...earlier.map((c) => c.size), checkpoint.size])].sort((a, b) => a - b);
    seen.set(
      checkpoint.origin,
      sizes.map((size) => ({ size, root: toBase64(roots.get(size)!) })),
    );
    return {
      ok: true,
      size: checkpoint.size,
      keyName: key.name,
      root: toBase64(checkpoint.root),
      earlier: earlier.length,
      ended: close !== null,
      leader: top?.bidder ?? null,
      price: top?.amount ?? null,
      mine: bidder ? entries.filter((e) => e.bidder === bidder).map((e) => e.index) : [],
    };
  } catch (e) {
    if (e instanceof Failed) return { ok: false, index: e.index, why: e.why };
    return { ok: false, index: null, why: (e as Error).message || String(e) };
  }
}

/** Checkpoints seen, kept in localStorage (a private window forgets them, as it should). */
export function browserSeenStore(storage: Storage = localStorage): SeenStore {
  const name = (origin: string) => `ledger-seen:${origin}`;
  return {
    get(origin) {
      try {
        const value = JSON.parse(storage.getItem(name(origin)) ?? '[]') as unknown;
        return Array.isArray(value) ? (value as { size: number; root: string }[]) : [];
      } catch {
        return [];
      }
    },
    set(origin, seen) {
      try {
        storage.setItem(name(origin), JSON.stringify(seen));
      } catch {
        // storage full or refused: the next visit checks without the memory of this one
      }
    },
  };
}
