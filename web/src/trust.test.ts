// Trust and safety in the browser: the admin's threshold, how signals read, who may rate and
// reply, the device id, the routes of the new pages.
import { describe, expect, it } from 'vitest';
import { DEVICE_KEY, deviceId } from './device';
import { parseRoute, userHref } from './router';
import { atOrAbove, DEFAULT_THRESHOLD, feedbackView, signalText, voidable } from './trust';
import type { Auction, FeedbackEntry, Suspect } from './types';

function suspect(score: number, bidderId = `b${score}`): Suspect {
  return {
    bidderId,
    sellerId: 's',
    bidderName: 'Asha K.',
    sellerName: 'Ravi M.',
    bidderSuspended: false,
    score,
    signals: { auctionShare: 0.8, networkOverlap: 1 },
    reasons: ['Bid on 8 of this seller\'s 10 auctions with bids (80%).'],
    auctions: [{ id: 'a1', itemName: 'Lamp', status: 'live' }],
    updatedAt: '2025-01-01T10:00:00.000Z',
  };
}

function auction(over: Partial<Auction> = {}): Auction {
  return {
    id: 'a1',
    sellerId: 'seller',
    itemName: 'Lamp',
    description: '',
    startPrice: '100.00',
    bidIncrement: '10.00',
    goLiveAt: '2025-01-01T10:00:00Z',
    durationMins: 60,
    endsAt: '2025-01-01T11:00:00Z',
    status: 'sold',
    highestBid: null,
    minNextBid: '100.00',
    bidCount: 2,
    counterOffer: null,
    serverTime: '2025-01-01T11:00:00.000Z',
    category: null,
    images: [],
    watchers: 0,
    createdAt: '2025-01-01T09:00:00Z',
    updatedAt: '2025-01-01T09:00:00Z',
    winnerId: 'buyer',
    payment: { status: 'confirmed', dueAt: '2025-01-08T11:00:00.000Z' },
    ...over,
  };
}

function feedback(fromId: string, toId: string, reply: FeedbackEntry['reply'] = null): FeedbackEntry {
  return {
    id: `${fromId}-${toId}`,
    auctionId: 'a1',
    fromId,
    fromName: 'x',
    fromRole: fromId === 'seller' ? 'seller' : 'buyer',
    toId,
    toName: 'y',
    rating: 'positive',
    comment: '',
    createdAt: '2025-01-02T10:00:00.000Z',
    reply,
  };
}

describe('the admin list of suspects', () => {
  it('shows from the default threshold on, in the server order', () => {
    const items = [suspect(0.9), suspect(0.5), suspect(0.499), suspect(0.1)];
    expect(DEFAULT_THRESHOLD).toBe(0.5);
    expect(atOrAbove(items, DEFAULT_THRESHOLD).map((s) => s.score)).toEqual([0.9, 0.5]);
    expect(atOrAbove(items, 0)).toHaveLength(4);
  });

  it('reads signals as shares, the overlap as a count, and voids open auctions only', () => {
    expect(signalText('auctionShare', 0.833)).toBe('83%');
    expect(signalText('networkOverlap', 2)).toBe('2');
    expect(['scheduled', 'live', 'ended', 'sold', 'cancelled'].map(voidable)).toEqual([true, true, true, false, false]);
  });
});

describe('feedback after a sale', () => {
  it('opens once the payment is confirmed, for the parties, once each', () => {
    expect(feedbackView(auction(), 'buyer', []).mayLeave).toBe(true);
    expect(feedbackView(auction(), 'seller', []).mayLeave).toBe(true);
    expect(feedbackView(auction(), 'someone', []).mayLeave).toBe(false);
    expect(feedbackView(auction(), null, []).mayLeave).toBe(false);
    const paid = auction({ payment: { status: 'paid', dueAt: '2025-01-08T11:00:00.000Z' } });
    expect(feedbackView(paid, 'buyer', []).mayLeave).toBe(false);
    expect(feedbackView(auction(), 'buyer', [feedback('buyer', 'seller')]).mayLeave).toBe(false);
  });

  it('lets the rated side reply once', () => {
    const left = [feedback('buyer', 'seller')];
    expect(feedbackView(auction(), 'seller', left).mayReplyTo?.id).toBe('buyer-seller');
    expect(feedbackView(auction(), 'buyer', left).mayReplyTo).toBeNull();
    const answered = [feedback('buyer', 'seller', { comment: 'Thanks', at: '2025-01-03T10:00:00.000Z' })];
    expect(feedbackView(auction(), 'seller', answered).mayReplyTo).toBeNull();
  });
});

describe('the device id', () => {
  it('is made once, kept, and replaced when what is stored is no id', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const first = deviceId(storage);
    expect(first).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
    expect(deviceId(storage)).toBe(first);
    store.set(DEVICE_KEY, 'bad id!');
    expect(deviceId(storage)).not.toBe('bad id!');
    expect(deviceId(null)).toBeNull();
    const broken = { getItem: () => { throw new Error('denied'); }, setItem: () => {} };
    expect(deviceId(broken)).toBeNull();
  });
});

describe('routes', () => {
  it('finds the suspects page and a reputation card', () => {
    expect(parseRoute('#/admin/trust')).toEqual({ name: 'adminTrust' });
    expect(parseRoute(userHref('u 1'))).toEqual({ name: 'user', id: 'u 1' });
  });
});
