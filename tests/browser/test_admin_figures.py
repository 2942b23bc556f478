"""The admin page graphs the socket node's live figures (its /admin/metrics, polled every
few seconds): in Chromium, against the real stack, an admin watches while a buyer's page
joins a room and bids arrive."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from shared.services import bidding
from shared.services.context import Context
from tests.browser.conftest import Browsing
from tests.browser.test_auction_flow import open_room, sign_in
from tests.support.harness import Person, live_auction

pytestmark = pytest.mark.browser


def test_the_admin_page_graphs_the_live_figures(
    browsing: Browsing, ctx: Context, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    watcher = browsing.page("watcher")
    open_room(watcher, str(auction))  # one connection in one room on this node
    admin = browsing.page("admin")
    sign_in(admin, "Adi", "admin")
    admin.get_by_test_id("admin-link").click()
    figures = admin.get_by_test_id("admin-figures")
    expect(figures).to_be_visible()
    connections = admin.get_by_test_id("figure-connections")
    expect(connections).to_have_attribute("data-value", re.compile(r"^[1-9]\d*$"))
    expect(admin.get_by_test_id("figure-rooms")).to_have_attribute(
        "data-value", re.compile(r"^[1-9]")
    )
    bidding.place_bid(ctx, auction, buyer.id, Decimal("100"))
    # The next poll draws a fan-out latency for the interval that had the bid.
    fanout = admin.get_by_test_id("figure-fanoutP99Ms")
    expect(fanout).to_have_attribute("data-value", re.compile(r"^\d"), timeout=20_000)
    expect(connections).to_have_attribute(
        "data-points", re.compile(r"^([2-9]|\d\d+)$"), timeout=20_000
    )
    path = connections.locator("path")
    expect(path).to_have_attribute("d", re.compile(r"^M[\d.]+,[\d.]+L"))
    for key in ("tickerLagS", "outboxPending", "jobsDead"):
        expect(admin.get_by_test_id(f"figure-{key}")).to_have_attribute(
            "data-value", re.compile(r"^\d")
        )
    browsing.shots(admin, "admin-figures")
    assert browsing.page_errors == []
