"""Email jobs: what each after-the-hammer email says, and its delivery exactly once.

A job names its cause (`email:{template}:{key}:{role}`) and carries the immutable facts of it
(which bid, which counter offer, when); names and addresses are read fresh at sending time.

Exactly once, by the job id, in `email_deliveries`:
- a row that exists means the provider accepted this message: nothing is sent again;
- otherwise the row is inserted in a transaction that commits only after the provider
  accepted. A second worker holding the same job (its lease ran out) blocks on that insert
  until the first commits (then finds the row and stops) or rolls back (then sends itself).
The one window left is a crash between the provider's answer and the commit (milliseconds):
the retry sends once more. No provider API closes it (SendGrid has no idempotency key); the
job id in `custom_args` lets its event log show such a pair.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters.invoice_store import InvoiceStore
from shared.adapters.mailer import Attachment, Mailer, MailerError, Outgoing, mailer_for
from shared.adapters.orm import (
    Auction,
    Bid,
    CounterOffer,
    EmailDelivery,
    Invoice,
    SecondChanceOffer,
    User,
)
from shared.domain.emails import Letter, Template, compose
from shared.domain.invoices import invoice_filename, invoice_label
from shared.domain.jobs import PermanentFailure
from shared.domain.times import parse_iso
from shared.services import invoices
from shared.services.context import Context
from shared.services.jobs import Handler
from shared.settings import Settings


@dataclass
class Outlets:
    """The edges an email job writes to, passed in so tests can point them elsewhere."""

    mailer: Mailer
    invoices: InvoiceStore


@dataclass
class _Cache:
    settings: Settings | None = None
    outlets: Outlets | None = None


_cache = _Cache()


def outlets_for(settings: Settings) -> Outlets:
    """The configured mailer and invoice store (built once per Settings object)."""
    if _cache.settings is not settings or _cache.outlets is None:
        _cache.outlets = Outlets(mailer_for(settings), InvoiceStore.from_settings(settings))
        _cache.settings = settings
    return _cache.outlets


def handlers(outlets: Outlets | None = None) -> dict[str, Handler]:
    """The job types this module runs, for `jobs.work`: `email`, through `outlets` (default:
    the ones the Context's settings configure)."""

    def email(ctx: Context, job: dict[str, Any]) -> None:
        deliver(ctx, job, outlets or outlets_for(ctx.settings))

    return {"email": email}


# -- delivery ---------------------------------------------------------------------------------


def _uuid(job: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(job[name]))
    except (KeyError, ValueError):
        raise PermanentFailure(f"the job has no valid {name}") from None


def _need(row: Any, what: str) -> Any:
    if row is None:
        raise PermanentFailure(f"{what} does not exist")
    return row


def _invoice_of(session: Session, job: dict[str, Any], auction: Auction) -> Invoice:
    """The job's invoice: the one it names, else (jobs queued before they named one) the
    auction's current sale."""
    if job.get("invoiceId"):
        invoice = session.get(Invoice, _uuid(job, "invoiceId"))
    else:
        invoice = invoices.current_invoice(session, auction.id)
    return _need(invoice, "the sale's invoice")  # type: ignore[no-any-return]


def _letter(session: Session, ctx: Context, job: dict[str, Any]) -> tuple[Letter, User]:
    try:
        template = Template(str(job.get("template")))
    except ValueError:
        raise PermanentFailure(f"unknown email template {job.get('template')!r}") from None
    auction: Auction = _need(session.get(Auction, _uuid(job, "auctionId")), "the auction")
    recipient: User = _need(session.get(User, _uuid(job, "recipientId")), "the recipient")
    seller: User = _need(session.get(User, auction.seller_id), "the seller")
    role = "seller" if job.get("role") == "seller" else "buyer"
    settings = ctx.settings

    def user(user_id: uuid.UUID, what: str) -> User:
        return _need(session.get(User, user_id), what)  # type: ignore[no-any-return]

    def letter(
        amount: Decimal,
        at: datetime,
        counterpart: str,
        *,
        currency: str = settings.currency,
        highest_bid: Decimal | None = None,
        label: str | None = None,
        reserve: Decimal | None = None,
        deadline: datetime | None = None,
        default_action: str | None = None,
        payment_status: str | None = None,
        note: str | None = None,
    ) -> tuple[Letter, User]:
        return Letter(
            template=template,
            role=role,
            recipient_name=recipient.name,
            item_name=auction.item_name,
            auction_link=f"{settings.app_base_url.rstrip('/')}/#/auctions/{auction.id}",
            currency=currency,
            tz=settings.tz,
            amount=amount,
            at=at,
            counterpart_name=counterpart,
            highest_bid=highest_bid,
            invoice_label=label,
            reserve=reserve if role == "seller" else None,  # private to the seller
            deadline=deadline,
            default_action=default_action,
            payment_status=payment_status,
            note=note,
        ), recipient

    def sale_letter(invoice: Invoice, **extra: Any) -> tuple[Letter, User]:
        """A letter about a sale, from its invoice (whose currency is the sale's, whatever
        CURRENCY says today)."""
        counterpart = seller if role == "buyer" else user(invoice.buyer_id, "the buyer")
        return letter(
            invoice.amount,
            extra.pop("at", invoice.sold_at),
            counterpart.name,
            currency=invoice.currency,
            label=invoice_label(invoice.number),
            **extra,
        )

    if template in (Template.SALE_CONFIRMATION, Template.COUNTER_ACCEPTED):
        return sale_letter(_invoice_of(session, job, auction), reserve=auction.reserve_price)
    if template == Template.AUCTION_CANCELLED:
        return letter(
            Decimal(str(job["amount"])),
            parse_iso(str(job["at"])),
            seller.name,
            note=str(job.get("reason") or "") or None,
        )
    if template == Template.REJECTION:
        bid: Bid = _need(session.get(Bid, _uuid(job, "bidId")), "the rejected bid")
        decided = parse_iso(str(job["at"])) if job.get("at") else bid.created_at
        return letter(bid.amount, decided, seller.name)
    if template == Template.COUNTER_INVITATION:
        counter: CounterOffer = _need(
            session.get(CounterOffer, _uuid(job, "counterId")), "the counter offer"
        )
        countered: Bid = _need(session.get(Bid, _uuid(job, "bidId")), "the countered bid")
        return letter(
            counter.amount,
            counter.created_at,
            seller.name,
            highest_bid=countered.amount,
            deadline=counter.expires_at,
        )
    if template in (Template.DECISION_REMINDER, Template.DECISION_EXPIRED):
        top: Bid = _need(session.get(Bid, _uuid(job, "bidId")), "the highest bid")
        bidder = user(top.bidder_id, "the highest bidder")
        deadline = auction.decision_deadline or auction.ends_at
        return letter(
            top.amount,
            auction.ends_at if template == Template.DECISION_REMINDER else deadline,
            seller.name if role == "buyer" else bidder.name,
            deadline=deadline,
            default_action=settings.decision_default,
        )
    if template == Template.COUNTER_EXPIRED:
        counter = _need(session.get(CounterOffer, _uuid(job, "counterId")), "the counter offer")
        buyer = user(counter.buyer_id, "the buyer")
        return letter(
            counter.amount,
            counter.expires_at or counter.updated_at,
            seller.name if role == "buyer" else buyer.name,
        )
    if template in (
        Template.OFFER_RECEIVED,
        Template.OFFER_ACCEPTED,
        Template.OFFER_REJECTED,
        Template.OFFER_EXPIRED,
    ):
        offer: SecondChanceOffer = _need(
            session.get(SecondChanceOffer, _uuid(job, "offerId")), "the offer"
        )
        if template == Template.OFFER_ACCEPTED:
            invoice = _invoice_of(session, job, auction)
            return sale_letter(
                invoice, reserve=auction.reserve_price, deadline=invoice.payment_due_at
            )
        bidder = user(offer.bidder_id, "the bidder")
        at = {
            Template.OFFER_RECEIVED: offer.created_at,
            Template.OFFER_REJECTED: offer.answered_at or offer.updated_at,
            Template.OFFER_EXPIRED: offer.expires_at,
        }[template]
        return letter(
            offer.amount,
            at,
            seller.name if role == "buyer" else bidder.name,
            deadline=offer.expires_at,
        )
    # the payment of a sale: marked, confirmed, due, void
    invoice = _invoice_of(session, job, auction)
    happened: datetime | None = {
        Template.PAYMENT_MARKED: invoice.paid_marked_at,
        Template.PAYMENT_CONFIRMED: invoice.payment_confirmed_at,
        Template.PAYMENT_DUE: invoice.payment_due_at,
        Template.SALE_VOID: invoice.voided_at,
    }.get(template)
    return sale_letter(
        invoice,
        at=happened or invoice.payment_due_at,
        deadline=invoice.payment_due_at,
        payment_status=invoice.payment_status,
    )


def deliver(ctx: Context, job: dict[str, Any], outlets: Outlets) -> None:
    """The `email` job handler."""
    job_id = str(job.get("id") or "")
    if not job_id:
        raise PermanentFailure("the job has no id")
    with ctx.db.session() as session:
        if session.get(EmailDelivery, job_id) is not None:
            return  # sent before: this is a retry or a replay of a job that got through
        letter, recipient = _letter(session, ctx, job)
        auction_id = _uuid(job, "auctionId")
    attachments: tuple[Attachment, ...] = ()
    if job.get("attachInvoice"):
        invoice_id = _uuid(job, "invoiceId") if job.get("invoiceId") else None
        try:
            invoice, pdf = invoices.ensure_pdf(ctx, auction_id, outlets.invoices, invoice_id)
        except invoices.NoInvoice as exc:
            raise PermanentFailure(str(exc)) from exc
        name = invoice_filename(invoice.number, str(auction_id), void=invoice.voided_at is not None)
        attachments = (Attachment(name, pdf),)
    message = Outgoing(job_id, recipient.email, recipient.name, compose(letter), attachments)
    with ctx.db.session() as session:
        claimed = session.scalar(
            insert(EmailDelivery)
            .values(
                job_id=job_id,
                template=letter.template.value,
                recipient=recipient.email,
                auction_id=auction_id,
                sent_at=ctx.clock(),
            )
            .on_conflict_do_nothing(index_elements=["job_id"])
            .returning(EmailDelivery.job_id)
        )
        if claimed is None:
            return  # another worker sent it while this one was composing
        try:
            message_id = outlets.mailer.send(message)
        except MailerError as exc:
            if exc.permanent:
                raise PermanentFailure(str(exc)) from exc
            raise
        session.execute(
            update(EmailDelivery)
            .where(EmailDelivery.job_id == job_id)
            .values(provider_message_id=message_id)
        )
