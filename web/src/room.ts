// The auction room's state and the pure reducer that folds REST loads and socket messages into
// it. Every step is idempotent: the same bid twice, or an old event replayed after a fresher
// snapshot, leaves the state as it was (bids only ever rise, so "higher amount wins").

import { compareMoney } from './money';
import type {
  Auction,
  AuctionStatus,
  Bid,
  CloseReason,
  CounterOffer,
  EventMessage,
  HighestBid,
  ServerMessage,
  SnapshotMessage,
} from './types';

export interface OutbidAlert {
  amount: string | null;
  at: string;
}

export interface RoomState {
  auctionId: string;
  auction: Auction | null;
  status: AuctionStatus | null;
  highestBid: HighestBid | null;
  minNextBid: string | null;
  goLiveAt: string | null;
  endsAt: string | null;
  bidCount: number;
  reserveMet: boolean | null;
  counterOffer: CounterOffer | null;
  /** Newest first. */
  bids: FeedBid[];
  endedReason: string | null;
  /** How it ended, as the room was told: why it closed, or who bought it. */
  closeReason: CloseReason | null;
  winnerName: string | null;
  finalPrice: string | null;
  outbid: OutbidAlert | null;
  /** A plain-language line about the latest personal event (decision needed, counter offer…). */
  notice: string | null;
  /** Bumped whenever the REST view should be fetched again (replay gap, decision, counter…). */
  refreshSeq: number;
  /** Snapshots seen: every one after the first means a reconnect, when user events may have been missed. */
  snapshots: number;
}

export type RoomAction =
  | { type: 'loaded'; auction: Auction; bids?: Bid[] }
  | { type: 'message'; msg: ServerMessage }
  // Our own POST's reply: the bid, and the server's minimum next bid after it.
  | { type: 'bidAccepted'; bid: FeedBid & { minNextBid?: string } }
  | { type: 'dismissOutbid' }
  | { type: 'dismissNotice' };

export function initialRoom(auctionId: string): RoomState {
  return {
    auctionId,
    auction: null,
    status: null,
    highestBid: null,
    minNextBid: null,
    goLiveAt: null,
    endsAt: null,
    bidCount: 0,
    reserveMet: null,
    counterOffer: null,
    bids: [],
    endedReason: null,
    closeReason: null,
    winnerName: null,
    finalPrice: null,
    outbid: null,
    notice: null,
    refreshSeq: 0,
    snapshots: 0,
  };
}

const FEED_LIMIT = 200;

function newestFirst(a: FeedBid, b: FeedBid): number {
  const t = Date.parse(b.createdAt) - Date.parse(a.createdAt);
  return t !== 0 && !Number.isNaN(t) ? t : compareMoney(b.amount, a.amount);
}

/** Adds bids not yet in the feed; returns the feed and how many were new. */
export function mergeBids(feed: FeedBid[], incoming: FeedBid[]): { bids: FeedBid[]; added: number } {
  const seen = new Set(feed.map((b) => b.id));
  const fresh = incoming.filter((b) => b && b.id && !seen.has(b.id) && (seen.add(b.id), true));
  if (fresh.length === 0) return { bids: feed, added: 0 };
  return { bids: [...feed, ...fresh].sort(newestFirst).slice(0, FEED_LIMIT), added: fresh.length };
}

function isHigher(candidate: { amount: string } | null | undefined, current: HighestBid | null): boolean {
  if (!candidate) return false;
  return !current || compareMoney(candidate.amount, current.amount) > 0;
}

function toHighest(bid: FeedBid | HighestBid): HighestBid {
  return { id: bid.id, bidderId: bid.bidderId, amount: bid.amount, createdAt: bid.createdAt };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);
const bool = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

function applyLoaded(state: RoomState, auction: Auction, bids: Bid[] | undefined): RoomState {
  // A REST reply can be older than a socket event that overtook it; keep the higher bid then.
  const keepLive =
    state.status === 'live' && auction.status === 'live' && isHigher(state.highestBid, auction.highestBid);
  const merged = bids ? mergeBids(state.bids, bids) : { bids: state.bids };
  return {
    ...state,
    auction,
    status: auction.status,
    highestBid: keepLive ? state.highestBid : auction.highestBid,
    minNextBid: keepLive ? state.minNextBid : auction.minNextBid,
    endsAt: keepLive ? state.endsAt : auction.endsAt,
    goLiveAt: auction.goLiveAt,
    bidCount: keepLive ? Math.max(state.bidCount, auction.bidCount) : auction.bidCount,
    reserveMet: auction.reserveMet ?? (keepLive ? state.reserveMet : null),
    counterOffer: auction.counterOffer,
    closeReason: auction.status === 'closed_no_winner' ? (auction.closeReason ?? state.closeReason) : null,
    winnerName: auction.status === 'sold' ? (auction.winnerName ?? state.winnerName) : null,
    finalPrice: auction.status === 'sold' ? (auction.finalPrice ?? state.finalPrice) : null,
    bids: merged.bids,
  };
}

function applySnapshot(state: RoomState, s: SnapshotMessage): RoomState {
  // A snapshot is the server's present: it wins outright (an admin reset may even lower the price).
  const reset = s.status === 'scheduled' && state.status !== null && state.status !== 'scheduled';
  return {
    ...state,
    status: s.status,
    highestBid: s.highestBid,
    minNextBid: s.minNextBid,
    goLiveAt: s.goLiveAt ?? state.goLiveAt,
    endsAt: s.endsAt ?? state.endsAt,
    reserveMet: s.reserveMet ?? state.reserveMet,
    bids: reset ? [] : state.bids,
    snapshots: state.snapshots + 1,
    refreshSeq: s.replayGap || reset || state.snapshots > 0 ? state.refreshSeq + 1 : state.refreshSeq,
  };
}

/** A bid as the room's feed keeps it: from the REST history, our own POST, or a bid:placed
 * event (whose bidderName may be missing). */
type FeedBid = Omit<Bid, 'bidderName'> & { bidderName?: string | null };

interface PlacedData {
  bid?: FeedBid;
  minNextBid?: string;
  endsAt?: string;
  reserveMet?: boolean | null;
  bidCount?: number;
}

function applyBidPlaced(state: RoomState, data: PlacedData): RoomState {
  const bid = data.bid;
  if (!bid || !bid.id) return state;
  const { bids, added } = mergeBids(state.bids, [bid]);
  // Our own POST reply may land before its bid:placed event: that event still updates minNextBid.
  // The minimum next bid is the server's (the event carries it): never computed here.
  const higher = isHigher(bid, state.highestBid) || state.highestBid?.id === bid.id;
  const reserveMet = bool(data.reserveMet);
  const bidCount = typeof data.bidCount === 'number' ? Math.max(data.bidCount, state.bidCount) : state.bidCount + added;
  return {
    ...state,
    bids,
    bidCount,
    status: state.status === 'scheduled' || state.status === null ? 'live' : state.status,
    highestBid: higher ? toHighest(bid) : state.highestBid,
    minNextBid: higher ? (str(data.minNextBid) ?? state.minNextBid) : state.minNextBid,
    endsAt: higher ? (str(data.endsAt) ?? state.endsAt) : state.endsAt,
    reserveMet: reserveMet ?? state.reserveMet,
  };
}

/** A bidder retracted bids: they stay in the feed, marked, and the highest is the server's
 * recomputed one (it may be lower: the one place a price falls while live). */
function applyBidRetracted(
  state: RoomState,
  data: { bidIds?: string[]; highestBid?: FeedBid | null; minNextBid?: string; retractedAt?: string; reserveMet?: boolean | null },
): RoomState {
  const gone = new Set(data.bidIds ?? []);
  if (gone.size === 0) return state;
  const at = str(data.retractedAt) ?? new Date().toISOString();
  const bids = state.bids.map((b) => (gone.has(b.id) && !b.retractedAt ? { ...b, retractedAt: at } : b));
  const top = data.highestBid ?? null;
  return {
    ...state,
    bids,
    highestBid: top ? toHighest(top) : null,
    minNextBid: str(data.minNextBid) ?? state.minNextBid,
    reserveMet: bool(data.reserveMet) ?? state.reserveMet,
    refreshSeq: state.refreshSeq + 1,
  };
}

const ENDED_STATUSES: AuctionStatus[] = ['ended', 'sold', 'closed_no_winner'];

// Each event's `data` is typed by its `type` (the generated socket types); a replayed or partial
// event is still folded in defensively (`?? state...`).
function applyEvent(state: RoomState, e: EventMessage): RoomState {
  switch (e.type) {
    case 'bid:placed':
      return applyBidPlaced(state, e.data ?? {});
    case 'bid:retracted':
      return applyBidRetracted(state, e.data ?? {});
    case 'auction:started': {
      const data = e.data ?? {};
      return {
        ...state,
        status: 'live',
        goLiveAt: str(data.goLiveAt) ?? state.goLiveAt,
        endsAt: str(data.endsAt) ?? state.endsAt,
      };
    }
    case 'auction:ended': {
      const data = e.data ?? {};
      const reason = str(data.reason);
      const given = str(data.status) as AuctionStatus | null;
      const status: AuctionStatus =
        given && ENDED_STATUSES.includes(given)
          ? given
          : reason === 'buy_now'
            ? 'sold'
            : state.bidCount > 0 || state.highestBid
              ? 'ended'
              : 'closed_no_winner';
      const winning: FeedBid | undefined = data.highestBid
        ? { ...data.highestBid, auctionId: e.auctionId }
        : undefined;
      const merged = winning?.id ? mergeBids(state.bids, [winning]) : { bids: state.bids, added: 0 };
      return {
        ...state,
        status,
        endedReason: reason ?? state.endedReason,
        endsAt: str(data.endsAt) ?? state.endsAt,
        reserveMet: bool(data.reserveMet) ?? state.reserveMet,
        highestBid: winning && isHigher(winning, state.highestBid) ? toHighest(winning) : state.highestBid,
        bids: merged.bids,
        bidCount: state.bidCount + merged.added,
        refreshSeq: state.refreshSeq + 1,
      };
    }
    case 'auction:cancelled': {
      const reason = e.data?.cancelReason;
      return {
        ...state,
        status: 'cancelled',
        notice: `This auction was cancelled${
          typeof reason === 'string' ? `: ${reason.replace(/[.!]+$/, '')}` : ''
        }.`,
        refreshSeq: state.refreshSeq + 1,
      };
    }
    case 'bid:outbid': {
      const amount = e.data?.bid?.amount ?? state.highestBid?.amount ?? null;
      return {
        ...state,
        outbid: { amount, at: String(e.ts ?? new Date().toISOString()) },
        refreshSeq: state.refreshSeq + 1,
      };
    }
    case 'seller:decision_required':
      return {
        ...state,
        status: state.status === 'live' || state.status === null ? 'ended' : state.status,
        notice: 'The auction has ended: your decision is needed.',
        refreshSeq: state.refreshSeq + 1,
      };
    case 'seller:accepted':
      return {
        ...state,
        status: 'sold',
        notice: 'The seller accepted the winning bid.',
        refreshSeq: state.refreshSeq + 1,
      };
    case 'seller:rejected':
      return {
        ...state,
        status: 'closed_no_winner',
        notice: 'The seller rejected the winning bid.',
        refreshSeq: state.refreshSeq + 1,
      };
    case 'counter:offer': {
      const data = e.data ?? {};
      const given: CounterOffer | undefined = data.counterOffer;
      const id = given?.id ?? str(data.counterId);
      const amount = given?.amount ?? str(data.amount);
      const counterOffer: CounterOffer | null =
        id && amount ? { ...given, id, amount, status: given?.status ?? 'pending' } : state.counterOffer;
      return { ...state, counterOffer, notice: 'The seller made a counter offer.', refreshSeq: state.refreshSeq + 1 };
    }
    case 'counter:accepted':
      return {
        ...state,
        status: 'sold',
        counterOffer: state.counterOffer ? { ...state.counterOffer, status: 'accepted' } : null,
        notice: 'The counter offer was accepted.',
        refreshSeq: state.refreshSeq + 1,
      };
    case 'counter:rejected':
      return {
        ...state,
        status: 'closed_no_winner',
        counterOffer: state.counterOffer ? { ...state.counterOffer, status: 'rejected' } : null,
        notice: 'The counter offer was rejected.',
        refreshSeq: state.refreshSeq + 1,
      };
    // After the hammer, complete: how it ended, for everyone in the room ...
    case 'auction:sold':
      return {
        ...state,
        status: 'sold',
        closeReason: null,
        winnerName: str(e.data?.winnerName) ?? state.winnerName,
        finalPrice: str(e.data?.finalPrice) ?? state.finalPrice,
        refreshSeq: state.refreshSeq + 1,
      };
    case 'auction:closed':
      return {
        ...state,
        status: 'closed_no_winner',
        closeReason: (str(e.data?.closeReason) as CloseReason | null) ?? state.closeReason,
        winnerName: null,
        finalPrice: null,
        refreshSeq: state.refreshSeq + 1,
      };
    // ... and what it means for the parties.
    case 'counter:expired':
      return {
        ...state,
        status: 'closed_no_winner',
        closeReason: 'counter_expired',
        counterOffer: state.counterOffer ? { ...state.counterOffer, status: 'expired' } : null,
        notice: 'The counter offer expired unanswered: the auction closed without a sale.',
        refreshSeq: state.refreshSeq + 1,
      };
    case 'offer:received':
      return { ...state, notice: 'The seller offers you the item at your highest bid.', refreshSeq: state.refreshSeq + 1 };
    case 'offer:accepted':
      return { ...state, status: 'sold', notice: 'The second-chance offer was accepted.', refreshSeq: state.refreshSeq + 1 };
    case 'offer:rejected':
      return { ...state, notice: 'The second-chance offer was declined.', refreshSeq: state.refreshSeq + 1 };
    case 'offer:expired':
      return { ...state, notice: 'The second-chance offer expired unanswered.', refreshSeq: state.refreshSeq + 1 };
    case 'payment:marked':
      return { ...state, notice: 'The buyer marked the payment as paid.', refreshSeq: state.refreshSeq + 1 };
    case 'payment:confirmed':
      return { ...state, notice: 'The seller confirmed the payment.', refreshSeq: state.refreshSeq + 1 };
    case 'payment:due':
      return { ...state, notice: 'The payment is now due.', refreshSeq: state.refreshSeq + 1 };
    case 'sale:void':
      return {
        ...state,
        status: 'closed_no_winner',
        closeReason: 'unpaid',
        notice: 'The sale was voided: the payment was reported unpaid.',
        refreshSeq: state.refreshSeq + 1,
      };
    // The open marketplace: the way to the buyer, and disputes (the sale's parties).
    case 'shipment:sent':
      return { ...state, notice: 'The seller shipped the item.', refreshSeq: state.refreshSeq + 1 };
    case 'shipment:received':
      return { ...state, notice: 'The buyer received the item.', refreshSeq: state.refreshSeq + 1 };
    case 'shipment:overdue':
      return { ...state, notice: 'The item was due to ship and has not shipped yet.', refreshSeq: state.refreshSeq + 1 };
    case 'dispute:opened':
      return { ...state, notice: 'A dispute was opened on this sale.', refreshSeq: state.refreshSeq + 1 };
    case 'dispute:replied':
      return { ...state, notice: 'The seller replied to the dispute.', refreshSeq: state.refreshSeq + 1 };
    case 'dispute:resolved':
      return e.data?.outcome === 'refund'
        ? {
            ...state,
            status: 'closed_no_winner',
            closeReason: 'refunded',
            notice: 'The dispute was resolved with a refund: the sale is void.',
            refreshSeq: state.refreshSeq + 1,
          }
        : { ...state, notice: 'The dispute was resolved: the sale stands.', refreshSeq: state.refreshSeq + 1 };
    default:
      return state;
  }
}

export function roomReducer(state: RoomState, action: RoomAction): RoomState {
  switch (action.type) {
    case 'loaded':
      return action.auction.id === state.auctionId ? applyLoaded(state, action.auction, action.bids) : state;
    case 'bidAccepted':
      return applyBidPlaced(state, { bid: action.bid, minNextBid: action.bid.minNextBid });
    case 'dismissOutbid':
      return { ...state, outbid: null };
    case 'dismissNotice':
      return { ...state, notice: null };
    case 'message': {
      const msg = action.msg;
      if (!('auctionId' in msg) || msg.auctionId !== state.auctionId) return state;
      if (msg.type === 'snapshot') return applySnapshot(state, msg as SnapshotMessage);
      if ('eventId' in msg) return applyEvent(state, msg as EventMessage);
      return state;
    }
  }
}
