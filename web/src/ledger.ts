// "Verify this auction": the browser's check of an auction's public bid log with WebCrypto
// (SHA-256 and Ed25519), the same checks as `python -m verify_auction` makes of the log itself:
// the published key (its id matches its name and bytes), the checkpoint's signature by it, each
// entry's leaf hash and canonical text at its own index, the Merkle root (RFC 9162) over all of
// them equal to the signed root, every checkpoint this browser saw before still a prefix of it;
// and, once ended, the close's winner and price against the highest bid of the log. It marks the caller's own entries (their pseudonym, `ledgerBidder`)
// as included. The proxy engine's full replay stays the command-line verifier's.

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

export interface LedgerClose {
  checkpoint: string;
  outcome: { winner: string | null; price: string | null; reserveMet: boolean | null };
  reveals: { bidder: string; max: string; nonce: string }[];
}

/** Where the log is read from (the API, or a test's fixture). */
export interface LedgerSource {
  key(): Promise<LedgerKey>;
  checkpoint(): Promise<string>;
  /** The close certificate, or null before the end. */
  close(): Promise<LedgerClose | null>;
  entries(start: number, end: number): Promise<{ entries: LedgerRow[]; size: number }>;
}

/** The checkpoints this browser saw before, per log (origin): a later run proves the log only
 * grew. `localStorage` in the app; a map in tests. */
export interface SeenCheckpoints {
  get(origin: string): { size: number; root: string }[];
  set(origin: string, seen: { size: number; root: string }[]): void;
}

export function browserSeen(storage: Storage = localStorage): SeenCheckpoints {
  const key = (origin: string) => `ledger-seen:${origin}`;
  return {
    get: (origin) => {
      try {
        return JSON.parse(storage.getItem(key(origin)) ?? '[]') as { size: number; root: string }[];
      } catch {
        return [];
      }
    },
    set: (origin, seen) => storage.setItem(key(origin), JSON.stringify(seen)),
  };
}

export interface Verdict {
  ok: boolean;
  /** Why not, naming the first bad index when there is one. */
  reason: string;
  badIndex: number | null;
  size: number;
  root: string;
  keyName: string;
  ended: boolean;
  /** The indices of the caller's own entries, included in the signed tree. */
  mine: number[];
}

const PAGE = 1000;
const enc = new TextEncoder();

class Failed extends Error {
  constructor(
    readonly index: number | null,
    why: string,
  ) {
    super(index === null ? why : `index ${index}: ${why}`);
  }
}

export function fromBase64(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Error('not base64');
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

export function toBase64(bytes: Uint8Array): string {
  let raw = '';
  for (const b of bytes) raw += String.fromCharCode(b);
  return btoa(raw);
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

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', concat(data)));
}

export const leafHash = (entry: Uint8Array) => sha256(concat(new Uint8Array([0]), entry));
const nodeHash = (l: Uint8Array, r: Uint8Array) => sha256(concat(new Uint8Array([1]), l, r));

/** RFC 9162's tree hash over the leaves (the empty tree: SHA-256 of nothing). */
export async function merkleRoot(leaves: Uint8Array[]): Promise<Uint8Array> {
  if (leaves.length === 0) return sha256(new Uint8Array());
  const stack: Uint8Array[] = [];
  for (let n = 0; n < leaves.length; n++) {
    let folded = leaves[n];
    for (let carry = n; carry & 1; carry >>= 1) folded = await nodeHash(stack.pop()!, folded);
    stack.push(folded);
  }
  let root = stack[stack.length - 1];
  for (let i = stack.length - 2; i >= 0; i--) root = await nodeHash(stack[i], root);
  return root;
}

/** The note verifier key `<name>+<hex key id>+<base64(0x01 || Ed25519 key)>`, checked. */
export async function parseVkey(vkey: string): Promise<{ name: string; keyId: Uint8Array; key: Uint8Array }> {
  // (split at the first two '+' only: base64 has '+' of its own)
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  const [name, hexId, encoded] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  if (first < 0 || second < 0) throw new Failed(null, 'the published key is not a note verifier key');
  const raw = fromBase64(encoded ?? '');
  if (!name || !/^[0-9a-f]{8}$/.test(hexId ?? '') || raw.length !== 33 || raw[0] !== 1) {
    throw new Failed(null, 'the published key is not an Ed25519 note verifier key');
  }
  const id = (await sha256(concat(enc.encode(name + '\n'), raw))).slice(0, 4);
  if ([...id].map((b) => b.toString(16).padStart(2, '0')).join('') !== hexId) {
    throw new Failed(null, "the published key's id does not match its name and key");
  }
  return { name, keyId: id, key: raw.slice(1) };
}

async function ed25519Verifies(key: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  const imported = await crypto.subtle.importKey('raw', concat(key), { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, imported, concat(signature), concat(message));
}

/** The checkpoint a signed note carries, once the key's signature on it verifies. */
export async function openCheckpoint(
  note: string,
  key: { name: string; keyId: Uint8Array; key: Uint8Array },
): Promise<{ origin: string; size: number; root: Uint8Array }> {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Failed(null, 'the checkpoint is not a signed note');
  const text = note.slice(0, split + 1);
  let signed = false;
  for (const line of note.slice(split + 2, -1).split('\n')) {
    if (!line.startsWith('— ')) throw new Failed(null, 'a signature line starts with an em dash');
    const [name, encoded] = line.slice(2).split(' ');
    const raw = fromBase64(encoded ?? '');
    if (name !== key.name || !equal(raw.slice(0, 4), key.keyId)) continue;
    if (!(await ed25519Verifies(key.key, raw.slice(4), enc.encode(text)))) {
      throw new Failed(null, `the checkpoint's signature by ${key.name} does not verify`);
    }
    signed = true;
  }
  if (!signed) throw new Failed(null, `the checkpoint carries no signature by ${key.name}`);
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Failed(null, 'a checkpoint is origin, size, root');
  const root = fromBase64(lines[2]);
  if (root.length !== 32) throw new Failed(null, "the checkpoint's root is not 32 bytes");
  return { origin: lines[0], size: Number(lines[1]), root };
}

/** Canonical JSON of a flat entry: keys sorted, no spaces (as the platform hashes it). */
export function canonical(doc: Record<string, unknown>): string {
  return '{' + Object.keys(doc).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(doc[k])}`).join(',') + '}';
}

function cents(amount: string): number {
  const [whole, fraction = ''] = amount.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}

interface Parsed {
  bidder: string;
  amount: string;
  kind: string;
  round: number;
}

/** Verify one auction's log; never throws for what the log says (a failed check is a verdict). */
export async function verifyAuction(
  source: LedgerSource,
  auctionId: string,
  myBidder: string | null,
  seen: SeenCheckpoints | null = null,
): Promise<Verdict> {
  const verdict: Verdict = { ok: false, reason: '', badIndex: null, size: 0, root: '', keyName: '', ended: false, mine: [] };
  try {
    const published = await source.key();
    const key = await parseVkey(published.vkey);
    verdict.keyName = key.name;
    if (published.keyName !== key.name || !equal(fromBase64(published.publicKey), key.key)) {
      throw new Failed(null, "the key's name and bytes are not its vkey's");
    }
    const close = await source.close();
    verdict.ended = close !== null;
    const checkpoint = await openCheckpoint(close ? close.checkpoint : await source.checkpoint(), key);
    if (!checkpoint.origin.endsWith(`/auctions/${auctionId}`)) throw new Failed(null, `the checkpoint is of another log: ${checkpoint.origin}`);
    verdict.size = checkpoint.size;
    verdict.root = toBase64(checkpoint.root);
    const leaves: Uint8Array[] = [];
    const parsed: Parsed[] = [];
    while (leaves.length < checkpoint.size) {
      const start = leaves.length;
      const page = await source.entries(start, Math.min(start + PAGE, checkpoint.size));
      const rows = page.entries.filter((r) => r.index < checkpoint.size);
      if (rows.length === 0) throw new Failed(start, 'the log serves no entry at this index');
      for (const row of rows) {
        const index = leaves.length;
        if (row.index !== index) throw new Failed(index, 'missing, or out of order');
        const bytes = enc.encode(row.entry);
        const leaf = await leafHash(bytes);
        if (!equal(leaf, fromBase64(row.leafHash))) throw new Failed(index, 'its leaf hash is not the hash of its text');
        let doc: Record<string, unknown>;
        try {
          doc = JSON.parse(row.entry) as Record<string, unknown>;
        } catch {
          throw new Failed(index, 'its text is not JSON');
        }
        if (canonical(doc) !== row.entry) throw new Failed(index, 'its text is not canonical JSON');
        if (doc.index !== index) throw new Failed(index, `it says it is index ${String(doc.index)}`);
        if (doc.auctionId !== auctionId) throw new Failed(index, 'an entry of another auction');
        parsed.push({ bidder: String(doc.bidder), amount: String(doc.amount), kind: String(doc.kind), round: Number(doc.round ?? 1) });
        if (myBidder !== null && doc.bidder === myBidder) verdict.mine.push(index);
        leaves.push(leaf);
      }
    }
    if (!equal(await merkleRoot(leaves), checkpoint.root)) {
      throw new Failed(null, 'the entries do not make the signed root (an entry changed or moved)');
    }
    // Every checkpoint seen before must be a prefix of this one: the log only grows.
    const earlier = seen?.get(checkpoint.origin) ?? [];
    for (const before of earlier) {
      if (before.size > checkpoint.size) throw new Failed(null, `the log had ${before.size} entries before, now ${checkpoint.size}`);
      if (toBase64(await merkleRoot(leaves.slice(0, before.size))) !== before.root) {
        throw new Failed(null, `the first ${before.size} entries are not the ones signed before`);
      }
    }
    if (close !== null && !parsed.some((p) => p.kind === 'retraction')) {
      // The highest bid of the last round (the later on equal amounts) is the outcome.
      const last = parsed.length ? parsed[parsed.length - 1].round : 1;
      let top: Parsed | null = null;
      for (const p of parsed) if (p.round === last && (top === null || cents(p.amount) >= cents(top.amount))) top = p;
      const { winner, price, reserveMet } = close.outcome;
      const named = winner === (top?.bidder ?? null) && price === (top?.amount ?? null);
      if (!named && !(winner === null && reserveMet === false)) {
        throw new Failed(parsed.length - 1, `the close names ${winner} at ${price}; the log's highest bid is ${top?.bidder ?? 'none'} at ${top?.amount ?? 'none'}`);
      }
    }
    if (seen && !earlier.some((e) => e.size === checkpoint.size)) {
      seen.set(checkpoint.origin, [...earlier, { size: checkpoint.size, root: verdict.root }].sort((a, b) => a.size - b.size));
    }
    verdict.ok = true;
    verdict.reason = `${checkpoint.size} entries signed by ${key.name}`;
  } catch (e) {
    verdict.ok = false;
    verdict.badIndex = e instanceof Failed ? e.index : null;
    verdict.reason = e instanceof Error ? e.message : String(e);
  }
  return verdict;
}
