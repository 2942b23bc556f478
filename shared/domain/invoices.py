"""What an invoice says (pure): its number's label, its file name, its lines, its sums.

Two kinds, one number series (`INV-000042`, one invoice per sale):

- the plain invoice, when the seller has no GSTIN: the labelled lines of `invoice_lines`;
- the GST tax invoice, when the seller has one (`InvoiceFacts.gst`): supplier and recipient,
  place of supply, a line per charge with its HSN, taxable value and CGST + SGST or IGST, the
  totals and the amount in words (`tax_invoice_document`).

The PDF adapter (`shared/adapters/invoice_pdf.py`) only draws what these give, so the content
is tested here without a PDF in sight. What is charged, and why, is `shared.domain.gst`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from shared.domain.documents import Block, Document, Table
from shared.domain.emails import display_time
from shared.domain.gst import (
    ZERO,
    Charges,
    Levy,
    TaxCode,
    buyer_charges,
    hsn_for_category,
    levy_for,
    place_of_supply,
    rate_text,
    state_tax_name,
)
from shared.domain.gstin import Gstin
from shared.domain.india import Address, IndianState
from shared.domain.money import group_digits, rupees_in_words

ISSUER = "Auction platform"


@dataclass(frozen=True)
class Party:
    name: str
    email: str


@dataclass(frozen=True)
class GstDetails:
    """What makes a sale's invoice a GST tax invoice, as it stood at the sale: the seller's
    registration and address, the buyer's (when known), and where the goods go."""

    supplier_gstin: Gstin
    supplier_address: Address
    rate_pct: Decimal
    category: str | None = None
    # The heading recorded at the sale (wins over `category`: a later change of the table never
    # changes an invoice already issued).
    hsn: TaxCode | None = None
    recipient_address: Address | None = None
    recipient_gstin: Gstin | None = None
    # The state of the delivery address; None when the buyer picks the item up, or no address
    # is known yet (the goods are then supplied in the seller's state).
    delivery: IndianState | None = None

    @property
    def supplier_state(self) -> IndianState:
        return self.supplier_gstin.state

    @property
    def place(self) -> IndianState:
        return place_of_supply(self.supplier_state, self.delivery)

    @property
    def levy(self) -> Levy:
        return levy_for(self.supplier_state, self.place)


@dataclass(frozen=True)
class InvoiceFacts:
    number: int
    auction_id: str
    item_name: str
    seller: Party
    buyer: Party
    amount: Decimal  # the hammer price
    currency: str
    sold_at: datetime
    tz: str
    # A sale reported unpaid is void: the invoice keeps its number and says VOID.
    voided_at: datetime | None = None
    buyers_premium_pct: Decimal = ZERO
    gst: GstDetails | None = None
    shipping: Decimal = ZERO  # the seller's shipping charge to the buyer
    # The invoice's date (a tax invoice issued at payment, once the place of supply is known);
    # None: the sale's.
    issued_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.gst is not None and self.currency != "INR":
            raise ValueError("a GST tax invoice is made out in INR")

    @property
    def void(self) -> bool:
        return self.voided_at is not None

    @property
    def label(self) -> str:
        return invoice_label(self.number)

    @property
    def dated(self) -> datetime:
        return self.issued_at or self.sold_at


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


def invoice_charges(facts: InvoiceFacts) -> Charges:
    """The buyer's lines and totals: the hammer price, the premium, and GST when the seller is
    registered."""
    if facts.gst is None:
        return buyer_charges(
            item=facts.item_name,
            hammer=facts.amount,
            premium_pct=facts.buyers_premium_pct,
            shipping=facts.shipping,
        )
    return buyer_charges(
        item=facts.item_name,
        hammer=facts.amount,
        premium_pct=facts.buyers_premium_pct,
        code=facts.gst.hsn or hsn_for_category(facts.gst.category),
        levy=facts.gst.levy,
        rate_pct=facts.gst.rate_pct,
        shipping=facts.shipping,
    )


def amount_due(facts: InvoiceFacts) -> Decimal:
    return invoice_charges(facts).total


def local_date(moment: datetime, tz: str) -> str:
    """`26 Nov 2026`: an invoice's date is the day in the platform's zone."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local.day} {local:%b %Y}"


# -- the plain invoice ---------------------------------------------------------------------------


def invoice_lines(facts: InvoiceFacts) -> list[tuple[str, str]]:
    """The labelled lines of the plain invoice, in order. Without a buyer's premium they are
    those of every invoice issued before fees existed, so a lost file rebuilds the same."""
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
    charges = invoice_charges(facts)
    for line in charges.lines[1:]:
        lines.append((line.description, price_text(line.value, facts.currency)))
    if len(charges.lines) > 1:
        lines.append(("Total due", price_text(charges.total, facts.currency)))
    if facts.voided_at is not None:
        voided = display_time(facts.voided_at, facts.tz)
        lines.insert(1, ("Status", f"VOID since {voided}: the sale was reported unpaid"))
    return lines


# -- the GST tax invoice (and what the credit note shares with it) ------------------------------


def _gst(facts: InvoiceFacts) -> GstDetails:
    if facts.gst is None:
        raise ValueError(f"{facts.label} is a plain invoice: the seller has no GSTIN")
    return facts.gst


def party_blocks(facts: InvoiceFacts) -> tuple[Block, ...]:
    """Supplier (the seller) and recipient (the buyer): name, address with the state and its
    code, GSTIN (or that the buyer is unregistered), email."""
    if facts.gst is None:
        return (
            Block("Seller", (facts.seller.name, facts.seller.email)),
            Block("Buyer", (facts.buyer.name, facts.buyer.email)),
        )
    gst = facts.gst
    recipient_address = (
        gst.recipient_address.lines() if gst.recipient_address else ("Address not given",)
    )
    recipient_id = f"GSTIN {gst.recipient_gstin}" if gst.recipient_gstin else "Unregistered"
    return (
        Block(
            "Supplier (seller)",
            (
                facts.seller.name,
                *gst.supplier_address.lines(),
                f"GSTIN {gst.supplier_gstin}",
                facts.seller.email,
            ),
        ),
        Block(
            "Recipient (buyer)",
            (facts.buyer.name, *recipient_address, recipient_id, facts.buyer.email),
        ),
    )


def tax_columns(charges: Charges, supplier: IndianState) -> tuple[str, ...]:
    if charges.levy is Levy.INTRA:
        half = rate_text(charges.half_rate_pct)
        return (f"CGST {half}", f"{state_tax_name(supplier)} {half}")
    if charges.levy is Levy.INTER:
        return (f"IGST {rate_text(charges.rate_pct)}",)
    return ()


def charges_table(charges: Charges, currency: str, supplier: IndianState | None) -> Table:
    """One row per charge: #, description, HSN, taxable value, each tax, line total; then the
    totals, each the sum of its column."""

    def money(amount: Decimal) -> str:
        return group_digits(amount, currency)

    def taxes(central: Decimal, state: Decimal, integrated: Decimal) -> tuple[str, ...]:
        if charges.levy is Levy.INTRA:
            return (money(central), money(state))
        if charges.levy is Levy.INTER:
            return (money(integrated),)
        return ()

    if supplier is None:  # a plain document: no codes, no tax
        columns: tuple[str, ...] = ("#", "Description", "Amount")
        rows: tuple[tuple[str, ...], ...] = tuple(
            (str(n), line.description, money(line.value))
            for n, line in enumerate(charges.lines, start=1)
        )
        return Table(columns, rows, ("", "Total", money(charges.total)), numeric_from=2)
    columns = ("#", "Description", "HSN", "Taxable value", *tax_columns(charges, supplier))
    rows = tuple(
        (
            str(n),
            line.description,
            line.code.code if line.code else "",
            money(line.value),
            *taxes(line.central, line.state, line.integrated),
            money(line.total),
        )
        for n, line in enumerate(charges.lines, start=1)
    )
    totals = (
        "",
        "Total",
        "",
        money(charges.value),
        *taxes(charges.central, charges.state, charges.integrated),
        money(charges.total),
    )
    return Table((*columns, "Total"), rows, totals, numeric_from=3)


def charges_summary(
    charges: Charges, currency: str, supplier: IndianState | None, *, credited: bool = False
) -> tuple[tuple[str, str], ...]:
    """Taxable value, each tax with its rate, the total tax and the total: the last line is
    what the document is for (due, or credited)."""
    suffix = " credited" if credited else ""
    if supplier is None:
        return (
            (f"Total{suffix}" if credited else "Total due", price_text(charges.total, currency)),
        )
    lines = [(f"Taxable value{suffix}", price_text(charges.value, currency))]
    if charges.levy is Levy.INTRA:
        half = rate_text(charges.half_rate_pct)
        lines.append((f"CGST at {half}{suffix}", price_text(charges.central, currency)))
        lines.append(
            (f"{state_tax_name(supplier)} at {half}{suffix}", price_text(charges.state, currency))
        )
    elif charges.levy is Levy.INTER:
        lines.append(
            (
                f"IGST at {rate_text(charges.rate_pct)}{suffix}",
                price_text(charges.integrated, currency),
            )
        )
    lines.append((f"Total tax{suffix}", price_text(charges.tax, currency)))
    lines.append(
        (f"Total{suffix}" if credited else "Total due", price_text(charges.total, currency))
    )
    return tuple(lines)


def tax_invoice_document(facts: InvoiceFacts) -> Document:
    """The GST tax invoice of a sale whose seller is registered."""
    gst = _gst(facts)
    charges = invoice_charges(facts)
    label = facts.label
    head = [
        ("Invoice number", label),
        ("Invoice date", local_date(facts.dated, facts.tz)),
        ("Sale time", display_time(facts.sold_at, facts.tz)),
        ("Place of supply", str(gst.place)),
        ("Reverse charge", "No"),
        ("Auction", facts.auction_id),
    ]
    if facts.voided_at is not None:
        voided = display_time(facts.voided_at, facts.tz)
        head.insert(1, ("Status", f"VOID since {voided}: the sale was reported unpaid"))
    return Document(
        kind="TAX INVOICE",
        label=label,
        title=f"Tax invoice {label}{' (VOID)' if facts.void else ''}",
        subject=facts.item_name,
        facts=tuple(head),
        parties=party_blocks(facts),
        table=charges_table(charges, facts.currency, gst.supplier_state),
        summary=charges_summary(charges, facts.currency, gst.supplier_state),
        words=rupees_in_words(charges.total),
        notes=(
            f"The seller supplies the goods; {ISSUER} issues this invoice on the seller's behalf.",
            f"Amount due from the buyer: {price_text(charges.total, facts.currency)}.",
        ),
        void=facts.void,
    )
