"""Fees and tax invoices wired into every sale: the buyer's premium on the invoice, the
platform fee on the seller's statement, a GST tax invoice when the seller has a GSTIN (its
place of supply where the goods go, so for an item that ships it is issued at payment, with
the delivery address), a credit note of its own gap-free series when a sale is voided. Every
PDF is read back with pypdf and its figures added up again, to the paisa."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from chalice.test import Client
from sqlalchemy import select

from shared.adapters.orm import Invoice, SellerProfileRow
from shared.domain.money import rupees_in_words
from shared.services import deadlines
from shared.services.context import Context
from shared.settings import REPO_ROOT
from tests.adapters.test_tax_documents_pdf import check_tax_document, page_lines, summary
from tests.support.actors import Actor, Bidder, Seller
from tests.support.after_sale import hammer, move_deadline, run_jobs, soon, windows
from tests.support.gst_samples import gstin_for
from tests.support.harness import Person, live_auction, person
from tests.support.market import (
    ALSO_KARNATAKA,
    MAHARASHTRA,
    SELLER_GSTIN,
    document,
    fees,
    paid,
    pay,
    pdf_of,
    sold,
    start_selling,
    text_of,
)
from tests.support.sendgrid_sink import SendGridSink

D = Decimal
BUYER_GSTIN = str(gstin_for("27", pan="AABCR1234F"))  # a company in Maharashtra


@pytest.fixture
def sita(ctx: Context) -> Person:
    return person(ctx, "buyer", "Sita Rao")


@pytest.fixture
def asha(ctx: Context) -> Person:
    return person(ctx, "buyer", "Asha Kumar")


def invoice_row(ctx: Context, auction_id: uuid.UUID) -> Invoice:
    with ctx.db.session() as session:
        row = session.scalars(
            select(Invoice).where(Invoice.auction_id == auction_id).order_by(Invoice.number)
        ).all()[-1]
        session.expunge(row)
        return row


def test_a_plain_sale_charges_the_premium_and_the_statement_deducts_the_fee(
    ctx: Context, client: Client, sita: Person, asha: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    fees(ctx, monkeypatch, buyers_premium="10", platform_fee="5")
    start_selling(client, sita)
    auction = sold(
        ctx, client, sita, asha, "10000.00", shipping_method="ship", shipping_cost=D("250")
    )
    seen = Actor(client, asha).auction(auction)
    assert seen["payment"]["totalDue"] == "11250.00"
    assert seen["shipping"] == {"method": "ship", "cost": "250.00"}

    first = pdf_of(client, asha, auction)
    _, lines = page_lines(first)
    read = summary(lines)
    assert read == {
        "Final price": D("10000.00"),
        "Buyer's premium (10% of the hammer price)": D("1000.00"),
        "Shipping": D("250.00"),
        "Total due": D("11250.00"),
    }
    assert "Sita Antiques <" in text_of(first)  # the name the seller sells under

    statement = pdf_of(client, sita, auction, "statement")
    _, lines = page_lines(statement)
    assert summary(lines) == {
        "Hammer price": D("10000.00"),
        "Shipping charged to the buyer": D("250.00"),
        "Platform fee (5% of the hammer price)": D("-500.00"),
        "Net to the seller": D("9750.00"),
    }
    assert rupees_in_words(D("9750.00")) in " ".join(lines)
    refused = document(client, asha, auction, "statement")  # the seller's, not the buyer's
    assert (refused.status_code, refused.json_body["code"]) == (403, "forbidden")

    # Copies taken at the sale: a later change of the fees or the profile, and a lost file,
    # rebuild the very same bytes.
    fees(ctx, monkeypatch, buyers_premium="20", platform_fee="9")
    start_selling(client, sita, displayName="Someone Else")
    row = invoice_row(ctx, auction)
    assert (row.buyers_premium_pct, row.platform_fee_pct, row.seller_name) == (
        D("10.00"),
        D("5.00"),
        "Sita Antiques",
    )
    assert row.storage_key is not None
    (REPO_ROOT / Path(row.storage_key)).unlink()
    assert pdf_of(client, asha, auction) == first
    assert pdf_of(client, sita, auction, "statement") == statement


def test_a_registered_sellers_shipped_sale_is_taxed_where_the_goods_go(
    ctx: Context,
    client: Client,
    sita: Person,
    asha: Person,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fees(ctx, monkeypatch, buyers_premium="10", platform_fee="5", gst_rate="18")
    start_selling(client, sita, gstin=SELLER_GSTIN)
    auction = sold(
        ctx,
        client,
        sita,
        asha,
        "10000.00",
        category="vintage-watches",
        shipping_method="ship",
        shipping_cost=D("250"),
    )
    # Not issued before the buyer says where the goods go.
    for who, kind in ((asha, "invoice"), (sita, "invoice"), (sita, "statement")):
        early = document(client, who, auction, kind)
        assert (early.status_code, early.json_body["code"]) == (409, "invoice_not_issued")
    assert "totalDue" not in Actor(client, asha).auction(auction)["payment"]
    run_jobs(ctx)
    (confirmation,) = sink.to(asha.principal.email)
    assert confirmation.attachments == []
    assert "issued when you pay" in confirmation.text

    # An item that ships needs the address; a refusal changes nothing.
    missing = pay(client, asha, auction)
    assert (missing.status_code, missing.json_body["errors"][0]["field"]) == (422, "address")
    no_pin = pay(
        client, asha, auction, address={k: v for k, v in MAHARASHTRA.items() if k != "postalCode"}
    )
    assert no_pin.status_code == 422
    assert Actor(client, asha).auction(auction)["payment"]["status"] == "pending"

    answer = paid(client, asha, auction, address=MAHARASHTRA, gstin=BUYER_GSTIN)
    assert answer["payment"]["status"] == "paid"
    assert answer["delivery"]["address"]["stateCode"] == "27"
    invoice = pdf_of(client, asha, auction)
    _, lines = page_lines(invoice)
    assert lines[0] == "TAX INVOICE"
    for expected in (
        "Maharashtra (27)",
        "IGST 18%",
        "9102",
        f"GSTIN {SELLER_GSTIN}",
        f"GSTIN {BUYER_GSTIN}",
    ):
        assert expected in lines, expected
    read = check_tax_document(invoice, intra=False)
    assert read["Taxable value"] == D("11250.00")  # hammer, premium, shipping
    assert read["IGST at 18%"] == D("1800.00") + D("180.00") + D("45.00")
    assert read["Total due"] == D("13275.00")
    assert Actor(client, asha).auction(auction)["payment"]["totalDue"] == "13275.00"

    # Both sides get the tax invoice by email; the seller with the statement.
    run_jobs(ctx)
    issued = [m for m in sink.messages if (m.job_id or "").startswith("email:tax_invoice:")]
    assert sorted(m.to[0] for m in issued) == sorted([asha.principal.email, sita.principal.email])
    for message in issued:
        assert message.attachments[0].content == invoice
        if message.to[0] == sita.principal.email:
            _, lines = page_lines(message.attachments[1].content)
            read = summary(lines)
            assert read["Net to the seller"] == D("9750.00")
    marked = [m for m in sink.to(sita.principal.email) if "marked" in m.subject]
    assert "4 Marine Drive" in marked[0].text  # where to ship


def test_within_the_sellers_state_and_for_a_pickup_the_tax_invoice_is_issued_at_the_sale(
    ctx: Context,
    client: Client,
    sita: Person,
    asha: Person,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fees(ctx, monkeypatch, buyers_premium="12.5", gst_rate="18")
    start_selling(client, sita, gstin=SELLER_GSTIN)
    auction = sold(
        ctx, client, sita, asha, "12345.67", shipping_method="pickup", pickup_city="Bengaluru"
    )
    run_jobs(ctx)
    (confirmation,) = sink.to(asha.principal.email)
    invoice = pdf_of(client, asha, auction)
    assert confirmation.attachments[0].content == invoice
    _, lines = page_lines(invoice)
    assert "Karnataka (29)" in lines and "CGST 9%" in lines
    read = check_tax_document(invoice, intra=True)
    assert read["Taxable value"] == D("12345.67") + D("1543.21")  # 1,543.20875 rounds up
    # An invoice issued keeps what it said: the address given at payment goes on the sale,
    # and a lost file is rebuilt the same.
    answer = paid(client, asha, auction, address=ALSO_KARNATAKA)
    assert answer["delivery"]["address"]["line1"] == "3 Church Street"
    row = invoice_row(ctx, auction)
    assert (row.recipient_address, row.delivery_state) == (None, None)
    assert row.storage_key is not None
    (REPO_ROOT / Path(row.storage_key)).unlink()
    assert pdf_of(client, asha, auction) == invoice


def _counter(ctx: Context, client: Client, seller: Person, buyer: Person) -> uuid.UUID:
    auction = live_auction(ctx, seller)
    Bidder(client, buyer).placed(auction, "9000.00")
    hammer(ctx, auction)
    Seller(client, seller).decided(auction, action="counter", amount="10000.00")
    counter = Actor(client, buyer).auction(auction)["counterOffer"]["id"]
    assert Bidder(client, buyer).answer_counter(counter, "accept").status_code == 200
    return auction


def _buy_now(ctx: Context, client: Client, seller: Person, buyer: Person) -> uuid.UUID:
    auction = live_auction(ctx, seller, buy_now="10000.00")
    Bidder(client, buyer).placed(auction, "10000.00")
    return auction


def _second_chance(ctx: Context, client: Client, seller: Person, buyer: Person) -> uuid.UUID:
    auction = live_auction(ctx, seller)
    Bidder(client, buyer).placed(auction, "10000.00")
    Bidder(client, person(ctx, "buyer")).placed(auction, "12000.00")
    hammer(ctx, auction)
    Seller(client, seller).decided(auction, action="reject")
    made = Actor(client, seller).post(f"/api/auctions/{auction}/offers", {"bidderId": buyer.id})
    offer = made.json_body["id"]
    accepted = Actor(client, buyer).post(f"/api/offers/{offer}/response", {"action": "accept"})
    assert accepted.status_code == 200, accepted.body
    return auction


def _by_default(ctx: Context, client: Client, seller: Person, buyer: Person) -> uuid.UUID:
    auction = live_auction(ctx, seller)
    Bidder(client, buyer).placed(auction, "10000.00")
    hammer(ctx, auction)
    move_deadline(ctx, auction, soon(-10), decision=True)
    assert deadlines.decision_deadline(ctx, auction)
    return auction


@pytest.mark.parametrize(
    "how",
    [
        lambda ctx, client, s, b: sold(ctx, client, s, b, "10000.00"),
        _counter,
        _buy_now,
        _second_chance,
        _by_default,
    ],
    ids=["accept", "counter", "buy_now", "second_chance", "default_accept"],
)
def test_every_way_to_sell_takes_the_fees(
    ctx: Context,
    client: Client,
    sita: Person,
    asha: Person,
    monkeypatch: pytest.MonkeyPatch,
    how: object,
) -> None:
    fees(ctx, monkeypatch, buyers_premium="10", platform_fee="5")
    windows(ctx, monkeypatch, decision_default="accept")
    start_selling(client, sita)
    auction = how(ctx, client, sita, asha)  # type: ignore[operator]
    row = invoice_row(ctx, auction)
    assert (row.amount, row.buyers_premium_pct, row.platform_fee_pct) == (
        D("10000.00"),
        D("10.00"),
        D("5.00"),
    )
    assert (row.total_due, row.issued_at is not None) == (D("11000.00"), True)
    read = summary(page_lines(pdf_of(client, asha, auction))[1])
    assert read["Total due"] == D("11000.00")
    net = summary(page_lines(pdf_of(client, sita, auction, "statement"))[1])["Net to the seller"]
    assert net == D("9500.00")


def test_a_void_sale_keeps_its_invoice_and_gets_a_credit_note_of_its_own_series(
    ctx: Context,
    client: Client,
    sita: Person,
    asha: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fees(ctx, monkeypatch, buyers_premium="10", gst_rate="18")
    windows(ctx, monkeypatch, payment_window_secs=3600)
    start_selling(client, sita, gstin=SELLER_GSTIN)
    picked = sold(ctx, client, sita, asha, "10000.00", shipping_method="pickup")
    shipped = sold(ctx, client, sita, asha, "20000.00", shipping_method="ship")
    before = pdf_of(client, asha, picked)
    assert document(client, asha, picked, "credit-note").status_code == 404

    for auction in (picked, shipped):
        move_deadline(ctx, auction, soon(-10), payment=True)
        voided = pay(client, sita, auction, "report_unpaid")
        assert voided.status_code == 200, voided.body
        assert voided.json_body["closeReason"] == "unpaid"

    # The invoice stays as issued; the credit notes are CN-000001 and CN-000002.
    assert pdf_of(client, asha, picked) == before
    credit = pdf_of(client, asha, picked, "credit-note")
    _, lines = page_lines(credit)
    assert lines[:3] == ["CREDIT NOTE", "Auction platform", "CN-000001"]
    credited = check_tax_document(credit, intra=True, credited=True)
    billed = check_tax_document(before, intra=True)
    assert credited["Total credited"] == billed["Total due"] == D("12980.00")

    # A tax invoice still waiting for its address is issued at the void (supplied in the
    # seller's state), so every number has its document, and is credited in full.
    issued = pdf_of(client, sita, shipped)
    assert "Address not given" in text_of(issued)
    second = pdf_of(client, sita, shipped, "credit-note")
    assert "CN-000002" in page_lines(second)[1]
    assert (
        check_tax_document(second, intra=True, credited=True)["Total credited"]
        == (check_tax_document(issued, intra=True)["Total due"])
    )


def test_a_seller_without_a_profile_sells_on_plain_invoices_as_before(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    auction = sold(ctx, client, seller, buyer, "500.00")
    read = summary(page_lines(pdf_of(client, buyer, auction))[1])
    assert read == {"Final price": D("500.00")}  # no premium, no fee: the old invoice
    with ctx.db.session() as session:
        assert session.get(SellerProfileRow, uuid.UUID(seller.id)) is None
    row = invoice_row(ctx, auction)
    assert (row.seller_name, row.gst_rate_pct, row.total_due) == (
        seller.principal.name,
        None,
        D("500.00"),
    )
