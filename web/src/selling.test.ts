import { describe, expect, it } from 'vitest';
import { toCreateInput, toShipping } from './components/CreateAuction';
import { shippingText } from './components/Delivery';
import { toProfileInput } from './components/StartSelling';
import { describeNotification } from './notifications';
import { initialRoom, roomReducer } from './room';
import { parseRoute } from './router';
import type { EventMessage, Notification } from './types';

const money = (a: string) => `₹${a}`;

describe('the open marketplace in the browser app', () => {
  it('routes the start-selling page and the admin disputes', () => {
    expect(parseRoute('#/sell')).toEqual({ name: 'sell' });
    expect(parseRoute('#/admin/disputes')).toEqual({ name: 'adminDisputes' });
  });

  it('sends the seller profile as typed, with India as the country and no empty GSTIN', () => {
    const input = toProfileInput(
      {
        displayName: ' Sita Antiques ',
        phone: '+919845012345',
        line1: '12 MG Road',
        line2: '',
        city: 'Bengaluru',
        state: 'KA',
        postalCode: '560001',
        gstin: ' ',
      },
      true,
    );
    expect(input).toEqual({
      displayName: 'Sita Antiques',
      phone: '+919845012345',
      address: { line1: '12 MG Road', line2: null, city: 'Bengaluru', state: 'KA', postalCode: '560001', country: 'IN' },
      gstin: null,
      acceptTerms: true,
    });
  });

  it('builds the shipping terms for the chosen method only', () => {
    expect(toShipping({ shippingMethod: 'ship', shippingCost: '150', pickupCity: 'Pune' })).toEqual({
      method: 'ship',
      cost: '150',
    });
    expect(toShipping({ shippingMethod: 'ship', shippingCost: ' ', pickupCity: '' })).toEqual({ method: 'ship' });
    expect(toShipping({ shippingMethod: 'pickup', shippingCost: '150', pickupCity: 'Pune' })).toEqual({
      method: 'pickup',
      pickupCity: 'Pune',
    });
    expect(toShipping({ shippingMethod: '', shippingCost: '', pickupCity: '' })).toBeNull();
    const created = toCreateInput({
      itemName: 'Lamp',
      description: '',
      startPrice: '100',
      bidIncrement: '10',
      goLiveAt: '2030-01-01T10:00',
      durationMins: '60',
      reservePrice: '',
      buyNowPrice: '',
      softCloseSecs: '',
      category: '',
      shippingMethod: 'pickup',
      shippingCost: '',
      pickupCity: 'Pune',
    });
    expect(created.shipping).toEqual({ method: 'pickup', pickupCity: 'Pune' });
  });

  it('says the terms in a few words on cards and in the room', () => {
    expect(shippingText({ method: 'ship', cost: '150.00' }, money)).toBe('Ships · ₹150.00');
    expect(shippingText({ method: 'ship' }, money)).toBe('Free shipping');
    expect(shippingText({ method: 'pickup', pickupCity: 'Pune' }, money)).toBe('Pickup in Pune');
    expect(shippingText(undefined, money)).toBeNull();
  });

  it('tells the parties about the shipment and the dispute, and a refund closes the sale', () => {
    // Only what the reducer reads: the messages are the socket's (typed from its document).
    const event = (type: string, data: Record<string, unknown> = {}): EventMessage =>
      ({ type, eventId: '1-0', auctionId: 'a1', data, ts: '2030-01-01T10:00:00.000Z' }) as unknown as EventMessage;
    const sold = { ...initialRoom('a1'), status: 'sold' as const };
    for (const type of ['shipment:sent', 'shipment:received', 'shipment:overdue', 'dispute:opened', 'dispute:replied']) {
      const s = roomReducer(sold, { type: 'message', msg: event(type) });
      expect(s.notice, type).toBeTruthy();
      expect(s.refreshSeq, type).toBe(1);
      expect(s.status, type).toBe('sold');
    }
    const refunded = roomReducer(sold, { type: 'message', msg: event('dispute:resolved', { outcome: 'refund' }) });
    expect([refunded.status, refunded.closeReason]).toEqual(['closed_no_winner', 'refunded']);
    const released = roomReducer(sold, { type: 'message', msg: event('dispute:resolved', { outcome: 'release' }) });
    expect(released.status).toBe('sold');
  });

  it('describes the shipping and dispute notifications', () => {
    const n = (type: Notification['type'], payload: Record<string, unknown> = {}): Notification => ({
      id: 'n',
      type,
      payload: { itemName: 'Lamp', ...payload },
      readAt: null,
      createdAt: '2030-01-01T10:00:00.000Z',
    });
    expect(describeNotification(n('shipped'), money)).toBe('“Lamp” has shipped.');
    expect(describeNotification(n('shipment_overdue'), money)).toMatch(/not shipped yet/);
    expect(describeNotification(n('dispute_resolved', { outcome: 'refund' }), money)).toMatch(/refund/);
    expect(describeNotification(n('dispute_resolved', { outcome: 'release' }), money)).toMatch(/stands/);
  });
});
