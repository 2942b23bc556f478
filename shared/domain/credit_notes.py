"""The credit note of a sale voided (reported unpaid) or refunded (a dispute settled for the
buyer): it cancels the sale's invoice in full, in a number series of its own (`CN-000001`,
gap-free like the invoices'), and credits exactly what the invoice charged, line by line,
with the same tax split, so the two documents net to zero to the paisa.

The invoice itself is never changed or renumbered; the credit note names it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from shared.domain.documents import Document
from shared.domain.emails import display_time
from shared.domain.gst import Charges
from shared.domain.invoices import (
    ISSUER,
    InvoiceFacts,
    charges_summary,
    charges_table,
    invoice_charges,
    local_date,
    party_blocks,
    price_text,
)
from shared.domain.money import rupees_in_words


class CreditReason(enum.Enum):
    UNPAID = "unpaid"
    REFUND = "refund"


REASON_TEXT = {
    CreditReason.UNPAID: "the sale is void: it was reported unpaid",
    CreditReason.REFUND: "the sale is refunded: a dispute was settled for the buyer",
}


@dataclass(frozen=True)
class CreditNoteFacts:
    number: int
    invoice: InvoiceFacts  # the invoice it cancels, as issued
    issued_at: datetime
    reason: CreditReason

    @property
    def label(self) -> str:
        return credit_note_label(self.number)


def credit_note_label(number: int) -> str:
    """`CN-000001`: a series of its own, gap-free, zero-padded like the invoices'."""
    return f"CN-{number:06d}"


def credit_note_filename(number: int, auction_id: str) -> str:
    return f"{credit_note_label(number)}-{auction_id}.pdf"


def credited(facts: CreditNoteFacts) -> Charges:
    """What the credit note gives back: every line of the invoice, as charged."""
    return invoice_charges(facts.invoice)


def credit_note_document(facts: CreditNoteFacts) -> Document:
    invoice = facts.invoice
    charges = credited(facts)
    supplier = invoice.gst.supplier_state if invoice.gst else None
    label = facts.label
    head = [
        ("Credit note number", label),
        ("Date", local_date(facts.issued_at, invoice.tz)),
        ("Issued", display_time(facts.issued_at, invoice.tz)),
        (
            "Against invoice",
            f"{invoice.label} of {local_date(invoice.dated, invoice.tz)}",
        ),
        ("Reason", REASON_TEXT[facts.reason]),
    ]
    if invoice.gst is not None:
        head.append(("Place of supply", str(invoice.gst.place)))
    head += [("Item", invoice.item_name), ("Auction", invoice.auction_id)]
    return Document(
        kind="CREDIT NOTE",
        label=label,
        title=f"Credit note {label} (cancels {invoice.label})",
        subject=invoice.item_name,
        facts=tuple(head),
        parties=party_blocks(invoice),
        table=charges_table(charges, invoice.currency, supplier),
        summary=charges_summary(charges, invoice.currency, supplier, credited=True),
        words=rupees_in_words(charges.total) if invoice.currency == "INR" else None,
        notes=(
            f"Cancels {invoice.label} in full ({price_text(charges.total, invoice.currency)}): "
            "the buyer owes nothing for this sale, and whatever was paid is refunded.",
            f"Issued by {ISSUER} on the seller's behalf.",
        ),
    )
