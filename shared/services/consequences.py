"""What each domain event causes, said once: the table `CONSEQUENCES` at the end of this module.

A use case records an event (`unit_of_work.UnitOfWork.record`) in the transaction that made
the change; its consequences are written into that same transaction, in the order the table
lists them: the room's live events, the users' live events and notifications, email jobs,
and the Redis state and schedules (a state patch), all as outbox rows that the relay applies
once after the commit (`outbox`). The change and everything it causes commit together or not
at all.

Each consequence is a small function of (where to write, the event): it reads what it says
from the record in the transaction (the auction as the use case left it, the bid, offer or
invoice the event names, the watchers) and takes every id from the event's `cause`, so a
consequence written twice for one cause tells nobody twice: a notification's id derives
from its cause, an email job's id is stable, and the relay applies each row once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.adapters import keys
from shared.adapters.orm import (
    Auction,
    Bid,
    CounterOffer,
    Dispute,
    Invoice,
    SecondChanceOffer,
    User,
)
from shared.adapters.redis_records import AuctionState
from shared.domain.auctions import reserve_met
from shared.domain.emails import Template, email_job
from shared.domain.events import (
    AuctionCancelled,
    AuctionEdited,
    AuctionEnded,
    AuctionEndedWithoutBids,
    AuctionEndingSoon,
    AuctionEvent,
    AuctionReset,
    AuctionWentLive,
    BidAccepted,
    BidderBlocked,
    BidderUnblocked,
    BidRetracted,
    BoughtNow,
    CounterAccepted,
    CounterExpired,
    CounterOffered,
    CounterRejected,
    DisputeOpened,
    DisputeRefunded,
    DisputeReleased,
    DisputeReplied,
    DisputeResolved,
    Event,
    InvoiceIssued,
    ItemReceived,
    ItemShipped,
    OfferAccepted,
    OfferExpired,
    OfferMade,
    OfferRejected,
    PaymentConfirmed,
    PaymentFellDue,
    PaymentMarked,
    RejectedByDefault,
    SaleCompleted,
    SaleVoided,
    SellerAccepted,
    SellerRejected,
    SellerReminded,
    ShipmentOverdue,
    SoldByDefault,
    UserReinstated,
    UserSuspended,
)
from shared.domain.marketplace import public_name
from shared.domain.money import money_str
from shared.domain.schedule import Moment
from shared.domain.times import iso, to_ms
from shared.domain.vocabulary import EventType, NotificationType
from shared.services import ledger, notifications, outbox, records, rescoring, schedules
from shared.services.context import Context
from shared.services.views import delivery_view, highest_bid_view, offer_view, payment_view

Row = TypeVar("Row")


@dataclass(frozen=True)
class Effects:
    """Where consequences are written: the recording transaction's session."""

    session: Session
    ctx: Context

    def auction(self, event: AuctionEvent) -> Auction:
        return self.session.get_one(Auction, uuid.UUID(event.auction_id))

    def get(self, model: type[Row], row_id: str) -> Row:
        return self.session.get_one(model, uuid.UUID(row_id))

    def room(self, auction: Auction, event: EventType, data: dict[str, Any]) -> None:
        outbox.room_event(self.session, self.ctx, str(auction.id), event, data)

    def notify(
        self, user: str, kind: NotificationType, payload: dict[str, Any], *, cause: str
    ) -> None:
        notifications.notify(
            self.session, self.ctx, cause=cause, user_id=user, kind=kind, payload=payload
        )

    def tell(
        self,
        auction: Auction,
        users: Iterable[str],
        event: EventType | None,
        kind: NotificationType | None,
        data: dict[str, Any],
        *,
        cause: str,
    ) -> None:
        """Each of `users` gets the user event `event` and the notification `kind` (either may
        be None: not this one), with the same `data`."""
        for user in users:
            if event is not None:
                outbox.user_event(self.session, self.ctx, user, event, data, str(auction.id))
            if kind is not None:
                self.notify(user, kind, data, cause=cause)

    def email(self, jobs: Iterable[dict[str, Any]]) -> None:
        for job in jobs:
            outbox.job(self.session, job)

    def patch(self, auction: Auction, fields: dict[str, str | int]) -> None:
        """The Redis state: `fields`, and every schedule entry as the record now says."""
        outbox.state_patch(
            self.session,
            str(auction.id),
            auction.round,
            fields,
            schedule=schedules.entries_of(self.session, auction),
        )


Consequence = Callable[[Effects, Any], None]
_OfASale = PaymentMarked | PaymentConfirmed | PaymentFellDue | SaleVoided


# -- the Redis state and the schedules -----------------------------------------------------------


def state_opens(fx: Effects, e: AuctionWentLive) -> None:
    a = fx.auction(e)
    outbox.state_patch(
        fx.session,
        e.auction_id,
        a.round,
        {"status": a.status, "goLiveAt": to_ms(a.go_live_at), "endsAt": to_ms(a.ends_at)},
        schedule=schedules.entries_for(a),
    )


def state_ends(fx: Effects, e: AuctionEvent) -> None:
    a = fx.auction(e)
    fx.patch(a, {"status": a.status, "endsAt": to_ms(a.ends_at)})


def log_sealed(fx: Effects, e: AuctionEvent) -> None:
    """However the window closes (the end, a buy-now sale, a cancellation), the public bid
    log's final checkpoint is signed with the decision: every accepted bid is in PostgreSQL by
    then (the end drains the intake first; a buy-now sale is recorded with its bid), so the
    close certificate only reads. Without it the ticker would sign it within LEDGER_MMD_MS,
    and until then the close would show a shorter log."""
    ledger.sign_checkpoint(fx.session, fx.ctx.settings, uuid.UUID(e.auction_id))


def state_status(fx: Effects, e: AuctionEvent) -> None:
    a = fx.auction(e)
    fx.patch(a, {"status": a.status})


def state_schedules(fx: Effects, e: AuctionEvent) -> None:
    """A deadline began or ended: the schedules follow the record."""
    fx.patch(fx.auction(e), {})


def state_edited(fx: Effects, e: AuctionEdited) -> None:
    """The rules the bid script judges, and the window's schedules (the notice's too)."""
    a = fx.auction(e)
    seq = fx.session.scalar(select(func.max(Bid.seq)).where(Bid.auction_id == a.id)) or 0
    flat = AuctionState.of(a, seq).to_fields()
    fields = {str(k): v for k, v in zip(flat[::2], flat[1::2], strict=True) if k != "seq"}
    lead = fx.ctx.settings.ending_soon_secs
    outbox.state_patch(
        fx.session,
        e.auction_id,
        a.round,
        fields,
        schedule={**schedules.entries_for(a), **schedules.ending_soon_entry(a, lead)},
    )


def state_cancelled(fx: Effects, e: AuctionCancelled) -> None:
    """A new round with no bids: the highest bid and the maximums go; nothing is scheduled."""
    a = fx.auction(e)
    outbox.state_patch(
        fx.session,
        e.auction_id,
        a.round,
        {"status": a.status, "round": a.round},
        schedule={Moment.START: None, Moment.END: None, Moment.ENDING_SOON: None},
        clear=True,
    )


def state_reset(fx: Effects, e: AuctionReset) -> None:
    a = fx.auction(e)
    outbox.state_patch(
        fx.session,
        e.auction_id,
        a.round,
        {
            "status": a.status,
            "goLiveAt": to_ms(a.go_live_at),
            "endsAt": to_ms(a.ends_at),
            "round": a.round,
        },
        schedule=schedules.entries_of(fx.session, a),
        clear=True,
    )


def suspended_set(fx: Effects, e: UserSuspended | UserReinstated) -> None:
    outbox.suspension(fx.session, e.user_id, isinstance(e, UserSuspended))


def blocked_set(fx: Effects, e: BidderBlocked | BidderUnblocked) -> None:
    """The seller's set of blocked bidders (when Redis holds it; else it is rebuilt whole)."""
    outbox.membership(
        fx.session,
        keys.blocked_bidders(e.seller_id),
        e.bidder_id,
        isinstance(e, BidderBlocked),
    )


# -- the shill signals: the pairs to compute again ----------------------------------------------


def pairs_of_the_bid_rescored(fx: Effects, e: BidAccepted) -> None:
    """The bid's bidder (and a proxy's, when one answered) against the seller."""
    if not e.seller_id:
        return
    seller = uuid.UUID(e.seller_id)
    # (A bid missing here must never fail the intake that records it: it is skipped.)
    bids = [fx.session.get(Bid, uuid.UUID(bid_id)) for bid_id in {e.first_bid_id, e.bid_id}]
    rescoring.mark(fx.session, [(b.bidder_id, seller) for b in bids if b is not None])


def bidders_rescored(fx: Effects, e: AuctionEvent) -> None:
    """However it came out (or was voided), what the auction's bids came to changed."""
    rescoring.mark_auction(fx.session, uuid.UUID(e.auction_id))


# -- the room (everyone watching it live) --------------------------------------------------------


def room_hears_it_started(fx: Effects, e: AuctionWentLive) -> None:
    a = fx.auction(e)
    fx.room(
        a,
        EventType.AUCTION_STARTED,
        {"status": "live", "goLiveAt": iso(a.go_live_at), "endsAt": iso(a.ends_at)},
    )


def room_hears_it_ended_without_bids(fx: Effects, e: AuctionEndedWithoutBids) -> None:
    a = fx.auction(e)
    fx.room(
        a,
        EventType.AUCTION_ENDED,
        {"status": a.status, "reason": "no_bids", "highestBid": None, "endsAt": iso(a.ends_at)},
    )


def room_hears_it_ended(fx: Effects, e: AuctionEnded) -> None:
    a, top = fx.auction(e), fx.get(Bid, e.highest_bid_id)
    fx.room(
        a,
        EventType.AUCTION_ENDED,
        {
            "status": a.status,
            "reason": "time",
            "highestBid": highest_bid_view(top),
            "reserveMet": reserve_met(a.reserve_price, top.amount),
            "endsAt": iso(a.ends_at),
        },
    )


def room_hears_it_bought_now(fx: Effects, e: BoughtNow) -> None:
    a = fx.auction(e)
    fx.room(
        a,
        EventType.AUCTION_ENDED,
        {
            "status": a.status,
            "reason": "buy_now",
            "highestBid": highest_bid_view(fx.get(Bid, e.bid_id)),
            "endsAt": iso(a.ends_at),
        },
    )


def room_hears_it_closed(fx: Effects, e: AuctionEvent) -> None:
    a = fx.auction(e)
    fx.room(a, EventType.AUCTION_CLOSED, {"status": a.status, "closeReason": a.closed_reason})


def room_hears_it_sold(fx: Effects, e: SaleCompleted) -> None:
    """Who bought it, by their public name (never their email)."""
    a = fx.auction(e)
    buyer = fx.session.get(User, a.winner_id)
    fx.room(
        a,
        EventType.AUCTION_SOLD,
        {
            "status": a.status,
            "finalPrice": money_str(a.final_price),
            "winnerName": public_name(buyer.name if buyer else "", str(a.winner_id)),
        },
    )


def _cancellation(a: Auction, e: AuctionCancelled) -> dict[str, Any]:
    return {
        "status": a.status,
        "cancelReason": e.reason,
        "cancelledAt": iso(e.at),
        "byAdmin": e.by_admin,
    }


def room_hears_it_cancelled(fx: Effects, e: AuctionCancelled) -> None:
    a = fx.auction(e)
    fx.room(a, EventType.AUCTION_CANCELLED, _cancellation(a, e))


# -- the people: live user events and notifications -----------------------------------------------


def _item(a: Auction) -> dict[str, Any]:
    return {"auctionId": str(a.id), "itemName": a.item_name}


def seller_hears_it_started(fx: Effects, e: AuctionWentLive) -> None:
    a = fx.auction(e)
    payload = {**_item(a), "endsAt": iso(a.ends_at)}
    fx.notify(str(a.seller_id), NotificationType.AUCTION_STARTED, payload, cause=e.cause)


def seller_hears_it_ended_without_bids(fx: Effects, e: AuctionEndedWithoutBids) -> None:
    a = fx.auction(e)
    payload = {**_item(a), "status": a.status, "highestBid": None}
    fx.notify(str(a.seller_id), NotificationType.AUCTION_ENDED, payload, cause=e.cause)


def seller_decides(fx: Effects, e: AuctionEnded) -> None:
    """The seller is asked to decide on the highest bid by the deadline."""
    a, top = fx.auction(e), fx.get(Bid, e.highest_bid_id)
    decision = {
        **_item(a),
        "highestBid": highest_bid_view(top),
        "reserveMet": reserve_met(a.reserve_price, top.amount),
        "decisionDeadline": iso(a.decision_deadline),
    }
    fx.tell(
        a,
        [str(a.seller_id)],
        EventType.SELLER_DECISION_REQUIRED,
        NotificationType.DECISION_REQUIRED,
        decision,
        cause=e.cause,
    )


def bidders_hear_it_ended(fx: Effects, e: AuctionEnded) -> None:
    a, top = fx.auction(e), fx.get(Bid, e.highest_bid_id)
    for bidder in records.round_bidders(fx.session, a):
        payload = {
            **_item(a),
            "status": a.status,
            "highestBid": highest_bid_view(top),
            "youAreHighest": bidder == str(top.bidder_id),
        }
        fx.notify(bidder, NotificationType.AUCTION_ENDED, payload, cause=e.cause)


def _watchers_told(fx: Effects, a: Auction, told: Iterable[str]) -> None:
    """Watchers hear how it ended (ended awaiting the seller, sold, closed without a winner):
    an `auction_ended` notification each, once per outcome, except the seller and the people
    in `told` (they have their own notification of it)."""
    skip = {str(a.seller_id), *told}
    payload: dict[str, Any] = {**_item(a), "status": a.status, "watching": True}
    if a.final_price is not None:
        payload["finalPrice"] = money_str(a.final_price)
    cause = f"watch:{a.id}:{a.round}:{a.status}"
    for user in records.watchers(fx.session, a.id):
        if user not in skip:
            fx.notify(user, NotificationType.AUCTION_ENDED, payload, cause=cause)


def watchers_hear_it_ended(fx: Effects, e: AuctionEvent) -> None:
    """(Its bidders heard it as bidders.)"""
    a = fx.auction(e)
    _watchers_told(fx, a, records.round_bidders(fx.session, a))


def watchers_hear_it_sold(fx: Effects, e: SaleCompleted) -> None:
    a = fx.auction(e)
    _watchers_told(fx, a, [str(a.winner_id)])


def watchers_hear_it_closed(fx: Effects, e: AuctionEvent) -> None:
    _watchers_told(fx, fx.auction(e), [])


def seller_and_outbid_hear_of_the_bid(fx: Effects, e: BidAccepted) -> None:
    """`new_bid` for the seller, `outbid` for whoever lost the lead to it."""
    a = fx.session.get(Auction, uuid.UUID(e.auction_id))
    payload = {
        "auctionId": e.auction_id,
        "itemName": a.item_name if a else "",
        "bidId": e.bid_id,
        "amount": money_str(e.amount),
    }
    fx.notify(e.seller_id, NotificationType.NEW_BID, payload, cause=e.cause)
    for user in e.outbid:
        fx.notify(user, NotificationType.OUTBID, payload, cause=e.cause)


def people_hear_it_ends_soon(fx: Effects, e: AuctionEndingSoon) -> None:
    """Every watcher and every bidder of the round (not the seller)."""
    a = fx.auction(e)
    people = {*records.watchers(fx.session, a.id), *records.round_bidders(fx.session, a)}
    payload = {**_item(a), "endsAt": iso(e.ends_at), "currentPrice": str(a.current_price)}
    for user in sorted(people - {str(a.seller_id)}):
        fx.notify(user, NotificationType.ENDING_SOON, payload, cause=e.cause)


def _outcome(a: Auction, top: Bid) -> dict[str, Any]:
    """What the parties are told about a decision on the highest bid."""
    return {
        **_item(a),
        "status": a.status,
        "amount": money_str(top.amount),
        "bidId": str(top.id),
        "bidderId": str(top.bidder_id),
        "sellerId": str(a.seller_id),
    }


def parties_hear_of_the_sale(event: EventType, kind: NotificationType) -> Consequence:
    """The buyer and the seller: `event` and the notification `kind`, with the sale."""

    def told(fx: Effects, e: SaleCompleted) -> None:
        a, invoice = fx.auction(e), fx.get(Invoice, e.invoice_id)
        data = {
            **_item(a),
            "status": a.status,
            "amount": money_str(a.final_price),
            "buyerId": str(a.winner_id),
            "sellerId": str(a.seller_id),
            "invoiceNumber": invoice.number,
            "payment": payment_view(invoice),
        }
        users = [str(a.winner_id), str(a.seller_id)]
        fx.tell(a, users, event, kind, data, cause=e.cause)

    return told


def parties_hear_of_the_rejection(kind: NotificationType) -> Consequence:
    """`seller:rejected` to the highest bidder and the seller, with the close reason."""

    def told(fx: Effects, e: SellerRejected | RejectedByDefault) -> None:
        a, top = fx.auction(e), fx.get(Bid, e.bid_id)
        data = {**_outcome(a, top), "closeReason": a.closed_reason}
        users = [str(top.bidder_id), str(a.seller_id)]
        fx.tell(a, users, EventType.SELLER_REJECTED, kind, data, cause=e.cause)

    return told


def seller_hears_the_default_applied(fx: Effects, e: SoldByDefault) -> None:
    a, top = fx.auction(e), fx.get(Bid, e.bid_id)
    payload = {
        **_outcome(a, top),
        "applied": "accept",
        "decisionDeadline": iso(a.decision_deadline),
    }
    fx.notify(str(a.seller_id), NotificationType.DECISION_EXPIRED, payload, cause=e.cause)


def seller_is_reminded(fx: Effects, e: SellerReminded) -> None:
    a, top = fx.auction(e), fx.get(Bid, e.bid_id)
    payload = {
        **_item(a),
        "amount": money_str(top.amount),
        "decisionDeadline": iso(a.decision_deadline),
        "default": fx.ctx.settings.decision_default,
    }
    fx.notify(str(a.seller_id), NotificationType.DECISION_REMINDER, payload, cause=e.cause)


def _counter(offer: CounterOffer) -> dict[str, Any]:
    return {
        "id": str(offer.id),
        "amount": money_str(offer.amount),
        "status": offer.status,
        "expiresAt": iso(offer.expires_at),
    }


def bidder_hears_the_counter(fx: Effects, e: CounterOffered) -> None:
    a, offer, top = fx.auction(e), fx.get(CounterOffer, e.counter_id), fx.get(Bid, e.bid_id)
    data = {
        **_item(a),
        "counterOffer": _counter(offer),
        "counterId": str(offer.id),
        "amount": money_str(offer.amount),
        "highestBid": money_str(top.amount),
        "buyerId": str(top.bidder_id),
        "sellerId": str(a.seller_id),
    }
    kind = NotificationType.COUNTER_OFFER
    fx.tell(a, [str(top.bidder_id)], EventType.COUNTER_OFFER, kind, data, cause=e.cause)


def parties_hear_of_the_counter(
    event: EventType, kind: NotificationType, *, with_reason: bool
) -> Consequence:
    """The counter offer's buyer and seller (`with_reason`: the close reason too)."""

    def told(fx: Effects, e: CounterRejected | CounterExpired) -> None:
        a, offer = fx.auction(e), fx.get(CounterOffer, e.counter_id)
        reason = {"closeReason": a.closed_reason} if with_reason else {}
        data = {
            **_item(a),
            "status": a.status,
            **reason,
            "counterOffer": _counter(offer),
            "counterId": str(offer.id),
            "amount": money_str(offer.amount),
            "buyerId": str(offer.buyer_id),
            "sellerId": str(offer.seller_id),
        }
        users = [str(offer.buyer_id), str(offer.seller_id)]
        fx.tell(a, users, event, kind, data, cause=e.cause)

    return told


def hear_of_the_offer(event: EventType, kind: NotificationType, *roles: str) -> Consequence:
    """A second-chance offer's `roles`: buyer (its bidder) and seller."""

    def told(fx: Effects, e: OfferMade | OfferRejected | OfferExpired) -> None:
        a, offer = fx.auction(e), fx.get(SecondChanceOffer, e.offer_id)
        view = offer_view(offer)
        data = {**view, "offerId": view["id"], "itemName": a.item_name}
        parties = {"buyer": str(offer.bidder_id), "seller": str(offer.seller_id)}
        fx.tell(a, [parties[r] for r in roles], event, kind, data, cause=e.cause)

    return told


def hear_of_the_payment(
    event: EventType, kind: NotificationType, *, notified: tuple[str, ...]
) -> Consequence:
    """Both parties get `event`; `notified` of them (buyer, seller) the notification `kind`
    (a payment marked or confirmed: not the one who acted)."""

    def told(
        fx: Effects, e: PaymentMarked | PaymentConfirmed | PaymentFellDue | SaleVoided
    ) -> None:
        a, invoice = fx.auction(e), fx.get(Invoice, e.invoice_id)
        data = {
            **_item(a),
            "amount": money_str(invoice.amount),
            "invoiceNumber": invoice.number,
            "buyerId": str(invoice.buyer_id),
            "sellerId": str(invoice.seller_id),
            "payment": payment_view(invoice),
        }
        parties = {"buyer": str(invoice.buyer_id), "seller": str(invoice.seller_id)}
        fx.tell(a, parties.values(), event, None, data, cause=e.cause)
        fx.tell(a, [parties[r] for r in notified], None, kind, data, cause=e.cause)

    return told


def people_hear_it_cancelled(fx: Effects, e: AuctionCancelled) -> None:
    """The voided round's bidders and the watchers (not whoever called it off; the seller when
    an admin did)."""
    a = fx.auction(e)
    bidders = records.highest_by_bidder(fx.session, a.id, e.round)
    told = {str(b) for b in bidders} | set(records.watchers(fx.session, a.id))
    told.discard(e.by or "")
    if e.by_admin:
        told.add(str(a.seller_id))
    payload = {**_item(a), **_cancellation(a, e)}
    for user in sorted(told):
        fx.notify(user, NotificationType.AUCTION_CANCELLED, payload, cause=e.cause)


# -- emails (a job each; the job worker writes and sends them) ------------------------------------


def _both(buyer: object, seller: object) -> dict[str, str]:
    return {"buyer": str(buyer), "seller": str(seller)}


def email_sale_confirmation(fx: Effects, e: SaleCompleted) -> None:
    """The buyer's and the seller's confirmation with the invoice (a counter or a second-chance
    offer accepted sends its own instead: one email per party for one sale). An auction sells
    once per round this way, so the round names the cause (older ids, kept: `email:sale:`)."""
    a = fx.auction(e)
    key = e.auction_id if a.round == 1 else f"{e.auction_id}:r{a.round}"
    fx.email(
        {
            "id": f"email:sale:{key}:{role}",
            "type": "email",
            "template": Template.SALE_CONFIRMATION.value,
            "auctionId": e.auction_id,
            "invoiceId": e.invoice_id,
            "recipientId": user,
            "role": role,
            "attachInvoice": True,
            **({"attachStatement": True} if role == "seller" else {}),
        }
        for role, user in _both(a.winner_id, a.seller_id).items()
    )


def email_rejection(fx: Effects, e: SellerRejected) -> None:
    top = fx.get(Bid, e.bid_id)
    job = email_job(
        Template.REJECTION,
        f"{e.auction_id}:r{e.round}",
        auction_id=e.auction_id,
        recipient_id=str(top.bidder_id),
        role="buyer",
        bidId=str(top.id),
        amount=money_str(top.amount),
        at=iso(e.decided_at),
    )
    fx.email([job])


def email_about_the_decision(template: Template, *roles: str) -> Consequence:
    """The decision window's emails (reminder, expired): the highest bid's `roles`."""

    def jobs(fx: Effects, e: SellerReminded | RejectedByDefault) -> None:
        a, top = fx.auction(e), fx.get(Bid, e.bid_id)
        fx.email(
            email_job(
                template,
                f"{e.auction_id}:r{e.round}",
                auction_id=e.auction_id,
                recipient_id=user,
                role=role,
                bidId=str(top.id),
            )
            for role, user in _both(top.bidder_id, a.seller_id).items()
            if role in roles
        )

    return jobs


def email_counter_invitation(fx: Effects, e: CounterOffered) -> None:
    offer = fx.get(CounterOffer, e.counter_id)
    job = email_job(
        Template.COUNTER_INVITATION,
        e.counter_id,
        auction_id=e.auction_id,
        recipient_id=str(offer.buyer_id),
        role="buyer",
        counterId=e.counter_id,
        bidId=e.bid_id,
    )
    fx.email([job])


def email_about_the_counter(template: Template) -> Consequence:
    """Both sides of a counter offer (accepted: with the sale's invoice, its confirmation)."""

    def jobs(fx: Effects, e: CounterAccepted | CounterExpired) -> None:
        offer = fx.get(CounterOffer, e.counter_id)
        sale: dict[str, Any] = {"invoiceId": e.invoice_id} if isinstance(e, CounterAccepted) else {}
        fx.email(
            email_job(
                template,
                e.counter_id,
                auction_id=e.auction_id,
                recipient_id=user,
                role=role,
                attach_invoice=bool(sale),
                attach_statement=bool(sale) and role == "seller",
                counterId=e.counter_id,
                **sale,
            )
            for role, user in _both(offer.buyer_id, offer.seller_id).items()
        )

    return jobs


def email_about_the_offer(template: Template, *roles: str) -> Consequence:
    """A second-chance offer's `roles` (accepted: with the sale's invoice, its confirmation)."""

    def jobs(fx: Effects, e: OfferMade | OfferAccepted | OfferRejected | OfferExpired) -> None:
        offer = fx.get(SecondChanceOffer, e.offer_id)
        facts: dict[str, Any] = {"offerId": e.offer_id}
        if isinstance(e, OfferAccepted):
            facts["invoiceId"] = e.invoice_id
        fx.email(
            email_job(
                template,
                e.offer_id,
                auction_id=e.auction_id,
                recipient_id=user,
                role=role,
                attach_invoice=isinstance(e, OfferAccepted),
                attach_statement=isinstance(e, OfferAccepted) and role == "seller",
                **facts,
            )
            for role, user in _both(offer.bidder_id, offer.seller_id).items()
            if role in roles
        )

    return jobs


def email_about_the_payment(
    template: Template, *roles: str, attach: bool = False, credit_note: bool = False
) -> Consequence:
    """A sale's emails (its payment marked, confirmed, due; the sale void; its tax invoice
    issued; its shipment) to `roles`: with the invoice (`attach`; the seller's statement
    beside it), and the credit note that cancels it (`credit_note`)."""

    def jobs(fx: Effects, e: Any) -> None:
        invoice = fx.get(Invoice, e.invoice_id)
        fx.email(
            email_job(
                template,
                e.invoice_id,
                auction_id=e.auction_id,
                recipient_id=user,
                role=role,
                attach_invoice=attach,
                attach_credit_note=credit_note,
                attach_statement=attach and role == "seller",
                invoiceId=e.invoice_id,
            )
            for role, user in _both(invoice.buyer_id, invoice.seller_id).items()
            if role in roles
        )

    return jobs


def email_cancellations(fx: Effects, e: AuctionCancelled) -> None:
    """Bidders had money on it: an email each (watchers have the notification only)."""
    bidders = records.highest_by_bidder(fx.session, uuid.UUID(e.auction_id), e.round)
    fx.email(
        email_job(
            Template.AUCTION_CANCELLED,
            f"{e.auction_id}:r{e.round}:{bidder}",
            auction_id=e.auction_id,
            recipient_id=str(bidder),
            role="buyer",
            amount=money_str(amount),
            at=iso(e.at),
            reason=e.reason,
        )
        for bidder, amount in sorted(bidders.items(), key=lambda item: str(item[0]))
    )


# -- the way to the buyer, and disputes ----------------------------------------------------------


def hear_of_the_shipment(
    event: EventType, kind: NotificationType, *, notified: tuple[str, ...]
) -> Consequence:
    """Both parties get `event`; `notified` of them (buyer, seller) the notification `kind`."""

    def told(fx: Effects, e: ItemShipped | ItemReceived | ShipmentOverdue) -> None:
        a, invoice = fx.auction(e), fx.get(Invoice, e.invoice_id)
        data = {
            **_item(a),
            "invoiceNumber": invoice.number,
            "buyerId": str(invoice.buyer_id),
            "sellerId": str(invoice.seller_id),
            "delivery": delivery_view(invoice),
        }
        parties = {"buyer": str(invoice.buyer_id), "seller": str(invoice.seller_id)}
        fx.tell(a, parties.values(), event, None, data, cause=e.cause)
        fx.tell(a, [parties[r] for r in notified], None, kind, data, cause=e.cause)

    return told


def hear_of_the_dispute(event: EventType, kind: NotificationType) -> Consequence:
    """Both sides of a dispute: the user event and the notification, with its state."""

    def told(fx: Effects, e: DisputeOpened | DisputeReplied | DisputeResolved) -> None:
        a, dispute = fx.auction(e), fx.get(Dispute, e.dispute_id)
        data: dict[str, Any] = {
            **_item(a),
            "disputeId": str(dispute.id),
            "reason": dispute.reason,
            "status": dispute.status,
            "buyerId": str(dispute.buyer_id),
            "sellerId": str(dispute.seller_id),
        }
        if dispute.outcome is not None:
            data["outcome"] = dispute.outcome
        users = [str(dispute.buyer_id), str(dispute.seller_id)]
        fx.tell(a, users, event, kind, data, cause=e.cause)

    return told


def email_about_the_dispute(template: Template) -> Consequence:
    """Both sides of a dispute, by email (a refund: with the credit note that cancels the
    sale's invoice)."""

    def jobs(fx: Effects, e: DisputeOpened | DisputeReplied | DisputeResolved) -> None:
        dispute = fx.get(Dispute, e.dispute_id)
        key = e.dispute_id
        facts: dict[str, Any] = {"disputeId": e.dispute_id, "invoiceId": str(dispute.invoice_id)}
        if isinstance(e, DisputeReplied):
            key = f"{e.dispute_id}:{e.reply_id}"
            facts["replyId"] = e.reply_id
        fx.email(
            email_job(
                template,
                key,
                auction_id=e.auction_id,
                recipient_id=user,
                role=role,
                attach_credit_note=isinstance(e, DisputeRefunded),
                **facts,
            )
            for role, user in _both(dispute.buyer_id, dispute.seller_id).items()
        )

    return jobs


# -- the table -----------------------------------------------------------------------------------

N, E, T = NotificationType, EventType, Template

# However an auction comes out after the hammer, the watchers, the Redis state and the room hear
# the same thing.
_SOLD = (watchers_hear_it_sold, state_status, bidders_rescored)
_CLOSED = (watchers_hear_it_closed, state_status, room_hears_it_closed, bidders_rescored)

CONSEQUENCES: dict[type[Event], tuple[Consequence, ...]] = {
    # the window
    AuctionWentLive: (state_opens, room_hears_it_started, seller_hears_it_started),
    AuctionEndingSoon: (people_hear_it_ends_soon,),
    AuctionEndedWithoutBids: (
        room_hears_it_ended_without_bids,
        room_hears_it_closed,
        seller_hears_it_ended_without_bids,
        watchers_hear_it_ended,
        state_ends,
        log_sealed,
    ),
    AuctionEnded: (
        room_hears_it_ended,
        seller_decides,
        bidders_hear_it_ended,
        watchers_hear_it_ended,
        state_ends,
        log_sealed,
    ),
    BidAccepted: (seller_and_outbid_hear_of_the_bid, pairs_of_the_bid_rescored),
    # sold
    SellerAccepted: (
        *_SOLD,
        email_sale_confirmation,
        room_hears_it_sold,
        parties_hear_of_the_sale(E.SELLER_ACCEPTED, N.ACCEPTED),
    ),
    SoldByDefault: (
        *_SOLD,
        email_sale_confirmation,
        room_hears_it_sold,
        parties_hear_of_the_sale(E.SELLER_ACCEPTED, N.ACCEPTED),
        seller_hears_the_default_applied,
    ),
    BoughtNow: (
        *_SOLD,
        email_sale_confirmation,
        room_hears_it_bought_now,
        room_hears_it_sold,
        parties_hear_of_the_sale(E.SELLER_ACCEPTED, N.ACCEPTED),
        log_sealed,
    ),
    CounterAccepted: (
        *_SOLD,
        room_hears_it_sold,
        parties_hear_of_the_sale(E.COUNTER_ACCEPTED, N.COUNTER_ACCEPTED),
        email_about_the_counter(T.COUNTER_ACCEPTED),
    ),
    OfferAccepted: (
        *_SOLD,
        room_hears_it_sold,
        parties_hear_of_the_sale(E.OFFER_ACCEPTED, N.OFFER_ACCEPTED),
        email_about_the_offer(T.OFFER_ACCEPTED, "buyer", "seller"),
    ),
    # closed without a sale
    SellerRejected: (*_CLOSED, parties_hear_of_the_rejection(N.REJECTED), email_rejection),
    RejectedByDefault: (
        *_CLOSED,
        parties_hear_of_the_rejection(N.DECISION_EXPIRED),
        email_about_the_decision(T.DECISION_EXPIRED, "buyer", "seller"),
    ),
    CounterRejected: (
        *_CLOSED,
        parties_hear_of_the_counter(E.COUNTER_REJECTED, N.COUNTER_REJECTED, with_reason=False),
    ),
    CounterExpired: (
        *_CLOSED,
        parties_hear_of_the_counter(E.COUNTER_EXPIRED, N.COUNTER_EXPIRED, with_reason=True),
        email_about_the_counter(T.COUNTER_EXPIRED),
    ),
    OfferRejected: (
        *_CLOSED,
        hear_of_the_offer(E.OFFER_REJECTED, N.OFFER_REJECTED, "buyer", "seller"),
        email_about_the_offer(T.OFFER_REJECTED, "seller"),
    ),
    OfferExpired: (
        *_CLOSED,
        hear_of_the_offer(E.OFFER_EXPIRED, N.OFFER_EXPIRED, "buyer", "seller"),
        email_about_the_offer(T.OFFER_EXPIRED, "buyer", "seller"),
    ),
    SaleVoided: (
        *_CLOSED,
        hear_of_the_payment(E.SALE_VOID, N.SALE_VOID, notified=("buyer", "seller")),
        email_about_the_payment(T.SALE_VOID, "buyer", "seller", attach=True, credit_note=True),
        state_schedules,
    ),
    DisputeRefunded: (
        *_CLOSED,
        hear_of_the_dispute(E.DISPUTE_RESOLVED, N.DISPUTE_RESOLVED),
        email_about_the_dispute(T.DISPUTE_RESOLVED),
        state_schedules,
    ),
    # on the way to an outcome
    SellerReminded: (
        seller_is_reminded,
        email_about_the_decision(T.DECISION_REMINDER, "seller"),
        state_schedules,
    ),
    CounterOffered: (state_schedules, bidder_hears_the_counter, email_counter_invitation),
    OfferMade: (
        state_schedules,
        hear_of_the_offer(E.OFFER_RECEIVED, N.OFFER_RECEIVED, "buyer"),
        email_about_the_offer(T.OFFER_RECEIVED, "buyer"),
    ),
    PaymentMarked: (
        hear_of_the_payment(E.PAYMENT_MARKED, N.PAYMENT_MARKED, notified=("seller",)),
        email_about_the_payment(T.PAYMENT_MARKED, "seller"),
        state_schedules,
    ),
    PaymentConfirmed: (
        hear_of_the_payment(E.PAYMENT_CONFIRMED, N.PAYMENT_CONFIRMED, notified=("buyer",)),
        email_about_the_payment(T.PAYMENT_CONFIRMED, "buyer"),
        state_schedules,
    ),
    PaymentFellDue: (
        hear_of_the_payment(E.PAYMENT_DUE, N.PAYMENT_DUE, notified=("buyer", "seller")),
        email_about_the_payment(T.PAYMENT_DUE, "buyer", "seller"),
        state_schedules,
    ),
    InvoiceIssued: (email_about_the_payment(T.TAX_INVOICE, "buyer", "seller", attach=True),),
    # the way to the buyer
    ItemShipped: (
        hear_of_the_shipment(E.SHIPMENT_SENT, N.SHIPPED, notified=("buyer",)),
        email_about_the_payment(T.SHIPPED, "buyer"),
        state_schedules,
    ),
    ItemReceived: (
        hear_of_the_shipment(E.SHIPMENT_RECEIVED, N.RECEIVED, notified=("seller",)),
        email_about_the_payment(T.RECEIVED, "seller"),
        state_schedules,
    ),
    ShipmentOverdue: (
        hear_of_the_shipment(E.SHIPMENT_OVERDUE, N.SHIPMENT_OVERDUE, notified=("buyer", "seller")),
        email_about_the_payment(T.SHIPMENT_OVERDUE, "buyer", "seller"),
        state_schedules,
    ),
    # disputes (a refund is among the ways a sale closes, above)
    DisputeOpened: (
        hear_of_the_dispute(E.DISPUTE_OPENED, N.DISPUTE_OPENED),
        email_about_the_dispute(T.DISPUTE_OPENED),
    ),
    DisputeReplied: (
        hear_of_the_dispute(E.DISPUTE_REPLIED, N.DISPUTE_REPLIED),
        email_about_the_dispute(T.DISPUTE_REPLIED),
    ),
    DisputeReleased: (
        hear_of_the_dispute(E.DISPUTE_RESOLVED, N.DISPUTE_RESOLVED),
        email_about_the_dispute(T.DISPUTE_RESOLVED),
    ),
    # the seller's and the admin's changes
    AuctionEdited: (state_edited,),
    AuctionCancelled: (
        state_cancelled,
        room_hears_it_cancelled,
        people_hear_it_cancelled,
        email_cancellations,
        bidders_rescored,
        log_sealed,
    ),
    AuctionReset: (state_reset, bidders_rescored),
    UserSuspended: (suspended_set,),
    UserReinstated: (suspended_set,),
    BidderBlocked: (blocked_set,),
    BidderUnblocked: (blocked_set,),
    # the room heard it from the retraction script itself; the auction's pairs change
    BidRetracted: (bidders_rescored,),
}


def write(session: Session, ctx: Context, event: Event) -> None:
    """Write everything `event` causes into the session's transaction."""
    fx = Effects(session, ctx)
    for consequence in CONSEQUENCES[type(event)]:
        consequence(fx, event)
