"""Email jobs: what each after-the-hammer email says, and its delivery exactly once.

A job is queued as a consequence of a domain event (`consequences`; its body from
`shared.domain.emails.email_job`): it names its cause (`email:{template}:{key}:{role}`) and
carries the immutable facts of it (which bid, which counter offer, when); names and addresses
are read fresh at sending time, by the template's builder in `LETTERS`.

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

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.adapters.invoice_store import InvoiceStore
from shared.adapters.mailer import Attachment, Mailer, MailerError, Outgoing, mailer_for
from shared.adapters.orm import (
    Auction,
    Bid,
    CounterOffer,
    CreditNote,
    Dispute,
    DisputeReply,
    EmailDelivery,
    Invoice,
    SecondChanceOffer,
    User,
)
from shared.domain.credit_notes import credit_note_filename, credit_note_label
from shared.domain.emails import Letter, Template, compose
from shared.domain.errors import DomainError
from shared.domain.invoices import invoice_filename, invoice_label
from shared.domain.jobs import PermanentFailure
from shared.domain.sellers import address_from_record
from shared.domain.times import parse_iso
from shared.domain.vocabulary import ShippingMethod
from shared.services import invoices
from shared.services.context import Context
from shared.services.jobs import Handler
from shared.settings import Settings

Row = TypeVar("Row")


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


def _need(row: Row | None, what: str) -> Row:
    if row is None:
        raise PermanentFailure(f"{what} does not exist")
    return row


@dataclass(frozen=True)
class _Job:
    """One email job as its letter is written from it: the job's facts, and the rows every
    letter names (read fresh at sending time)."""

    session: Session
    settings: Settings
    job: dict[str, Any]
    template: Template
    role: str  # buyer | seller
    auction: Auction
    recipient: User
    seller: User

    def row(self, model: type[Row], name: str, what: str) -> Row:
        """The row the job names by `name` (`bidId`, `counterId`, `offerId`)."""
        return _need(self.session.get(model, _uuid(self.job, name)), what)

    def user(self, user_id: uuid.UUID, what: str) -> User:
        return _need(self.session.get(User, user_id), what)

    def other_side(self, buyer: User) -> str:
        """The counterpart's name: the seller for a buyer, the buyer for the seller."""
        return self.seller.name if self.role == "buyer" else buyer.name

    def invoice(self) -> Invoice:
        """The job's invoice: the one it names, else (jobs queued before they named one) the
        auction's current sale."""
        if self.job.get("invoiceId"):
            return self.row(Invoice, "invoiceId", "the sale's invoice")
        return _need(invoices.current_invoice(self.session, self.auction.id), "the sale's invoice")

    def letter(
        self,
        amount: Decimal,
        at: datetime,
        counterpart: str,
        *,
        currency: str | None = None,
        highest_bid: Decimal | None = None,
        label: str | None = None,
        reserve: Decimal | None = None,
        deadline: datetime | None = None,
        default_action: str | None = None,
        payment_status: str | None = None,
        note: str | None = None,
        **more: Any,
    ) -> Letter:
        return Letter(
            template=self.template,
            role=self.role,
            recipient_name=self.recipient.name,
            item_name=self.auction.item_name,
            auction_link=f"{self.settings.app_base_url.rstrip('/')}/#/auctions/{self.auction.id}",
            currency=currency or self.settings.currency,
            tz=self.settings.tz,
            amount=amount,
            at=at,
            counterpart_name=counterpart,
            highest_bid=highest_bid,
            invoice_label=label,
            reserve=reserve if self.role == "seller" else None,  # private to the seller
            deadline=deadline,
            default_action=default_action,
            payment_status=payment_status,
            note=note,
            **more,
        )

    def sale_letter(self, invoice: Invoice, at: datetime | None = None, **extra: Any) -> Letter:
        """A letter about a sale, from its invoice (whose currency is the sale's, whatever
        CURRENCY says today): the counterpart, the invoice (or that a tax invoice waits for
        the payment) and what it asks of the buyer."""
        buyer = self.seller if self.role == "buyer" else self.user(invoice.buyer_id, "the buyer")
        credit = self.session.scalars(
            select(CreditNote).where(CreditNote.invoice_id == invoice.id)
        ).first()
        return self.letter(
            invoice.amount,
            at or invoice.sold_at,
            buyer.name,
            currency=invoice.currency,
            label=invoice_label(invoice.number),
            invoice_pending=invoice.issued_at is None,
            total_due=invoice.total_due,
            credit_note_label=credit_note_label(credit.number) if credit else None,
            **extra,
        )


# -- what each template's letter is written from (one builder per template) -------------------


def _sale(j: _Job) -> Letter:
    """A sale's confirmation (a counter offer accepted is one too), with the invoice."""
    return j.sale_letter(j.invoice(), reserve=j.auction.reserve_price)


def _cancellation(j: _Job) -> Letter:
    amount, at = Decimal(str(j.job["amount"])), parse_iso(str(j.job["at"]))
    return j.letter(amount, at, j.seller.name, note=str(j.job.get("reason") or "") or None)


def _rejection(j: _Job) -> Letter:
    bid = j.row(Bid, "bidId", "the rejected bid")
    decided = parse_iso(str(j.job["at"])) if j.job.get("at") else bid.created_at
    return j.letter(bid.amount, decided, j.seller.name)


def _counter_invitation(j: _Job) -> Letter:
    counter = j.row(CounterOffer, "counterId", "the counter offer")
    countered = j.row(Bid, "bidId", "the countered bid")
    return j.letter(
        counter.amount,
        counter.created_at,
        j.seller.name,
        highest_bid=countered.amount,
        deadline=counter.expires_at,
    )


def _counter_expired(j: _Job) -> Letter:
    counter = j.row(CounterOffer, "counterId", "the counter offer")
    buyer = j.user(counter.buyer_id, "the buyer")
    return j.letter(counter.amount, counter.expires_at or counter.updated_at, j.other_side(buyer))


def _decision(j: _Job, at: datetime | None) -> Letter:
    """The decision window: reminded at `at` (its end), or expired at its deadline."""
    top = j.row(Bid, "bidId", "the highest bid")
    bidder = j.user(top.bidder_id, "the highest bidder")
    deadline = j.auction.decision_deadline or j.auction.ends_at
    return j.letter(
        top.amount,
        at or deadline,
        j.other_side(bidder),
        deadline=deadline,
        default_action=j.settings.decision_default,
    )


def _decision_reminder(j: _Job) -> Letter:
    return _decision(j, j.auction.ends_at)


def _decision_expired(j: _Job) -> Letter:
    return _decision(j, None)


def _offer(j: _Job, at: Callable[[SecondChanceOffer], datetime]) -> Letter:
    """A second-chance offer received, rejected or expired (`at`: when, from the offer)."""
    offer = j.row(SecondChanceOffer, "offerId", "the offer")
    bidder = j.user(offer.bidder_id, "the bidder")
    return j.letter(offer.amount, at(offer), j.other_side(bidder), deadline=offer.expires_at)


def _offer_accepted(j: _Job) -> Letter:
    j.row(SecondChanceOffer, "offerId", "the offer")  # it must still exist
    invoice = j.invoice()
    return j.sale_letter(invoice, reserve=j.auction.reserve_price, deadline=invoice.payment_due_at)


def _payment(happened: Callable[[Invoice], datetime | None]) -> Callable[[_Job], Letter]:
    """A sale's payment (marked, confirmed, due; the sale void): when `happened`, else due."""

    def letter(j: _Job) -> Letter:
        invoice = j.invoice()
        return j.sale_letter(
            invoice,
            at=happened(invoice) or invoice.payment_due_at,
            deadline=invoice.payment_due_at,
            payment_status=invoice.payment_status,
        )

    return letter


def _payment_marked(j: _Job) -> Letter:
    """The seller hears the buyer paid, and where an item that ships goes."""
    invoice = j.invoice()
    ship_to: tuple[str, ...] = ()
    if invoice.shipping_method == ShippingMethod.SHIP and invoice.delivery_address:
        ship_to = address_from_record(invoice.delivery_address).lines()
    return j.sale_letter(
        invoice,
        at=invoice.paid_marked_at or invoice.payment_due_at,
        deadline=invoice.payment_due_at,
        payment_status=invoice.payment_status,
        ship_to=ship_to,
        ship_by=invoice.ship_by,
    )


def _tax_invoice(j: _Job) -> Letter:
    invoice = j.invoice()
    return j.sale_letter(invoice, at=invoice.issued_at)


def _shipment(happened: Callable[[Invoice], datetime | None]) -> Callable[[_Job], Letter]:
    """Shipped, received, overdue: when `happened` (else the shipping deadline)."""

    def letter(j: _Job) -> Letter:
        invoice = j.invoice()
        return j.sale_letter(
            invoice,
            at=happened(invoice) or invoice.ship_by or invoice.sold_at,
            deadline=invoice.ship_by,
            carrier=invoice.carrier,
            tracking_number=invoice.tracking_number,
        )

    return letter


def _dispute(j: _Job) -> tuple[Dispute, Invoice]:
    dispute = j.row(Dispute, "disputeId", "the dispute")
    return dispute, _need(j.session.get(Invoice, dispute.invoice_id), "the disputed sale")


def _dispute_opened(j: _Job) -> Letter:
    dispute, invoice = _dispute(j)
    return j.sale_letter(invoice, at=dispute.opened_at, note=dispute.detail, reason=dispute.reason)


def _dispute_replied(j: _Job) -> Letter:
    dispute, invoice = _dispute(j)
    answer = j.row(DisputeReply, "replyId", "the reply")
    return j.sale_letter(invoice, at=answer.created_at, note=answer.message, reason=dispute.reason)


def _dispute_resolved(j: _Job) -> Letter:
    dispute, invoice = _dispute(j)
    return j.sale_letter(
        invoice,
        at=dispute.resolved_at or dispute.opened_at,
        note=dispute.resolution_note,
        reason=dispute.reason,
        outcome=dispute.outcome,
    )


LETTERS: dict[Template, Callable[[_Job], Letter]] = {
    Template.SALE_CONFIRMATION: _sale,
    Template.REJECTION: _rejection,
    Template.COUNTER_INVITATION: _counter_invitation,
    Template.COUNTER_ACCEPTED: _sale,
    Template.DECISION_REMINDER: _decision_reminder,
    Template.DECISION_EXPIRED: _decision_expired,
    Template.COUNTER_EXPIRED: _counter_expired,
    Template.OFFER_RECEIVED: lambda j: _offer(j, lambda o: o.created_at),
    Template.OFFER_ACCEPTED: _offer_accepted,
    Template.OFFER_REJECTED: lambda j: _offer(j, lambda o: o.answered_at or o.updated_at),
    Template.OFFER_EXPIRED: lambda j: _offer(j, lambda o: o.expires_at),
    Template.PAYMENT_MARKED: _payment_marked,
    Template.PAYMENT_CONFIRMED: _payment(lambda i: i.payment_confirmed_at),
    Template.PAYMENT_DUE: _payment(lambda i: i.payment_due_at),
    Template.SALE_VOID: _payment(lambda i: i.voided_at),
    Template.AUCTION_CANCELLED: _cancellation,
    Template.TAX_INVOICE: _tax_invoice,
    Template.SHIPPED: _shipment(lambda i: i.shipped_at),
    Template.RECEIVED: _shipment(lambda i: i.received_at),
    Template.SHIPMENT_OVERDUE: _shipment(lambda i: i.ship_reminded_at),
    Template.DISPUTE_OPENED: _dispute_opened,
    Template.DISPUTE_REPLIED: _dispute_replied,
    Template.DISPUTE_RESOLVED: _dispute_resolved,
}


def _letter(session: Session, ctx: Context, job: dict[str, Any]) -> tuple[Letter, User]:
    """The letter a job asks for, and to whom (a PermanentFailure when it names what is not
    there: no retry brings it back)."""
    try:
        template = Template(str(job.get("template")))
    except ValueError:
        raise PermanentFailure(f"unknown email template {job.get('template')!r}") from None
    auction = _need(session.get(Auction, _uuid(job, "auctionId")), "the auction")
    recipient = _need(session.get(User, _uuid(job, "recipientId")), "the recipient")
    seller = _need(session.get(User, auction.seller_id), "the seller")
    role = "seller" if job.get("role") == "seller" else "buyer"
    j = _Job(session, ctx.settings, job, template, role, auction, recipient, seller)
    return LETTERS[template](j), recipient


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
    attachments = _attachments(ctx, job, auction_id, outlets)
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


def _attachments(
    ctx: Context, job: dict[str, Any], auction_id: uuid.UUID, outlets: Outlets
) -> tuple[Attachment, ...]:
    """What the job attaches: the sale's invoice (a tax invoice not yet issued is left out:
    the letter says it follows with the payment), its credit note, the seller's statement."""
    invoice_id = _uuid(job, "invoiceId") if job.get("invoiceId") else None
    attached: list[Attachment] = []
    try:
        if job.get("attachInvoice"):
            try:
                invoice, pdf = invoices.ensure_pdf(ctx, auction_id, outlets.invoices, invoice_id)
                invoice_id = invoice.id
                attached.append(Attachment(invoice_filename(invoice.number, str(auction_id)), pdf))
            except invoices.NotIssued:
                pass
        if job.get("attachCreditNote"):
            with ctx.db.session() as session:
                note_id = session.scalar(
                    select(CreditNote.id).where(CreditNote.invoice_id == _uuid(job, "invoiceId"))
                )
            if note_id is None:
                raise PermanentFailure("the sale has no credit note")
            note, pdf = invoices.ensure_credit_note_pdf(ctx, note_id, outlets.invoices)
            attached.append(Attachment(credit_note_filename(note.number, str(auction_id)), pdf))
        if job.get("attachStatement") and invoice_id is not None:
            # Not issued yet (DomainError): it comes with the tax invoice.
            with contextlib.suppress(DomainError):
                attached.append(Attachment(*invoices.statement_of(ctx, invoice_id)))
    except invoices.NoInvoice as exc:
        raise PermanentFailure(str(exc)) from exc
    return tuple(attached)
