// Shapes of the external contract (shared/CONTRACT.md). Money is a decimal string ("1250.00"),
// times are ISO 8601 UTC strings, ids are opaque strings.

export type Role = 'buyer' | 'seller' | 'admin';

export type AuctionStatus = 'scheduled' | 'live' | 'ended' | 'sold' | 'closed_no_winner';

export const AUCTION_STATUSES: AuctionStatus[] = ['scheduled', 'live', 'ended', 'sold', 'closed_no_winner'];

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
  /** Present on some servers: the bid was placed by the proxy on the bidder's behalf. */
  proxy?: boolean;
}

export interface CounterOffer {
  id: string;
  amount: string;
  status: 'pending' | 'accepted' | 'rejected' | 'expired';
  /** Unanswered by then, the counter offer expires and the auction closes (CONTRACT 11). */
  expiresAt?: string | null;
  buyerId?: string;
}

/** Why a closed_no_winner auction closed (CONTRACT 11). */
export type CloseReason =
  | 'no_bids'
  | 'rejected'
  | 'counter_rejected'
  | 'decision_expired'
  | 'counter_expired'
  | 'unpaid'
  | 'offer_declined';

/** A second-chance offer: a closed auction's item to another bidder at their own highest bid. */
export interface Offer {
  id: string;
  auctionId: string;
  bidderId: string;
  amount: string;
  status: 'pending' | 'accepted' | 'rejected' | 'expired';
  expiresAt: string;
}

export interface OfferCandidate {
  bidderId: string;
  bidderName: string;
  amount: string;
}

export interface OfferList extends Page<Offer> {
  candidates: OfferCandidate[];
}

export type PaymentStatus = 'pending' | 'paid' | 'confirmed' | 'unpaid';

export interface Payment {
  status: PaymentStatus;
  dueAt: string;
}

export interface AdminUser extends User {
  suspended: boolean;
  suspendedAt: string | null;
  suspendedReason: string | null;
  createdAt: string;
}

export interface AuditEntry {
  id: number;
  actorId: string | null;
  action: string;
  auctionId: string | null;
  details: Record<string, unknown>;
  createdAt: string;
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
  /** The buyer's public display name ("Asha K."), once sold. */
  winnerName?: string | null;
  // After the hammer (CONTRACT 11).
  /** An ended auction: the seller decides by then, else DECISION_DEFAULT applies. */
  decisionDeadline?: string | null;
  closeReason?: CloseReason | null;
  payment?: Payment | null;
  /** The second-chance offer the viewer may see (the seller's newest, or the bidder's own). */
  offer?: Offer | null;
  // Not in the contract's field list, used when a server provides them.
  buyerId?: string | null;
  endedReason?: string | null;
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

export const ROOM_EVENTS = [
  'bid:placed',
  'auction:started',
  'auction:ended',
  'auction:sold',
  'auction:closed',
] as const;

export const USER_EVENTS = [
  'bid:outbid',
  'seller:decision_required',
  'seller:accepted',
  'seller:rejected',
  'counter:offer',
  'counter:accepted',
  'counter:rejected',
  'counter:expired',
  'offer:received',
  'offer:accepted',
  'offer:rejected',
  'offer:expired',
  'payment:marked',
  'payment:confirmed',
  'payment:due',
  'sale:void',
  'notification',
] as const;
