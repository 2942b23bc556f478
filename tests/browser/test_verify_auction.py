"""Verify this auction, in Chromium against the real stack: a bidder bids in the room, another
bidder's bid is answered by no one, the ticker signs the log, and the bidder's own page checks
it with WebCrypto (the checkpoint's Ed25519 signature, every leaf, the root) and marks their
own bid as included; the seller's page, who never bid, verifies without marking any."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from shared.services import bidding, ledger
from shared.services.context import Context
from tests.browser.conftest import Browsing
from tests.browser.test_auction_flow import open_room, sign_in
from tests.support.harness import Person, live_auction
from tests.support.socket_node import wait_for

pytestmark = pytest.mark.browser


def test_a_bidder_verifies_the_auction_and_finds_their_bid_included(
    browsing: Browsing, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    bidding.place_bid(ctx, auction, buyer.id, Decimal("100"), bidder_name="Ravi K.")
    asha = browsing.page("asha")
    sign_in(asha, "Asha", "buyer")
    open_room(asha, str(auction))
    amount = asha.get_by_label("Your bid", exact=True)
    expect(amount).to_have_value("110.00")
    asha.get_by_role("button", name="Place bid").click()
    expect(asha.get_by_test_id("bid-success")).to_contain_text("placed")

    # Within the merge delay the stack's ticker signs the log with both bids.
    wait_for(
        lambda: ledger.checkpoint_note(ctx, str(auction)).split("\n")[1] == "2",
        timeout=ctx.settings.ledger_mmd_ms / 1000 + 1,
    )
    asha.get_by_test_id("verify-auction").click()
    result = asha.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_contain_text("Verified: 2 entries signed by")
    expect(asha.get_by_test_id("verify-mine")).to_contain_text("Your bid is included: entries #1")
    browsing.shots(asha, "verify-auction")

    watcher = browsing.page("watcher")
    open_room(watcher, str(auction))
    watcher.get_by_test_id("verify-auction").click()
    expect(watcher.get_by_test_id("verify-result")).to_have_attribute("data-ok", "true")
    expect(watcher.get_by_test_id("verify-mine")).to_have_count(0)
    assert browsing.page_errors == []
