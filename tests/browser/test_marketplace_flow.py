"""The marketplace in Chromium against the real stack: a seller adds a photo, a buyer finds the
auction by a word, watches it, sees it in the watchlist and, after bidding, in "my bids"; the
seller calls off another auction and a watcher's open room shows it cancelled, live."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, Browsing, LoggedStack
from tests.browser.test_auction_flow import open_room
from tests.marketplace import images

pytestmark = pytest.mark.browser
WORD = f"gramophone{uuid.uuid4().hex[:6]}"  # a word no other auction of this run has


def sign_in(page: Page, name: str, role: str) -> None:
    """Development sign-in with a full name (the email is made from its first word)."""
    page.goto("#/login")
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Role", exact=True).select_option(role)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(f"{name} ({role})")


def create(page: Page, name: str, description: str, category: str) -> str:
    page.get_by_test_id("new-auction-link").click()
    form = page.get_by_test_id("create-form")
    form.get_by_label("Item name", exact=True).fill(name)
    form.get_by_label("Description", exact=True).fill(description)
    form.get_by_label("Start price", exact=True).fill("500")
    form.get_by_label("Bid increment", exact=True).fill("50")
    form.get_by_label("Duration (minutes)", exact=True).fill("30")
    form.get_by_label("Category", exact=True).fill(category)
    page.get_by_test_id("create-submit").click()
    expect(page).to_have_url(re.compile(r"#/auctions/[0-9a-f-]{36}$"))
    return page.url.rsplit("/", 1)[1]


def admin_starts(stack: LoggedStack, auction_id: str) -> None:
    token = httpx.post(
        f"{stack.api_url}/api/dev/login",
        json={"email": f"admin-{uuid.uuid4().hex[:6]}@example.com", "name": "Adi", "role": "admin"},
        timeout=10,
    ).json()["token"]
    response = httpx.post(
        f"{stack.api_url}/api/admin/auctions/{auction_id}/start",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_photo_search_watch_bid_and_a_live_cancel(
    browsing: Browsing, web_stack: LoggedStack, tmp_path: Path
) -> None:
    shot = browsing.shots
    seller = browsing.page("seller")
    buyer = browsing.page("buyer", viewport=PHONE, is_mobile=True, has_touch=True)

    sign_in(seller, "Sima Rao", "seller")
    lot = create(seller, f"Wind-up {WORD}", "Plays 78s, with a brass horn.", "music")
    photo = tmp_path / "gramophone.jpg"
    photo.write_bytes(images.jpeg(1200, 900, orientation=6))
    seller.get_by_test_id("photo-input").set_input_files(str(photo))
    gallery_photo = seller.get_by_test_id("gallery-photo").first
    expect(gallery_photo).to_be_visible()
    # Visible is not loaded: waited for until the picture is decoded (a read once raced it).
    seller.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=gallery_photo.element_handle()
    )
    shot(seller, "seller-added-a-photo")
    other = create(seller, "Cuckoo clock", "Black Forest, 1920s.", "clocks")

    # The buyer finds the gramophone by a word, on a phone: the card shows the thumbnail.
    sign_in(buyer, "Ravi Kumar", "buyer")
    buyer.goto("#/")
    buyer.get_by_test_id("search-input").fill(WORD)
    buyer.get_by_test_id("search-submit").tap()
    expect(buyer).to_have_url(re.compile(rf"q={WORD}"))
    card = buyer.locator(f'[data-testid="auction-card"][data-auction-id="{lot}"]')
    expect(card).to_be_visible()
    expect(buyer.get_by_test_id("auction-card")).to_have_count(1)
    thumb = card.get_by_test_id("card-photo")
    expect(thumb).to_be_visible()
    # currentSrc is empty until the browser has picked a source: waited for, then read.
    buyer.wait_for_function("(img) => img.currentSrc !== ''", arg=thumb.element_handle())
    chosen = buyer.evaluate("(img) => img.currentSrc", thumb.element_handle())
    assert "_thumb.webp" in chosen, chosen  # the 400 px thumbnail, not the full picture
    shot(buyer, "buyer-found-it")

    # Shared as a link, the search opens the same list.
    shared = browsing.page("friend")
    shared.goto(f"#/?q={WORD}")
    expect(shared.get_by_test_id("auction-card")).to_have_count(1)

    card.click()
    buyer.get_by_test_id("watch-button").tap()
    expect(buyer.get_by_test_id("watch-button")).to_have_attribute("aria-pressed", "true")
    buyer.goto("#/me/watchlist")
    expect(buyer.locator(f'[data-testid="auction-card"][data-auction-id="{lot}"]')).to_be_visible()

    # Live now: the buyer bids, and "my bids" has it, leading.
    admin_starts(web_stack, lot)
    open_room(buyer, lot)
    expect(buyer.get_by_test_id("auction-status")).to_have_attribute("data-status", "live")
    buyer.get_by_label("Your bid", exact=True).fill("500")
    buyer.get_by_test_id("bid-submit").tap()
    expect(buyer.get_by_test_id("bid-success")).to_contain_text("placed")
    expect(buyer.get_by_test_id("bid-feed")).to_contain_text("You")
    onlooker = browsing.page("onlooker")  # anyone sees the bidder's public name, not an email
    open_room(onlooker, lot)
    expect(onlooker.get_by_test_id("bid-feed")).to_contain_text("Ravi K.")
    buyer.goto("#/me/bids")
    row = buyer.locator(f'[data-testid="my-bid"][data-auction-id="{lot}"]')
    expect(row).to_have_attribute("data-state", "leading")
    shot(buyer, "my-bids")

    # The buyer watches the other auction with its room open; the seller cancels it.
    open_room(buyer, other)
    buyer.get_by_test_id("watch-button").tap()
    expect(buyer.get_by_test_id("watch-button")).to_have_attribute("aria-pressed", "true")
    seller.goto(f"#/auctions/{other}")
    seller.get_by_test_id("cancel-auction").click()
    seller.get_by_test_id("cancel-reason").fill("The clock stopped working.")
    seller.get_by_test_id("cancel-confirm").click()
    expect(seller.get_by_test_id("auction-status")).to_have_attribute("data-status", "cancelled")
    expect(buyer.get_by_test_id("auction-status")).to_have_attribute("data-status", "cancelled")
    expect(buyer.get_by_test_id("room-notice")).to_contain_text("The clock stopped working.")
    shot(buyer, "watcher-sees-it-cancelled")
    # The bell has it too, and "mark all read" clears it.
    expect(buyer.get_by_test_id("notification-count")).not_to_have_text("0")
    buyer.get_by_test_id("notification-bell").tap()
    buyer.get_by_test_id("notification-read-all").tap()
    expect(buyer.get_by_test_id("notification-count")).to_have_text("0")
    assert browsing.page_errors == []
