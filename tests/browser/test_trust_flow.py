"""Trust and safety in Chromium, against the real local stack: a seller blocks a bidder from
their own room (the block lands in their list), names in the bid history lead to a reputation
card, the parties of a completed sale leave feedback and reply to it, and an admin finds the
planted shill of a generated history at the top of the shill signals page, with its reasons,
and suspends them from there.

The bids and the sale are made directly (the bid script, the end transition, the services);
everything the people do goes through the web app."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from shared.domain.decisions import SellerAction
from shared.domain.payments import PaymentAction
from shared.domain.principal import Viewer
from shared.services import bidding, blocks, decisions, payments, rescoring, trust
from tests.browser.conftest import Browsing
from tests.browser.test_after_sale_flow import open_room, sign_in, someone
from tests.support import shill_histories
from tests.support.after_sale import hammer
from tests.support.harness import live_auction

pytestmark = pytest.mark.browser


def test_a_seller_blocks_a_bidder_and_the_parties_rate_each_other(browsing: Browsing) -> None:
    from chalicelib import runtime

    ctx = runtime.context()
    shot = browsing.shots
    sima = someone(ctx, "Sima Sen", "seller")
    bina = someone(ctx, "Bina Rao", "buyer")
    ravi = someone(ctx, "Ravi Kumar", "buyer")
    auction_id = live_auction(ctx, sima, item_name="Brass ship's clock")
    for who, amount in ((bina, "100.00"), (ravi, "120.00")):
        bidding.place_bid(ctx, auction_id, who.id, Decimal(amount))

    seller = browsing.page("seller")
    sign_in(seller, sima)
    open_room(seller, auction_id)
    row = seller.locator(f'[data-testid="bid-feed"] li:has([data-user-id="{bina.id}"])')
    expect(row.get_by_test_id("bidder-name")).to_have_text("Bina R.")
    block = row.get_by_test_id("block-bidder")
    expect(block).to_have_attribute("data-blocked", "false")
    block.click()
    expect(block).to_have_attribute("data-blocked", "true")
    expect(block).to_have_text("Unblock")
    shot(seller, "seller-blocked-bina")
    listed = blocks.list_blocked(ctx, Viewer(sima.id, "seller"), limit=10, cursor=None)
    assert [(b["userId"], b["name"]) for b in listed["items"]] == [(bina.id, "Bina R.")]
    seller.reload()  # the room reads the seller's list again
    expect(row.get_by_test_id("block-bidder")).to_have_attribute("data-blocked", "true")

    # A bidder sees no block buttons; their names lead to reputation cards.
    bidder = browsing.page("ravi")
    sign_in(bidder, ravi)
    open_room(bidder, auction_id)
    expect(bidder.get_by_test_id("block-bidder")).to_have_count(0)
    expect(bidder.get_by_test_id("seller-line")).to_contain_text("Sima S.")

    # Sold to Ravi, payment confirmed: the two rate each other in the room.
    hammer(ctx, auction_id)
    decisions.decide(ctx, auction_id, Viewer(sima.id, "seller"), SellerAction.ACCEPT)
    payments.act(ctx, auction_id, Viewer(sima.id, "seller"), PaymentAction.CONFIRM)
    open_room(bidder, auction_id)
    panel = bidder.get_by_test_id("feedback-panel")
    panel.get_by_label("Positive").check()
    panel.get_by_test_id("feedback-comment").fill("Beautiful clock, well packed")
    panel.get_by_test_id("feedback-submit").click()
    expect(panel.get_by_test_id("feedback-entry")).to_contain_text("Beautiful clock, well packed")
    expect(panel.get_by_test_id("feedback-submit")).to_have_count(0)  # once
    seller.reload()  # the seller comes back to the room later
    open_room(seller, auction_id)
    seller_panel = seller.get_by_test_id("feedback-panel")
    seller_panel.get_by_test_id("feedback-reply").fill("Thank you, enjoy it")
    seller_panel.get_by_test_id("feedback-reply-submit").click()
    expect(seller_panel.get_by_test_id("feedback-entry")).to_contain_text("Reply: Thank you")
    shot(seller, "seller-replied")

    # Sima's name in the room leads to her card: one positive rating of the last 12 months.
    bidder.get_by_test_id("seller-line").get_by_role("link", name="Sima S.").click()
    card = bidder.get_by_test_id("reputation-card")
    expect(card).to_have_attribute("data-user-id", sima.id)
    expect(card.get_by_test_id("reputation-percent")).to_have_text("100%")
    expect(card.get_by_test_id("reputation-entry")).to_contain_text("Reply: Thank you, enjoy it")
    shot(bidder, "reputation-card")
    assert browsing.page_errors == []


def test_a_blocked_bidders_next_bid_is_refused_and_a_retraction_shows_in_every_room(
    browsing: Browsing,
) -> None:
    """The seller blocks a bidder from their own room; the bidder, in the room already, bids
    and is refused (403 bidder_blocked, said in the product's words). Another bidder retracts
    his bids from the room (two days before the end: every bid of his goes), and every room
    shows them struck through, with the price back at the highest bid still standing (Chen's)."""
    from datetime import UTC, datetime, timedelta

    from chalicelib import runtime

    ctx = runtime.context()
    shot = browsing.shots
    sima = someone(ctx, "Sima Sen", "seller")
    bina = someone(ctx, "Bina Rao", "buyer")
    ravi = someone(ctx, "Ravi Kumar", "buyer")
    auction_id = live_auction(
        ctx, sima, item_name="Teak writing box", ends_at=datetime.now(UTC) + timedelta(days=2)
    )
    bidding.place_bid(ctx, auction_id, bina.id, Decimal("100.00"))

    bidder = browsing.page("bina")
    sign_in(bidder, bina)
    open_room(bidder, auction_id)
    seller = browsing.page("seller")
    sign_in(seller, sima)
    open_room(seller, auction_id)
    row = seller.locator(f'[data-testid="bid-feed"] li:has([data-user-id="{bina.id}"])')
    row.get_by_test_id("block-bidder").click()
    expect(row.get_by_test_id("block-bidder")).to_have_attribute("data-blocked", "true")

    # Bina's next bid, from the room she had open: refused.
    bidder.get_by_test_id("bid-input").fill("150")
    bidder.get_by_test_id("bid-submit").click()
    expect(bidder.get_by_test_id("bid-error")).to_contain_text("does not accept bids from you")
    shot(bidder, "blocked-bidder-refused")
    expect(bidder.get_by_test_id("highest-bid")).to_have_attribute("data-amount", "100.00")

    # Ravi bids twice from the room (Chen outbids him between), then retracts: both of his
    # bids go, and Chen's stands highest.
    chen = someone(ctx, "Chen Li", "buyer")
    other = browsing.page("ravi")
    sign_in(other, ravi)
    open_room(other, auction_id)
    for amount in ("110", "130"):
        other.get_by_test_id("bid-input").fill(amount)
        other.get_by_test_id("bid-submit").click()
        expect(other.get_by_test_id("highest-bid")).to_have_attribute("data-amount", f"{amount}.00")
        if amount == "110":
            bidding.place_bid(ctx, auction_id, chen.id, Decimal("120.00"))
            expect(other.get_by_test_id("highest-bid")).to_have_attribute("data-amount", "120.00")
    mine = other.locator('[data-testid="bid-feed"] li.mine').first
    mine.get_by_test_id("retract-bid").click()
    other.get_by_test_id("retract-reason").select_option("typo")
    other.get_by_test_id("retract-confirm").click()
    for page in (other, seller, bidder):
        expect(page.get_by_test_id("highest-bid")).to_have_attribute("data-amount", "120.00")
        expect(page.locator('[data-testid="bid-feed"] li[data-retracted="true"]')).to_have_count(2)
    expect(other.get_by_test_id("retract-bid")).to_have_count(0)
    shot(seller, "seller-sees-retraction")
    assert browsing.page_errors == []


def test_an_admin_finds_the_planted_shill_with_its_reasons(browsing: Browsing) -> None:
    from chalicelib import runtime

    ctx = runtime.context()
    history = shill_histories.generate(3, sellers=4, honest=30, shills=2, subtle_shills=0)
    shill_histories.store(ctx, history)
    with ctx.db.session() as session:
        rescoring.mark(session, [(uuid.UUID(b), uuid.UUID(s)) for b, s in sorted(history.pairs())])
    while trust.refresh(ctx):  # (the socket node's ticker takes its share too)
        pass
    admin = someone(ctx, "Adi Admin", "admin")
    page = browsing.page("admin")
    sign_in(page, admin)
    page.goto("#/admin/trust")
    rows = page.get_by_test_id("suspect")
    expect(rows.first).to_be_visible()
    first = rows.first
    planted = (first.get_attribute("data-bidder-id"), first.get_attribute("data-seller-id"))
    assert planted in history.shills, planted
    reasons = first.get_by_test_id("suspect-reasons")
    expect(reasons).to_contain_text("Won none of the")
    expect(reasons).to_contain_text("bare minimum")
    expect(first.get_by_test_id("suspect-auction").first).to_have_attribute(
        "href", re.compile(r"^#/auctions/")
    )
    shot = browsing.shots
    shot(page, "admin-suspects")
    first.get_by_test_id("suspect-suspend").click()
    suspended = page.locator(f'[data-testid="suspect"][data-bidder-id="{planted[0]}"]')
    expect(suspended.first).to_contain_text("suspended")
    # Lowering the threshold to 0 shows every scored pair.
    before = rows.count()
    page.get_by_test_id("suspect-threshold").fill("0")
    expect(rows).not_to_have_count(before)
    assert browsing.page_errors == []
