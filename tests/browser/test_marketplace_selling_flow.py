"""The open marketplace in Chromium, as a new user meets it in production: Supabase sign-in
through the real supabase-js (the local stand-in), APP_ENV=production, emails through the real
sendgrid client into the SendGrid sink, fees on (a 10 % buyer's premium, a 5 % platform fee).

A person signs up, starts selling (a GSTIN in Karnataka), lists an item that ships; a buyer
wins it, pays with a Maharashtra address (so the tax invoice, issued then, charges IGST), the
seller ships, the buyer marks it received, opens a dispute, the seller replies, an admin
refunds it from the admin's disputes page. Both sides' emails and the PDFs (downloaded in the
browser, and attached to the emails) are read back to the paisa.

Only the hammer is brought down directly (the clock runs out in the record; the stack's own
ticker ends the auction): everything else goes through the web app."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from infra.embedded import free_port
from tests.adapters.test_tax_documents_pdf import check_tax_document, page_lines, summary
from tests.browser.conftest import PHONE, Browsing, LoggedStack, origins, start_stack
from tests.support.gst_samples import gstin_for
from tests.support.harness import SuiteServices, clock_runs_out
from tests.support.sendgrid_sink import SendGridSink, SentMessage
from tests.support.supabase_auth import SupabaseAuthStandIn

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
GSTIN = str(gstin_for("29"))
CATEGORY = "antique-marine-chronometers-and-sextants"  # 40 characters: the longest there is
D = Decimal


@dataclass
class MarketStack:
    stack: LoggedStack
    auth: SupabaseAuthStandIn
    sink: SendGridSink


@pytest.fixture(scope="module")
def market_stack(services: SuiteServices, artifacts: Path) -> Iterator[MarketStack]:
    socket_port = free_port()
    auth = SupabaseAuthStandIn(
        allowed_origins=tuple(origins(socket_port)),
        site_url=f"http://127.0.0.1:{socket_port}/",
    )
    sink = SendGridSink()
    stack = start_stack(
        services,
        "market",
        {
            "APP_ENV": "production",
            "LEDGER_SIGNING_KEY": "MjIIOIbn7CI+n4fiwvBVqWXr2c+NGyb0jPq78XvTGOw=",  # (a test key)
            "SUPABASE_URL": auth.url,
            "SUPABASE_ANON_KEY": auth.anon_key,
            "SUPABASE_JWKS_URL": auth.jwks_url,
            "JWT_ISSUER": auth.issuer,
            "SENDGRID_API_KEY": sink.api_key,
            "SENDGRID_API_HOST": sink.url,
            "BUYERS_PREMIUM_PCT": "10",
            "PLATFORM_FEE_PCT": "5",
            "GST_RATE_PCT": "18",
        },
        socket_port=socket_port,
    )
    try:
        yield MarketStack(stack, auth, sink)
    finally:
        stack.stop()
        stack.close_logs()
        auth.close()
        sink.close()


@pytest.fixture(scope="module")
def stack(market_stack: MarketStack) -> LoggedStack:
    return market_stack.stack


def email(name: str) -> str:
    return f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"


def sign_up(page: Page, name: str) -> str:
    address = email(name)
    page.goto("#/login")
    page.get_by_test_id("auth-mode-signup").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("current-user")).to_have_text(f"{name} (buyer)")
    return address


def sign_in(page: Page, address: str, name: str) -> None:
    page.goto("#/login")
    page.get_by_test_id("auth-mode-signin").click()
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(name)


def download(page: Page, test_id: str) -> bytes:
    with page.expect_download() as got:
        page.get_by_test_id(test_id).click()
    path = got.value.path()
    assert path is not None
    return Path(path).read_bytes()


def mails(sink: SendGridSink, address: str, template: str, count: int = 1) -> list[SentMessage]:
    """The emails of `template` to `address`, once the stack's job worker has sent `count`."""
    deadline = time.monotonic() + 30
    while True:
        found = [m for m in sink.to(address) if (m.job_id or "").startswith(f"email:{template}:")]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, (template, [m.job_id for m in sink.to(address)])
            return found
        time.sleep(0.25)


def test_sign_up_sell_ship_receive_and_a_dispute_refunded(
    market_stack: MarketStack, browsing: Browsing
) -> None:
    from chalicelib import runtime

    stack, auth, sink, shot = (
        market_stack.stack,
        market_stack.auth,
        market_stack.sink,
        browsing.shots,
    )
    sink.reset()
    admin_address = email("Adi")
    auth.create_user(admin_address, PASSWORD, name="Adi Admin", role="admin")

    # Sita signs up: a buyer. The New auction page sends her to start selling.
    seller = browsing.page("sita")
    sita = sign_up(seller, "Sita Rao")
    seller.goto("#/new")
    expect(seller.get_by_test_id("start-selling-first")).to_be_visible()
    expect(seller.get_by_text("Only sellers and admins")).to_have_count(0)
    seller.get_by_test_id("start-selling-link").click()
    seller.get_by_label("Name buyers see").fill("Sita Antiques")
    seller.get_by_label("Phone").fill("+91 98450 12345")
    seller.get_by_label("Address", exact=True).fill("12 MG Road")
    seller.get_by_label("City").fill("Bengaluru")
    seller.get_by_label("State").fill("Karnataka")
    seller.get_by_label("PIN code").fill("560001")
    seller.get_by_label("GSTIN (optional)").fill(GSTIN[:-1] + ("0" if GSTIN[-1] != "0" else "1"))
    seller.get_by_test_id("sell-submit").click()
    # Every problem named at once, each beside its field: the phone's E.164 form, the
    # GSTIN's check character, the terms.
    expect(seller.get_by_test_id("sell-error-phone")).to_contain_text("+919845012345")
    expect(seller.get_by_test_id("sell-error-gstin")).to_contain_text("does not add up")
    expect(seller.get_by_text("must be true")).to_be_visible()
    shot(seller, "start-selling-refused")
    seller.get_by_label("Phone").fill("+919845012345")
    seller.get_by_label("GSTIN (optional)").fill(GSTIN)
    seller.get_by_test_id("sell-accept-terms").check()
    seller.get_by_test_id("sell-submit").click()
    expect(seller.get_by_test_id("current-user")).to_have_text("Sita Rao (seller)")
    expect(seller.get_by_test_id("create-form")).to_be_visible()

    # She lists a chronometer that ships for ₹250.
    seller.get_by_test_id("create-itemName").fill("Brass marine chronometer")
    seller.get_by_test_id("create-startPrice").fill("5000")
    seller.get_by_test_id("create-bidIncrement").fill("500")
    seller.get_by_test_id("create-category").fill(CATEGORY)
    seller.get_by_test_id("create-shippingMethod").select_option("ship")
    seller.get_by_test_id("create-shippingCost").fill("250")
    shot(seller, "new-auction-with-shipping")
    seller.get_by_test_id("create-submit").click()
    expect(seller.get_by_test_id("room-shipping")).to_have_text("Ships · ₹250.00")
    auction_id = seller.url.rsplit("/", 1)[-1]
    admin_api = httpx.Client(base_url=stack.api_url, timeout=15)
    token = auth.sign_in(admin_address, PASSWORD)["access_token"]
    started = admin_api.post(
        f"/api/admin/auctions/{auction_id}/start", headers={"Authorization": f"Bearer {token}"}
    )
    assert started.status_code == 200, started.text
    expect(seller.get_by_test_id("auction-status")).to_have_attribute("data-status", "live")

    # A buyer on a phone sees the card: its shipping, and the long category wrapped inside it.
    buyer = browsing.page("ravi", viewport=PHONE)
    ravi = sign_up(buyer, "Ravi Kumar")
    buyer.goto("#/")
    card = buyer.locator(f'[data-testid="auction-card"][data-auction-id="{auction_id}"]')
    expect(card.get_by_test_id("card-shipping")).to_have_text("Ships · ₹250.00")
    chip = card.locator(".chip-static")
    expect(chip).to_have_text(CATEGORY)
    box, card_box = chip.bounding_box(), card.bounding_box()
    assert box is not None and card_box is not None
    assert box["x"] + box["width"] <= card_box["x"] + card_box["width"] <= PHONE["width"], box
    shot(buyer, "phone-card-with-long-category")

    # Ravi wins it.
    buyer.goto(f"#/auctions/{auction_id}")
    expect(buyer.get_by_test_id("connection-status")).to_have_text("live")
    buyer.get_by_test_id("bid-input").fill("10000")
    buyer.get_by_test_id("bid-submit").click()
    expect(buyer.get_by_test_id("highest-bid")).to_have_attribute("data-amount", "10000.00")
    expect(seller.get_by_test_id("watchers")).to_contain_text("0 people watch it")
    clock_runs_out(runtime.context(), uuid.UUID(auction_id))  # the stack's ticker ends it
    expect(seller.get_by_test_id("decision-accept")).to_be_visible(timeout=30_000)
    seller.get_by_test_id("decision-accept").click()
    expect(buyer.get_by_test_id("sold-note")).to_contain_text("Sold to you for ₹10,000.00")

    # The tax invoice waits for the address; Ravi pays and gives it (Maharashtra: IGST).
    expect(buyer.get_by_test_id("payment-total")).to_have_count(0)
    buyer.get_by_test_id("payment-mark-paid").click()
    buyer.get_by_test_id("pay-line1").fill("4 Marine Drive")
    buyer.get_by_test_id("pay-city").fill("Mumbai")
    buyer.get_by_test_id("pay-state").fill("Maharashtra")
    buyer.get_by_test_id("pay-submit").click()
    expect(buyer.get_by_test_id("payment-error")).to_contain_text("PIN code")  # forgotten
    expect(buyer.get_by_test_id("payment-status")).to_have_attribute("data-status", "pending")
    buyer.get_by_test_id("pay-postalCode").fill("400020")
    buyer.get_by_test_id("pay-submit").click()
    expect(buyer.get_by_test_id("payment-status")).to_have_attribute("data-status", "paid")
    expect(buyer.get_by_test_id("payment-total")).to_have_attribute("data-amount", "13275.00")
    shot(buyer, "paid-with-address")
    invoice = download(buyer, "invoice-link")
    _, lines = page_lines(invoice)
    assert lines[0] == "TAX INVOICE" and "Maharashtra (27)" in lines and "IGST 18%" in lines
    read = check_tax_document(invoice, intra=False)
    assert (read["Taxable value"], read["Total due"]) == (D("11250.00"), D("13275.00"))

    # Sita ships to it, within the window; Ravi receives it.
    expect(seller.get_by_test_id("delivery-address")).to_contain_text("4 Marine Drive")
    expect(seller.get_by_test_id("ship-by")).to_contain_text("4d 23:")
    statement = download(seller, "statement-link")
    assert summary(page_lines(statement)[1])["Net to the seller"] == D("9750.00")
    seller.get_by_test_id("ship-carrier").fill("India Post")
    seller.get_by_test_id("ship-tracking").fill("EE123456789IN")
    seller.get_by_test_id("ship-submit").click()
    expect(seller.get_by_test_id("shipment")).to_have_attribute("data-tracking", "EE123456789IN")
    expect(buyer.get_by_test_id("shipment")).to_contain_text("India Post")
    shot(buyer, "shipped")
    buyer.get_by_test_id("mark-received").click()
    expect(buyer.get_by_test_id("received")).to_be_visible()
    expect(seller.get_by_test_id("received")).to_be_visible()

    # Not as described: a dispute, the seller's reply, an admin's refund.
    buyer.get_by_test_id("dispute-open").click()
    buyer.get_by_test_id("dispute-reason").select_option("not_as_described")
    buyer.get_by_test_id("dispute-detail").fill("The dial is cracked; the photos hid it.")
    buyer.get_by_test_id("dispute-submit").click()
    expect(buyer.get_by_test_id("dispute-panel")).to_have_attribute("data-status", "open")
    expect(seller.get_by_test_id("dispute-panel")).to_contain_text("The dial is cracked")
    seller.get_by_test_id("dispute-message").fill("It left here intact; see the photos.")
    seller.get_by_test_id("dispute-reply").click()
    expect(buyer.get_by_test_id("dispute-replies")).to_contain_text("It left here intact")
    admin = browsing.page("admin")
    sign_in(admin, admin_address, "Adi Admin")
    admin.goto("#/admin/disputes")
    row = admin.locator(f'[data-testid="admin-dispute"][data-auction-id="{auction_id}"]')
    expect(row).to_contain_text("It left here intact")
    row.get_by_test_id("resolve-outcome").select_option("refund")
    row.get_by_test_id("resolve-note").fill("The courier's photos show the crack on arrival.")
    shot(admin, "admin-disputes")
    row.get_by_test_id("resolve-submit").click()
    expect(admin.get_by_test_id("admin-dispute")).to_have_count(0)  # none open now
    expect(buyer.get_by_test_id("dispute-outcome")).to_have_attribute("data-outcome", "refund")
    expect(buyer.get_by_test_id("close-reason")).to_have_attribute("data-reason", "refunded")
    credit = download(buyer, "credit-note-link")
    _, lines = page_lines(credit)
    assert lines[:3] == ["CREDIT NOTE", "Auction platform", "CN-000001"]
    assert check_tax_document(credit, intra=False, credited=True)["Total credited"] == D("13275.00")
    shot(buyer, "refunded")

    # Both sides' emails, each step; the documents attached are the ones downloaded.
    for address in (sita, ravi):
        (confirmation,) = mails(sink, address, "sale")
        assert "issued when" in confirmation.text and confirmation.attachments == []
        (issued,) = mails(sink, address, "tax_invoice")
        assert issued.attachments[0].content == invoice
        for template in ("dispute_opened", "dispute_replied", "dispute_resolved"):
            mails(sink, address, template)
        (resolved,) = mails(sink, address, "dispute_resolved")
        assert resolved.attachments[0].content == credit
        assert "refunded ₹13,275.00" in resolved.text
    (seller_invoice,) = mails(sink, sita, "tax_invoice")
    assert seller_invoice.attachments[1].content == statement
    (shipped,) = mails(sink, ravi, "shipped")
    assert "EE123456789IN" in shipped.text
    (received,) = mails(sink, sita, "received")
    assert "Ravi Kumar marked" in received.text
    (paid,) = mails(sink, sita, "payment_marked")
    assert "4 Marine Drive" in paid.text
    assert sink.duplicates() == []
    assert browsing.page_errors == []
