// One WebSocket per tab: joins rooms, rejoins them after a drop with the last
// room event seen, drops duplicates, and feeds ping/pong and snapshot times to the server clock.
// Everything time- or network-related comes in through `deps`, so tests drive it by hand.

import { makeSample, type ServerClock } from './clock';
import { compareEventId, type EventId } from './eventIds';
import { ROOM_EVENTS, type EventMessage, type PongMessage, type ServerMessage, type SnapshotMessage } from './types';

export type ConnectionStatus = 'connecting' | 'live' | 'reconnecting';

export interface WebSocketLike {
  readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface SocketDeps {
  createSocket: (url: string) => WebSocketLike;
  now: () => number;
  random: () => number;
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (id: unknown) => void;
  setInterval: (fn: () => void, ms: number) => unknown;
  clearInterval: (id: unknown) => void;
}

const OPEN = 1;
export const PING_EVERY_MS = 10_000;
/** A ping unanswered this long means the connection is dead even if no close event came. */
export const PONG_TIMEOUT_MS = 25_000;
/** Close code the socket node uses for an invalid token. */
export const AUTH_REJECTED = 4401;

const defaultDeps = (): SocketDeps => ({
  createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
  now: () => Date.now(),
  random: () => Math.random(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id as ReturnType<typeof setInterval>),
});

/** Exponential backoff with "equal jitter": 0.5 s, 1 s, 2 s … capped at 10 s, each halved at random. */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  baseMs = 500,
  capMs = 10_000,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function socketUrl(wsUrl: string, token: string | null): string {
  if (!token) return wsUrl;
  try {
    const u = new URL(wsUrl);
    u.searchParams.set('token', token);
    return u.toString();
  } catch {
    return `${wsUrl}${wsUrl.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
  }
}

/** Remembers the last `limit` keys, forgetting the oldest. */
class RecentKeys {
  private keys = new Set<string>();
  constructor(private readonly limit: number) {}
  /** true when the key is new. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.limit) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
}

type Handler = (msg: ServerMessage) => void;

interface RoomSub {
  lastEventId: EventId | null;
  handlers: Set<Handler>;
  joinSentAt: number | null;
}

const ROOM_EVENT_TYPES = new Set<string>(ROOM_EVENTS);

export class LiveSocket {
  status: ConnectionStatus = 'connecting';
  /** Called when the server refuses the token (close code 4401, or an `unauthenticated` answer
   * to `auth`), with that token; the socket then continues anonymously until given another. */
  onAuthRejected: ((token: string) => void) | null = null;
  /** The `expiresAt` of the server's last `authed` answer (null: anonymous or not told yet). */
  authedUntil: string | null = null;

  private readonly deps: SocketDeps;
  private ws: WebSocketLike | null = null;
  private rooms = new Map<string, RoomSub>();
  private listeners = new Set<Handler>();
  private statusListeners = new Set<(s: ConnectionStatus) => void>();
  private seen = new RecentKeys(5000);
  private attempt = 0;
  private reconnectTimer: unknown = null;
  private pingTimer: unknown = null;
  private pingSentAt: number | null = null;
  private started = false;
  /** The token the server knows this connection by: the URL's, then each `auth` sent. */
  private serverToken: string | null = null;
  /** Tokens sent in `auth` messages not yet answered, oldest first (answers come in order). */
  private pendingAuth: string[] = [];

  constructor(
    private readonly wsUrl: string,
    private token: string | null,
    private readonly clock: ServerClock | null,
    deps: Partial<SocketDeps> = {},
  ) {
    this.deps = { ...defaultDeps(), ...deps };
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    if (typeof addEventListener === 'function') addEventListener('online', this.reconnectNow);
    this.connect();
  }

  stop(): void {
    this.started = false;
    if (typeof removeEventListener === 'function') removeEventListener('online', this.reconnectNow);
    this.teardown();
  }

  /**
   * A new access token (signed in, refreshed) re-authenticates the open connection in place with
   * `{"type":"auth"}`: no reconnect, rooms and positions untouched; a connection
   * still opening does it as soon as it opens. Signing out (null) opens a fresh anonymous
   * connection, keeping rooms and positions.
   */
  setToken(token: string | null): void {
    if (token === this.token) return;
    this.token = token;
    if (!this.started) return;
    if (token === null) {
      this.teardown();
      this.setStatus('connecting');
      this.connect();
      return;
    }
    this.sendAuth();
  }

  /** Joins a room; the handler gets its snapshot, its events, and the user's events for it. Returns leave(). */
  join(auctionId: string, handler: Handler): () => void {
    let room = this.rooms.get(auctionId);
    if (!room) {
      room = { lastEventId: null, handlers: new Set(), joinSentAt: null };
      this.rooms.set(auctionId, room);
    }
    room.handlers.add(handler);
    if (room.handlers.size === 1) this.sendJoin(auctionId, room);
    return () => {
      const r = this.rooms.get(auctionId);
      if (!r) return;
      r.handlers.delete(handler);
      if (r.handlers.size === 0) {
        this.rooms.delete(auctionId);
        this.send({ type: 'leave', auctionId });
      }
    };
  }

  /** Every message after de-duplication (user events such as `notification` included). */
  subscribe(handler: Handler): () => void {
    this.listeners.add(handler);
    return () => this.listeners.delete(handler);
  }

  onStatus(listener: (s: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  lastEventId(auctionId: string): EventId | null {
    return this.rooms.get(auctionId)?.lastEventId ?? null;
  }

  // ---- internals ----

  private connect(): void {
    this.reconnectTimer = null;
    let ws: WebSocketLike;
    try {
      ws = this.deps.createSocket(socketUrl(this.wsUrl, this.token));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.serverToken = this.token;
    this.pendingAuth = [];
    this.authedUntil = null;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.setStatus('live');
      this.sendAuth(); // the token changed while the connection was opening
      for (const [id, room] of this.rooms) this.sendJoin(id, room);
      this.sendPing();
      this.pingTimer = this.deps.setInterval(() => this.heartbeat(), PING_EVERY_MS);
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.attempt = 0; // the server is really talking: the next drop starts backoff afresh
      this.handleRaw(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.handleClose(ev?.code ?? 1006);
    };
    ws.onerror = () => {
      /* a close event always follows */
    };
  }

  private teardown(): void {
    this.clearTimers();
    this.pingSentAt = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null;
      try {
        ws.close(1000, 'bye');
      } catch {
        /* never opened */
      }
    }
  }

  private handleClose(code: number): void {
    this.clearTimers();
    this.ws = null;
    this.pingSentAt = null;
    if (!this.started) return;
    if (code === AUTH_REJECTED && this.token) {
      const rejected = this.token;
      this.token = null;
      this.onAuthRejected?.(rejected);
    }
    this.setStatus('reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.started || this.reconnectTimer !== null) return;
    const delay = backoffDelay(this.attempt++, this.deps.random);
    this.reconnectTimer = this.deps.setTimeout(() => this.connect(), delay);
  }

  private reconnectNow = (): void => {
    if (!this.started || this.reconnectTimer === null) return;
    this.deps.clearTimeout(this.reconnectTimer);
    this.connect();
  };

  private heartbeat(): void {
    const ws = this.ws;
    if (!ws) return;
    if (this.pingSentAt !== null && this.deps.now() - this.pingSentAt > PONG_TIMEOUT_MS) {
      // Half-open connection: stop waiting for a close event that may never come.
      ws.onclose = ws.onmessage = ws.onerror = ws.onopen = null;
      try {
        ws.close(4000, 'pong timeout');
      } catch {
        /* already gone */
      }
      this.handleClose(1006);
      return;
    }
    this.sendPing();
  }

  private sendPing(): void {
    if (this.pingSentAt !== null) return; // keep the first outstanding ping's time: its RTT is the honest one
    if (this.send({ type: 'ping' })) this.pingSentAt = this.deps.now();
  }

  private sendAuth(): void {
    const token = this.token;
    if (token === null || token === this.serverToken) return;
    if (this.send({ type: 'auth', token })) {
      this.serverToken = token;
      this.pendingAuth.push(token);
    }
  }

  /** The answer to the oldest `auth` in flight: `authed`, or an `unauthenticated` error. */
  private authAnswered(msg: { type: string; expiresAt?: unknown }): void {
    const token = this.pendingAuth.shift();
    if (token === undefined) return;
    if (msg.type === 'authed') {
      this.authedUntil = typeof msg.expiresAt === 'string' ? msg.expiresAt : null;
      return;
    }
    this.authedUntil = null;
    if (this.serverToken === token) this.serverToken = null; // the server made it anonymous
    if (this.token === token) {
      this.token = null;
      this.onAuthRejected?.(token);
    }
  }

  private sendJoin(auctionId: string, room: RoomSub): void {
    if (this.send({ type: 'join', auctionId, lastEventId: room.lastEventId })) room.joinSentAt = this.deps.now();
  }

  private send(msg: object): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    try {
      ws.send(JSON.stringify(msg));
      return true;
    } catch {
      return false;
    }
  }

  private handleRaw(data: unknown): void {
    let msg: ServerMessage;
    try {
      msg = JSON.parse(String(data)) as ServerMessage;
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
    const now = this.deps.now();

    if (msg.type === 'authed' || (msg.type === 'error' && (msg as { code?: unknown }).code === 'unauthenticated')) {
      this.authAnswered(msg as { type: string; expiresAt?: unknown });
      this.deliver(msg, undefined);
      return;
    }

    if (msg.type === 'pong') {
      this.clock?.add(makeSample((msg as PongMessage).serverTime, now, this.pingSentAt ?? undefined));
      this.pingSentAt = null;
      return;
    }

    if (msg.type === 'snapshot') {
      const snap = msg as SnapshotMessage;
      const room = this.rooms.get(snap.auctionId);
      if (!room) return;
      this.clock?.add(makeSample(snap.serverTime, now, room.joinSentAt ?? undefined));
      room.joinSentAt = null;
      // Rejoining with a position: the replay that follows moves it. Otherwise (first join, or a
      // gap the server cannot replay) the snapshot's position is where we now stand.
      if (room.lastEventId === null || snap.replayGap) room.lastEventId = snap.lastEventId ?? null;
      this.deliver(snap, room);
      return;
    }

    if ('eventId' in msg && msg.eventId !== undefined && msg.eventId !== null) {
      const ev = msg as EventMessage;
      const room = this.rooms.get(ev.auctionId);
      if (ROOM_EVENT_TYPES.has(ev.type)) {
        if (room) {
          if (compareEventId(ev.eventId, room.lastEventId) <= 0) return;
          room.lastEventId = ev.eventId;
        } else if (!this.seen.add(`r|${ev.auctionId}|${ev.eventId}`)) return;
      } else if (!this.seen.add(`u|${ev.type}|${ev.auctionId}|${ev.eventId}`)) {
        return;
      }
      this.deliver(ev, room);
      return;
    }

    this.deliver(msg, undefined); // errors and anything else
  }

  private deliver(msg: ServerMessage, room: RoomSub | undefined): void {
    if (room) for (const h of [...room.handlers]) h(msg);
    for (const h of [...this.listeners]) h(msg);
  }

  private setStatus(s: ConnectionStatus): void {
    if (this.status === s) return;
    this.status = s;
    for (const l of [...this.statusListeners]) l(s);
  }

  private clearTimers(): void {
    if (this.pingTimer !== null) this.deps.clearInterval(this.pingTimer);
    if (this.reconnectTimer !== null) this.deps.clearTimeout(this.reconnectTimer);
    this.pingTimer = null;
    this.reconnectTimer = null;
  }
}
