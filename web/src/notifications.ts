// Plain-language lines for persisted notifications (CONTRACT §4 notification types).

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
    case 'ending_soon':
      return `${capitalise(item)} is ending soon.`;
    case 'auction_cancelled':
      return `${capitalise(item)} was cancelled${typeof p.cancelReason === 'string' ? `: ${p.cancelReason}` : ''}.`;
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
