import { useCallback, useEffect, useReducer, useRef, useState } from 'preact/hooks';
import { describeError } from '../api';
import { formatTime, useApp } from '../app';
import { initialRoom, roomReducer, type RoomState } from '../room';
import { BidBox } from './BidBox';
import { Gallery } from './Photos';
import { SellerControls, WatchButton } from './SellerControls';
import { DeliveryPanel, DisputePanel, ShippingNote } from './Delivery';
import {
  CounterResponse,
  DocumentLink,
  InvoiceLink,
  OfferResponse,
  Outcome,
  PaymentPanel,
  SecondChance,
  SellerDecision,
} from './AfterSale';
import { BlockButton, FeedbackPanel, PersonLink, RetractButton, SellerLine, useBlocked } from './Trust';
import { Countdown, Deadline, StatusBadge } from './ui';
import { VerifyPanel } from './Verify';

/** Who bought it, once sold; before that the highest bidder (a counter offer goes to them too). */
export function buyerOf(state: RoomState): string | null {
  return state.auction?.winnerId ?? state.highestBid?.bidderId ?? null;
}

export function AuctionRoom({ id }: { id: string }) {
  const { api, socket, me, money } = useApp();
  const [state, dispatch] = useReducer(roomReducer, id, initialRoom);
  const [loadError, setLoadError] = useState<string | null>(null);
  const loading = useRef(false);
  // The seller's blocked bidders: a block button on each bidder's name in their own room.
  const ownRoom = !!me && !!state.auction && me.id === state.auction.sellerId;
  const blocks = useBlocked(ownRoom);

  // Leading again (e.g. a proxy answered for us): the outbid alert no longer holds.
  const leading = !!me && state.highestBid?.bidderId === me.id;
  useEffect(() => {
    if (leading && state.outbid) dispatch({ type: 'dismissOutbid' });
  }, [leading, state.outbid]);

  const load = useCallback(async () => {
    if (loading.current) return;
    loading.current = true;
    try {
      const [auction, bids] = await Promise.all([api.getAuction(id), api.listBids(id).catch(() => null)]);
      dispatch({ type: 'loaded', auction, bids: bids?.items });
      setLoadError(null);
    } catch (e) {
      setLoadError(describeError(e));
    } finally {
      loading.current = false;
    }
  }, [api, id]);

  // Fresh REST view on entry and when the viewer changes (myMaxAmount and reserve depend on who asks).
  useEffect(() => {
    load();
  }, [load, me?.id]);

  useEffect(() => socket.join(id, (msg) => dispatch({ type: 'message', msg })), [socket, id]);

  // The reducer asks for a refetch after gaps and decisions; coalesce bursts into one request.
  useEffect(() => {
    if (state.refreshSeq === 0) return;
    const t = setTimeout(load, 300);
    return () => clearTimeout(t);
  }, [state.refreshSeq, load]);

  // Whether the reserve is met can change with any bid, and only the server knows the reserve.
  const reserveKnownFalse = state.reserveMet === false;
  useEffect(() => {
    if (!reserveKnownFalse || !state.highestBid) return;
    const t = setTimeout(load, 500);
    return () => clearTimeout(t);
  }, [state.highestBid?.id, reserveKnownFalse, load]);

  const a = state.auction;
  if (!a) {
    return (
      <section class="card">
        {loadError ? (
          <>
            <h1>Auction unavailable</h1>
            <p class="error" role="alert">
              {loadError}
            </p>
            <p class="actions">
              <button type="button" class="button-quiet" onClick={load}>
                Try again
              </button>
              <a href="#/">Back to the auctions</a>
            </p>
          </>
        ) : (
          <p>Loading auction…</p>
        )}
      </section>
    );
  }

  const isSeller = !!me && me.id === a.sellerId;
  const buyerId = buyerOf(state);
  const isBuyer = !!me && me.id === buyerId;
  const isAdmin = me?.role === 'admin';
  const status = state.status ?? a.status;
  // A sale voided (unpaid, or refunded after a dispute) keeps its invoice; a credit note cancels it.
  const voided = status === 'closed_no_winner' && (a.closeReason === 'unpaid' || a.closeReason === 'refunded');
  const wasBuyer = !!me && a.dispute?.buyerId === me.id;
  const documentsShown = (status === 'sold' || voided) && (isSeller || isBuyer || wasBuyer || isAdmin);
  const bidderLabel = (b: { bidderId: string; bidderName?: string | null }) =>
    me && b.bidderId === me.id ? 'You' : (b.bidderName ?? `Bidder ${b.bidderId.slice(0, 4)}`);

  return (
    <article class="room">
      <header class="room-head card">
        <p class="crumbs">
          <a href="#/">← All auctions</a>
        </p>
        <div class="room-title">
          <h1>{a.itemName}</h1>
          <StatusBadge status={status} testId="auction-status" />
        </div>
        <p class="room-timer">
          <Countdown status={status} goLiveAt={state.goLiveAt} endsAt={state.endsAt} testId="countdown" />
          <span class="muted">
            {status === 'scheduled'
              ? `Goes live ${formatTime(state.goLiveAt)}`
              : status === 'live'
                ? `Ends ${formatTime(state.endsAt)}`
                : `Ended ${formatTime(state.endsAt)}`}
          </span>
        </p>
        <SellerLine sellerId={a.sellerId} />
        <WatchButton auction={a} onChange={load} />
        {a.category && <span class="chip chip-static">{a.category}</span>}
        <ShippingNote shipping={a.shipping} testId="room-shipping" />
        <Gallery images={a.images ?? []} alt={a.itemName} />
        {a.description && <p class="description">{a.description}</p>}
        {status === 'cancelled' && (
          <p class="banner banner-warn" role="status" data-testid="cancelled-note">
            Cancelled{a.cancelReason ? `: ${a.cancelReason}` : '.'}
          </p>
        )}
        {loadError && (
          <p class="error" role="alert">
            {loadError}
          </p>
        )}
      </header>

      {state.outbid && (
        <div class="alert alert-outbid" role="alert" data-testid="outbid-alert">
          <strong>You have been outbid!</strong>{' '}
          {state.outbid.amount
            ? `The highest bid is now ${money(state.outbid.amount)}.`
            : 'Someone placed a higher bid.'}
          <button type="button" class="button-quiet" onClick={() => dispatch({ type: 'dismissOutbid' })}>
            Dismiss
          </button>
        </div>
      )}
      {state.notice && (
        <div class="alert alert-info" role="status" data-testid="room-notice">
          {state.notice}
          <button type="button" class="button-quiet" onClick={() => dispatch({ type: 'dismissNotice' })}>
            Dismiss
          </button>
        </div>
      )}

      <SellerControls
        auction={a}
        status={status}
        bidCount={state.bidCount}
        onChange={(next) => (next ? dispatch({ type: 'loaded', auction: next }) : load())}
      />

      <div class="room-grid">
        <section class="card price-panel" aria-label="Current price">
          <dl class="facts">
            <div class="fact fact-main">
              <dt>Highest bid</dt>
              <dd data-testid="highest-bid" data-amount={state.highestBid?.amount ?? ''}>
                {state.highestBid ? money(state.highestBid.amount) : 'No bids yet'}
              </dd>
            </div>
            {(status === 'live' || status === 'scheduled') && (
              <div class="fact">
                <dt>Minimum next bid</dt>
                <dd data-testid="min-next-bid" data-amount={state.minNextBid ?? ''}>
                  {money(state.minNextBid)}
                </dd>
              </div>
            )}
            <div class="fact">
              <dt>Bids</dt>
              <dd data-testid="bid-count">{state.bidCount}</dd>
            </div>
            <div class="fact">
              <dt>Start price</dt>
              <dd>{money(a.startPrice)}</dd>
            </div>
            <div class="fact">
              <dt>Increment</dt>
              <dd>{money(a.bidIncrement)}</dd>
            </div>
            {(state.reserveMet === true || state.reserveMet === false) && (
              <div class="fact">
                <dt>Reserve</dt>
                <dd data-testid="reserve-status" class={state.reserveMet ? 'ok' : 'warn'}>
                  {state.reserveMet ? 'Reserve met' : 'Reserve not met'}
                  {isSeller && a.reservePrice ? ` (${money(a.reservePrice)})` : ''}
                </dd>
              </div>
            )}
            {a.buyNowPrice && (
              <div class="fact">
                <dt>Buy now</dt>
                <dd data-testid="buy-now-price">{money(a.buyNowPrice)}</dd>
              </div>
            )}
            {a.softCloseSecs ? (
              <div class="fact">
                <dt>Soft close</dt>
                <dd>{a.softCloseSecs} s</dd>
              </div>
            ) : null}
            {a.myMaxAmount && (
              <div class="fact">
                <dt>Your maximum</dt>
                <dd data-testid="my-max-amount">{money(a.myMaxAmount)}</dd>
              </div>
            )}
          </dl>
          {state.endedReason === 'buy_now' && <p class="ok">Sold at the buy-now price.</p>}
          <Outcome state={state} isBuyer={isBuyer} />
          {me && documentsShown && (
            <div class="documents" data-testid="documents">
              <InvoiceLink auctionId={a.id} />
              {(isSeller || isAdmin) && (
                <DocumentLink auctionId={a.id} kind="statement" label="Download your statement" />
              )}
              {voided && <DocumentLink auctionId={a.id} kind="credit-note" label="Download credit note" />}
            </div>
          )}
          {status === 'sold' && a.status === 'sold' && (isSeller || isBuyer) && (
            <PaymentPanel
              auction={a}
              isBuyer={isBuyer}
              isSeller={isSeller}
              onDone={(next) => dispatch({ type: 'loaded', auction: next })}
            />
          )}
          {status === 'sold' && a.status === 'sold' && (
            <DeliveryPanel
              auction={a}
              isBuyer={isBuyer}
              isSeller={isSeller}
              onDone={(next) => dispatch({ type: 'loaded', auction: next })}
            />
          )}
          <DisputePanel auction={a} isBuyer={isBuyer || a.dispute?.buyerId === me?.id} isSeller={isSeller} isAdmin={isAdmin} onDone={load} />
          {status === 'sold' && a.status === 'sold' && (isSeller || isBuyer) && <FeedbackPanel auction={a} />}
        </section>

        <section class="card bid-panel" aria-label="Bidding">
          {isSeller ? (
            status === 'ended' ? (
              <SellerDecision
                auction={a}
                state={state}
                onDone={(next) => dispatch({ type: 'loaded', auction: next })}
              />
            ) : status === 'closed_no_winner' && a.status === 'closed_no_winner' && state.bidCount > 0 ? (
              <SecondChance auction={a} refreshSeq={state.refreshSeq} onOffered={load} />
            ) : (
              <p class="muted">This is your auction. You cannot bid on it.</p>
            )
          ) : a.offer && a.offer.status === 'pending' && me && a.offer.bidderId === me.id && status === 'closed_no_winner' ? (
            <OfferResponse
              offer={a.offer}
              onDone={(next) => {
                dispatch({ type: 'loaded', auction: next });
                dispatch({ type: 'dismissNotice' });
              }}
            />
          ) : state.counterOffer && state.counterOffer.status === 'pending' && isBuyer ? (
            <CounterResponse
              counter={state.counterOffer}
              onDone={(next) => {
                dispatch({ type: 'loaded', auction: next });
                dispatch({ type: 'dismissNotice' });
              }}
            />
          ) : status === 'live' || status === 'scheduled' ? (
            me ? (
              <BidBox
                auctionId={a.id}
                status={status}
                minNextBid={state.minNextBid}
                onPlaced={(bid) => {
                  if (bid?.id) dispatch({ type: 'bidAccepted', bid });
                  load(); // myMaxAmount and reserve come from the REST view
                }}
              />
            ) : (
              <p>
                <a href="#/login">Sign in</a> to bid.
              </p>
            )
          ) : status === 'ended' && isBuyer ? (
            <>
              <p data-testid="awaiting-decision">
                You have the highest bid. The seller is deciding whether to accept it.
              </p>
              <Deadline label="The seller decides within" until={a.decisionDeadline} testId="decision-deadline" />
            </>
          ) : (
            <p class="muted">Bidding is closed.</p>
          )}
          {state.counterOffer &&
            (isSeller ? status !== 'ended' : isBuyer && state.counterOffer.status !== 'pending') && (
              <p class="muted" data-testid="counter-status">
                Counter offer of {money(state.counterOffer.amount)}: {state.counterOffer.status}.
              </p>
            )}
        </section>

        <section class="card feed-panel" aria-labelledby="feed-title">
          <h2 id="feed-title">Bid history</h2>
          <ol class="bid-feed" data-testid="bid-feed" aria-live="polite" aria-relevant="additions">
            {state.bids.map((b) => (
              <li
                key={b.id}
                class={[me && b.bidderId === me.id ? 'mine' : '', b.retractedAt ? 'retracted' : ''].join(' ').trim() || undefined}
                data-bid-id={b.id}
                data-retracted={b.retractedAt ? 'true' : 'false'}
              >
                <span class="feed-amount">
                  {money(b.amount)}
                  {b.retractedAt && (
                    <span class="feed-retracted" data-testid="bid-retracted" title={`Retracted ${formatTime(b.retractedAt, true)}`}>
                      {' '}retracted
                    </span>
                  )}
                </span>
                <span class="feed-who">
                  <PersonLink id={b.bidderId} name={bidderLabel(b)} testId="bidder-name" />
                  {isSeller && b.bidderId !== me?.id && (
                    <BlockButton
                      name={bidderLabel(b)}
                      blocked={blocks.blocked.has(b.bidderId)}
                      onToggle={() => blocks.toggle(b.bidderId)}
                    />
                  )}
                </span>
                <time class="feed-time" dateTime={b.createdAt}>
                  {formatTime(b.createdAt, true)}
                </time>
                {me && b.bidderId === me.id && !b.retractedAt && status === 'live' && (
                  <span class="feed-actions">
                    <RetractButton auctionId={a.id} bidId={b.id} onDone={load} />
                  </span>
                )}
              </li>
            ))}
          </ol>
          {state.bids.length === 0 && <p class="muted">No bids yet.</p>}
          {blocks.error && (
            <p class="error" role="alert" data-testid="block-error">
              {blocks.error}
            </p>
          )}
        </section>

        <VerifyPanel auctionId={id} />
      </div>
    </article>
  );
}
