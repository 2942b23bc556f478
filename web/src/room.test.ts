import { describe, expect, it } from 'vitest';
import { initialRoom, roomReducer, type RoomAction, type RoomState } from './room';
import type { Auction, Bid, EventMessage, EventType, SnapshotMessage } from './types';

const ID = 'a1';

function auction(over: Partial<Auction> = {}): Auction {
  return {
    id: ID,
    sellerId: 'seller',
    itemName: 'Lamp',
    description: '',
    startPrice: '100.00',
    bidIncrement: '10.00',
    goLiveAt: '2025-01-01T10:00:00Z',
    durationMins: 60,
    endsAt: '2025-01-01T11:00:00Z',
    status: 'live',
    highestBid: null,
    minNextBid: '100.00',
    bidCount: 0,
    counterOffer: null,
    serverTime: '2025-01-01T10:30:00.000Z',
    createdAt: '2025-01-01T09:00:00Z',
    updatedAt: '2025-01-01T09:00:00Z',
    category: null,
    images: [],
    watchers: 0,
    ...over,
  };
}

function bid(n: number, amount: string, bidderId = 'u1'): Bid {
  return {
    id: `b${n}`,
    auctionId: ID,
    bidderId,
    bidderName: 'Asha K.',
    amount,
    createdAt: `2025-01-01T10:${String(n).padStart(2, '0')}:00Z`,
  };
}

// Events as a test builds them: maybe partial (the reducer folds replayed and partial events in
// defensively), so the data is cast to the event's type.
function ev(type: EventType, eventId: number, data: Record<string, unknown> = {}): RoomAction {
  const msg = { type, eventId: `${eventId}-0`, auctionId: ID, data, ts: '2025-01-01T10:30:00Z' } as unknown as EventMessage;
  return { type: 'message', msg };
}

function snapshot(over: Partial<SnapshotMessage> = {}): RoomAction {
  const msg: SnapshotMessage = {
    type: 'snapshot',
    auctionId: ID,
    status: 'live',
    highestBid: null,
    minNextBid: '100.00',
    goLiveAt: '2025-01-01T10:00:00Z',
    endsAt: '2025-01-01T11:00:00Z',
    serverTime: '2025-01-01T10:30:00Z',
    lastEventId: '0-0',
    replayGap: false,
    ...over,
  };
  return { type: 'message', msg };
}

const run = (actions: RoomAction[], from: RoomState = initialRoom(ID)) => actions.reduce(roomReducer, from);

describe('room reducer', () => {
  it('loads the REST view', () => {
    const s = run([
      { type: 'loaded', auction: auction({ bidCount: 1, highestBid: bid(1, '100.00') }), bids: [bid(1, '100.00')] },
    ]);
    expect(s.status).toBe('live');
    expect(s.highestBid?.amount).toBe('100.00');
    expect(s.bids).toHaveLength(1);
    expect(s.bidCount).toBe(1);
  });

  it('applies bid:placed: highest, minimum, end time, feed newest first, count', () => {
    const s = run([
      { type: 'loaded', auction: auction(), bids: [] },
      ev('bid:placed', 1, { bid: bid(1, '100.00'), minNextBid: '110.00', endsAt: '2025-01-01T11:00:00Z' }),
      ev('bid:placed', 2, { bid: bid(2, '150.00', 'u2'), minNextBid: '160.00', endsAt: '2025-01-01T11:00:30Z' }),
    ]);
    expect(s.highestBid).toMatchObject({ id: 'b2', amount: '150.00', bidderId: 'u2' });
    expect(s.minNextBid).toBe('160.00');
    expect(s.endsAt).toBe('2025-01-01T11:00:30Z');
    expect(s.bids.map((b) => b.id)).toEqual(['b2', 'b1']);
    expect(s.bidCount).toBe(2);
  });

  it('applies bid:retracted: the bids stay in the feed, marked, and the highest falls to the server\'s', () => {
    const s = run([
      { type: 'loaded', auction: auction(), bids: [] },
      ev('bid:placed', 1, { bid: bid(1, '100.00'), minNextBid: '110.00' }),
      ev('bid:placed', 2, { bid: bid(2, '150.00', 'u2'), minNextBid: '160.00' }),
      ev('bid:retracted', 3, {
        bidIds: ['b2'],
        bidderId: 'u2',
        highestBid: bid(1, '100.00'),
        minNextBid: '110.00',
        retractedAt: '2025-01-01T10:40:00.000Z',
      }),
    ]);
    expect(s.highestBid).toMatchObject({ id: 'b1', amount: '100.00' });
    expect(s.minNextBid).toBe('110.00');
    expect(s.bids.map((b) => [b.id, b.retractedAt ?? null])).toEqual([
      ['b2', '2025-01-01T10:40:00.000Z'],
      ['b1', null],
    ]);
    const none = run([ev('bid:retracted', 4, { bidIds: ['b1'], highestBid: null, minNextBid: '100.00' })], s);
    expect(none.highestBid).toBeNull();
    expect(none.minNextBid).toBe('100.00');
  });

  it('is idempotent for a duplicated bid', () => {
    const placed = ev('bid:placed', 1, { bid: bid(1, '100.00'), minNextBid: '110.00' });
    const once = run([{ type: 'loaded', auction: auction() }, placed]);
    const twice = run([placed], once);
    expect(twice.bids).toHaveLength(1);
    expect(twice.bidCount).toBe(1);
  });

  it('does not let a replayed older bid lower the price shown by a fresher snapshot', () => {
    const s = run([
      { type: 'loaded', auction: auction() },
      snapshot({ highestBid: bid(3, '200.00'), minNextBid: '210.00', lastEventId: '3-0' }),
      ev('bid:placed', 2, { bid: bid(2, '150.00'), minNextBid: '160.00' }),
    ]);
    expect(s.highestBid?.amount).toBe('200.00');
    expect(s.minNextBid).toBe('210.00');
    expect(s.bids.map((b) => b.id)).toEqual(['b2']);
  });

  it('asks for a refetch on a replay gap', () => {
    const s = run([{ type: 'loaded', auction: auction() }, snapshot({ replayGap: true })]);
    expect(s.refreshSeq).toBe(1);
  });

  it('refetches after a reconnect (a second snapshot), since user events are not replayed', () => {
    const first = run([{ type: 'loaded', auction: auction() }, snapshot()]);
    expect(first.refreshSeq).toBe(0);
    expect(run([snapshot()], first).refreshSeq).toBe(1);
  });

  it('clears the feed when an admin reset sends the auction back to scheduled', () => {
    const s = run([
      { type: 'loaded', auction: auction(), bids: [bid(1, '100.00')] },
      snapshot({ status: 'scheduled', highestBid: null, minNextBid: '100.00' }),
    ]);
    expect(s.status).toBe('scheduled');
    expect(s.bids).toEqual([]);
    expect(s.highestBid).toBeNull();
  });

  it('ignores messages for other auctions', () => {
    const before = run([{ type: 'loaded', auction: auction() }]);
    const after = roomReducer(before, {
      type: 'message',
      msg: {
        type: 'bid:placed',
        eventId: '1-0',
        auctionId: 'other',
        data: { bid: bid(1, '500.00'), minNextBid: '510.00', endsAt: '2025-01-01T11:00:00Z', arrivedAt: '2025-01-01T10:30:00Z' },
        ts: '2025-01-01T10:30:00Z',
      },
    });
    expect(after).toBe(before);
  });

  it('handles start and end, including buy-now', () => {
    const started = run([
      { type: 'loaded', auction: auction({ status: 'scheduled' }) },
      ev('auction:started', 1, { endsAt: '2025-01-01T11:05:00Z' }),
    ]);
    expect(started.status).toBe('live');
    expect(started.endsAt).toBe('2025-01-01T11:05:00Z');

    const boughtNow = run([ev('auction:ended', 2, { reason: 'buy_now', highestBid: bid(3, '900.00') })], started);
    expect(boughtNow.status).toBe('sold');
    expect(boughtNow.endedReason).toBe('buy_now');
    expect(boughtNow.highestBid?.amount).toBe('900.00');
    expect(boughtNow.refreshSeq).toBe(started.refreshSeq + 1);

    const noBids = run([ev('auction:ended', 2)], started);
    expect(noBids.status).toBe('closed_no_winner');

    const withBids = run(
      [ev('bid:placed', 2, { bid: bid(1, '100.00') }), ev('auction:ended', 3, { status: 'ended' })],
      started,
    );
    expect(withBids.status).toBe('ended');
  });

  it("takes the winning bid and reserve from auction:ended's data", () => {
    const s = run([
      { type: 'loaded', auction: auction({ reserveMet: false }) },
      ev('auction:ended', 4, { status: 'ended', reason: 'time', highestBid: bid(2, '150.00'), reserveMet: false }),
    ]);
    expect(s.status).toBe('ended');
    expect(s.highestBid?.amount).toBe('150.00');
    expect(s.reserveMet).toBe(false);
    expect(s.bids.map((b) => b.id)).toEqual(['b2']);
  });

  it('raises and dismisses the outbid alert', () => {
    const s = run([{ type: 'loaded', auction: auction() }, ev('bid:outbid', 5, { bid: bid(2, '150.00', 'u2') })]);
    expect(s.outbid?.amount).toBe('150.00');
    expect(roomReducer(s, { type: 'dismissOutbid' }).outbid).toBeNull();
  });

  it('tracks the seller decision and counter offer', () => {
    const ended = run([{ type: 'loaded', auction: auction({ status: 'ended', highestBid: bid(1, '100.00') }) }]);
    const required = run([ev('seller:decision_required', 9)], ended);
    expect(required.notice).toMatch(/decision/);
    const countered = run([ev('counter:offer', 10, { counterId: 'c1', amount: '120.00' })], ended);
    expect(countered.counterOffer).toEqual({ id: 'c1', amount: '120.00', status: 'pending' });
    const accepted = run([ev('counter:accepted', 11)], countered);
    expect(accepted.status).toBe('sold');
    expect(accepted.counterOffer?.status).toBe('accepted');
    const rejected = run([ev('counter:rejected', 11)], countered);
    expect(rejected.status).toBe('closed_no_winner');
    expect(run([ev('seller:accepted', 12)], ended).status).toBe('sold');
    expect(run([ev('seller:rejected', 12)], ended).status).toBe('closed_no_winner');
  });

  it("shows our own accepted bid at once and still takes its event's minimum", () => {
    const loaded = run([{ type: 'loaded', auction: auction() }]);
    const mine = roomReducer(loaded, {
      type: 'bidAccepted',
      bid: { ...bid(1, '100.00'), minNextBid: '110.00' },
    });
    expect(mine.highestBid?.id).toBe('b1');
    expect(mine.minNextBid).toBe('110.00'); // the reply's minimum, until the event says otherwise
    const confirmed = run([ev('bid:placed', 1, { bid: bid(1, '100.00'), minNextBid: '112.00' })], mine);
    expect(confirmed.minNextBid).toBe('112.00');
    expect(confirmed.bidCount).toBe(1);
  });

  it('keeps a newer live bid when a slower REST reply arrives', () => {
    const live = run([
      { type: 'loaded', auction: auction() },
      ev('bid:placed', 1, { bid: bid(1, '300.00'), minNextBid: '310.00' }),
    ]);
    const stale = roomReducer(live, {
      type: 'loaded',
      auction: auction({ highestBid: bid(0, '200.00'), minNextBid: '210.00', bidCount: 1 }),
    });
    expect(stale.highestBid?.amount).toBe('300.00');
    expect(stale.minNextBid).toBe('310.00');
  });

  it('takes reserveMet from the REST view and from events that carry it', () => {
    const s = run([{ type: 'loaded', auction: auction({ reserveMet: false }) }]);
    expect(s.reserveMet).toBe(false);
    const met = run([ev('bid:placed', 1, { bid: bid(1, '500.00'), reserveMet: true })], s);
    expect(met.reserveMet).toBe(true);
  });
});
