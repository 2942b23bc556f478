"""After the hammer in Chromium, against the real local stack: the seller sees the
decision deadline count down, rejects, and offers the item to another bidder from the
second-chance panel; that bidder sees the offer's expiry and buys; a watcher sees the outcome
live; both parties press the payment buttons; an admin suspends a user from the users page,
whose next bid is refused, and finds it in the audit log.

The state before the hammer is made directly (bids through the bid script, the end transition
as a ticker runs it); everything after it goes through the web app."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from shared.adapters.tokens import Verifier
from shared.domain.principal import Principal
from shared.services import bidding, users
from shared.services.context import Context
from shared.settings import get_settings
from tests.browser.conftest import Browsing
from tests.support.after_sale import hammer
from tests.support.harness import Person, live_auction

pytestmark = pytest.mark.browser


def someone(ctx: Context, name: str, role: str) -> Person:
    """A user whose email the sign-in form accepts (the dev login gives them the same id)."""
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:8]}@example.com"
    verifier = Verifier(get_settings())
    token = verifier.mint_dev_token(email, name, role)
    principal: Principal = verifier.verify(token)
    users.ensure_user(ctx, principal)
    return Person(principal, token)


def sign_in(page: Page, who: Person) -> None:
    page.goto("#/login")
    page.get_by_label("Email", exact=True).fill(who.principal.email)
    page.get_by_label("Name", exact=True).fill(who.principal.name)
    page.get_by_label("Role", exact=True).select_option(who.principal.role)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(who.principal.name)


def open_room(page: Page, auction_id: uuid.UUID) -> None:
    page.goto(f"#/auctions/{auction_id}")
    expect(page.get_by_test_id("auction-status")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_text("live")


def test_deadline_second_chance_payment_and_moderation(browsing: Browsing) -> None:
    from chalicelib import runtime

    ctx = runtime.context()
    shot = browsing.shots
    sima = someone(ctx, "Sima Sen", "seller")
    asha = someone(ctx, "Asha Kulkarni", "buyer")
    bina = someone(ctx, "Bina Rao", "buyer")
    ravi = someone(ctx, "Ravi Kumar", "buyer")
    admin = someone(ctx, "Adi Admin", "admin")
    auction_id = live_auction(ctx, sima, item_name="Brass ship's clock")
    for who, amount in ((asha, "100.00"), (bina, "200.00"), (ravi, "1250.00")):
        bidding.place_bid(ctx, auction_id, who.id, Decimal(amount))
    hammer(ctx, auction_id)  # ended: the seller's decision window (2 days) starts

    seller, buyer, watcher, winner = (
        browsing.page("seller"),
        browsing.page("bina"),
        browsing.page("asha"),
        browsing.page("ravi"),
    )
    for page, who in ((seller, sima), (buyer, bina), (watcher, asha), (winner, ravi)):
        sign_in(page, who)
        open_room(page, auction_id)

    # The seller's decision deadline, counting down by the server's clock; the bidder sees it too.
    deadline = seller.get_by_test_id("decision-deadline")
    expect(deadline).to_contain_text("left")
    expect(deadline).to_have_attribute("data-remaining-ms", re.compile(r"^\d{9}$"))  # ~2 days
    left_ms = int(deadline.get_attribute("data-remaining-ms") or 0)
    assert 172_000_000 < left_ms <= 172_800_000, left_ms
    expect(winner.get_by_test_id("decision-deadline")).to_contain_text("1d 23:")
    shot(seller, "seller-decision-deadline")

    # The seller rejects: everyone sees why it closed, live.
    seller.get_by_test_id("decision-reject").click()
    for page in (seller, watcher, winner):
        expect(page.get_by_test_id("close-reason")).to_have_attribute("data-reason", "rejected")

    # The second-chance panel lists the other bidders with their highest bids (not Ravi).
    candidates = seller.get_by_test_id("offer-candidate")
    expect(candidates).to_have_count(2)
    expect(candidates.nth(0)).to_contain_text("Bina R.")
    expect(candidates.nth(0)).to_contain_text("200.00")
    expect(candidates.nth(1)).to_contain_text("Asha K.")
    shot(seller, "seller-second-chance")
    candidates.nth(0).get_by_test_id("offer-send").click()
    expect(seller.get_by_test_id("offer-pending")).to_be_visible()

    # Bina is offered the item at her own highest bid, with the offer's expiry.
    panel = buyer.get_by_test_id("offer-panel")
    expect(panel).to_be_visible()
    expect(buyer.get_by_test_id("offer-amount")).to_contain_text("200.00")
    expect(buyer.get_by_test_id("offer-expiry")).to_contain_text("23:5")  # a day, by default
    shot(buyer, "bina-offer")
    buyer.get_by_test_id("offer-accept").click()
    expect(buyer.get_by_test_id("auction-status")).to_have_attribute("data-status", "sold")
    expect(buyer.get_by_test_id("sold-note")).to_contain_text("Sold to you for ₹200.00")
    # The watcher (neither buyer nor seller) sees who bought it, by public name only.
    expect(watcher.get_by_test_id("sold-note")).to_contain_text("Sold for ₹200.00 to Bina R.")
    expect(watcher.get_by_test_id("payment-panel")).to_have_count(0)
    shot(watcher, "asha-sees-the-sale")

    # Payment: the buyer marks it paid, the seller confirms.
    expect(buyer.get_by_test_id("payment-status")).to_have_attribute("data-status", "pending")
    expect(buyer.get_by_test_id("payment-due")).to_contain_text("6d 23:")
    buyer.get_by_test_id("payment-mark-paid").click()
    # No shipping terms on this listing: the address (for the invoice) is optional.
    buyer.get_by_test_id("pay-submit").click()
    expect(buyer.get_by_test_id("payment-status")).to_have_attribute("data-status", "paid")
    expect(seller.get_by_test_id("payment-status")).to_have_attribute("data-status", "paid")
    expect(seller.get_by_test_id("payment-report-unpaid")).to_have_count(0)  # not due yet
    seller.get_by_test_id("payment-confirm").click()
    expect(seller.get_by_test_id("payment-status")).to_have_attribute("data-status", "confirmed")
    expect(buyer.get_by_test_id("payment-status")).to_have_attribute("data-status", "confirmed")
    shot(seller, "seller-payment-confirmed")

    # Moderation: the admin suspends Asha from the users page.
    moderator = browsing.page("admin")
    sign_in(moderator, admin)
    moderator.goto("#/admin/users")
    moderator.get_by_test_id("user-search").fill("kulkarni")
    moderator.get_by_role("button", name="Search").click()
    row = moderator.locator(f'[data-testid="admin-user"][data-user-id="{asha.id}"]')
    expect(moderator.get_by_test_id("admin-user")).to_have_count(1)
    row.get_by_label("Reason to suspend Asha Kulkarni").fill("Shill bidding")
    row.get_by_test_id("suspend").click()
    expect(row.get_by_test_id("user-suspended")).to_contain_text("Shill bidding")
    shot(moderator, "admin-suspended")

    # Her next bid (same session, same token) is refused; reading still works.
    other = live_auction(ctx, sima, item_name="Copper kettle")
    open_room(watcher, other)
    watcher.get_by_test_id("bid-input").fill("100")
    watcher.get_by_test_id("bid-submit").click()
    expect(watcher.get_by_test_id("bid-error")).to_contain_text("suspended")
    shot(watcher, "asha-suspended")

    # The audit log has it, filtered by action.
    moderator.goto("#/admin/audit")
    moderator.get_by_test_id("audit-action").fill("admin.suspend")
    moderator.get_by_test_id("audit-apply").click()
    entries = moderator.get_by_test_id("audit-entry")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("Shill bidding")
    moderator.get_by_test_id("audit-action").fill("")
    moderator.get_by_test_id("audit-auctionId").fill(str(auction_id))
    moderator.get_by_test_id("audit-apply").click()
    expect(moderator.locator('[data-action="seller.offer"]')).to_have_count(1)
    expect(moderator.locator('[data-action="seller.confirm"]')).to_have_count(1)
    shot(moderator, "admin-audit")
    assert browsing.page_errors == []
