import { describe, expect, it } from 'vitest';
import { ServerClock } from './clock';
import {
  AUTH_REJECTED,
  backoffDelay,
  LiveSocket,
  PING_EVERY_MS,
  PONG_TIMEOUT_MS,
  socketUrl,
  type WebSocketLike,
} from './socket';
import type { ServerMessage } from './types';

class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: any[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  // test helpers
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(msg: object) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

function harness(token: string | null = 'tok') {
  let now = 1_000_000;
  const sockets: FakeSocket[] = [];
  const timeouts: { at: number; fn: () => void; id: number }[] = [];
  const intervals: { every: number; next: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  const clock = new ServerClock();
  const live = new LiveSocket('ws://node.test/ws', token, clock, {
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    now: () => now,
    random: () => 0.5,
    setTimeout: (fn, ms) => {
      const id = ++ids;
      timeouts.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout: (id) => {
      const i = timeouts.findIndex((t) => t.id === id);
      if (i >= 0) timeouts.splice(i, 1);
    },
    setInterval: (fn, ms) => {
      const id = ++ids;
      intervals.push({ every: ms, next: now + ms, fn, id });
      return id;
    },
    clearInterval: (id) => {
      const i = intervals.findIndex((t) => t.id === id);
      if (i >= 0) intervals.splice(i, 1);
    },
  });
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const t = timeouts.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      const iv = intervals.filter((x) => x.next <= end).sort((a, b) => a.next - b.next)[0];
      const nextAt = Math.min(t?.at ?? Infinity, iv?.next ?? Infinity);
      if (nextAt === Infinity) break;
      now = nextAt;
      if (t && t.at === nextAt) {
        timeouts.splice(timeouts.indexOf(t), 1);
        t.fn();
      } else if (iv) {
        iv.next += iv.every;
        iv.fn();
      }
    }
    now = end;
  };
  const last = () => sockets[sockets.length - 1];
  return { live, sockets, last, advance, clock, setNow: (n: number) => (now = n), getNow: () => now };
}

const ev = (eventId: number, type = 'bid:placed', auctionId = 'a1') => ({
  type,
  eventId,
  auctionId,
  data: { bid: { id: `b${eventId}`, amount: `${eventId}00.00` } },
});

describe('backoff', () => {
  it('grows exponentially, is capped, and jitters within [half, full]', () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 1)).toBe(500);
    expect(backoffDelay(3, () => 1)).toBe(4000);
    expect(backoffDelay(20, () => 1)).toBe(10_000);
    expect(backoffDelay(20, () => 0)).toBe(5000);
  });

  it('puts the token in the URL', () => {
    expect(socketUrl('ws://h:8080/ws', 'a.b.c')).toBe('ws://h:8080/ws?token=a.b.c');
    expect(socketUrl('ws://h:8080/ws', null)).toBe('ws://h:8080/ws');
  });
});

describe('LiveSocket', () => {
  it('joins, reports live, and syncs the clock from the snapshot and pong', () => {
    const h = harness();
    const statuses: string[] = [];
    h.live.onStatus((s) => statuses.push(s));
    const got: ServerMessage[] = [];
    h.live.join('a1', (m) => got.push(m));
    h.live.start();
    expect(h.last().url).toBe('ws://node.test/ws?token=tok');
    h.last().open();
    expect(statuses).toEqual(['live']);
    expect(h.last().sent).toEqual([{ type: 'join', auctionId: 'a1', lastEventId: null }, { type: 'ping' }]);

    h.advance(100); // 100 ms round trip
    const serverTime = new Date(h.getNow() + 60_000 - 50).toISOString(); // server is 60 s ahead
    h.last().receive({ type: 'pong', serverTime });
    expect(h.clock.offset).toBe(60_000);

    h.last().receive({
      type: 'snapshot',
      auctionId: 'a1',
      status: 'live',
      lastEventId: 7,
      serverTime,
      highestBid: null,
      minNextBid: '1.00',
      goLiveAt: '',
      endsAt: '',
    });
    expect(got.map((m) => m.type)).toEqual(['snapshot']);
    expect(h.live.lastEventId('a1')).toBe(7);
  });

  it('drops duplicate and old room events', () => {
    const h = harness();
    const got: any[] = [];
    h.live.join('a1', (m) => got.push(m));
    h.live.start();
    h.last().open();
    h.last().receive({ type: 'snapshot', auctionId: 'a1', lastEventId: 1, serverTime: new Date().toISOString() });
    h.last().receive(ev(2));
    h.last().receive(ev(2));
    h.last().receive(ev(1));
    h.last().receive(ev(3));
    expect(got.filter((m) => m.type === 'bid:placed').map((m) => m.eventId)).toEqual([2, 3]);
  });

  it('dedupes user events by id', () => {
    const h = harness();
    const all: any[] = [];
    h.live.subscribe((m) => all.push(m));
    h.live.start();
    h.last().open();
    const note = { type: 'notification', eventId: 'n1', auctionId: 'a9', data: { id: 'x' } };
    h.last().receive(note);
    h.last().receive(note);
    expect(all.filter((m) => m.type === 'notification')).toHaveLength(1);
  });

  it('reconnects with backoff and rejoins from the last event seen', () => {
    const h = harness();
    const got: any[] = [];
    const statuses: string[] = [];
    h.live.onStatus((s) => statuses.push(s));
    h.live.join('a1', (m) => got.push(m));
    h.live.start();
    h.last().open();
    h.last().receive({ type: 'snapshot', auctionId: 'a1', lastEventId: 4, serverTime: new Date().toISOString() });
    h.last().receive(ev(5));
    h.last().drop();
    expect(statuses).toEqual(['live', 'reconnecting']);
    expect(h.sockets).toHaveLength(1);

    h.advance(backoffDelay(0, () => 0.5));
    expect(h.sockets).toHaveLength(2);
    h.last().drop(); // fails again before opening: longer wait next time
    h.advance(backoffDelay(1, () => 0.5) - 1);
    expect(h.sockets).toHaveLength(2);
    h.advance(1);
    expect(h.sockets).toHaveLength(3);

    h.last().open();
    expect(h.last().sent[0]).toEqual({ type: 'join', auctionId: 'a1', lastEventId: 5 });
    // The server sends the present, then replays what we missed; the snapshot does not skip them.
    h.last().receive({ type: 'snapshot', auctionId: 'a1', lastEventId: 7, serverTime: new Date().toISOString() });
    h.last().receive(ev(5)); // already seen
    h.last().receive(ev(6));
    h.last().receive(ev(7));
    expect(got.filter((m) => m.type === 'bid:placed').map((m) => m.eventId)).toEqual([5, 6, 7]);
    expect(h.live.lastEventId('a1')).toBe(7);
    expect(statuses[statuses.length - 1]).toBe('live');
  });

  it('takes the snapshot position after a replay gap', () => {
    const h = harness();
    h.live.join('a1', () => {});
    h.live.start();
    h.last().open();
    h.last().receive(ev(3));
    h.last().receive({
      type: 'snapshot',
      auctionId: 'a1',
      lastEventId: 5000,
      replayGap: true,
      serverTime: new Date().toISOString(),
    });
    expect(h.live.lastEventId('a1')).toBe(5000);
  });

  it('treats an unanswered ping as a dead connection', () => {
    const h = harness();
    h.live.start();
    h.last().open();
    expect(h.sockets).toHaveLength(1);
    h.advance(PING_EVERY_MS * 3);
    // no pong for > PONG_TIMEOUT_MS: closed and a new connection is scheduled
    expect(PING_EVERY_MS * 3).toBeGreaterThan(PONG_TIMEOUT_MS);
    expect(h.sockets[0].closed).toBe(true);
    expect(h.live.status).toBe('reconnecting');
    h.advance(1000);
    expect(h.sockets).toHaveLength(2);
  });

  it('continues anonymously when the token is refused', () => {
    const h = harness('bad');
    let rejected = 0;
    h.live.onAuthRejected = () => rejected++;
    h.live.start();
    h.last().drop(AUTH_REJECTED);
    expect(rejected).toBe(1);
    h.advance(1000);
    expect(h.last().url).toBe('ws://node.test/ws');
  });

  it('leaves a room when its last handler goes', () => {
    const h = harness(null);
    h.live.start();
    h.last().open();
    const leave = h.live.join('a1', () => {});
    leave();
    expect(h.last().sent.slice(-2)).toEqual([
      { type: 'join', auctionId: 'a1', lastEventId: null },
      { type: 'leave', auctionId: 'a1' },
    ]);
  });

  it('re-authenticates the open connection in place on a new token (sign-in, refresh)', () => {
    const h = harness(null);
    h.live.start();
    h.last().open();
    h.live.join('a1', () => {});
    h.live.setToken('first'); // signed in
    h.live.setToken('first'); // the same token again: nothing to say
    h.live.setToken('refreshed'); // TOKEN_REFRESHED
    expect(h.sockets).toHaveLength(1);
    expect(h.last().closed).toBe(false);
    expect(h.last().sent.filter((m) => m.type === 'auth')).toEqual([
      { type: 'auth', token: 'first' },
      { type: 'auth', token: 'refreshed' },
    ]);
    h.last().receive({ type: 'authed', userId: 'u1', expiresAt: '2027-01-15T09:00:00.000Z' });
    h.last().receive({ type: 'authed', userId: 'u1', expiresAt: '2027-01-15T10:00:00.000Z' });
    expect(h.live.authedUntil).toBe('2027-01-15T10:00:00.000Z');
    // A reconnect later carries the newest token in its URL, and says nothing more.
    h.last().drop();
    h.advance(1000);
    expect(h.last().url).toBe('ws://node.test/ws?token=refreshed');
    h.last().open();
    expect(h.last().sent.filter((m) => m.type === 'auth')).toEqual([]);
  });

  it('sends a token that changed while the connection was opening as soon as it opens', () => {
    const h = harness('old');
    h.live.start();
    h.live.setToken('new');
    expect(h.last().sent).toEqual([]);
    h.last().open();
    expect(h.last().sent[0]).toEqual({ type: 'auth', token: 'new' });
    expect(h.sockets).toHaveLength(1);
  });

  it('signs out by reconnecting anonymously, keeping its rooms', () => {
    const h = harness('tok');
    h.live.start();
    h.last().open();
    h.live.join('a1', () => {});
    h.last().receive({ type: 'snapshot', auctionId: 'a1', lastEventId: '5', serverTime: '2027-01-15T09:00:00.000Z' });
    h.live.setToken(null);
    expect(h.sockets[0].closed).toBe(true);
    expect(h.last().url).toBe('ws://node.test/ws');
    h.last().open();
    expect(h.last().sent[0]).toEqual({ type: 'join', auctionId: 'a1', lastEventId: '5' });
  });

  it('goes anonymous when the server refuses the newest token, and says which', () => {
    const h = harness(null);
    const rejected: string[] = [];
    h.live.onAuthRejected = (token) => rejected.push(token);
    h.live.start();
    h.last().open();
    h.live.setToken('stale');
    h.live.setToken('fresh');
    // The answer to 'stale' (superseded by 'fresh' already) changes nothing...
    h.last().receive({ type: 'error', code: 'unauthenticated', detail: 'bad' });
    expect(rejected).toEqual([]);
    // ... the answer to the newest does.
    h.last().receive({ type: 'error', code: 'unauthenticated', detail: 'bad' });
    expect(rejected).toEqual(['fresh']);
    expect(h.live.authedUntil).toBeNull();
    h.live.setToken('fresh'); // handed the same token again: it is tried again
    expect(h.last().sent.filter((m) => m.type === 'auth').pop()).toEqual({ type: 'auth', token: 'fresh' });
  });
});
