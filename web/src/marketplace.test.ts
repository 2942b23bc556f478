import { describe, expect, it } from 'vitest';
import { describeNotification } from './notifications';
import { initialRoom, roomReducer } from './room';
import { hashQuery, parseRoute, withQuery } from './router';
import type { EventMessage, Notification } from './types';

describe('marketplace in the browser app', () => {
  it('a room hears auction:cancelled and shows it cancelled with the reason', () => {
    const msg: EventMessage = {
      type: 'auction:cancelled',
      eventId: '1-0',
      auctionId: 'a1',
      data: {
        status: 'cancelled',
        cancelReason: 'Damaged in transit',
        cancelledAt: '2025-01-01T10:00:00Z',
        byAdmin: false,
      },
      ts: '2025-01-01T10:00:00Z',
    };
    const s = roomReducer({ ...initialRoom('a1'), status: 'live' }, { type: 'message', msg });
    expect(s.status).toBe('cancelled');
    expect(s.notice).toContain('Damaged in transit');
    expect(s.refreshSeq).toBe(1);
  });

  it('keeps a search in the hash so it can be shared', () => {
    const hash = withQuery('/', { q: 'brass clock', category: 'clocks', sort: 'price_asc', status: '' });
    expect(hash).toBe('#/?q=brass+clock&category=clocks&sort=price_asc');
    expect(parseRoute(hash)).toEqual({ name: 'list' });
    const back = hashQuery(hash);
    expect(back.get('q')).toBe('brass clock');
    expect(back.get('sort')).toBe('price_asc');
  });

  it('routes the personal pages', () => {
    expect(parseRoute('#/me/bids')).toEqual({ name: 'myBids' });
    expect(parseRoute('#/me/auctions')).toEqual({ name: 'myAuctions' });
    expect(parseRoute('#/me/purchases')).toEqual({ name: 'purchases' });
    expect(parseRoute('#/me/watchlist')).toEqual({ name: 'watchlist' });
    expect(parseRoute('#/me/nothing')).toEqual({ name: 'notFound' });
  });

  it('describes the new notifications', () => {
    const n = (type: Notification['type'], payload: Record<string, unknown>): Notification => ({
      id: 'n',
      type,
      payload,
      readAt: null,
      createdAt: '2025-01-01T00:00:00Z',
    });
    const money = (a: string) => `₹${a}`;
    expect(describeNotification(n('ending_soon', { itemName: 'Lamp' }), money)).toBe('“Lamp” is ending soon.');
    expect(describeNotification(n('auction_cancelled', { itemName: 'Lamp', cancelReason: 'Sold' }), money)).toBe(
      '“Lamp” was cancelled: Sold.',
    );
  });
});
