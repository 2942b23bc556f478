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

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters.invoice_store import InvoiceStore
from shared.adapters.mailer import Attachment, Mailer, MailerError, Outgoing, mailer_for
from shared.adapters.orm import Auction, Bid, CounterOffer, EmailDelivery, Invoice, User
from shared.domain.emails import Letter, Template, compose
from shared.domain.invoices import invoice_filename, invoice_label
from shared.domain.jobs import PermanentFailure
from shared.domain.money import money_str
from shared.domain.times import iso, parse_iso
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


def email_job(
    template: Template,
    key: str,
    *,
    auction_id: str,
    recipient_id: str,
    role: str,
    attach_invoice: bool = False,
    **facts: Any,
) -> dict[str, Any]:
    """The body of an email job (for `outbox.job`), with its stable id."""
    return {
        "id": f"email:{template.value}:{key}:{role}",
        "type": "email",
        "template": template.value,
        "auctionId": auction_id,
        "recipientId": recipient_id,
        "role": role,
        "attachInvoice": attach_invoice,
        **facts,
    }


def rejection_job(auction: Auction, bid: Bid, decided_at: datetime) -> dict[str, Any]:
    return email_job(
        Template.REJECTION,
        f"{auction.id}:r{auction.round}",
        auction_id=str(auction.id),
        recipient_id=str(bid.bidder_id),
        role="buyer",
        bidId=str(bid.id),
        amount=money_str(bid.amount),
        at=iso(decided_at),
    )


def counter_invitation_job(offer: CounterOffer, bid: Bid) -> dict[str, Any]:
    return email_job(
        Template.COUNTER_INVITATION,
        str(offer.id),
        auction_id=str(offer.auction_id),
        recipient_id=str(offer.buyer_id),
        role="buyer",
        counterId=str(offer.id),
        bidId=str(bid.id),
    )


def counter_accepted_jobs(offer: CounterOffer) -> list[dict[str, Any]]:
    return [
        email_job(
            Template.COUNTER_ACCEPTED,
            str(offer.id),
            auction_id=str(offer.auction_id),
            recipient_id=str(user),
            role=role,
            attach_invoice=True,  # it is the sale's confirmation too
            counterId=str(offer.id),
        )
        for role, user in (("buyer", offer.buyer_id), ("seller", offer.seller_id))
    ]


def cancellation_job(
    auction: Auction, voided_round: int, bidder_id: str, amount: Decimal, at: datetime, reason: str
) -> dict[str, Any]:
    """A bidder's email about an auction cancelled under their bid (its bids are void)."""
    return email_job(
        Template.AUCTION_CANCELLED,
        f"{auction.id}:r{voided_round}:{bidder_id}",
        auction_id=str(auction.id),
        recipient_id=bidder_id,
        role="buyer",
        amount=money_str(amount),
        at=iso(at),
        reason=reason,
    )


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

    def letter(
        amount: Decimal,
        at: datetime,
        counterpart: str,
        *,
        currency: str = settings.currency,
        highest_bid: Decimal | None = None,
        label: str | None = None,
        reserve: Decimal | None = None,
        note: str | None = None,
    ) -> Letter:
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
            note=note,
        )

    if template in (Template.SALE_CONFIRMATION, Template.COUNTER_ACCEPTED):
        invoice: Invoice = _need(
            session.scalars(select(Invoice).where(Invoice.auction_id == auction.id)).first(),
            "the sale's invoice",
        )
        counterpart = seller
        if role == "seller":
            counterpart = _need(session.get(User, invoice.buyer_id), "the buyer")
        # The invoice's currency is the sale's, whatever CURRENCY says today.
        return letter(
            invoice.amount,
            invoice.sold_at,
            counterpart.name,
            currency=invoice.currency,
            label=invoice_label(invoice.number),
            reserve=auction.reserve_price,
        ), recipient
    if template == Template.AUCTION_CANCELLED:
        return letter(
            Decimal(str(job["amount"])),
            parse_iso(str(job["at"])),
            seller.name,
            note=str(job.get("reason") or "") or None,
        ), recipient
    if template == Template.REJECTION:
        bid: Bid = _need(session.get(Bid, _uuid(job, "bidId")), "the rejected bid")
        decided = parse_iso(str(job["at"])) if job.get("at") else bid.created_at
        return letter(bid.amount, decided, seller.name), recipient
    offer: CounterOffer = _need(
        session.get(CounterOffer, _uuid(job, "counterId")), "the counter offer"
    )
    countered: Bid = _need(session.get(Bid, _uuid(job, "bidId")), "the countered bid")
    return letter(
        offer.amount, offer.created_at, seller.name, highest_bid=countered.amount
    ), recipient


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
        try:
            invoice, pdf = invoices.ensure_pdf(ctx, auction_id, outlets.invoices)
        except invoices.NoInvoice as exc:
            raise PermanentFailure(str(exc)) from exc
        attachments = (Attachment(invoice_filename(invoice.number, str(auction_id)), pdf),)
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
