"""The tax invoice, the credit note and the seller's statement as PDFs, parsed back with pypdf:
every figure is read from the page and the sums are done again on what was read, to the
paisa; the amount in words is the words of the total read."""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from dataclasses import replace
from decimal import Decimal

import pypdf
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.invoice_pdf import render_credit_note, render_invoice, render_statement
from shared.domain.invoices import InvoiceFacts
from shared.domain.money import percent_of, rupees_in_words
from tests.support.gst_samples import (
    BUYER_IN_KARNATAKA,
    BUYER_IN_MAHARASHTRA,
    VOIDED_AT,
    credit_note_facts,
    plain_facts,
    statement_facts,
    tax_facts,
)
from tests.support.invoice_sample import SAMPLE_FACTS

D = Decimal
_FIGURE = re.compile(r"^-?[0-9][0-9,]*\.[0-9]{2}$")
_PRICE = re.compile(r"^INR -?[0-9][0-9,]*\.[0-9]{2}$")


def page_lines(pdf: bytes) -> tuple[pypdf.PdfReader, list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    lines = [line.strip() for page in reader.pages for line in page.extract_text().splitlines()]
    return reader, [line for line in lines if line]


def figure(text: str) -> Decimal:
    """`INR 1,20,345.50` or `-6,017.28` as read off the page."""
    return D(text.removeprefix("INR ").replace(",", ""))


def summary(lines: list[str]) -> dict[str, Decimal]:
    """The right-aligned totals: a label line, then its `INR` figure."""
    return {
        label: figure(value)
        for label, value in itertools.pairwise(lines)
        if _PRICE.match(value) and not label.startswith("INR ")
    }


def table(lines: list[str], columns: int) -> list[list[Decimal]]:
    """The table's figures, row by row (the totals row last): every bare figure after the
    header, `columns` to a row."""
    start = lines.index("Description")
    figures = [figure(line) for line in lines[start:] if _FIGURE.match(line)]
    assert len(figures) % columns == 0, figures
    return [figures[i : i + columns] for i in range(0, len(figures), columns)]


def words_of(lines: list[str]) -> str:
    text = " ".join(lines)
    found = re.search(r"Amount in words: (.*? Only)", text)
    assert found, text
    return found.group(1)


def check_tax_document(pdf: bytes, *, intra: bool, credited: bool = False) -> dict[str, Decimal]:
    """Read every figure of a tax invoice or credit note and check it adds up, row by row,
    column by column, against the totals and the words."""
    _, lines = page_lines(pdf)
    taxes = 2 if intra else 1
    rows = table(lines, 1 + taxes + 1)  # taxable value, the taxes, the line total
    *lines_read, totals = rows
    for row in rows:
        assert row[0] + sum(row[1:-1]) == row[-1], row
    for column in range(len(totals)):
        assert sum(row[column] for row in lines_read) == totals[column]
    read = summary(lines)
    suffix = " credited" if credited else ""
    taxable = read[f"Taxable value{suffix}"]
    total = read[f"Total{suffix}" if credited else "Total due"]
    assert taxable == totals[0]
    if intra:
        central, state = read[f"CGST at 9%{suffix}"], read[f"SGST at 9%{suffix}"]
        assert central == state == totals[1] == totals[2]
        assert read[f"Total tax{suffix}"] == central + state
    else:
        assert read[f"IGST at 18%{suffix}"] == totals[1]
        assert read[f"Total tax{suffix}"] == totals[1]
    assert total == taxable + read[f"Total tax{suffix}"] == totals[-1]
    assert words_of(lines) == rupees_in_words(total)
    return read


def test_the_tax_invoice_within_one_state_reads_back_to_the_paisa() -> None:
    facts = tax_facts(BUYER_IN_KARNATAKA)
    pdf = render_invoice(facts)
    reader, lines = page_lines(pdf)
    assert len(reader.pages) == 1
    assert reader.metadata is not None and reader.metadata.title == "Tax invoice INV-000042"
    assert lines[:3] == ["TAX INVOICE", "Auction platform", "INV-000042"]
    for expected in [
        "Place of supply",
        "Karnataka (29)",
        "Reverse charge",
        "9405",
        "CGST 9%",
        "SGST 9%",
        f"GSTIN {facts.gst.supplier_gstin}" if facts.gst else "",
        "Bengaluru 560001",
        "Karnataka (29), India",
    ]:
        assert expected in lines
    read = check_tax_document(pdf, intra=True)
    # the figures themselves, from the hammer price and the rates
    assert read["Taxable value"] == D("120345.50") + D("10831.10")  # premium 10,831.095 up
    assert read["CGST at 9%"] == D("10831.10") + D("974.80")
    assert read["Total due"] == D("154788.40")
    assert words_of(lines) == (
        "Rupees One Lakh Fifty-Four Thousand Seven Hundred Eighty-Eight and Forty Paise Only"
    )


def test_the_tax_invoice_across_states_reads_back_with_igst() -> None:
    pdf = render_invoice(tax_facts(BUYER_IN_MAHARASHTRA))
    _, lines = page_lines(pdf)
    assert "Maharashtra (27)" in lines and "IGST 18%" in lines
    assert "CGST 9%" not in lines
    read = check_tax_document(pdf, intra=False)
    assert read["IGST at 18%"] == D("21662.19") + D("1949.60")
    assert read["Total due"] == D("154788.39")


amounts = st.decimals(min_value=D("1"), max_value=D("9999999999.99"), places=2)


@settings(max_examples=25, deadline=None)
@given(
    amounts,
    st.decimals(min_value=D("0"), max_value=D("25"), places=2),
    st.booleans(),
)
def test_any_tax_invoice_reads_back_adding_up(
    hammer: Decimal, premium_pct: Decimal, inter_state: bool
) -> None:
    buyer = BUYER_IN_MAHARASHTRA if inter_state else BUYER_IN_KARNATAKA
    facts = tax_facts(buyer, amount=hammer, buyers_premium_pct=premium_pct)
    read = check_tax_document(render_invoice(facts), intra=not inter_state)
    assert read["Taxable value"] == hammer + percent_of(hammer, premium_pct)


def test_the_credit_note_reads_back_crediting_the_invoice_exactly() -> None:
    invoice = tax_facts(BUYER_IN_MAHARASHTRA)
    pdf = render_credit_note(credit_note_facts(invoice))
    reader, lines = page_lines(pdf)
    assert reader.metadata is not None
    assert reader.metadata.title == "Credit note CN-000001 (cancels INV-000042)"
    assert lines[:3] == ["CREDIT NOTE", "Auction platform", "CN-000001"]
    assert "INV-000042 of 26 Nov 2026" in lines
    credited = check_tax_document(pdf, intra=False, credited=True)
    billed = check_tax_document(render_invoice(invoice), intra=False)
    assert credited["Total credited"] == billed["Total due"] == D("154788.39")
    assert credited["IGST at 18% credited"] == billed["IGST at 18%"]
    # the lines credited are the lines billed, figure for figure
    assert table(lines, 3) == table(page_lines(render_invoice(invoice))[1], 3)


def test_a_plain_credit_note_reads_back() -> None:
    pdf = render_credit_note(credit_note_facts(plain_facts()))
    _, lines = page_lines(pdf)
    rows = table(lines, 1)
    assert rows == [[D("120345.50")], [D("10831.10")], [D("131176.60")]]
    assert summary(lines) == {"Total credited": D("131176.60")}
    assert words_of(lines) == rupees_in_words(D("131176.60"))


def test_the_statement_reads_back_hammer_fee_and_net() -> None:
    pdf = render_statement(statement_facts(tax_facts()))
    reader, lines = page_lines(pdf)
    assert reader.metadata is not None
    assert reader.metadata.title == "Seller's statement for INV-000042"
    read = summary(lines)
    hammer, fee, net = (
        read["Hammer price"],
        read["Platform fee (5% of the hammer price)"],
        read["Net to the seller"],
    )
    assert (hammer, fee, net) == (D("120345.50"), D("-6017.28"), D("114328.22"))
    assert hammer + fee == net
    assert words_of(lines) == rupees_in_words(net)


def test_a_void_tax_invoice_is_stamped() -> None:
    _, lines = page_lines(render_invoice(tax_facts(voided_at=VOIDED_AT)))
    assert "VOID" in lines
    assert "VOID since 4 Dec 2026, 14:30 IST: the sale was reported unpaid" in lines


def test_the_documents_are_deterministic() -> None:
    facts = tax_facts(BUYER_IN_MAHARASHTRA)
    assert render_invoice(facts) == render_invoice(facts)
    assert render_credit_note(credit_note_facts(facts)) == render_credit_note(
        credit_note_facts(facts)
    )
    assert render_statement(statement_facts(facts)) == render_statement(statement_facts(facts))


def test_long_names_and_addresses_wrap_and_the_largest_sums_still_read_back() -> None:
    long_name = " ".join(["Carved"] * 25) + " rosewood cabinet"
    facts = tax_facts(
        BUYER_IN_MAHARASHTRA,
        item_name=long_name,
        amount=D("9999999999.99"),
        buyers_premium_pct=D("25"),
    )
    pdf = render_invoice(facts)
    _, lines = page_lines(pdf)
    assert "rosewood" in " ".join(lines)
    read = check_tax_document(pdf, intra=False)
    assert read["Total due"] == D("14749999999.99")


def test_the_plain_invoice_is_byte_for_byte_what_it_was_before_fees() -> None:
    """Invoices already issued are rebuilt when their file is lost: without a premium, the
    plain invoice's bytes must not move (this digest is that of the layout every issued invoice
    has; change it only with a reason that holds for invoices already sent)."""
    plain = replace(SAMPLE_FACTS)
    assert plain.buyers_premium_pct == 0 and plain.gst is None
    digest = hashlib.sha256(render_invoice(plain)).hexdigest()
    assert digest == "c3c338c63f3f75f769ebc51908d23d56e59bc344358c892e0a7e522bb196d2d4"


def test_a_plain_invoice_with_a_premium_reads_back_with_the_total_due() -> None:
    facts: InvoiceFacts = plain_facts()
    _, lines = page_lines(render_invoice(facts))
    assert "Buyer's premium (9% of the hammer price)" in lines
    read = {
        label: figure(value) for label, value in itertools.pairwise(lines) if _PRICE.match(value)
    }
    assert (
        read["Final price"] + read["Buyer's premium (9% of the hammer price)"]
        == (read["Total due"])
    )
    assert read["Total due"] == D("131176.60")
    assert "Amount due from the buyer: INR 1,31,176.60." in lines
