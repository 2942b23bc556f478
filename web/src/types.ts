// Shapes of the external contract (shared/CONTRACT.md). Money is a decimal string ("1250.00"),
// times are ISO 8601 UTC strings, ids are opaque strings.

export type Role = 'buyer' | 'seller' | 'admin';

export type AuctionStatus = 'scheduled' | 'live' | 'ended' | 'sold' | 'closed_no_winner' | 'cancelled';

export const AUCTION_STATUSES: AuctionStatus[] = ['scheduled', 'live', 'ended', 'sold', 'closed_no_winner', 'cancelled'];

/** `GET /api/auctions` sorts (CONTRACT §10). */
export type SortOrder = 'ending_soon' | 'newest' | 'price_asc' | 'price_desc' | 'most_bids';

export interface AuctionImage {
  id: string;
  url: string;
  thumbUrl: string;
  width: number;
  height: number;
}

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export interface HighestBid {
  id: string;
  bidderId: string;
  amount: string;
  createdAt: string;
}

export interface Bid {
  id: string;
  auctionId: string;
  bidderId: string;
  amount: string;
  createdAt: string;
  /** The bidder's public name ("Asha K."), never an email. */
  bidderName?: string;
  /** Present on some servers: the bid was placed by the proxy on the bidder's behalf. */
  proxy?: boolean;
}

export interface CounterOffer {
  id: string;
  amount: string;
  status: 'pending' | 'accepted' | 'rejected';
  buyerId?: string;
}

export interface Auction {
  id: string;
  sellerId: string;
  itemName: string;
  description: string;
  startPrice: string;
  bidIncrement: string;
  goLiveAt: string;
  durationMins: number;
  endsAt: string;
  status: AuctionStatus;
  highestBid: HighestBid | null;
  minNextBid: string;
  bidCount: number;
  counterOffer: CounterOffer | null;
  serverTime?: string;
  createdAt: string;
  updatedAt: string;
  // Competitive rules; absent when off.
  reservePrice?: string | null;
  reserveMet?: boolean | null;
  buyNowPrice?: string | null;
  softCloseSecs?: number | null;
  myMaxAmount?: string | null;
  /** The buyer and the sale price, once sold. */
  winnerId?: string | null;
  finalPrice?: string | null;
  // Marketplace (CONTRACT §10).
  category?: string | null;
  images?: AuctionImage[];
  watchers?: number;
  watching?: boolean;
  cancelReason?: string | null;
  // Not in the contract's field list, used when a server provides them.
  buyerId?: string | null;
  endedReason?: string | null;
}

export type BidStanding = 'leading' | 'outbid' | 'won' | 'lost';

export interface MyBid {
  auction: Auction;
  myHighestBid: string;
  myMaxAmount: string | null;
  state: BidStanding;
}

export interface Purchase {
  auction: Auction;
  finalPrice: string;
  invoiceNumber: string;
  payment: { status: string; dueAt: string } | null;
}

export interface Notification {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  readAt: string | null;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface NotificationPage extends Page<Notification> {
  unreadCount?: number;
}

export interface DeadJob {
  id: string;
  kind: string;
  lastError: string;
  attempts: number;
  failedAt: string;
}

export interface RoomsInfo {
  rooms: { auctionId: string; connections: number }[];
  connections: number;
  onlineUsers: number;
}

export interface FieldError {
  field: string;
  message: string;
}

/** application/problem+json body. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: FieldError[];
  minNextBid?: string;
  [extra: string]: unknown;
}

// ---- WebSocket messages (server -> client) ----

export interface SnapshotMessage {
  type: 'snapshot';
  auctionId: string;
  status: AuctionStatus;
  highestBid: HighestBid | null;
  minNextBid: string;
  goLiveAt: string;
  endsAt: string;
  serverTime: string;
  lastEventId: string | number | null;
  replayGap?: boolean;
  bidCount?: number;
  reserveMet?: boolean | null;
}

export interface EventMessage {
  type: string;
  eventId: string | number;
  auctionId: string;
  data: Record<string, unknown>;
  ts?: string | number;
}

export interface PongMessage {
  type: 'pong';
  serverTime: string;
}

export interface ErrorMessage {
  type: 'error';
  code: string;
  detail?: string;
}

export type ServerMessage = SnapshotMessage | EventMessage | PongMessage | ErrorMessage;

export const ROOM_EVENTS = ['bid:placed', 'auction:started', 'auction:ended', 'auction:cancelled'] as const;

export const USER_EVENTS = [
  'bid:outbid',
  'seller:decision_required',
  'seller:accepted',
  'seller:rejected',
  'counter:offer',
  'counter:accepted',
  'counter:rejected',
  'notification',
] as const;
