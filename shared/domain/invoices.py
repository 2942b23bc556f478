"""What an invoice says (pure): its number's label, its file name, and its lines.

The PDF adapter (`shared/adapters/invoice_pdf.py`) only draws what `invoice_lines` gives, so
the content is tested here without a PDF in sight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.domain.emails import display_time
from shared.domain.money import group_digits


@dataclass(frozen=True)
class Party:
    name: str
    email: str


@dataclass(frozen=True)
class InvoiceFacts:
    number: int
    auction_id: str
    item_name: str
    seller: Party
    buyer: Party
    amount: Decimal
    currency: str
    sold_at: datetime
    tz: str
    # A sale reported unpaid is void: the invoice keeps its number and says VOID.
    voided_at: datetime | None = None

    @property
    def void(self) -> bool:
        return self.voided_at is not None


def invoice_label(number: int) -> str:
    """`INV-000042`: gap-free numbers, zero-padded so they sort as text too."""
    return f"INV-{number:06d}"


def invoice_filename(number: int, auction_id: str, *, void: bool = False) -> str:
    """The void copy is a file of its own: the copy first issued (and emailed) is never
    overwritten."""
    return f"{invoice_label(number)}-{auction_id}{'-VOID' if void else ''}.pdf"


def price_text(amount: Decimal, currency: str) -> str:
    """`INR 1,20,000.00`: the code rather than a symbol, which the PDF's font may lack."""
    return f"{currency} {group_digits(amount, currency)}"


def invoice_lines(facts: InvoiceFacts) -> list[tuple[str, str]]:
    """The labelled lines of the invoice, in order."""
    lines = [
        ("Invoice number", invoice_label(facts.number)),
        ("Sale time", display_time(facts.sold_at, facts.tz)),
        ("Seller", f"{facts.seller.name} <{facts.seller.email}>"),
        ("Buyer", f"{facts.buyer.name} <{facts.buyer.email}>"),
        ("Item", facts.item_name),
        ("Auction", facts.auction_id),
        ("Currency", facts.currency),
        ("Final price", price_text(facts.amount, facts.currency)),
    ]
    if facts.voided_at is not None:
        voided = display_time(facts.voided_at, facts.tz)
        lines.insert(1, ("Status", f"VOID since {voided}: the sale was reported unpaid"))
    return lines
