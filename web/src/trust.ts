// Trust and safety, the browser's part: which suspects the admin page shows, how signals read,
// and what feedback a party of a sale may still give.

import type { Auction, FeedbackEntry, Suspect } from './types';

/** The admin page's default: the server's `shared.domain.trust.DEFAULT_THRESHOLD`, the figure
 * the precision and recall of docs/trust-and-safety.md are measured at. */
export const DEFAULT_THRESHOLD = 0.5;

export const SIGNAL_LABELS: Record<string, string> = {
  auctionShare: "Share of the seller's auctions",
  neverWins: 'Bids that never win',
  raisesAfterRival: "Raises right after a rival's bid",
  minimumBids: 'Bids at the bare minimum',
  earlyBidding: 'Early first bids',
  networkOverlap: 'Networks or devices shared with the seller',
};

/** The suspects at or above `threshold`, in the server's order (highest score first). */
export function atOrAbove(items: Suspect[], threshold: number): Suspect[] {
  return items.filter((s) => s.score >= threshold - 1e-9);
}

/** A signal as a person reads it: shares in percent, the overlap as a count. */
export function signalText(name: string, value: number): string {
  if (name === 'networkOverlap') return String(value);
  return `${Math.round(value * 100)}%`;
}

/** Open auctions an admin may still void (cancel: the round's bids are kept but void). */
export function voidable(status: string): boolean {
  return status === 'scheduled' || status === 'live' || status === 'ended';
}

export interface FeedbackView {
  /** The caller may leave their rating now. */
  mayLeave: boolean;
  /** The feedback about the caller they may still reply to. */
  mayReplyTo: FeedbackEntry | null;
}

/** What a party of a sale may still do: rate once the payment is confirmed, reply once. */
export function feedbackView(auction: Auction, me: string | null, items: FeedbackEntry[]): FeedbackView {
  const party = !!me && (me === auction.sellerId || me === auction.winnerId);
  const complete = auction.status === 'sold' && auction.payment?.status === 'confirmed';
  const mine = items.find((f) => f.fromId === me);
  const aboutMe = items.find((f) => f.toId === me);
  return {
    mayLeave: party && complete && !mine,
    mayReplyTo: party && aboutMe && !aboutMe.reply ? aboutMe : null,
  };
}
