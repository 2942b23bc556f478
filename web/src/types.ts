// Shapes of the API and the socket protocol. The REST shapes are the server's own:
// `api-schema.d.ts` is generated from its OpenAPI document (`make types`), whose response models
// are what the server serialises every body through, so a field named here is one it sends.
// Money is a decimal string ("1250.00"), times are ISO 8601 UTC strings, ids are opaque strings.

import type { components } from './api-schema';
import type { ServerMessage as SocketServerMessage } from './socket-schema';

type Schemas = components['schemas'];

export type User = Schemas['UserOut'];
export type Role = User['role'];
export type Token = Schemas['TokenOut'];

export type Auction = Schemas['AuctionOut'];
export type AuctionStatus = Auction['status'];
export type AuctionPage = Schemas['AuctionList'];
/** The auction's `highestBid`. */
export type HighestBid = Schemas['BidSummary'];
export type CounterOffer = Schemas['CounterSummary'];

export type Bid = Schemas['BidOut'];
/** The answer to a bid: the bid, the next minimum, the (maybe extended) end, a proxy's maximum. */
export type PlacedBid = Schemas['BidPlaced'];
export type BidPage = Schemas['BidList'];

export type Notification = Schemas['NotificationOut'];
export type NotificationPage = Schemas['NotificationList'];

export type DeadJob = Schemas['DeadJobOut'];
export type DeadJobPage = Schemas['DeadJobList'];
export type ReplayedJob = Schemas['ReplayedJobOut'];

export type CreateAuctionInput = Schemas['CreateAuction'];

// After the hammer, complete.
/** Why a closed_no_winner auction closed. */
export type CloseReason = NonNullable<Auction['closeReason']>;
/** A second-chance offer: a closed auction's item to another bidder at their own highest bid. */
export type Offer = Schemas['OfferOut'];
export type OfferCandidate = Schemas['OfferCandidate'];
export type OfferList = Schemas['OfferList'];
export type Payment = Schemas['PaymentOut'];
export type PaymentStatus = Payment['status'];
export type AdminUser = Schemas['AdminUserOut'];
export type AdminUserPage = Schemas['AdminUserList'];
export type AuditEntry = Schemas['AuditEntryOut'];
export type AuditPage = Schemas['AuditList'];
// Marketplace.
export type AuctionImage = Schemas['ImageOut'];
export type MyBid = Schemas['MyBidOut'];
export type MyBidPage = Schemas['MyBidList'];
export type BidStanding = MyBid['state'];
export type Purchase = Schemas['PurchaseOut'];
export type PurchasePage = Schemas['PurchaseList'];
export type EditAuctionInput = Schemas['EditAuction'];
// The open marketplace: selling, shipping, disputes.
export type SellerProfile = Schemas['SellerProfileOut'];
export type SellerProfileInput = Schemas['SellerProfileIn'];
export type AddressInput = Schemas['AddressIn'];
export type Address = Schemas['AddressOut'];
export type Shipping = Schemas['ShippingOut'];
export type ShippingInput = Schemas['ShippingTerms'];
export type ShippingMethod = Shipping['method'];
export type Delivery = Schemas['DeliveryOut'];
export type Dispute = Schemas['DisputeOut'];
export type DisputePage = Schemas['DisputeList'];
export type DisputeReason = Dispute['reason'];
export type DisputeOutcome = NonNullable<Dispute['outcome']>;
// Trust and safety: shill suspects, blocked bidders, feedback and reputations.
export type Suspect = Schemas['SuspectOut'];
export type SuspectPage = Schemas['SuspectList'];
export type BlockedBidder = Schemas['BlockedBidderOut'];
export type BlockedBidderPage = Schemas['BlockedBidderList'];
export type FeedbackEntry = Schemas['FeedbackOut'];
export type FeedbackPage = Schemas['FeedbackList'];
export type Rating = FeedbackEntry['rating'];
export type Reputation = Schemas['ReputationOut'];
export type Retraction = Schemas['RetractionOut'];
export type RetractReason = Retraction['reason'];
/** `GET /api/auctions` sorts (a query parameter: not among the document's schemas). */
export type SortOrder = 'ending_soon' | 'newest' | 'price_asc' | 'price_desc' | 'most_bids';

// Every status once (the compiler refuses a missing or an unknown one), in the order lists offer them.
const STATUS_ORDER: Record<AuctionStatus, true> = {
  scheduled: true,
  live: true,
  ended: true,
  sold: true,
  closed_no_winner: true,
  cancelled: true,
};
export const AUCTION_STATUSES = Object.keys(STATUS_ORDER) as AuctionStatus[];

export type FieldError = Schemas['FieldProblem'];

/** An application/problem+json body. Partial: a failure may also come from elsewhere (the
 * network, a proxy, the socket node), with only some of the members. */
export type Problem = Partial<Schemas['ProblemOut']>;

/** The socket node's `/admin/rooms` (not part of the REST API's document). */
export interface RoomsInfo {
  rooms: { auctionId: string; connections: number }[];
  connections: number;
  onlineUsers: number;
}

// ---- WebSocket messages ----
// Generated (`socket-schema.d.ts`, `make types`) from the socket node's AsyncAPI document, which
// is built from the models the node's protocol is (socket_node/protocol.py) and served at
// /asyncapi.json.

export type {
  ClientMessage,
  ErrorMessage,
  PongMessage,
  ServerMessage,
  SnapshotMessage,
} from './socket-schema';
/** Every event message (room and user events): `type` tells which, and types its `data`. */
export type EventMessage = Extract<SocketServerMessage, { eventId: string }>;
export type EventType = EventMessage['type'];

export const ROOM_EVENTS = [
  'bid:placed',
  'auction:started',
  'auction:ended',
  'auction:sold',
  'auction:closed',
  'auction:cancelled',
] as const satisfies readonly EventType[];

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
  'shipment:sent',
  'shipment:received',
  'shipment:overdue',
  'dispute:opened',
  'dispute:replied',
  'dispute:resolved',
  'notification',
] as const satisfies readonly EventType[];
