"""GET /api/auctions/{id} after the hammer: PostgreSQL is the record, for every viewer.

Found by the browser test: a signed-in viewer of an ended auction got `highestBid: null` (the
closed auction's Redis view was emptied but the PostgreSQL fallback skipped), so the highest
bidder's page no longer knew them as the one a counter offer goes to."""

from __future__ import annotations

import uuid

import pytest
from chalice.test import Client

from shared.services.context import Context
from tests.support import harness
from tests.support.actors import call
from tests.support.after_sale import ended_auction
from tests.support.harness import Person


@pytest.fixture
def rival(ctx: Context) -> Person:
    return harness.person(ctx, "buyer", "ravi")


@pytest.fixture
def ended(ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person) -> uuid.UUID:
    return ended_auction(ctx, client, seller, [(buyer, "100.00"), (rival, "1250.00")])


@pytest.mark.parametrize("viewer", ["anonymous", "seller", "buyer", "rival", "admin"])
def test_an_ended_auction_shows_its_highest_bid_to_every_viewer(
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    admin: Person,
    ended: uuid.UUID,
    viewer: str,
) -> None:
    who = {"anonymous": None, "seller": seller, "buyer": buyer, "rival": rival, "admin": admin}
    response = call(client, "GET", f"/api/auctions/{ended}", who[viewer])
    assert response.status_code == 200, response.body
    auction = response.json_body
    assert auction["status"] == "ended"
    assert auction["highestBid"] is not None
    assert auction["highestBid"]["bidderId"] == rival.id
    assert auction["highestBid"]["amount"] == "1250.00"
    assert auction["minNextBid"] == "1260.00"  # the same rule as while live: highest + increment
    assert auction["bidCount"] == 2
