"""Verify this auction, in the browser: the room's button checks the auction's public log with
WebCrypto (the published key, the signed checkpoint, every entry, the tree's root), marks the
viewer's own bids as included, and fails when an entry is changed in the record."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from shared.domain.ledger.merkle import leaf_hash
from shared.services import bidding
from tests.browser.conftest import Browsing, LoggedStack
from tests.browser.test_after_sale_flow import open_room, sign_in, someone
from tests.support.harness import live_auction

pytestmark = pytest.mark.browser


def signed_size(stack: LoggedStack, auction_id: uuid.UUID) -> int:
    url = f"{stack.api_url}/api/auctions/{auction_id}/ledger/checkpoint"
    return int(httpx.get(url, timeout=10).text.split("\n")[1])


def test_a_bidder_verifies_the_auction_and_sees_a_changed_entry_caught(
    browsing: Browsing, stack: LoggedStack
) -> None:
    from chalicelib import runtime

    ctx = runtime.context()
    sima = someone(ctx, "Sima Sen", "seller")
    bina = someone(ctx, "Bina Rao", "buyer")
    ravi = someone(ctx, "Ravi Kumar", "buyer")
    auction_id = live_auction(ctx, sima, item_name="Carved teak box", start_price="100.00")
    for who, amount in ((bina, "100.00"), (ravi, "120.00"), (bina, "140.00")):
        bidding.place_bid(ctx, auction_id, who.id, Decimal(amount))
    deadline = time.monotonic() + 60  # the ticker signs a checkpoint within the merge delay
    while signed_size(stack, auction_id) < 3:
        assert time.monotonic() < deadline, "no checkpoint covered the three bids"
        time.sleep(0.2)

    page = browsing.page("ravi")
    sign_in(page, ravi)
    open_room(page, auction_id)
    page.get_by_test_id("verify-auction").click()
    result = page.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-ok", "true")
    expect(result).to_contain_text("3 entries")
    expect(page.get_by_test_id("verify-mine")).to_contain_text("#1")
    browsing.shots(page, "verified")

    # The record changed under the log: 140.00 made 130.00, its leaf hash made to match.
    with ctx.db.session() as session:
        entry = session.scalar(
            text("SELECT entry FROM ledger_entries WHERE auction_id = :a AND idx = 2"),
            {"a": auction_id},
        )
        changed = entry.replace('"amount":"140.00"', '"amount":"130.00"')
        assert changed != entry
        session.execute(
            text(
                "UPDATE ledger_entries SET entry = :e, leaf_hash = :h"
                " WHERE auction_id = :a AND idx = 2"
            ),
            {"e": changed, "h": leaf_hash(changed.encode()), "a": auction_id},
        )
    page.get_by_test_id("verify-auction").click()
    expect(result).to_have_attribute("data-ok", "false")
    expect(result).to_contain_text("signed root")
    browsing.shots(page, "caught")
    assert browsing.page_errors == []
