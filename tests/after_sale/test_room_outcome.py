"""Everyone in the room sees how it ended: `auction:sold` (finalPrice, winnerName:
the public display name, never an email) and `auction:closed` (closeReason), on every path that
sells or closes; and a watcher who is neither buyer nor seller gets them live."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from chalice.test import Client

from shared.services import transitions
from shared.services.context import Context
from tests.support.actors import Actor, Bidder
from tests.support.after_sale import ended_auction, hammer
from tests.support.harness import Person, live_auction, person
from tests.support.socket_node import InProcessNode
from tests.support.streams import room_events


def outcome(ctx: Context, auction_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e["type"], e["data"])
        for e in room_events(ctx, auction_id, relay=True)
        if e["type"] in ("auction:sold", "auction:closed")
    ]


@pytest.fixture
def ravi(ctx: Context) -> Person:
    return person(ctx, "buyer", "Ravi Shankar Kumar")


def sold_to(name: str, price: str) -> list[tuple[str, dict[str, Any]]]:
    return [("auction:sold", {"status": "sold", "finalPrice": price, "winnerName": name})]


def closed(reason: str) -> list[tuple[str, dict[str, Any]]]:
    return [("auction:closed", {"status": "closed_no_winner", "closeReason": reason})]


def test_no_bids(ctx: Context, seller: Person) -> None:
    auction_id = live_auction(ctx, seller)
    hammer(ctx, auction_id)
    assert outcome(ctx, auction_id) == closed("no_bids")
    body = get_auction(ctx, auction_id)
    assert body["closeReason"] == "no_bids"


def get_auction(ctx: Context, auction_id: uuid.UUID) -> dict[str, Any]:
    from shared.domain.principal import ANONYMOUS
    from shared.services import auctions

    return auctions.read_auction(ctx, str(auction_id), ANONYMOUS)


@pytest.mark.parametrize(
    ("action", "expected"),
    [("accept", sold_to("Ravi K.", "1250.00")), ("reject", closed("rejected"))],
)
def test_the_sellers_decision(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    ravi: Person,
    action: str,
    expected: Any,
) -> None:
    auction_id = ended_auction(ctx, client, seller, [(buyer, "100.00"), (ravi, "1250.00")])
    Actor(client, seller).post(f"/api/auctions/{auction_id}/decision", {"action": action})
    assert outcome(ctx, auction_id) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("accept", sold_to("Ravi K.", "1500.00")), ("reject", closed("counter_rejected"))],
)
def test_the_answer_to_a_counter_offer(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    ravi: Person,
    answer: str,
    expected: Any,
) -> None:
    auction_id = ended_auction(ctx, client, seller, [(buyer, "100.00"), (ravi, "1250.00")])
    counter = (
        Actor(client, seller)
        .post(f"/api/auctions/{auction_id}/decision", {"action": "counter", "amount": "1500"})
        .json_body["counterOffer"]
    )
    Actor(client, ravi).post(f"/api/counter/{counter['id']}/response", {"action": answer})
    assert outcome(ctx, auction_id) == expected


def test_buy_now(ctx: Context, client: Client, seller: Person, ravi: Person) -> None:
    auction_id = live_auction(ctx, seller, buy_now="500.00")
    Bidder(client, ravi).placed(auction_id, "500.00")
    transitions.end(ctx, auction_id)  # whatever a ticker does after: no second outcome
    types = [e["type"] for e in room_events(ctx, auction_id, relay=True)]
    assert types[-2:] == ["auction:ended", "auction:sold"]
    assert outcome(ctx, auction_id) == sold_to("Ravi K.", "500.00")


def test_a_winner_named_by_an_email_is_never_shown_by_it(
    ctx: Context, client: Client, seller: Person
) -> None:
    from shared.adapters.tokens import Verifier
    from shared.services import users
    from shared.settings import get_settings

    verifier = Verifier(get_settings())
    token = verifier.mint_dev_token("mystery@example.com", "mystery@example.com", "buyer")
    principal = verifier.verify(token)
    users.ensure_user(ctx, principal)
    mystery = Person(principal, token)
    auction_id = ended_auction(ctx, client, seller, [(mystery, "100.00")])
    Actor(client, seller).post(f"/api/auctions/{auction_id}/decision", {"action": "accept"})
    ((_, data),) = outcome(ctx, auction_id)
    assert "@" not in data["winnerName"] and "mystery" not in data["winnerName"]


def test_a_watcher_sees_the_outcome_live(
    ctx: Context,
    client: Client,
    node: InProcessNode,
    clients: Any,
    seller: Person,
    buyer: Person,
    ravi: Person,
) -> None:
    auction_id = ended_auction(ctx, client, seller, [(buyer, "100.00"), (ravi, "1250.00")])
    watcher = clients(node.ws_url)  # anonymous: neither buyer nor seller
    watcher.join(auction_id)
    Actor(client, seller).post(f"/api/auctions/{auction_id}/decision", {"action": "reject"})
    got = watcher.until(lambda m: m["type"] == "auction:closed")
    assert got["data"]["closeReason"] == "rejected"
    offer = Actor(client, seller).post(f"/api/auctions/{auction_id}/offers", {"bidderId": buyer.id})
    Actor(client, buyer).post(f"/api/offers/{offer.json_body['id']}/response", {"action": "accept"})
    sold = watcher.until(lambda m: m["type"] == "auction:sold")
    assert sold["data"]["winnerName"] == "buyer" and sold["data"]["finalPrice"] == "100.00"
    assert [m["type"] for m in watcher.quiet(0.3)] == []
    assert Actor(client, None).get(f"/api/auctions/{auction_id}").json_body["status"] == "sold"
