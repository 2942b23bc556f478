// Plain-language lines for persisted notifications (the API's notification types).

import type { Notification } from './types';

export function describeNotification(n: Notification, money: (amount: string) => string): string {
  const p = n.payload ?? {};
  const item = typeof p.itemName === 'string' ? `“${p.itemName}”` : 'an auction';
  const raw =
    p.amount ??
    (p.highestBid as { amount?: unknown } | null | undefined)?.amount ??
    (p.bid as { amount?: unknown } | undefined)?.amount;
  const amount = typeof raw === 'string' || typeof raw === 'number' ? money(String(raw)) : null;
  const at = amount ? ` at ${amount}` : '';
  switch (n.type) {
    case 'new_bid':
      return `New bid${at} on ${item}.`;
    case 'outbid':
      return `You were outbid on ${item}${amount ? `: the highest bid is now ${amount}` : ''}.`;
    case 'auction_started':
      return `${capitalise(item)} is now live.`;
    case 'auction_ended':
      if (p.watching === true && p.status === 'sold') return `${capitalise(item)}, which you watch, sold.`;
      if (p.status === 'closed_no_winner') return `${capitalise(item)} has ended without bids.`;
      if (p.youAreHighest === true) return `${capitalise(item)} has ended with your bid${at} the highest.`;
      return `${capitalise(item)} has ended.`;
    case 'decision_required':
      return `${capitalise(item)} has ended: your decision is needed.`;
    case 'accepted':
      return `The seller accepted: ${item} sold${at}.`;
    case 'rejected':
      return `The seller rejected the winning bid on ${item}.`;
    case 'counter_offer':
      return `Counter offer${at} on ${item}.`;
    case 'counter_accepted':
      return `The counter offer${at} on ${item} was accepted.`;
    case 'counter_rejected':
      return `The counter offer on ${item} was rejected.`;
    case 'decision_reminder':
      return `Reminder: decide on ${item}${at} before your decision window closes.`;
    case 'decision_expired':
      return p.applied === 'accept'
        ? `No decision in time on ${item}: the highest bid was accepted.`
        : `No decision in time on ${item}: it closed without a sale.`;
    case 'counter_expired':
      return `The counter offer${at} on ${item} expired unanswered.`;
    case 'offer_received':
      return `Second chance: ${item} is offered to you${at}.`;
    case 'offer_accepted':
      return `The second-chance offer${at} on ${item} was accepted.`;
    case 'offer_rejected':
      return `The second-chance offer${at} on ${item} was declined.`;
    case 'offer_expired':
      return `The second-chance offer${at} on ${item} expired.`;
    case 'payment_marked':
      return `The buyer marked the payment${at} for ${item} as paid.`;
    case 'payment_confirmed':
      return `The seller confirmed the payment${at} for ${item}.`;
    case 'payment_due':
      return `The payment${at} for ${item} is due.`;
    case 'sale_void':
      return `The sale of ${item} was voided: the payment was reported unpaid.`;
    case 'ending_soon':
      return `${capitalise(item)} is ending soon.`;
    case 'auction_cancelled':
      return `${capitalise(item)} was cancelled${typeof p.cancelReason === 'string' ? `: ${p.cancelReason}` : ''}.`;
    case 'shipped':
      return `${capitalise(item)} has shipped.`;
    case 'received':
      return `The buyer received ${item}.`;
    case 'shipment_overdue':
      return `${capitalise(item)} was due to ship and has not shipped yet.`;
    case 'dispute_opened':
      return `A dispute was opened on ${item}.`;
    case 'dispute_replied':
      return `The seller replied to the dispute on ${item}.`;
    case 'dispute_resolved':
      return p.outcome === 'refund'
        ? `The dispute on ${item} was resolved with a refund: the sale is void.`
        : `The dispute on ${item} was resolved: the sale stands.`;
    default:
      // A type newer than this client (the server's document lists those it knows today).
      return capitalise(String(n.type).replace(/[_:]/g, ' ')) + (item !== 'an auction' ? `: ${item}` : '') + '.';
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function notificationAuctionId(n: Notification): string | null {
  const id = n.payload?.auctionId;
  return typeof id === 'string' ? id : null;
}
