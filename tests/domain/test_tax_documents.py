"""What the tax invoice, the credit note and the seller's statement say, without a PDF."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from shared.domain.credit_notes import (
    CreditReason,
    credit_note_document,
    credit_note_filename,
    credit_note_label,
)
from shared.domain.documents import Block
from shared.domain.gst import Levy
from shared.domain.india import STATES, parse_address
from shared.domain.invoices import (
    amount_due,
    invoice_charges,
    invoice_lines,
    tax_invoice_document,
)
from shared.domain.statements import statement_document, statement_filename
from tests.support.gst_samples import (
    BUYER_IN_MAHARASHTRA,
    SELLER_GSTIN,
    VOIDED_AT,
    credit_note_facts,
    gstin_for,
    plain_facts,
    statement_facts,
    tax_facts,
)

D = Decimal


# -- the tax invoice -------------------------------------------------------------------------


def test_a_tax_invoice_within_one_state_charges_cgst_and_sgst() -> None:
    doc = tax_invoice_document(tax_facts())
    assert (doc.kind, doc.label, doc.title) == (
        "TAX INVOICE",
        "INV-000042",
        "Tax invoice INV-000042",
    )
    assert dict(doc.facts) == {
        "Invoice number": "INV-000042",
        "Invoice date": "26 Nov 2026",
        "Sale time": "26 Nov 2026, 15:07 IST",
        "Place of supply": "Karnataka (29)",
        "Reverse charge": "No",
        "Auction": "5b0c6f0e-2a41-4c3e-9d51-1f3c0b9a7e21",
    }
    assert doc.parties == (
        Block(
            "Supplier (seller)",
            (
                "Sita Sharma",
                "12 MG Road",
                "Shanthala Nagar",
                "Bengaluru 560001",
                "Karnataka (29), India",
                f"GSTIN {SELLER_GSTIN}",
                "seller@example.com",
            ),
        ),
        Block(
            "Recipient (buyer)",
            (
                "Asha Rao",
                "3 Church Street",
                "Bengaluru 560025",
                "Karnataka (29), India",
                "Unregistered",
                "asha@example.com",
            ),
        ),
    )
    assert doc.table is not None
    assert doc.table.columns == (
        "#",
        "Description",
        "HSN",
        "Taxable value",
        "CGST 9%",
        "SGST 9%",
        "Total",
    )
    assert doc.table.rows == (
        (
            "1",
            "Brass table lamp, 1920s, with its original silk shade",
            "9405",
            "1,20,345.50",
            "10,831.10",  # 10,831.095 half up
            "10,831.10",
            "1,42,007.70",
        ),
        (
            "2",
            "Buyer's premium (9% of the hammer price)",
            "9405",
            "10,831.10",
            "974.80",
            "974.80",
            "12,780.70",
        ),
    )
    assert doc.table.totals == (
        "",
        "Total",
        "",
        "1,31,176.60",
        "11,805.90",
        "11,805.90",
        "1,54,788.40",
    )
    assert doc.summary == (
        ("Taxable value", "INR 1,31,176.60"),
        ("CGST at 9%", "INR 11,805.90"),
        ("SGST at 9%", "INR 11,805.90"),
        ("Total tax", "INR 23,611.80"),
        ("Total due", "INR 1,54,788.40"),
    )
    assert doc.words == (
        "Rupees One Lakh Fifty-Four Thousand Seven Hundred Eighty-Eight and Forty Paise Only"
    )
    assert not doc.void


def test_a_tax_invoice_across_states_charges_igst_and_names_the_place_of_supply() -> None:
    facts = tax_facts(BUYER_IN_MAHARASHTRA)
    doc = tax_invoice_document(facts)
    assert dict(doc.facts)["Place of supply"] == "Maharashtra (27)"
    assert doc.table is not None
    assert doc.table.columns[4:] == ("IGST 18%", "Total")
    assert doc.table.rows[0][3:] == ("1,20,345.50", "21,662.19", "1,42,007.69")
    assert doc.table.rows[1][3:] == ("10,831.10", "1,949.60", "12,780.70")
    assert doc.summary == (
        ("Taxable value", "INR 1,31,176.60"),
        ("IGST at 18%", "INR 23,611.79"),
        ("Total tax", "INR 23,611.79"),
        ("Total due", "INR 1,54,788.39"),
    )
    assert amount_due(facts) == D("154788.39")


def test_pickup_or_no_address_is_a_supply_in_the_sellers_state() -> None:
    facts = tax_facts(None)
    assert invoice_charges(facts).levy is Levy.INTRA
    doc = tax_invoice_document(facts)
    assert dict(doc.facts)["Place of supply"] == "Karnataka (29)"
    assert doc.parties[1].lines == (
        "Asha Rao",
        "Address not given",
        "Unregistered",
        "asha@example.com",
    )


def test_the_delivery_state_decides_not_the_buyers_billing_address() -> None:
    facts = tax_facts(BUYER_IN_MAHARASHTRA, delivery=STATES["29"])
    assert invoice_charges(facts).levy is Levy.INTRA


def test_a_registered_buyer_is_named_by_their_gstin() -> None:
    buyer = gstin_for("27", pan="AAPFU0939F")
    doc = tax_invoice_document(tax_facts(BUYER_IN_MAHARASHTRA, buyer_gstin=buyer))
    assert doc.parties[1].lines[-2] == "GSTIN 27AAPFU0939F1ZV"


def test_a_seller_in_a_union_territory_without_a_legislature_charges_utgst() -> None:
    chandigarh = parse_address(
        {
            "line1": "Sector 17",
            "city": "Chandigarh",
            "state": "CH",
            "postalCode": "160017",
            "country": "IN",
        }
    )
    doc = tax_invoice_document(tax_facts(chandigarh, seller_state="04", seller_address=chandigarh))
    assert doc.table is not None
    assert doc.table.columns[4:6] == ("CGST 9%", "UTGST 9%")
    assert [name for name, _ in doc.summary][1:3] == ["CGST at 9%", "UTGST at 9%"]


def test_an_odd_rate_is_halved_exactly() -> None:
    doc = tax_invoice_document(tax_facts(rate_pct=D("12.25"), amount=D("1000")))
    assert doc.table is not None
    assert doc.table.columns[4:6] == ("CGST 6.125%", "SGST 6.125%")
    assert doc.table.rows[0][4:] == ("61.25", "61.25", "1,122.50")


def test_an_unknown_category_is_invoiced_as_collectors_pieces() -> None:
    doc = tax_invoice_document(tax_facts(category="misc-stuff"))
    assert doc.table is not None
    assert {row[2] for row in doc.table.rows} == {"9705"}


def test_without_a_premium_the_tax_invoice_has_one_line() -> None:
    doc = tax_invoice_document(tax_facts(buyers_premium_pct=D(0), amount=D("100000")))
    assert doc.table is not None
    assert len(doc.table.rows) == 1
    assert doc.summary[-1] == ("Total due", "INR 1,18,000.00")
    assert doc.words == "Rupees One Lakh Eighteen Thousand Only"


def test_a_void_tax_invoice_says_so() -> None:
    doc = tax_invoice_document(tax_facts(voided_at=VOIDED_AT))
    assert doc.void
    assert doc.title == "Tax invoice INV-000042 (VOID)"
    assert doc.facts[1] == (
        "Status",
        "VOID since 4 Dec 2026, 14:30 IST: the sale was reported unpaid",
    )


def test_a_gst_invoice_is_in_rupees() -> None:
    with pytest.raises(ValueError, match="INR"):
        tax_facts(currency="USD")


def test_a_plain_invoice_has_no_tax_document() -> None:
    with pytest.raises(ValueError, match="plain invoice"):
        tax_invoice_document(plain_facts())


# -- the plain invoice with a premium ----------------------------------------------------------


def test_a_plain_invoice_adds_the_premium_and_the_total_due() -> None:
    lines = invoice_lines(plain_facts())
    assert lines[-3:] == [
        ("Final price", "INR 1,20,345.50"),
        ("Buyer's premium (9% of the hammer price)", "INR 10,831.10"),
        ("Total due", "INR 1,31,176.60"),
    ]
    assert amount_due(plain_facts()) == D("131176.60")


def test_without_a_premium_the_plain_invoice_is_as_it_always_was() -> None:
    lines = invoice_lines(plain_facts(buyers_premium_pct=D(0)))
    assert [name for name, _ in lines] == [
        "Invoice number",
        "Sale time",
        "Seller",
        "Buyer",
        "Item",
        "Auction",
        "Currency",
        "Final price",
    ]


# -- the credit note -------------------------------------------------------------------------


def test_credit_notes_have_a_series_of_their_own() -> None:
    assert credit_note_label(1) == "CN-000001"
    assert credit_note_label(1234567) == "CN-1234567"
    assert credit_note_filename(1, "a1") == "CN-000001-a1.pdf"


def test_a_credit_note_cancels_its_invoice_with_the_same_lines_and_tax_split() -> None:
    invoice = tax_facts(BUYER_IN_MAHARASHTRA)
    note = credit_note_document(credit_note_facts(invoice))
    bill = tax_invoice_document(invoice)
    assert (note.kind, note.label) == ("CREDIT NOTE", "CN-000001")
    assert note.title == "Credit note CN-000001 (cancels INV-000042)"
    assert dict(note.facts) == {
        "Credit note number": "CN-000001",
        "Date": "4 Dec 2026",
        "Issued": "4 Dec 2026, 14:30 IST",
        "Against invoice": "INV-000042 of 26 Nov 2026",
        "Reason": "the sale is void: it was reported unpaid",
        "Place of supply": "Maharashtra (27)",
        "Item": invoice.item_name,
        "Auction": invoice.auction_id,
    }
    assert note.parties == bill.parties
    assert note.table == bill.table
    assert note.summary == (
        ("Taxable value credited", "INR 1,31,176.60"),
        ("IGST at 18% credited", "INR 23,611.79"),
        ("Total tax credited", "INR 23,611.79"),
        ("Total credited", "INR 1,54,788.39"),
    )
    assert note.words == bill.words
    assert note.notes[0].startswith("Cancels INV-000042 in full (INR 1,54,788.39)")


def test_a_refund_says_why() -> None:
    note = credit_note_document(credit_note_facts(tax_facts(), CreditReason.REFUND))
    assert dict(note.facts)["Reason"] == "the sale is refunded: a dispute was settled for the buyer"


def test_a_plain_sale_gets_a_plain_credit_note() -> None:
    note = credit_note_document(credit_note_facts(plain_facts()))
    assert "Place of supply" not in dict(note.facts)
    assert note.parties == (
        Block("Seller", ("Sita Sharma", "seller@example.com")),
        Block("Buyer", ("Asha Rao", "asha@example.com")),
    )
    assert note.table is not None
    assert note.table.columns == ("#", "Description", "Amount")
    assert note.table.rows[1] == ("2", "Buyer's premium (9% of the hammer price)", "10,831.10")
    assert note.table.totals == ("", "Total", "1,31,176.60")
    assert note.summary == (("Total credited", "INR 1,31,176.60"),)


def test_a_credit_note_in_another_currency_has_no_indian_words() -> None:
    note = credit_note_document(credit_note_facts(plain_facts(currency="USD")))
    assert note.words is None
    assert note.summary == (("Total credited", "USD 131,176.60"),)


# -- the seller's statement ------------------------------------------------------------------


def test_the_statement_deducts_the_platform_fee_from_the_hammer_price() -> None:
    doc = statement_document(statement_facts(tax_facts()))
    assert (doc.kind, doc.label) == ("SELLER'S STATEMENT", "INV-000042")
    assert doc.summary == (
        ("Hammer price", "INR 1,20,345.50"),
        ("Platform fee (5% of the hammer price)", "INR -6,017.28"),  # 6,017.275 half up
        ("Net to the seller", "INR 1,14,328.22"),
    )
    assert doc.words == (
        "Rupees One Lakh Fourteen Thousand Three Hundred Twenty-Eight and Twenty-Two Paise Only"
    )
    assert doc.parties == (
        Block("Seller", ("Sita Sharma", "seller@example.com", f"GSTIN {SELLER_GSTIN}")),
    )
    premium, gst, fee = doc.notes
    assert "9% of the hammer price (INR 10,831.10), is the platform's" in premium
    assert "taxable value INR 1,31,176.60, GST INR 23,611.80" in gst
    assert "(CGST INR 11,805.90 + SGST INR 11,805.90)" in gst
    assert "(SAC 998599)" in fee
    assert statement_filename(42, "a1") == "INV-000042-a1-statement.pdf"


def test_an_unregistered_sellers_statement_has_no_gst_note() -> None:
    doc = statement_document(statement_facts(plain_facts(buyers_premium_pct=D(0)), D(0)))
    assert doc.summary[1:] == (
        ("Platform fee (0% of the hammer price)", "INR 0.00"),
        ("Net to the seller", "INR 1,20,345.50"),
    )
    assert len(doc.notes) == 1


def test_a_void_sales_statement_is_marked_void() -> None:
    doc = statement_document(statement_facts(replace(tax_facts(), voided_at=VOIDED_AT)))
    assert doc.void and doc.title.endswith("(VOID)")
