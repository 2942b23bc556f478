import { describe, expect, it } from 'vitest';
import { formatMoney } from './money';
import { describeNotification, notificationAuctionId } from './notifications';
import type { Notification } from './types';

const money = (a: string) => formatMoney(a, 'INR');
const n = (type: string, payload: Record<string, unknown> = {}): Notification => ({
  id: '1',
  type: type as Notification['type'], // 'something_new': a server newer than this client

  payload,
  readAt: null,
  createdAt: '2025-01-01T00:00:00Z',
});

describe('notifications', () => {
  it('describes each type in plain words', () => {
    expect(describeNotification(n('outbid', { itemName: 'Lamp', amount: '150000.00' }), money)).toBe(
      'You were outbid on “Lamp”: the highest bid is now ₹1,50,000.00.',
    );
    expect(describeNotification(n('counter_offer', { itemName: 'Lamp', amount: '120' }), money)).toBe(
      'Counter offer at ₹120.00 on “Lamp”.',
    );
    expect(describeNotification(n('decision_required'), money)).toBe('An auction has ended: your decision is needed.');
    expect(describeNotification(n('something_new'), money)).toBe('Something new.');
    expect(
      describeNotification(
        n('auction_ended', { itemName: 'Lamp', highestBid: { amount: '150.00' }, youAreHighest: true }),
        money,
      ),
    ).toBe('“Lamp” has ended with your bid at ₹150.00 the highest.');
  });

  it('finds the auction to link to', () => {
    expect(notificationAuctionId(n('outbid', { auctionId: 'a1' }))).toBe('a1');
    expect(notificationAuctionId(n('outbid'))).toBeNull();
  });
});
