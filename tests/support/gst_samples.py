"""Sales with GST: a registered seller in Karnataka, a buyer in Karnataka or Maharashtra, the
documents' facts built from them (shared by the content tests, the PDF tests and the
sample of docs/emails-and-invoices.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from shared.domain.credit_notes import CreditNoteFacts, CreditReason
from shared.domain.gstin import Gstin, check_character, parse_gstin
from shared.domain.india import Address, IndianState, parse_address
from shared.domain.invoices import GstDetails, InvoiceFacts, Party
from shared.domain.statements import StatementFacts

SOLD_AT = datetime(2026, 11, 26, 9, 37, tzinfo=UTC)  # 15:07 IST
VOIDED_AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # 14:30 IST
AUCTION = "5b0c6f0e-2a41-4c3e-9d51-1f3c0b9a7e21"


def gstin_for(state_code: str, pan: str = "AABCS1429B", entity: str = "1") -> Gstin:
    first14 = f"{state_code}{pan}{entity}Z"
    return parse_gstin(first14 + check_character(first14))


SELLER_GSTIN = gstin_for("29")  # a company (C) in Karnataka
SELLER_ADDRESS = parse_address(
    {
        "line1": "12 MG Road",
        "line2": "Shanthala Nagar",
        "city": "Bengaluru",
        "state": "Karnataka",
        "postalCode": "560001",
        "country": "IN",
    }
)
BUYER_IN_KARNATAKA = parse_address(
    {
        "line1": "3 Church Street",
        "city": "Bengaluru",
        "state": "KA",
        "postalCode": "560025",
        "country": "IN",
    }
)
BUYER_IN_MAHARASHTRA = parse_address(
    {
        "line1": "4 Marine Drive",
        "city": "Mumbai",
        "state": "Maharashtra",
        "postalCode": "400020",
        "country": "India",
    }
)


def plain_facts(**changes: object) -> InvoiceFacts:
    facts = InvoiceFacts(
        number=42,
        auction_id=AUCTION,
        item_name="Brass table lamp, 1920s, with its original silk shade",
        seller=Party("Sita Sharma", "seller@example.com"),
        buyer=Party("Asha Rao", "asha@example.com"),
        amount=Decimal("120345.50"),
        currency="INR",
        sold_at=SOLD_AT,
        tz="Asia/Kolkata",
        buyers_premium_pct=Decimal("9"),
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def tax_facts(
    buyer_address: Address | None = BUYER_IN_KARNATAKA,
    *,
    seller_state: str = "29",
    seller_address: Address = SELLER_ADDRESS,
    delivery: IndianState | None = None,
    buyer_gstin: Gstin | None = None,
    rate_pct: Decimal = Decimal("18"),
    category: str | None = "lamps",
    **changes: object,
) -> InvoiceFacts:
    """A registered seller's sale; the goods go to the buyer's address unless told otherwise."""
    gst = GstDetails(
        supplier_gstin=SELLER_GSTIN if seller_state == "29" else gstin_for(seller_state),
        supplier_address=seller_address,
        rate_pct=rate_pct,
        category=category,
        recipient_address=buyer_address,
        recipient_gstin=buyer_gstin,
        delivery=delivery or (buyer_address.state if buyer_address else None),
    )
    return plain_facts(gst=gst, **changes)


def credit_note_facts(
    invoice: InvoiceFacts, reason: CreditReason = CreditReason.UNPAID
) -> CreditNoteFacts:
    return CreditNoteFacts(number=1, invoice=invoice, issued_at=VOIDED_AT, reason=reason)


def statement_facts(invoice: InvoiceFacts, fee_pct: Decimal = Decimal("5")) -> StatementFacts:
    return StatementFacts(invoice=invoice, platform_fee_pct=fee_pct)
