"""The emails after the hammer (pure): subject, HTML and plain text from plain facts.

Each template says what it has to say once (a `Draft`: paragraphs, labelled facts, a link),
and both the HTML and the text part are rendered from that draft, so the two never disagree.
Amounts are shown in the configured currency (Indian digit grouping for INR), times in the
configured zone; everything a user typed (item names, people's names) is escaped in HTML.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from shared.domain.money import display_money

SIGNATURE = "The Auctions team"


class Template(StrEnum):
    SALE_CONFIRMATION = "sale_confirmation"
    REJECTION = "rejection"
    COUNTER_INVITATION = "counter_invitation"
    COUNTER_ACCEPTED = "counter_accepted"
    # after the hammer, complete
    DECISION_REMINDER = "decision_reminder"
    DECISION_EXPIRED = "decision_expired"
    COUNTER_EXPIRED = "counter_expired"
    OFFER_RECEIVED = "offer_received"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_REJECTED = "offer_rejected"
    OFFER_EXPIRED = "offer_expired"
    PAYMENT_MARKED = "payment_marked"
    PAYMENT_CONFIRMED = "payment_confirmed"
    PAYMENT_DUE = "payment_due"
    SALE_VOID = "sale_void"
    AUCTION_CANCELLED = "auction_cancelled"
    # the open marketplace: tax invoices issued at payment, shipping, disputes
    TAX_INVOICE = "tax_invoice"
    SHIPPED = "shipped"
    RECEIVED = "received"
    SHIPMENT_OVERDUE = "shipment_overdue"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_REPLIED = "dispute_replied"
    DISPUTE_RESOLVED = "dispute_resolved"


def email_job(
    template: Template,
    key: str,
    *,
    auction_id: str,
    recipient_id: str,
    role: str,
    attach_invoice: bool = False,
    attach_credit_note: bool = False,
    attach_statement: bool = False,
    **facts: Any,
) -> dict[str, Any]:
    """The body of an email job, with its stable id (`email:{template}:{key}:{role}`, the key
    naming its cause: the queue takes each id once, so a cause never queues a second email).
    It carries the cause's immutable facts; names and addresses are read at sending time.
    What it attaches: the sale's invoice, its credit note, the seller's statement."""
    job = {
        "id": f"email:{template.value}:{key}:{role}",
        "type": "email",
        "template": template.value,
        "auctionId": auction_id,
        "recipientId": recipient_id,
        "role": role,
        "attachInvoice": attach_invoice,
        **facts,
    }
    if attach_credit_note:
        job["attachCreditNote"] = True
    if attach_statement:
        job["attachStatement"] = True
    return job


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Letter:
    """The facts one email is written from."""

    template: Template
    role: str  # "buyer" | "seller": which side of the sale the recipient is on
    recipient_name: str
    item_name: str
    auction_link: str
    currency: str
    tz: str
    amount: Decimal  # the sale price, the rejected bid, or the counter offer
    at: datetime  # when it happened (UTC; shown in `tz`)
    counterpart_name: str = ""  # the other side: the seller for a buyer, and back
    highest_bid: Decimal | None = None  # a counter invitation: the bid it answers
    invoice_label: str | None = None  # a sale: INV-000042 (the PDF is attached)
    reserve: Decimal | None = None  # the seller's reserve, shown to the seller only
    deadline: datetime | None = None  # by when to act (a decision, an offer, a payment)
    default_action: str | None = None  # DECISION_DEFAULT as it will apply: accept | reject
    payment_status: str | None = None  # a payment's status when the email is written
    note: str | None = None  # a cancellation's reason, a dispute's words, as their author wrote
    # A tax invoice that waits for the payment (its place of supply: the delivery address).
    invoice_pending: bool = False
    total_due: Decimal | None = None  # what the invoice asks of the buyer, once issued
    credit_note_label: str | None = None  # CN-000001: it cancels the invoice (attached)
    ship_to: tuple[str, ...] = ()  # the delivery address, line by line
    ship_by: datetime | None = None  # an item that ships leaves by then
    carrier: str | None = None
    tracking_number: str | None = None
    reason: str | None = None  # a dispute's: not_received | not_as_described
    outcome: str | None = None  # a dispute's: refund | release


@dataclass(frozen=True)
class Draft:
    subject: str
    paragraphs: list[str]
    facts: list[tuple[str, str]] = field(default_factory=list)
    action: tuple[str, str] | None = None  # (label, url)


def display_time(moment: datetime, tz: str) -> str:
    """`5 Dec 2026, 09:30 IST`: a time for people, in the configured zone."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def compose(letter: Letter) -> Email:
    return render(DRAFTS[letter.template](letter), letter.recipient_name)


def _money(letter: Letter, amount: Decimal | None = None) -> str:
    return display_money(letter.amount if amount is None else amount, letter.currency)


def _note_reserve(letter: Letter, paragraphs: list[str], facts: list[tuple[str, str]]) -> None:
    """A seller who sold below their reserve is told so plainly (the buyer never sees it)."""
    if letter.role == "seller" and letter.reserve is not None and letter.amount < letter.reserve:
        reserve = _money(letter, letter.reserve)
        paragraphs.insert(
            1, f"Reserve not met: you accepted a price below your reserve of {reserve}."
        )
        facts.append(("Reserve", f"{reserve} (not met)"))


def _sale_confirmation(letter: Letter) -> Draft:
    price = _money(letter)
    label = letter.invoice_label or ""
    if letter.role == "buyer":
        subject = f"You bought {letter.item_name} for {price}"
        lead = (
            f"Congratulations: {letter.item_name} is yours for {price}. "
            f"{letter.counterpart_name} will be in touch about handing it over."
        )
        other = ("Seller", letter.counterpart_name)
    else:
        subject = f"Sold: {letter.item_name} for {price}"
        lead = f"{letter.item_name} is sold to {letter.counterpart_name} for {price}."
        other = ("Buyer", letter.counterpart_name)
    paragraphs = [lead, _invoice_paragraph(letter)]
    facts = [
        ("Item", letter.item_name),
        ("Final price", price),
        other,
        ("Sale time", display_time(letter.at, letter.tz)),
        ("Invoice", label),
    ]
    if letter.total_due is not None and letter.total_due != letter.amount:
        facts.append(("Total due", _money(letter, letter.total_due)))
    _note_reserve(letter, paragraphs, facts)
    return Draft(
        subject=f"{subject} (invoice {label})" if label else subject,
        paragraphs=paragraphs,
        facts=facts,
        action=("View the auction", letter.auction_link),
    )


def _invoice_paragraph(letter: Letter) -> str:
    """A sale's invoice: attached, or (a tax invoice for an item that ships) issued with the
    payment, once the delivery address says where the goods are supplied."""
    label = letter.invoice_label or ""
    if not letter.invoice_pending:
        return f"Your invoice {label} is attached as a PDF."
    if letter.role == "buyer":
        return (
            f"Your GST tax invoice {label} is issued when you pay and give your delivery "
            "address (its state decides the tax); it will reach you by email then."
        )
    return (
        f"The GST tax invoice {label} is issued when the buyer pays and gives the delivery "
        "address (its state decides the tax); it will reach you by email then, with your "
        "statement."
    )


def _rejection(letter: Letter) -> Draft:
    return Draft(
        subject=f"The seller did not accept your bid on {letter.item_name}",
        paragraphs=[
            f"The auction of {letter.item_name} has closed without a sale: the seller "
            f"decided not to accept your highest bid of {_money(letter)}.",
            "Nothing is owed and nothing more needs doing. Thank you for bidding.",
        ],
        facts=[
            ("Item", letter.item_name),
            ("Your bid", _money(letter)),
            ("Decided", display_time(letter.at, letter.tz)),
        ],
        action=("View the auction", letter.auction_link),
    )


def _counter_invitation(letter: Letter) -> Draft:
    offer = _money(letter)
    facts = [("Item", letter.item_name), ("Counter offer", offer)]
    if letter.highest_bid is not None:
        facts.append(("Your bid", _money(letter, letter.highest_bid)))
    facts.append(("Offered", display_time(letter.at, letter.tz)))
    answer_by = ""
    if letter.deadline:
        facts.append(("Answer by", _deadline(letter)))
        answer_by = f" Unanswered by {_deadline(letter)}, it expires and the auction closes."
    return Draft(
        subject=f"Counter-offer on {letter.item_name}: {offer}",
        paragraphs=[
            f"{letter.counterpart_name} would sell {letter.item_name} to you for {offer}.",
            "Accept it and the item is yours at that price; reject it and the auction closes "
            "without a sale. Answer on the auction's page." + answer_by,
        ],
        facts=facts,
        action=("Answer the counter-offer", letter.auction_link),
    )


def _counter_accepted(letter: Letter) -> Draft:
    price = _money(letter)
    if letter.role == "buyer":
        subject = f"You accepted the counter-offer on {letter.item_name}: {price}"
        lead = f"You accepted {letter.counterpart_name}'s counter-offer: {letter.item_name} "
        lead += f"is yours for {price}."
    else:
        subject = f"{letter.counterpart_name} accepted your counter-offer on {letter.item_name}"
        lead = f"{letter.counterpart_name} accepted your counter-offer: {letter.item_name} "
        lead += f"is sold for {price}."
    label = letter.invoice_label or ""
    facts = [
        ("Item", letter.item_name),
        ("Final price", price),
        ("Buyer" if letter.role == "seller" else "Seller", letter.counterpart_name),
        ("Sale time", display_time(letter.at, letter.tz)),
    ]
    paragraphs = [lead]
    if label:  # this email is the sale's confirmation: the invoice comes with it
        paragraphs.append(_invoice_paragraph(letter))
        facts.append(("Invoice", label))
    _note_reserve(letter, paragraphs, facts)
    return Draft(
        subject=f"{subject} (invoice {label})" if label else subject,
        paragraphs=paragraphs,
        facts=facts,
        action=("View the auction", letter.auction_link),
    )


def _deadline(letter: Letter) -> str:
    """By when to act (the letter's own time when no deadline is given)."""
    return display_time(letter.deadline or letter.at, letter.tz)


def _decision_reminder(letter: Letter) -> Draft:
    if letter.default_action == "accept":
        default = f"the highest bid of {_money(letter)} is accepted and the item sold"
    else:
        default = "the auction closes without a sale"
    return Draft(
        subject=f"Reminder: decide on {letter.item_name} by {_deadline(letter)}",
        paragraphs=[
            f"Your auction of {letter.item_name} ended with a highest bid of {_money(letter)}, "
            "and the bidder is waiting for your decision: accept it, reject it, or make a "
            "counter-offer.",
            f"Half of your decision window has passed. If you have not decided by "
            f"{_deadline(letter)}, {default}.",
        ],
        facts=[
            ("Item", letter.item_name),
            ("Highest bid", _money(letter)),
            ("Ended", display_time(letter.at, letter.tz)),
            ("Decide by", _deadline(letter)),
        ],
        action=("Decide now", letter.auction_link),
    )


def _decision_expired(letter: Letter) -> Draft:
    when = display_time(letter.at, letter.tz)
    if letter.role == "seller":
        paragraphs = [
            f"Your decision window for {letter.item_name} closed at {when} without a decision, "
            f"so the auction has closed without a sale. The highest bid was {_money(letter)} "
            f"from {letter.counterpart_name}.",
            "You may still offer the item to another bidder at their own highest bid (a "
            "second-chance offer) from the auction's page.",
        ]
        subject = f"No decision in time: {letter.item_name} closed without a sale"
    else:
        paragraphs = [
            f"The seller did not decide on your highest bid of {_money(letter)} for "
            f"{letter.item_name} in time: the auction closed without a sale at {when}.",
            "Nothing is owed and nothing more needs doing. Thank you for bidding.",
        ]
        subject = f"The auction of {letter.item_name} closed without a sale"
    return Draft(
        subject=subject,
        paragraphs=paragraphs,
        facts=[
            ("Item", letter.item_name),
            ("Highest bid", _money(letter)),
            ("Closed", when),
        ],
        action=("View the auction", letter.auction_link),
    )


def _cancellation(letter: Letter) -> Draft:
    reason = f" The reason given: {letter.note}" if letter.note else ""
    return Draft(
        subject=f"Auction cancelled: {letter.item_name}",
        paragraphs=[
            f"The auction of {letter.item_name} was cancelled before it was sold.{reason}",
            f"Your highest bid of {_money(letter)} is void: nothing is owed and nothing more "
            "needs doing.",
        ],
        facts=[
            ("Item", letter.item_name),
            ("Your bid", _money(letter)),
            ("Cancelled", display_time(letter.at, letter.tz)),
        ],
        action=("View the auction", letter.auction_link),
    )


def _counter_expired(letter: Letter) -> Draft:
    when = display_time(letter.at, letter.tz)
    offer = _money(letter)
    if letter.role == "seller":
        subject = f"Your counter-offer on {letter.item_name} expired"
        paragraphs = [
            f"{letter.counterpart_name} did not answer your counter-offer of {offer} for "
            f"{letter.item_name} by {when}: it has expired and the auction closed without a sale.",
            "You may offer the item to another bidder at their own highest bid (a "
            "second-chance offer) from the auction's page.",
        ]
    else:
        subject = f"The counter-offer on {letter.item_name} expired"
        paragraphs = [
            f"The counter-offer of {offer} for {letter.item_name} was not answered by {when}: "
            "it has expired and the auction closed without a sale.",
            "Nothing is owed and nothing more needs doing.",
        ]
    return Draft(
        subject=subject,
        paragraphs=paragraphs,
        facts=[("Item", letter.item_name), ("Counter offer", offer), ("Expired", when)],
        action=("View the auction", letter.auction_link),
    )


def _offer_received(letter: Letter) -> Draft:
    offer = _money(letter)
    return Draft(
        subject=f"Second chance: {letter.item_name} can be yours for {offer}",
        paragraphs=[
            f"The auction of {letter.item_name} closed without a sale, and "
            f"{letter.counterpart_name} offers it to you at your own highest bid of {offer}.",
            f"Accept by {_deadline(letter)} and the item is yours at that price; reject it, or "
            "let it expire, and nothing is owed. Answer on the auction's page.",
        ],
        facts=[
            ("Item", letter.item_name),
            ("Offer", offer),
            ("Offered", display_time(letter.at, letter.tz)),
            ("Answer by", _deadline(letter)),
        ],
        action=("Answer the offer", letter.auction_link),
    )


def _offer_accepted(letter: Letter) -> Draft:
    price = _money(letter)
    label = letter.invoice_label or ""
    if letter.role == "buyer":
        subject = f"You bought {letter.item_name} for {price}"
        lead = (
            f"You accepted {letter.counterpart_name}'s second-chance offer: "
            f"{letter.item_name} is yours for {price}."
        )
    else:
        subject = f"{letter.counterpart_name} accepted your offer: {letter.item_name} sold"
        lead = (
            f"{letter.counterpart_name} accepted your second-chance offer: "
            f"{letter.item_name} is sold for {price}."
        )
    paragraphs = [lead]
    facts = [
        ("Item", letter.item_name),
        ("Final price", price),
        ("Buyer" if letter.role == "seller" else "Seller", letter.counterpart_name),
        ("Sale time", display_time(letter.at, letter.tz)),
    ]
    if label:
        paragraphs.append(_invoice_paragraph(letter))
        facts.append(("Invoice", label))
    if letter.deadline:
        facts.append(("Payment due", _deadline(letter)))
    _note_reserve(letter, paragraphs, facts)
    return Draft(
        subject=f"{subject} (invoice {label})" if label else subject,
        paragraphs=paragraphs,
        facts=facts,
        action=("View the auction", letter.auction_link),
    )


def _offer_rejected(letter: Letter) -> Draft:
    return Draft(
        subject=f"{letter.counterpart_name} declined your offer on {letter.item_name}",
        paragraphs=[
            f"{letter.counterpart_name} declined your second-chance offer of {_money(letter)} "
            f"for {letter.item_name}. The auction stays closed.",
            "You may offer the item to another bidder from the auction's page.",
        ],
        facts=[
            ("Item", letter.item_name),
            ("Offer", _money(letter)),
            ("Declined", display_time(letter.at, letter.tz)),
        ],
        action=("Offer to another bidder", letter.auction_link),
    )


def _offer_expired(letter: Letter) -> Draft:
    when = display_time(letter.at, letter.tz)
    if letter.role == "seller":
        subject = f"Your offer on {letter.item_name} expired"
        paragraphs = [
            f"{letter.counterpart_name} did not answer your second-chance offer of "
            f"{_money(letter)} for {letter.item_name} by {when}: it has expired.",
            "You may offer the item to another bidder from the auction's page.",
        ]
        action = ("Offer to another bidder", letter.auction_link)
    else:
        subject = f"The offer on {letter.item_name} expired"
        paragraphs = [
            f"The second-chance offer of {_money(letter)} for {letter.item_name} was not "
            f"answered by {when}: it has expired. Nothing is owed.",
        ]
        action = ("View the auction", letter.auction_link)
    return Draft(
        subject=subject,
        paragraphs=paragraphs,
        facts=[("Item", letter.item_name), ("Offer", _money(letter)), ("Expired", when)],
        action=action,
    )


def _payment_facts(letter: Letter) -> list[tuple[str, str]]:
    facts = [("Item", letter.item_name), ("Amount", _money(letter))]
    if letter.invoice_label:
        facts.append(("Invoice", letter.invoice_label))
    facts.append(("Payment due", _deadline(letter)))
    return facts


def _payment_marked(letter: Letter) -> Draft:
    paragraphs = [
        f"{letter.counterpart_name} says the payment of {_money(letter)} for "
        f"{letter.item_name} is made ({display_time(letter.at, letter.tz)}).",
        "Once the money has reached you, confirm the payment on the auction's page.",
    ]
    facts = _payment_facts(letter)
    if letter.ship_to:
        paragraphs.append(
            f"Ship the item to the address below by {_shipping_deadline(letter)} and record "
            "the carrier and tracking number on the auction's page."
        )
        facts.append(("Ship to", ", ".join(letter.ship_to)))
    return Draft(
        subject=f"{letter.counterpart_name} marked {letter.item_name} as paid",
        paragraphs=paragraphs,
        facts=facts,
        action=("Confirm the payment", letter.auction_link),
    )


def _shipping_deadline(letter: Letter) -> str:
    return display_time(letter.ship_by, letter.tz) if letter.ship_by else "the deadline"


def _payment_confirmed(letter: Letter) -> Draft:
    return Draft(
        subject=f"Payment confirmed: {letter.item_name}",
        paragraphs=[
            f"{letter.counterpart_name} confirmed your payment of {_money(letter)} for "
            f"{letter.item_name} ({display_time(letter.at, letter.tz)}). The sale is complete.",
        ],
        facts=_payment_facts(letter),
        action=("View the auction", letter.auction_link),
    )


def _payment_due(letter: Letter) -> Draft:
    marked = letter.payment_status == "paid"
    if letter.role == "seller":
        subject = f"Payment for {letter.item_name} is due"
        if marked:
            first = (
                f"The payment of {_money(letter)} for {letter.item_name} was due "
                f"{_deadline(letter)}, and {letter.counterpart_name} has marked it paid."
            )
        else:
            first = (
                f"The payment of {_money(letter)} for {letter.item_name} was due "
                f"{_deadline(letter)}, and {letter.counterpart_name} has not marked it paid."
            )
        paragraphs = [
            first,
            "Confirm the payment once it has reached you; if it has not, you may now report "
            "it unpaid: the sale is then void, and you may offer the item to another bidder.",
        ]
        action = ("Confirm or report the payment", letter.auction_link)
    else:
        subject = f"Your payment for {letter.item_name} is due"
        paragraphs = [
            f"The payment of {_money(letter)} for {letter.item_name} to "
            f"{letter.counterpart_name} was due {_deadline(letter)}.",
            "If you have paid, mark the payment paid on the auction's page. The seller may now "
            "report an unpaid sale, which voids it.",
        ]
        action = ("Mark the payment paid", letter.auction_link)
    return Draft(
        subject=subject, paragraphs=paragraphs, facts=_payment_facts(letter), action=action
    )


def _cancelled_by(letter: Letter) -> str:
    """The credit note that cancels the sale's invoice (both attached)."""
    label = letter.invoice_label or ""
    credit = (
        f"Credit note {letter.credit_note_label}" if letter.credit_note_label else "A credit note"
    )
    return f"{credit} cancels invoice {label} in full; both are attached as PDFs."


def _sale_void(letter: Letter) -> Draft:
    label = letter.invoice_label or ""
    when = display_time(letter.at, letter.tz)
    if letter.role == "seller":
        lead = (
            f"You reported the payment of {_money(letter)} for {letter.item_name} from "
            f"{letter.counterpart_name} unpaid: the sale is void."
        )
        more = "You may offer the item to another bidder from the auction's page."
    else:
        lead = (
            f"{letter.counterpart_name} reported your payment of {_money(letter)} for "
            f"{letter.item_name} unpaid after it was due: the sale is void."
        )
        more = "Nothing more is owed for this sale."
    paragraphs = [lead, _cancelled_by(letter), more]
    facts = [
        ("Item", letter.item_name),
        ("Amount", _money(letter)),
        ("Invoice", f"{label} (cancelled)"),
        ("Credit note", letter.credit_note_label or ""),
        ("Voided", when),
    ]
    return Draft(
        subject=f"Sale void: {letter.item_name} (credit note {letter.credit_note_label})",
        paragraphs=paragraphs,
        facts=facts,
        action=("View the auction", letter.auction_link),
    )


def _tax_invoice(letter: Letter) -> Draft:
    label = letter.invoice_label or ""
    total = _money(letter, letter.total_due) if letter.total_due is not None else _money(letter)
    if letter.role == "buyer":
        lead = (
            f"Your GST tax invoice {label} for {letter.item_name} is issued: it is attached "
            f"as a PDF. It asks {total} in all."
        )
    else:
        lead = (
            f"The GST tax invoice {label} for {letter.item_name}, sold to "
            f"{letter.counterpart_name}, is issued in your name: it is attached as a PDF, "
            "with your statement of the sale."
        )
    return Draft(
        subject=f"Tax invoice {label}: {letter.item_name}",
        paragraphs=[lead],
        facts=[
            ("Item", letter.item_name),
            ("Hammer price", _money(letter)),
            ("Invoice total", total),
            ("Invoice", label),
            ("Issued", display_time(letter.at, letter.tz)),
        ],
        action=("View the auction", letter.auction_link),
    )


def _shipment_facts(letter: Letter) -> list[tuple[str, str]]:
    facts = [("Item", letter.item_name), ("Price", _money(letter))]
    if letter.carrier:
        facts.append(("Carrier", letter.carrier))
    if letter.tracking_number:
        facts.append(("Tracking number", letter.tracking_number))
    return facts


def _shipped(letter: Letter) -> Draft:
    return Draft(
        subject=f"Shipped: {letter.item_name}",
        paragraphs=[
            f"{letter.counterpart_name} shipped {letter.item_name} "
            f"({display_time(letter.at, letter.tz)}).",
            "Once it reaches you, mark it received on the auction's page. If it never "
            "arrives, or is not as described, you may open a dispute there.",
        ],
        facts=[*_shipment_facts(letter), ("Shipped", display_time(letter.at, letter.tz))],
        action=("Track it on the auction's page", letter.auction_link),
    )


def _received(letter: Letter) -> Draft:
    return Draft(
        subject=f"Received: {letter.item_name}",
        paragraphs=[
            f"{letter.counterpart_name} marked {letter.item_name} as received "
            f"({display_time(letter.at, letter.tz)}). The sale is complete.",
        ],
        facts=[
            ("Item", letter.item_name),
            ("Price", _money(letter)),
            ("Received", display_time(letter.at, letter.tz)),
        ],
        action=("View the auction", letter.auction_link),
    )


def _shipment_overdue(letter: Letter) -> Draft:
    due = display_time(letter.deadline or letter.at, letter.tz)
    if letter.role == "seller":
        subject = f"Reminder: ship {letter.item_name}"
        paragraphs = [
            f"{letter.counterpart_name} paid for {letter.item_name}, and it was due to ship by "
            f"{due}. No shipment is recorded yet.",
            "Ship it and record the carrier and tracking number on the auction's page.",
        ]
        action = ("Record the shipment", letter.auction_link)
    else:
        subject = f"{letter.item_name} has not shipped yet"
        paragraphs = [
            f"{letter.counterpart_name} was due to ship {letter.item_name} by {due} and has "
            "not recorded a shipment yet. We have reminded them.",
            "If it never arrives, you may open a dispute on the auction's page.",
        ]
        action = ("View the auction", letter.auction_link)
    return Draft(
        subject=subject,
        paragraphs=paragraphs,
        facts=[("Item", letter.item_name), ("Price", _money(letter)), ("Ship by", due)],
        action=action,
    )


REASON_TEXT = {"not_received": "not received", "not_as_described": "not as described"}


def _dispute_facts(letter: Letter) -> list[tuple[str, str]]:
    facts = [("Item", letter.item_name), ("Price", _money(letter))]
    if letter.reason:
        facts.append(("Dispute", REASON_TEXT.get(letter.reason, letter.reason)))
    if letter.invoice_label:
        facts.append(("Invoice", letter.invoice_label))
    return facts


def _dispute_opened(letter: Letter) -> Draft:
    reason = REASON_TEXT.get(letter.reason or "", letter.reason or "")
    if letter.role == "seller":
        subject = f"Dispute on {letter.item_name}: {reason}"
        lead = (
            f"{letter.counterpart_name} opened a dispute on {letter.item_name}: {reason}. "
            f"In their words: {letter.note}"
        )
        more = "Reply on the auction's page; an admin will decide after hearing both sides."
        action = ("Reply to the dispute", letter.auction_link)
    else:
        subject = f"Your dispute on {letter.item_name} is open"
        lead = (
            f"Your dispute on {letter.item_name} ({reason}) is open, and "
            f"{letter.counterpart_name} is asked to reply."
        )
        more = "An admin will decide after hearing both sides: a refund, or the sale stands."
        action = ("View the dispute", letter.auction_link)
    return Draft(
        subject=subject,
        paragraphs=[lead, more],
        facts=[*_dispute_facts(letter), ("Opened", display_time(letter.at, letter.tz))],
        action=action,
    )


def _dispute_replied(letter: Letter) -> Draft:
    if letter.role == "buyer":
        lead = f"{letter.counterpart_name} replied to your dispute on {letter.item_name}:"
    else:
        lead = f"Your reply to the dispute on {letter.item_name} is recorded:"
    return Draft(
        subject=f"Dispute on {letter.item_name}: the seller replied",
        paragraphs=[lead, letter.note or "", "An admin will decide after hearing both sides."],
        facts=[*_dispute_facts(letter), ("Replied", display_time(letter.at, letter.tz))],
        action=("View the dispute", letter.auction_link),
    )


def _dispute_resolved(letter: Letter) -> Draft:
    refund = letter.outcome == "refund"
    if refund:
        decision = (
            f"The dispute on {letter.item_name} is resolved with a refund: the sale is void "
            f"and the buyer is refunded {_money(letter, letter.total_due)}."
        )
        paragraphs = [decision, _cancelled_by(letter)]
    else:
        decision = f"The dispute on {letter.item_name} is resolved: the sale stands (no refund)."
        paragraphs = [decision]
    if letter.note:
        paragraphs.append(f"The decision's reason: {letter.note}")
    facts = [
        *_dispute_facts(letter),
        ("Outcome", "refund" if refund else "the sale stands"),
        ("Resolved", display_time(letter.at, letter.tz)),
    ]
    if refund and letter.credit_note_label:
        facts.append(("Credit note", letter.credit_note_label))
    return Draft(
        subject=f"Dispute resolved: {letter.item_name} ({'refund' if refund else 'sale stands'})",
        paragraphs=paragraphs,
        facts=facts,
        action=("View the auction", letter.auction_link),
    )


DRAFTS = {
    Template.SALE_CONFIRMATION: _sale_confirmation,
    Template.REJECTION: _rejection,
    Template.COUNTER_INVITATION: _counter_invitation,
    Template.COUNTER_ACCEPTED: _counter_accepted,
    Template.DECISION_REMINDER: _decision_reminder,
    Template.DECISION_EXPIRED: _decision_expired,
    Template.COUNTER_EXPIRED: _counter_expired,
    Template.OFFER_RECEIVED: _offer_received,
    Template.OFFER_ACCEPTED: _offer_accepted,
    Template.OFFER_REJECTED: _offer_rejected,
    Template.OFFER_EXPIRED: _offer_expired,
    Template.PAYMENT_MARKED: _payment_marked,
    Template.PAYMENT_CONFIRMED: _payment_confirmed,
    Template.PAYMENT_DUE: _payment_due,
    Template.SALE_VOID: _sale_void,
    Template.AUCTION_CANCELLED: _cancellation,
    Template.TAX_INVOICE: _tax_invoice,
    Template.SHIPPED: _shipped,
    Template.RECEIVED: _received,
    Template.SHIPMENT_OVERDUE: _shipment_overdue,
    Template.DISPUTE_OPENED: _dispute_opened,
    Template.DISPUTE_REPLIED: _dispute_replied,
    Template.DISPUTE_RESOLVED: _dispute_resolved,
}


def render(draft: Draft, recipient_name: str) -> Email:
    return Email(draft.subject, _text(draft, recipient_name), _html(draft, recipient_name))


def _text(draft: Draft, name: str) -> str:
    lines = [f"Hello {name},", ""]
    for paragraph in draft.paragraphs:
        lines += [paragraph, ""]
    if draft.facts:
        width = max(len(label) for label, _ in draft.facts) + 1
        lines += [f"  {label + ':':<{width}} {value}" for label, value in draft.facts]
        lines.append("")
    if draft.action:
        lines += [f"{draft.action[0]}: {draft.action[1]}", ""]
    lines.append(f"-- {SIGNATURE}")
    return "\n".join(lines) + "\n"


def _html(draft: Draft, name: str) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><th align="left" style="padding:4px 16px 4px 0;color:#555;font-weight:normal">'
        f'{e(label)}</th><td style="padding:4px 0"><strong>{e(value)}</strong></td></tr>'
        for label, value in draft.facts
    )
    paragraphs = "".join(f"<p>{e(p)}</p>" for p in draft.paragraphs)
    action = ""
    if draft.action:
        label, url = draft.action
        action = (
            f'<p><a href="{e(url, quote=True)}" style="display:inline-block;padding:10px 16px;'
            f'background:#1f4e79;color:#fff;text-decoration:none;border-radius:4px">'
            f"{e(label)}</a></p>"
        )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{e(draft.subject)}</title></head>"
        '<body style="font-family:Helvetica,Arial,sans-serif;color:#222;max-width:560px">'
        f"<p>Hello {e(name)},</p>{paragraphs}"
        f'<table cellspacing="0" cellpadding="0">{rows}</table>{action}'
        f'<p style="color:#777">{e(SIGNATURE)}</p></body></html>'
    )
