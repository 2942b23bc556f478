"""The seller's statement of a sale: the hammer price, the platform fee deducted from it, and
what the seller nets. It bears the sale's invoice number; it is not a tax document.

The buyer's premium and the GST on the seller's tax invoice are said in its notes, not added
to the net: the premium is the platform's, and the GST is the seller's to report and pay.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.domain.documents import Block, Document
from shared.domain.emails import display_time
from shared.domain.gst import (
    PLATFORM_FEE_SAC,
    Levy,
    Proceeds,
    rate_text,
    seller_proceeds,
    state_tax_name,
)
from shared.domain.invoices import (
    ISSUER,
    InvoiceFacts,
    invoice_charges,
    invoice_label,
    price_text,
)
from shared.domain.money import percent_of, rupees_in_words


@dataclass(frozen=True)
class StatementFacts:
    invoice: InvoiceFacts
    platform_fee_pct: Decimal


def statement_filename(invoice_number: int, auction_id: str) -> str:
    return f"{invoice_label(invoice_number)}-{auction_id}-statement.pdf"


def proceeds(facts: StatementFacts) -> Proceeds:
    return seller_proceeds(facts.invoice.amount, facts.platform_fee_pct, facts.invoice.shipping)


def fee_text(pct: Decimal) -> str:
    return f"Platform fee ({rate_text(pct)} of the hammer price)"


def statement_document(facts: StatementFacts) -> Document:
    invoice = facts.invoice
    money = proceeds(facts)
    currency = invoice.currency
    label = invoice.label
    seller_lines: tuple[str, ...] = (invoice.seller.name, invoice.seller.email)
    if invoice.gst is not None:
        seller_lines += (f"GSTIN {invoice.gst.supplier_gstin}",)
    charges = invoice_charges(invoice)
    notes = []
    premium = percent_of(invoice.amount, invoice.buyers_premium_pct)
    if premium > 0:
        notes.append(
            f"The buyer's premium on {label}, {rate_text(invoice.buyers_premium_pct)} of the "
            f"hammer price ({price_text(premium, currency)}), is the platform's: it is "
            "not part of these proceeds."
        )
    if invoice.gst is not None and charges.levy is not Levy.NONE:
        if charges.levy is Levy.INTRA:
            state_tax = state_tax_name(invoice.gst.supplier_state)
            split = (
                f"CGST {price_text(charges.central, currency)} + "
                f"{state_tax} {price_text(charges.state, currency)}"
            )
        else:
            split = f"IGST {price_text(charges.integrated, currency)}"
        notes.append(
            f"{label} is a GST tax invoice in the seller's name: taxable value "
            f"{price_text(charges.value, currency)}, GST {price_text(charges.tax, currency)} "
            f"({split}), which the buyer pays with the invoice and the seller reports and pays."
        )
    notes.append(
        f"The platform fee is {ISSUER}'s own service to the seller ({PLATFORM_FEE_SAC}); it "
        "does not lower the value of the sale on the invoice."
    )
    return Document(
        kind="SELLER'S STATEMENT",
        label=label,
        title=f"Seller's statement for {label}{' (VOID)' if invoice.void else ''}",
        subject=invoice.item_name,
        facts=(
            ("Statement for", f"invoice {label}"),
            ("Sale time", display_time(invoice.sold_at, invoice.tz)),
            ("Item", invoice.item_name),
            ("Auction", invoice.auction_id),
            ("Buyer", invoice.buyer.name),
        ),
        parties=(Block("Seller", seller_lines),),
        summary=(
            ("Hammer price", price_text(money.hammer, currency)),
            *(
                (("Shipping charged to the buyer", price_text(money.shipping, currency)),)
                if money.shipping > 0
                else ()
            ),
            (fee_text(money.fee_pct), price_text(-money.fee, currency)),
            ("Net to the seller", price_text(money.net, currency)),
        ),
        words=rupees_in_words(money.net) if currency == "INR" else None,
        notes=tuple(notes),
        void=invoice.void,
    )
