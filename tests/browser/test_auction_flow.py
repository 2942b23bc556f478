"""The SPA end to end in Chromium, against the real local stack: a seller, two buyers and an
admin, each in a browser context of their own, from creating an auction to the invoice.

The auction lasts the shortest time the contract allows (one minute), and its end comes from
the socket node's real ticker: the test waits for it rather than moving the clock."""

from __future__ import annotations

import io
import re
import uuid

import pypdf
import pytest
from playwright.sync_api import Locator, Page, Response, expect

from tests.browser.conftest import PHONE, Browsing

pytestmark = pytest.mark.browser

# A one-minute auction ends a minute after the admin starts it; the ticker then needs a moment.
AUCTION_END_TIMEOUT_MS = 60_000 + 30_000
ITEM = "Brass ship's clock"


def person(name: str) -> str:
    """A fresh email per run, so dev login makes a new user each time."""
    return f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"


def sign_in(page: Page, name: str, role: str) -> None:
    """The development sign-in form, as a person fills it in."""
    page.goto("#/login")
    page.get_by_label("Email", exact=True).fill(person(name))
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Role", exact=True).select_option(role)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(f"{name} ({role})")


def open_room(page: Page, auction_id: str) -> None:
    page.goto(f"#/auctions/{auction_id}")
    expect(page.get_by_test_id("auction-status")).to_be_visible()
    # The room only hears what happens next once the socket is up.
    expect(page.get_by_test_id("connection-status")).to_have_text("live")


def status_of(page: Page) -> Locator:
    return page.get_by_test_id("auction-status")


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no sideways scrolling)."""
    return int(
        page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            " - document.documentElement.clientWidth"
        )
    )


def expect_named_controls(container: Locator, count: int) -> None:
    """`container` shows `count` inputs, selects and textareas, each with an accessible name.

    Waited for, as every read of the page here is: `Locator.count()` does not wait, and right
    after the click that opens a form it counted 0 controls on a fresh clone's first run."""
    expect(container).to_be_visible()
    controls = container.locator("input:not([type=hidden]), select, textarea")
    expect(controls).to_have_count(count)
    for i in range(count):
        expect(controls.nth(i)).to_have_accessible_name(re.compile(r"\S"))


def create_auction(page: Page, *, start_price: str, increment: str, minutes: str) -> str:
    """Fill the create form by its labels and submit it; the new auction's id."""
    page.get_by_test_id("new-auction-link").click()
    form = page.get_by_test_id("create-form")
    form.get_by_label("Item name", exact=True).fill(ITEM)
    form.get_by_label("Description", exact=True).fill("Working, wound weekly, with its key.")
    form.get_by_label("Start price", exact=True).fill(start_price)
    form.get_by_label("Bid increment", exact=True).fill(increment)
    form.get_by_label("Duration (minutes)", exact=True).fill(minutes)
    # Left at its default (five minutes from now): the admin starts it instead.
    expect(form.get_by_label("Goes live at", exact=True)).to_have_value(
        re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")
    )
    page.get_by_test_id("create-submit").click()
    expect(page).to_have_url(re.compile(r"#/auctions/[0-9a-f-]{36}$"))
    return page.url.rsplit("/", 1)[1]


def test_seller_counters_after_the_hammer_and_the_outbidding_buyer_buys(browsing: Browsing) -> None:
    shot = browsing.shots
    seller = browsing.page("seller")
    asha = browsing.page("buyer-asha")
    ravi = browsing.page("buyer-ravi", viewport=PHONE, is_mobile=True, has_touch=True)
    admin = browsing.page("admin")

    # The seller creates a one-minute auction through the form.
    sign_in(seller, "Sima", "seller")
    auction_id = create_auction(seller, start_price="1000", increment="100", minutes="1")
    expect(status_of(seller)).to_have_attribute("data-status", "scheduled")
    expect(seller.get_by_test_id("min-next-bid")).to_have_attribute("data-amount", "1000.00")
    shot(seller, "seller-created")

    # Both buyers are in the room before it opens, so they see it go live over the socket.
    sign_in(asha, "Asha", "buyer")
    open_room(asha, auction_id)
    sign_in(ravi, "Ravi", "buyer")
    open_room(ravi, auction_id)
    open_room(seller, auction_id)
    for page in (asha, ravi):
        expect(status_of(page)).to_have_attribute("data-status", "scheduled")

    # The admin starts it now: live for its one minute.
    sign_in(admin, "Adi", "admin")
    admin.get_by_test_id("admin-link").click()
    row = admin.locator(f'[data-testid="admin-auction"][data-auction-id="{auction_id}"]')
    row.get_by_role("button", name=f"Start {ITEM} now").click()
    expect(admin.get_by_text("Auction started.")).to_be_visible()
    shot(admin, "admin-started")
    for page in (asha, ravi, seller):
        expect(status_of(page)).to_have_attribute("data-status", "live")
    countdown = asha.get_by_test_id("countdown")
    # Waited for: the countdown to the start (5 minutes, six digits) gives way to the one to
    # the end (at most a minute, five digits) as the page hears the start.
    expect(countdown).to_have_attribute("data-remaining-ms", re.compile(r"^\d{1,5}$"))
    remaining_ms = int(countdown.get_attribute("data-remaining-ms") or 0)
    assert 0 < remaining_ms <= 60_000 + 1_000, remaining_ms  # one minute, by the server's clock
    shot(asha, "asha-live")

    # Asha bids with the keyboard alone: focus the amount, type, Enter.
    amount = asha.get_by_label("Your bid", exact=True)
    expect(amount).to_have_value("1000.00")  # the first bid may be the start price
    amount.focus()
    asha.keyboard.press("ControlOrMeta+A")
    asha.keyboard.type("1000")
    asha.keyboard.press("Enter")
    expect(asha.get_by_test_id("bid-success")).to_contain_text("placed")
    for page in (asha, ravi, seller):
        expect(page.get_by_test_id("highest-bid")).to_have_attribute("data-amount", "1000.00")
    shot(asha, "asha-bid")

    # Ravi, on a phone, sees the new minimum and taps to outbid her.
    expect(ravi.get_by_test_id("min-next-bid")).to_have_attribute("data-amount", "1100.00")
    expect(ravi.get_by_label("Your bid", exact=True)).to_have_value("1100.00")
    ravi.get_by_role("button", name="Place bid").tap()
    expect(ravi.get_by_test_id("bid-success")).to_contain_text("placed")
    assert horizontal_overflow(ravi) <= 0, "the live room scrolls sideways on a 375 px phone"
    shot(ravi, "ravi-outbids-on-phone")

    # Asha hears she was outbid, without reloading.
    alert = asha.get_by_test_id("outbid-alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("1,100.00")
    expect(asha.get_by_test_id("bid-count")).to_have_text("2")
    expect(seller.get_by_test_id("highest-bid")).to_have_attribute("data-amount", "1100.00")
    shot(asha, "asha-outbid")

    # The hammer falls when the minute is up; the seller is asked to decide.
    decision = seller.get_by_test_id("decision-panel")
    expect(decision).to_be_visible(timeout=AUCTION_END_TIMEOUT_MS)
    expect(decision).to_contain_text("1,100.00")
    for page in (asha, ravi):
        expect(status_of(page)).to_have_attribute("data-status", "ended")
    expect(ravi.get_by_test_id("awaiting-decision")).to_be_visible()
    shot(seller, "seller-decides")

    # The seller counters above the highest bid.
    seller.get_by_label("Counter-offer amount", exact=True).fill("1500")
    seller.get_by_role("button", name="Send counter offer").click()
    expect(seller.get_by_text("waiting for the buyer")).to_be_visible()
    shot(seller, "seller-countered")

    # Ravi, the highest bidder, sees the counter offer arrive and accepts it.
    counter = ravi.get_by_test_id("counter-panel")
    expect(counter).to_be_visible()
    expect(counter).to_contain_text("1,500.00")
    shot(ravi, "ravi-counter-offer")
    ravi.get_by_test_id("counter-accept").tap()

    # Buyer and seller hear of the sale over their sockets.
    for page in (ravi, seller):
        expect(status_of(page)).to_have_attribute("data-status", "sold")
        expect(page.get_by_test_id("invoice-link")).to_be_visible()
    expect(ravi.get_by_test_id("sold-note")).to_contain_text("Sold to you for ₹1,500.00")
    # Asha is neither: the sale is no room event, so she sees it on her next load,
    # and the invoice is not hers to see.
    asha.reload()
    expect(status_of(asha)).to_have_attribute("data-status", "sold")
    expect(asha.get_by_test_id("sold-note")).to_contain_text("Sold for ₹1,500.00")
    expect(asha.get_by_test_id("invoice-link")).to_have_count(0)
    shot(seller, "seller-sold")
    shot(asha, "asha-sold")

    # The invoice link downloads the sale's PDF.
    def invoice_get(response: Response) -> bool:
        return response.request.method == "GET" and response.url.endswith(
            f"/api/auctions/{auction_id}/invoice"
        )

    with ravi.expect_response(invoice_get) as answer, ravi.expect_download() as download:
        ravi.get_by_test_id("invoice-link").tap()
    response = answer.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert download.value.suggested_filename == f"invoice-{auction_id}.pdf"
    saved = browsing.shots.folder / download.value.suggested_filename
    download.value.save_as(saved)
    pdf = saved.read_bytes()
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert ITEM in text
    assert "INR 1,500.00" in text
    shot(ravi, "ravi-sold-invoice")

    assert browsing.page_errors == []


def test_forms_are_labelled_keyboard_usable_and_fit_a_phone(browsing: Browsing) -> None:
    shot = browsing.shots
    seller = browsing.page("seller-phone", viewport=PHONE, is_mobile=True, has_touch=True)
    buyer = browsing.page("buyer-phone", viewport=PHONE, is_mobile=True, has_touch=True)

    sign_in(seller, "Sima", "seller")
    assert horizontal_overflow(seller) <= 0, "the auction list scrolls sideways on a phone"
    seller.get_by_test_id("new-auction-link").click()
    form = seller.get_by_test_id("create-form")
    expect_named_controls(form, 12)  # every field of the create form (+ category, delivery)
    assert horizontal_overflow(seller) <= 0, "the create form scrolls sideways on a phone"
    shot(seller, "create-form-phone")

    # Refused input comes back next to its field, also by name.
    seller.get_by_test_id("create-submit").click()
    expect(seller.get_by_test_id("create-error")).to_be_visible()
    expect(form.get_by_label("Item name", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Item name", exact=True)).to_have_accessible_description(
        re.compile(r"\S")
    )
    shot(seller, "create-form-errors-phone")

    # The whole form by keyboard: type into each field, Enter submits.
    for label, value in (
        ("Item name", ITEM),
        ("Start price", "500"),
        ("Bid increment", "50"),
        ("Duration (minutes)", "30"),
    ):
        field = form.get_by_label(label, exact=True)
        field.focus()
        seller.keyboard.press("ControlOrMeta+A")
        seller.keyboard.type(value)
    seller.keyboard.press("Enter")
    expect(seller).to_have_url(re.compile(r"#/auctions/[0-9a-f-]{36}$"))
    auction_id = seller.url.rsplit("/", 1)[1]

    sign_in(buyer, "Ravi", "buyer")
    open_room(buyer, auction_id)
    bid_box = buyer.locator("form.bid-form")
    expect_named_controls(bid_box, 2)  # the amount and the proxy toggle
    expect(buyer.get_by_label("Your bid", exact=True)).to_have_value("500.00")
    buyer.get_by_label("Proxy bid", exact=False).check()
    expect(buyer.get_by_label("Your maximum", exact=True)).to_be_visible()
    assert horizontal_overflow(buyer) <= 0, "the room scrolls sideways on a phone"
    shot(buyer, "room-phone")

    assert browsing.page_errors == []
