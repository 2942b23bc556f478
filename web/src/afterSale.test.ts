// After the hammer, complete: the room hears how it ended, deadlines count down by
// the server's clock, new notifications read plainly, the router finds the admin pages.
import { describe, expect, it } from 'vitest';
import { deadlineFor } from './clock';
import { describeNotification } from './notifications';
import { initialRoom, roomReducer, type RoomAction, type RoomState } from './room';
import { parseRoute } from './router';
import type { Auction, EventMessage, EventType, Notification } from './types';

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
    status: 'ended',
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
    ...over,
  };
}

// Events as a test builds them: maybe partial (the reducer folds replayed and partial events in
// defensively), so the data is cast to the event's type.
function ev(type: EventType, eventId: number, data: Record<string, unknown> = {}): RoomAction {
  const msg = { type, eventId: `${eventId}-0`, auctionId: ID, data, ts: '2025-01-01T11:30:00Z' } as unknown as EventMessage;
  return { type: 'message', msg };
}

const run = (actions: RoomAction[], from: RoomState = initialRoom(ID)) => actions.reduce(roomReducer, from);

describe('the room hears how it ended', () => {
  it('auction:sold names the buyer and the price, for every watcher', () => {
    const s = run([
      { type: 'loaded', auction: auction() },
      ev('auction:sold', 5, { status: 'sold', finalPrice: '1250.00', winnerName: 'Asha K.' }),
    ]);
    expect(s.status).toBe('sold');
    expect(s.winnerName).toBe('Asha K.');
    expect(s.finalPrice).toBe('1250.00');
    expect(s.refreshSeq).toBe(1);
  });

  it('auction:closed gives the reason, and a later sale replaces it', () => {
    const closed = run([
      { type: 'loaded', auction: auction() },
      ev('auction:closed', 5, { status: 'closed_no_winner', closeReason: 'decision_expired' }),
    ]);
    expect(closed.status).toBe('closed_no_winner');
    expect(closed.closeReason).toBe('decision_expired');
    const resold = run([ev('auction:sold', 6, { finalPrice: '900.00', winnerName: 'Ravi K.' })], closed);
    expect(resold.closeReason).toBeNull();
    expect(resold.status).toBe('sold');
  });

  it('a REST view after a reload keeps the outcome', () => {
    const s = run([
      { type: 'loaded', auction: auction({ status: 'closed_no_winner', closeReason: 'unpaid' }) },
    ]);
    expect(s.closeReason).toBe('unpaid');
    const sold = run([
      { type: 'loaded', auction: auction({ status: 'sold', winnerName: 'Asha K.', finalPrice: '10.00' }) },
    ]);
    expect(sold.winnerName).toBe('Asha K.');
  });

  it('counter:expired closes it and marks the counter expired', () => {
    const s = run([
      {
        type: 'loaded',
        auction: auction({ counterOffer: { id: 'c1', amount: '150.00', status: 'pending', expiresAt: '2025-01-02T11:00:00Z' } }),
      },
      ev('counter:expired', 7),
    ]);
    expect(s.status).toBe('closed_no_winner');
    expect(s.counterOffer?.status).toBe('expired');
    expect(s.closeReason).toBe('counter_expired');
    expect(s.notice).toMatch(/expired/);
  });

  it('offers and payments tell the party and ask for a fresh view', () => {
    const types: EventType[] = ['offer:received', 'offer:accepted', 'offer:rejected', 'offer:expired', 'payment:marked', 'payment:confirmed', 'payment:due', 'sale:void'];
    for (const type of types) {
      const s = run([{ type: 'loaded', auction: auction() }, ev(type, 9)]);
      expect(s.notice, type).toBeTruthy();
      expect(s.refreshSeq, type).toBe(1);
    }
    const voided = run([{ type: 'loaded', auction: auction({ status: 'sold' }) }, ev('sale:void', 9)]);
    expect(voided.status).toBe('closed_no_winner');
    expect(voided.closeReason).toBe('unpaid');
  });
});

describe('deadlines count down by the server clock', () => {
  const now = Date.parse('2025-01-01T11:00:00Z');
  it('shows the time left, urgent in the last hour, and when it is up', () => {
    expect(deadlineFor('2025-01-03T11:00:00Z', now)).toEqual({ label: '2d 00:00:00 left', ms: 172_800_000, urgent: false });
    expect(deadlineFor('2025-01-01T11:30:00Z', now).urgent).toBe(true);
    expect(deadlineFor('2025-01-01T10:59:00Z', now)).toMatchObject({ label: 'Time is up', ms: 0 });
    expect(deadlineFor(null, now).ms).toBe(0);
  });
});

describe('new notifications read plainly', () => {
  const note = (type: Notification['type'], payload: Record<string, unknown>): Notification => ({
    id: 'n',
    type,
    payload: { itemName: 'Lamp', ...payload },
    readAt: null,
    createdAt: '2025-01-01T11:00:00Z',
  });
  const money = (a: string) => `₹${a}`;
  it.each<[Notification['type'], Record<string, unknown>, string]>([
    ['decision_reminder', { amount: '100.00' }, 'Reminder: decide on “Lamp” at ₹100.00 before your decision window closes.'],
    ['decision_expired', {}, 'No decision in time on “Lamp”: it closed without a sale.'],
    ['decision_expired', { applied: 'accept' }, 'No decision in time on “Lamp”: the highest bid was accepted.'],
    ['counter_expired', { amount: '150.00' }, 'The counter offer at ₹150.00 on “Lamp” expired unanswered.'],
    ['offer_received', { amount: '90.00' }, 'Second chance: “Lamp” is offered to you at ₹90.00.'],
    ['payment_confirmed', { amount: '90.00' }, 'The seller confirmed the payment at ₹90.00 for “Lamp”.'],
    ['sale_void', {}, 'The sale of “Lamp” was voided: the payment was reported unpaid.'],
  ])('%s', (type, payload, text) => {
    expect(describeNotification(note(type, payload), money)).toBe(text);
  });
});

describe('admin pages', () => {
  it('routes users and the audit log', () => {
    expect(parseRoute('#/admin/users')).toEqual({ name: 'adminUsers' });
    expect(parseRoute('#/admin/audit')).toEqual({ name: 'adminAudit' });
    expect(parseRoute('#/admin')).toEqual({ name: 'admin' });
  });
});
