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
from zoneinfo import ZoneInfo

from shared.domain.money import display_money

SIGNATURE = "The Auctions team"


class Template(StrEnum):
    SALE_CONFIRMATION = "sale_confirmation"
    REJECTION = "rejection"
    COUNTER_INVITATION = "counter_invitation"
    COUNTER_ACCEPTED = "counter_accepted"
    AUCTION_CANCELLED = "auction_cancelled"


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
    note: str | None = None  # a cancellation's reason, as its author wrote it


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
    paragraphs = [lead, f"Your invoice {label} is attached as a PDF."]
    facts = [
        ("Item", letter.item_name),
        ("Final price", price),
        other,
        ("Sale time", display_time(letter.at, letter.tz)),
        ("Invoice", label),
    ]
    _note_reserve(letter, paragraphs, facts)
    return Draft(
        subject=f"{subject} (invoice {label})" if label else subject,
        paragraphs=paragraphs,
        facts=facts,
        action=("View the auction", letter.auction_link),
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
    return Draft(
        subject=f"Counter-offer on {letter.item_name}: {offer}",
        paragraphs=[
            f"{letter.counterpart_name} would sell {letter.item_name} to you for {offer}.",
            "Accept it and the item is yours at that price; reject it and the auction closes "
            "without a sale. Answer on the auction's page.",
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
        paragraphs.append(f"Your invoice {label} is attached as a PDF.")
        facts.append(("Invoice", label))
    _note_reserve(letter, paragraphs, facts)
    return Draft(
        subject=f"{subject} (invoice {label})" if label else subject,
        paragraphs=paragraphs,
        facts=facts,
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


DRAFTS = {
    Template.SALE_CONFIRMATION: _sale_confirmation,
    Template.REJECTION: _rejection,
    Template.COUNTER_INVITATION: _counter_invitation,
    Template.COUNTER_ACCEPTED: _counter_accepted,
    Template.AUCTION_CANCELLED: _cancellation,
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
