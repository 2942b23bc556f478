"""Notifications: created at the right moments for the right people, pushed live, listed and
marked read by their owner only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from chalice.test import Client

from shared.domain.vocabulary import NotificationType
from shared.services import admin_actions, notifications
from shared.services.context import Context
from tests.support import harness
from tests.support.actors import Bidder, call
from tests.support.after_sale import ended_auction, hammer, notification_types
from tests.support.harness import Person
from tests.support.streams import user_events


def listing(client: Client, who: harness.Person, query: str = "") -> dict[str, Any]:
    response = call(client, "GET", f"/api/notifications{query}", who)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def read(client: Client, who: harness.Person | None, notification_id: str) -> Any:
    return call(client, "POST", f"/api/notifications/{notification_id}/read", who)


@pytest.fixture
def rival(ctx: Context) -> Person:
    return harness.person(ctx, "buyer", "ravi")


def test_each_type_reaches_the_right_people_along_a_sale(
    ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person
) -> None:
    auction_id = harness.insert_auction(ctx, seller)
    admin_actions.start_now(ctx, auction_id)
    Bidder(client, buyer).placed(auction_id, "100.00")
    Bidder(client, rival).placed(auction_id, "150.00")
    hammer(ctx, auction_id)
    call(client, "POST", f"/api/auctions/{auction_id}/decision", seller, {"action": "accept"})
    assert notification_types(ctx, seller) == [
        "auction_started",
        "new_bid",
        "new_bid",
        "decision_required",
        "accepted",
    ]
    assert notification_types(ctx, buyer) == ["outbid", "auction_ended"]
    assert notification_types(ctx, rival) == ["auction_ended", "accepted"]


def test_the_counter_path_notifies_offer_then_answer(
    ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person
) -> None:
    auction_id = ended_auction(ctx, client, seller, [(buyer, "100.00"), (rival, "150.00")])
    counter = call(
        client,
        "POST",
        f"/api/auctions/{auction_id}/decision",
        seller,
        {"action": "counter", "amount": "200"},
    ).json_body["counterOffer"]
    assert notification_types(ctx, rival)[-1] == "counter_offer"
    assert "counter_offer" not in notification_types(ctx, seller)
    call(client, "POST", f"/api/counter/{counter['id']}/response", rival, {"action": "reject"})
    assert notification_types(ctx, rival)[-1] == "counter_rejected"
    assert notification_types(ctx, seller)[-1] == "counter_rejected"
    assert "counter_rejected" not in notification_types(ctx, buyer)


def test_every_notification_is_pushed_live_as_persisted(
    ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person
) -> None:
    auction_id = ended_auction(ctx, client, seller, [(buyer, "100.00"), (rival, "150.00")])
    call(client, "POST", f"/api/auctions/{auction_id}/decision", seller, {"action": "reject"})
    for who in (seller, buyer, rival):
        pushed = [e["data"] for e in user_events(ctx, who.id) if e["type"] == "notification"]
        listed = listing(client, who, "?limit=100")["items"]
        assert sorted(p["id"] for p in pushed) == sorted(n["id"] for n in listed)
        by_id = {n["id"]: n for n in listed}
        for p in pushed:
            assert p == by_id[p["id"]]


def test_a_cause_notifies_once_however_often_it_runs(ctx: Context, seller: Person) -> None:
    for _ in range(3):
        with ctx.db.session() as session:
            notifications.notify(
                session,
                ctx,
                cause="end:x:1",
                user_id=seller.id,
                kind=NotificationType.AUCTION_ENDED,
                payload={"auctionId": str(uuid.uuid4())},
            )
    assert notification_types(ctx, seller) == ["auction_ended"]


def make(ctx: Context, who: harness.Person, count: int) -> list[str]:
    ids = []
    with ctx.db.session() as session:
        for i in range(count):
            row = notifications.notify(
                session,
                ctx,
                cause=f"test:{i}",
                user_id=who.id,
                kind=NotificationType.NEW_BID,
                payload={"auctionId": str(uuid.uuid4()), "n": i},
            )
            assert row is not None
            ids.append(str(row.id))
    return ids


def test_the_list_is_newest_first_and_pages_with_a_cursor(
    ctx: Context, client: Client, buyer: Person
) -> None:
    ids = make(ctx, buyer, 5)
    first = listing(client, buyer, "?limit=2")
    assert first["unreadCount"] == 5
    second = listing(client, buyer, f"?limit=2&cursor={first['nextCursor']}")
    third = listing(client, buyer, f"?limit=2&cursor={second['nextCursor']}")
    assert third["nextCursor"] is None
    seen = [n["id"] for page in (first, second, third) for n in page["items"]]
    assert seen == list(reversed(ids))
    assert [n["payload"]["n"] for n in first["items"]] == [4, 3]
    item = first["items"][0]
    assert set(item) == {"id", "type", "payload", "readAt", "createdAt"}
    assert item["type"] == "new_bid" and item["readAt"] is None


def test_marking_read_sets_read_at_once_and_lowers_the_unread_count(
    ctx: Context, client: Client, buyer: Person
) -> None:
    ids = make(ctx, buyer, 3)
    response = read(client, buyer, ids[0])
    assert response.status_code == 200, response.body
    marked = response.json_body
    assert marked["id"] == ids[0]
    assert marked["readAt"] is not None
    again = read(client, buyer, ids[0]).json_body
    assert again["readAt"] == marked["readAt"]  # the first reading counts
    body = listing(client, buyer)
    assert body["unreadCount"] == 2
    unread = listing(client, buyer, "?unreadOnly=true")
    assert sorted(n["id"] for n in unread["items"]) == sorted(ids[1:])
    assert unread["unreadCount"] == 2


def test_someone_elses_notification_is_not_found(
    ctx: Context, client: Client, buyer: Person, seller: Person
) -> None:
    (mine,) = make(ctx, buyer, 1)
    for notification_id in (mine, str(uuid.uuid4()), "garbage"):
        response = read(client, seller, notification_id)
        assert response.status_code == 404
        assert response.json_body["code"] == "not_found"
    assert listing(client, seller)["items"] == []
    assert listing(client, buyer)["items"][0]["readAt"] is None


def test_notifications_need_a_signed_in_user(client: Client) -> None:
    assert call(client, "GET", "/api/notifications").status_code == 401
    assert read(client, None, str(uuid.uuid4())).status_code == 401


@pytest.mark.parametrize(
    "query", ["?limit=0", "?limit=101", "?limit=x", "?cursor=%%%", "?cursor=YQ"]
)
def test_bad_list_queries_are_422(client: Client, buyer: Person, query: str) -> None:
    response = call(client, "GET", f"/api/notifications{query}", buyer)
    assert response.status_code == 422, response.body
    assert response.json_body["code"] == "validation_error"
