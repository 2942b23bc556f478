// Typed client for the REST API. Every failure becomes an ApiError carrying the
// problem+json body, so screens show `code`/`detail`/`errors` without parsing anything.

import type {
  AdminUser,
  AdminUserPage,
  Auction,
  AuctionImage,
  AuctionPage,
  AuditPage,
  BidPage,
  BlockedBidderPage,
  CreateAuctionInput,
  DeadJobPage,
  DisputeOutcome,
  DisputePage,
  DisputeReason,
  Dispute,
  EditAuctionInput,
  AddressInput,
  SellerProfile,
  SellerProfileInput,
  Role,
  FeedbackEntry,
  FeedbackPage,
  MyBidPage,
  Notification,
  NotificationPage,
  Offer,
  OfferList,
  PaymentStatus,
  PlacedBid,
  Problem,
  PurchasePage,
  Rating,
  ReplayedJob,
  Reputation,
  Retraction,
  RetractReason,
  RoomsInfo,
  SortOrder,
  SuspectPage,
  Token,
  User,
} from './types';
import type { NodeMetrics } from './figures';
import type { CloseCertificate, LedgerKey, LedgerPage, LedgerSource } from './ledger';

export type { CreateAuctionInput, PaymentStatus };
export type PaymentAction = 'mark_paid' | 'confirm' | 'report_unpaid';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    /** Seconds, from Retry-After on 429/503. */
    readonly retryAfter: number | null = null,
  ) {
    super(problem.detail || problem.title || `HTTP ${status}`);
  }

  get code(): string {
    return this.problem.code ?? (this.status === 0 ? 'network_error' : `http_${this.status}`);
  }

  /** No response at all (server down, CORS, offline): safe to retry with the same idempotency key. */
  get isNetwork(): boolean {
    return this.status === 0;
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | null | undefined>;
  body?: unknown;
  /** A raw (binary) body sent as is with its own Content-Type (a photo). */
  rawBody?: Blob;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** The search and browse parameters of `GET /api/auctions`. */
export interface SearchParams {
  q?: string;
  category?: string;
  minPrice?: string;
  maxPrice?: string;
  sellerId?: string;
  status?: string;
  sort?: SortOrder;
}

export type BidBody = { amount: string } | { maxAmount: string };

type ServerTimeListener = (serverTime: string, sentAt: number, receivedAt: number) => void;

/** The access token to send now: asked for on every call, so a refreshed session's token is
 * used at once (supabase-js refreshes it first when it is about to expire). */
export type TokenSource = () => Promise<string | null> | string | null;

export function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

async function readProblem(res: Response): Promise<Problem> {
  const type = res.headers.get('content-type') ?? '';
  try {
    if (type.includes('json')) return (await res.json()) as Problem;
    const text = await res.text();
    return { title: res.statusText || `HTTP ${res.status}`, detail: text.slice(0, 200) || undefined };
  } catch {
    return { title: res.statusText || `HTTP ${res.status}` };
  }
}

export class Api {
  onServerTime: ServerTimeListener | null = null;
  /** This browser's device id (`device.ts`), sent to the API as X-Device-Id: kept there only as
   * a salted hash, for the shill signals. Never sent to other origins (the socket node). */
  deviceId: string | null = null;

  constructor(
    readonly base: string,
    private readonly getToken: TokenSource,
    private readonly fetchFn: typeof fetch = (...args) => fetch(...args),
  ) {}

  /** Low-level request against any URL; `path` starting with http is used as is. */
  async raw(method: string, path: string, opts: RequestOptions & { accept?: string } = {}): Promise<Response> {
    const absolute = /^https?:/.test(path);
    const url = (absolute ? path : `${this.base}${path}`) + queryString(opts.query);
    const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json', ...opts.headers };
    if (this.deviceId && !absolute) headers['X-Device-Id'] = this.deviceId;
    let token: string | null;
    try {
      token = await this.getToken();
    } catch {
      // The session could not be read or refreshed (Supabase unreachable): a network failure,
      // not an anonymous request that would come back 401.
      throw new ApiError(0, { title: 'Network error', detail: 'Could not refresh your session.' });
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: string | Blob | undefined;
    if (opts.rawBody !== undefined) {
      headers['Content-Type'] = opts.rawBody.type || 'application/octet-stream';
      body = opts.rawBody;
    } else if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    let res: Response;
    try {
      // no-store: the app samples the server's clock from each answer's serverTime, which a copy
      // revalidated by the browser (ETag, 304) would carry from its first fetch.
      res = await this.fetchFn(url, { method, headers, body, signal: opts.signal, cache: 'no-store' });
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      throw new ApiError(0, { title: 'Network error', detail: 'Could not reach the server.' });
    }
    if (!res.ok) {
      const retry = Number(res.headers.get('retry-after'));
      throw new ApiError(res.status, await readProblem(res), Number.isFinite(retry) && retry > 0 ? retry : null);
    }
    return res;
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const sentAt = Date.now();
    const res = await this.raw(method, path, opts);
    const receivedAt = Date.now();
    if (res.status === 204) return undefined as T;
    const data = (await res.json()) as T;
    const serverTime = (data as { serverTime?: unknown } | null)?.serverTime;
    if (typeof serverTime === 'string' && this.onServerTime) this.onServerTime(serverTime, sentAt, receivedAt);
    return data;
  }

  // ---- auth ----
  devLogin(email: string, name: string, role: string) {
    return this.json<Token>('POST', '/api/dev/login', { body: { email, name, role } });
  }
  me() {
    return this.json<User>('GET', '/api/me');
  }

  // ---- auctions ----
  listAuctions(status?: string, cursor?: string | null, limit = 20) {
    return this.json<AuctionPage>('GET', '/api/auctions', { query: { status, cursor, limit } });
  }
  searchAuctions(params: SearchParams, cursor?: string | null, limit = 20) {
    return this.json<AuctionPage>('GET', '/api/auctions', { query: { ...params, cursor, limit } });
  }
  getAuction(id: string) {
    return this.json<Auction>('GET', `/api/auctions/${encodeURIComponent(id)}`);
  }
  listBids(id: string, cursor?: string | null, limit = 50) {
    return this.json<BidPage>('GET', `/api/auctions/${encodeURIComponent(id)}/bids`, { query: { cursor, limit } });
  }
  createAuction(input: CreateAuctionInput) {
    return this.json<Auction>('POST', '/api/auctions', { body: input });
  }
  placeBid(id: string, body: BidBody, idempotencyKey: string) {
    return this.json<PlacedBid>('POST', `/api/auctions/${encodeURIComponent(id)}/bids`, {
      body,
      headers: { 'Idempotency-Key': idempotencyKey },
    });
  }
  decide(id: string, action: 'accept' | 'reject' | 'counter', amount?: string) {
    return this.json<Auction>('POST', `/api/auctions/${encodeURIComponent(id)}/decision`, {
      body: amount === undefined ? { action } : { action, amount },
    });
  }
  respondToCounter(counterId: string, action: 'accept' | 'reject') {
    return this.json<Auction>('POST', `/api/counter/${encodeURIComponent(counterId)}/response`, { body: { action } });
  }
  // ---- after the hammer ----
  listOffers(auctionId: string) {
    return this.json<OfferList>('GET', `/api/auctions/${encodeURIComponent(auctionId)}/offers`);
  }
  makeOffer(auctionId: string, bidderId: string) {
    return this.json<Offer>('POST', `/api/auctions/${encodeURIComponent(auctionId)}/offers`, { body: { bidderId } });
  }
  respondToOffer(offerId: string, action: 'accept' | 'reject') {
    return this.json<Auction>('POST', `/api/offers/${encodeURIComponent(offerId)}/response`, { body: { action } });
  }
  /** `mark_paid` takes the delivery address (needed when the item ships) and a GSTIN. */
  payment(auctionId: string, action: PaymentAction, extra: { address?: AddressInput; gstin?: string } = {}) {
    return this.json<Auction>('POST', `/api/auctions/${encodeURIComponent(auctionId)}/payment`, {
      body: { action, ...extra },
    });
  }
  // ---- the open marketplace: selling, shipping, disputes ----
  sellerProfile() {
    return this.json<SellerProfile>('GET', '/api/me/seller-profile');
  }
  startSelling(input: SellerProfileInput) {
    return this.json<SellerProfile>('PUT', '/api/me/seller-profile', { body: input });
  }
  recordShipment(auctionId: string, carrier: string, trackingNumber: string) {
    return this.json<Auction>('POST', `/api/auctions/${encodeURIComponent(auctionId)}/shipment`, {
      body: { carrier, trackingNumber },
    });
  }
  markReceived(auctionId: string) {
    return this.json<Auction>('POST', `/api/auctions/${encodeURIComponent(auctionId)}/received`);
  }
  openDispute(auctionId: string, reason: DisputeReason, detail: string) {
    return this.json<Dispute>('POST', `/api/auctions/${encodeURIComponent(auctionId)}/dispute`, {
      body: { reason, detail },
    });
  }
  replyToDispute(auctionId: string, message: string) {
    return this.json<Dispute>('POST', `/api/auctions/${encodeURIComponent(auctionId)}/dispute/reply`, {
      body: { message },
    });
  }
  resolveDispute(auctionId: string, outcome: DisputeOutcome, note: string) {
    return this.json<Dispute>('POST', `/api/auctions/${encodeURIComponent(auctionId)}/dispute/resolve`, {
      body: { outcome, note },
    });
  }
  adminDisputes(status: 'open' | 'resolved', cursor?: string | null, limit = 50) {
    return this.json<DisputePage>('GET', '/api/admin/disputes', { query: { status, cursor, limit } });
  }
  setRole(userId: string, role: Role) {
    return this.json<AdminUser>('PUT', `/api/admin/users/${encodeURIComponent(userId)}/role`, { body: { role } });
  }
  /** A sale's PDF: its invoice, the seller's statement, or the credit note of a voided sale. */
  async document(id: string, kind: 'invoice' | 'statement' | 'credit-note'): Promise<Blob> {
    const res = await this.raw('GET', `/api/auctions/${encodeURIComponent(id)}/${kind}`, { accept: 'application/pdf' });
    return res.blob();
  }
  editAuction(id: string, changes: EditAuctionInput) {
    return this.json<Auction>('PATCH', `/api/auctions/${encodeURIComponent(id)}`, { body: changes });
  }
  cancelAuction(id: string, reason: string) {
    return this.json<Auction>('POST', `/api/auctions/${encodeURIComponent(id)}/cancel`, { body: { reason } });
  }
  uploadImage(id: string, file: Blob) {
    return this.json<AuctionImage>('POST', `/api/auctions/${encodeURIComponent(id)}/images`, { rawBody: file });
  }
  deleteImage(id: string, imageId: string) {
    return this.json<void>(
      'DELETE',
      `/api/auctions/${encodeURIComponent(id)}/images/${encodeURIComponent(imageId)}`,
    );
  }
  watch(id: string, on: boolean) {
    return this.json<void>(on ? 'PUT' : 'DELETE', `/api/auctions/${encodeURIComponent(id)}/watch`);
  }
  /** An auction's public bid log, as the in-browser verifier reads it (`ledger.ts`). */
  ledger(id: string): LedgerSource {
    const base = `/api/auctions/${encodeURIComponent(id)}/ledger`;
    return {
      key: () => this.json<LedgerKey>('GET', '/api/ledger/key'),
      checkpoint: async () => (await this.raw('GET', `${base}/checkpoint`, { accept: 'text/plain' })).text(),
      close: async () => {
        try {
          return await this.json<CloseCertificate>('GET', `${base}/close`);
        } catch (e) {
          if (e instanceof ApiError && e.status === 409) return null; // not ended yet
          throw e;
        }
      },
      entries: (start, end) => this.json<LedgerPage>('GET', base, { query: { start, end } }),
    };
  }
  myBids(state?: string, cursor?: string | null, limit = 20) {
    return this.json<MyBidPage>('GET', '/api/me/bids', { query: { state, cursor, limit } });
  }
  myAuctions(status?: string, cursor?: string | null, limit = 20) {
    return this.json<AuctionPage>('GET', '/api/me/auctions', { query: { status, cursor, limit } });
  }
  myPurchases(cursor?: string | null, limit = 20) {
    return this.json<PurchasePage>('GET', '/api/me/purchases', { query: { cursor, limit } });
  }
  myWatchlist(cursor?: string | null, limit = 20) {
    return this.json<AuctionPage>('GET', '/api/me/watchlist', { query: { cursor, limit } });
  }
  invoice(id: string): Promise<Blob> {
    return this.document(id, 'invoice');
  }

  // ---- notifications ----
  notifications(unreadOnly: boolean, cursor?: string | null, limit = 20) {
    return this.json<NotificationPage>('GET', '/api/notifications', {
      query: { unreadOnly: unreadOnly ? 'true' : undefined, cursor, limit },
    });
  }
  markRead(id: string) {
    return this.json<Notification>('POST', `/api/notifications/${encodeURIComponent(id)}/read`);
  }
  markAllRead() {
    return this.json<{ updated: number }>('POST', '/api/notifications/read-all');
  }

  // ---- admin ----
  adminAuctions(status?: string, cursor?: string | null, limit = 50) {
    return this.json<AuctionPage>('GET', '/api/admin/auctions', { query: { status, cursor, limit } });
  }
  adminStart(id: string) {
    return this.json<Auction>('POST', `/api/admin/auctions/${encodeURIComponent(id)}/start`);
  }
  adminReset(id: string, goLiveAt: string) {
    return this.json<Auction>('POST', `/api/admin/auctions/${encodeURIComponent(id)}/reset`, { body: { goLiveAt } });
  }
  deadJobs() {
    return this.json<DeadJobPage>('GET', '/api/admin/jobs/dead');
  }
  replayDeadJob(id: string) {
    return this.json<ReplayedJob>('POST', `/api/admin/jobs/dead/${encodeURIComponent(id)}/replay`);
  }
  adminUsers(query: { q?: string; suspended?: boolean | null }, cursor?: string | null, limit = 50) {
    return this.json<AdminUserPage>('GET', '/api/admin/users', {
      query: { q: query.q, suspended: query.suspended ?? undefined, cursor, limit },
    });
  }
  suspendUser(id: string, reason: string) {
    return this.json<AdminUser>('POST', `/api/admin/users/${encodeURIComponent(id)}/suspend`, { body: { reason } });
  }
  unsuspendUser(id: string) {
    return this.json<AdminUser>('POST', `/api/admin/users/${encodeURIComponent(id)}/unsuspend`);
  }
  auditLog(filters: { actorId?: string; action?: string; auctionId?: string }, cursor?: string | null, limit = 50) {
    return this.json<AuditPage>('GET', '/api/admin/audit', { query: { ...filters, cursor, limit } });
  }
  // ---- trust and safety ----
  suspects(limit = 200, sellerId?: string) {
    return this.json<SuspectPage>('GET', '/api/admin/trust/suspects', { query: { limit, sellerId } });
  }
  retractBid(auctionId: string, bidId: string, reason: RetractReason) {
    return this.json<Retraction>(
      'POST',
      `/api/auctions/${encodeURIComponent(auctionId)}/bids/${encodeURIComponent(bidId)}/retract`,
      { body: { reason } },
    );
  }
  blockBidder(userId: string, on: boolean) {
    return this.json<void>(on ? 'PUT' : 'DELETE', `/api/me/blocked-bidders/${encodeURIComponent(userId)}`);
  }
  blockedBidders(cursor?: string | null, limit = 100) {
    return this.json<BlockedBidderPage>('GET', '/api/me/blocked-bidders', { query: { cursor, limit } });
  }
  leaveFeedback(auctionId: string, rating: Rating, comment: string) {
    return this.json<FeedbackEntry>('POST', `/api/auctions/${encodeURIComponent(auctionId)}/feedback`, {
      body: { rating, comment },
    });
  }
  replyToFeedback(auctionId: string, comment: string) {
    return this.json<FeedbackEntry>('POST', `/api/auctions/${encodeURIComponent(auctionId)}/feedback/reply`, {
      body: { comment },
    });
  }
  auctionFeedback(auctionId: string) {
    return this.json<FeedbackPage>('GET', `/api/auctions/${encodeURIComponent(auctionId)}/feedback`);
  }
  reputation(userId: string) {
    return this.json<Reputation>('GET', `/api/users/${encodeURIComponent(userId)}/reputation`);
  }
  /** Served by the socket node, not the API. */
  rooms(socketOrigin: string) {
    return this.json<RoomsInfo>('GET', `${socketOrigin}/admin/rooms`);
  }
  /** The socket node's own figures (its /metrics registry as JSON). */
  nodeMetrics(socketOrigin: string) {
    return this.json<NodeMetrics>('GET', `${socketOrigin}/admin/metrics`);
  }
}

/** One line a person can read, for any error. */
export function describeError(e: unknown, money: (amount: string) => string = (a) => a): string {
  if (e instanceof ApiError) {
    const p = e.problem;
    switch (e.code) {
      case 'unauthenticated':
        return 'Please sign in first.';
      case 'forbidden':
        return 'You are not allowed to do that.';
      case 'own_auction':
        return 'You cannot bid on your own auction.';
      case 'not_found':
        return 'Not found.';
      case 'auction_not_live':
        return 'The auction is not live: bids are not accepted right now.';
      case 'bid_too_low':
        return p.minNextBid ? `Bid too low: the minimum is now ${money(String(p.minNextBid))}.` : 'Bid too low.';
      case 'already_highest':
        return 'You already have the highest bid.';
      case 'rate_limited':
        return `Too many bids: try again${e.retryAfter ? ` in ${e.retryAfter} s` : ' shortly'}.`;
      case 'network_error':
        return 'Could not reach the server. Check your connection and try again.';
      case 'unavailable':
        return 'The service is temporarily unavailable. Try again shortly.';
      case 'auction_not_editable':
        return 'Only a scheduled auction can be changed.';
      case 'auction_not_cancellable':
        return 'This auction can no longer be cancelled.';
      case 'too_many_images':
        return 'An auction has at most 8 photos.';
      case 'unsupported_media_type':
        return 'Photos must be JPEG, PNG or WebP.';
      case 'payload_too_large':
        return 'That file is too large (photos: at most 5 MB).';
      case 'outcome_unknown':
        return (
          'We could not confirm whether your bid was placed: the connection to the bid store ' +
          'was lost, and retrying did not settle it. Press the button again to check. The same ' +
          'bid is never placed twice, and the bid history shows it if it went through.'
        );
      case 'account_suspended':
        return 'Your account is suspended: you can look around, but not bid, sell or answer.';
      case 'offer_pending':
        return 'Another second-chance offer is still pending: wait for its answer or its expiry.';
      case 'offer_not_pending':
        return 'This offer no longer stands (answered or expired).';
      case 'offer_not_allowed':
        return p.detail || 'No second-chance offer can be made to that bidder now.';
      case 'payment_action_not_allowed':
        return p.detail || 'That payment step is not possible now.';
      case 'invoice_not_issued':
        return 'The tax invoice is issued when the buyer pays and gives the delivery address.';
      case 'shipment_not_allowed':
      case 'receipt_not_allowed':
      case 'dispute_not_allowed':
      case 'refund_not_allowed':
        return p.detail || 'That is not possible for this sale now.';
      case 'dispute_exists':
        return 'This sale already has a dispute: one per sale.';
      case 'dispute_not_open':
        return 'The dispute is already resolved.';
      case 'bidder_blocked':
        return 'The seller of this auction does not accept bids from you.';
      case 'retraction_not_allowed':
        return p.detail || 'This bid cannot be retracted now.';
      case 'feedback_not_allowed':
        return 'Feedback opens once the sale is complete: when the seller confirms the payment.';
      case 'feedback_exists':
        return 'You already left feedback on this sale.';
      case 'reply_exists':
        return 'You already replied to this feedback.';
    }
    return p.detail || p.title || e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Maps problem `errors` to field -> message; "body.startPrice" and "startPrice" both map to startPrice. */
export function fieldErrors(e: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(e instanceof ApiError) || !Array.isArray(e.problem.errors)) return out;
  for (const err of e.problem.errors) {
    const field =
      String(err.field ?? '')
        .split(/[.[\]/]/)
        .filter(Boolean)
        .pop() ?? '';
    if (field && !out[field]) out[field] = err.message;
  }
  return out;
}
