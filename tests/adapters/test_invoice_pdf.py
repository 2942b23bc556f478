"""What an invoice says (shared.domain.invoices) and the PDF that says it (invoice_pdf)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pypdf

from shared.adapters.invoice_pdf import render_invoice
from shared.domain.invoices import (
    InvoiceFacts,
    Party,
    invoice_filename,
    invoice_label,
    invoice_lines,
    price_text,
)

FACTS = InvoiceFacts(
    number=42,
    auction_id="5b0c6f0e-2a41-4c3e-9d51-1f3c0b9a7e21",
    item_name="Brass lamp, 1920s",
    seller=Party("Sita Seller", "sita@example.com"),
    buyer=Party("Asha Buyer", "asha@example.com"),
    amount=Decimal("120000.00"),
    currency="INR",
    sold_at=datetime(2026, 11, 26, 9, 37, tzinfo=UTC),
    tz="Asia/Kolkata",
)


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_invoice_numbers_are_labelled_zero_padded() -> None:
    assert invoice_label(1) == "INV-000001"
    assert invoice_label(1234567) == "INV-1234567"
    assert invoice_filename(42, "a1") == "INV-000042-a1.pdf"


def test_the_price_is_given_with_its_currency_code_and_grouping() -> None:
    assert price_text(Decimal("120000"), "INR") == "INR 1,20,000.00"
    assert price_text(Decimal("120000"), "USD") == "USD 120,000.00"


def test_the_invoice_names_number_parties_item_price_currency_and_sale_time() -> None:
    lines = dict(invoice_lines(FACTS))
    assert lines == {
        "Invoice number": "INV-000042",
        "Sale time": "26 Nov 2026, 15:07 IST",
        "Seller": "Sita Seller <sita@example.com>",
        "Buyer": "Asha Buyer <asha@example.com>",
        "Item": "Brass lamp, 1920s",
        "Auction": FACTS.auction_id,
        "Currency": "INR",
        "Final price": "INR 1,20,000.00",
    }


def test_the_pdf_reads_back_with_every_line() -> None:
    pdf = render_invoice(FACTS)
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert reader.metadata is not None and reader.metadata.title == "Invoice INV-000042"
    text = pdf_text(pdf)
    for label, value in invoice_lines(FACTS):
        assert label in text
        assert value in text


def test_the_pdf_is_deterministic() -> None:
    assert render_invoice(FACTS) == render_invoice(FACTS)


def test_a_long_item_name_wraps_instead_of_running_off_the_page() -> None:
    long_name = " ".join(["Carved"] * 40) + " " + "x" * 150
    text = pdf_text(render_invoice(InvoiceFacts(**{**FACTS.__dict__, "item_name": long_name})))
    joined = text.replace("\n", " ")
    assert "Carved Carved" in joined
    assert "x" * 40 in joined.replace(" ", "")
    assert "INR 1,20,000.00" in text


def test_accented_item_names_survive_the_pdf() -> None:
    facts = InvoiceFacts(**{**FACTS.__dict__, "item_name": "Lampe Art déco, “été”"})
    assert "Lampe Art déco, “été”" in pdf_text(render_invoice(facts))
