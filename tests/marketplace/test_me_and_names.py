"""Personal pages and people's names: my bids with where I stand, my
auctions with what awaits my decision first, my purchases, read-all; `bidderName` is a public
display name on every bid object and on `bid:placed`, never an email."""

from __future__ import annotations

import pytest
from chalice.test import Client

from shared.domain.marketplace import public_name
from shared.services.context import Context
from tests.support import streams
from tests.support.actors import Bidder, Seller, call
from tests.support.after_sale import ended_auction, hammer
from tests.support.harness import Person, live_auction, person


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Asha Kumar", "Asha K."),
        ("Asha", "Asha"),
        ("  ravi   shankar  iyer ", "ravi I."),
        ("asha@example.com", "Bidder 7201"),
        ("Asha <asha@example.com>", "Bidder 7201"),
        ("", "Bidder 7201"),
        ("7201929f-7bc2-5482-9bde-0287e053693a", "Bidder 7201"),
    ],
)
def test_public_names(name: str, shown: str) -> None:
    assert public_name(name, "7201929f-7bc2-5482-9bde-0287e053693a") == shown


def test_bid_objects_and_bid_placed_carry_the_public_name(
    ctx: Context, client: Client, seller: Person
) -> None:
    asha = person(ctx, "buyer", "Asha Kumar")
    mailer = person(ctx, "buyer", "ravi@example.com")  # a name that is an email
    aid = live_auction(ctx, seller)
    placed = Bidder(client, asha).placed(aid, "100")
    assert placed["bidderName"] == "Asha K."
    # A proxy maximum set by Asha answers Ravi's plain bid: the answer is named Asha's.
    response = call(client, "POST", f"/api/auctions/{aid}/bids", asha, {"maxAmount": "300"})
    assert response.status_code == 201
    Bidder(client, mailer).placed(aid, "150")
    history = call(client, "GET", f"/api/auctions/{aid}/bids").json_body["items"]
    names = [(b["amount"], b["bidderName"]) for b in history]
    assert names == [
        ("160.00", "Asha K."),
        ("150.00", f"Bidder {mailer.id.replace('-', '')[:4]}"),
        ("100.00", "Asha K."),
    ]
    assert all("@" not in b["bidderName"] for b in history)
    events = streams.room_events(ctx, aid)
    placed_names = [e["data"]["bid"]["bidderName"] for e in events if e["type"] == "bid:placed"]
    assert placed_names == ["Asha K.", names[1][1], "Asha K."]


def test_bid_history_pages_with_cursors(ctx: Context, client: Client, seller: Person) -> None:
    aid = live_auction(ctx, seller, increment="1.00")
    bidders = [person(ctx, "buyer", f"Bidder{i} Test") for i in range(7)]
    for i, who in enumerate(bidders):
        Bidder(client, who).placed(aid, f"{100 + i}")
    seen: list[str] = []
    cursor = None
    while True:
        path = f"/api/auctions/{aid}/bids?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = call(client, "GET", path).json_body
        seen += [b["amount"] for b in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == [f"{106 - i}.00" for i in range(7)]


def test_my_bids_says_where_i_stand(ctx: Context, client: Client, seller: Person) -> None:
    me, rival = person(ctx, "buyer", "Me Myself"), person(ctx, "buyer", "Rival One")
    leading = live_auction(ctx, seller, item_name="leading")
    Bidder(client, me).placed(leading, "100")
    outbid = live_auction(ctx, seller, item_name="outbid")
    Bidder(client, me).placed(outbid, "100")
    Bidder(client, rival).placed(outbid, "150")
    won = ended_auction(ctx, client, seller, [(rival, "100"), (me, "120")])
    assert call(client, "POST", f"/api/auctions/{won}/decision", seller, {"action": "accept"})
    lost = ended_auction(ctx, client, seller, [(me, "100"), (rival, "200")])
    call(client, "POST", f"/api/auctions/{lost}/decision", seller, {"action": "reject"})
    mine = call(client, "GET", "/api/me/bids", me).json_body["items"]
    by_id = {i["auction"]["id"]: i for i in mine}
    assert by_id[str(leading)]["state"] == "leading"
    assert by_id[str(outbid)]["state"] == "outbid"
    assert by_id[str(won)]["state"] == "won"
    assert by_id[str(lost)]["state"] == "lost"
    assert by_id[str(outbid)]["myHighestBid"] == "100.00"
    for state, expected in (("leading", leading), ("outbid", outbid), ("won", won), ("lost", lost)):
        only = call(client, "GET", f"/api/me/bids?state={state}", me).json_body["items"]
        assert [i["auction"]["id"] for i in only] == [str(expected)], state
    assert call(client, "GET", "/api/me/bids?state=winning", me).status_code == 422


def test_my_max_amount_is_on_my_bids(ctx: Context, client: Client, seller: Person) -> None:
    me = person(ctx, "buyer")
    aid = live_auction(ctx, seller)
    call(client, "POST", f"/api/auctions/{aid}/bids", me, {"maxAmount": "500"})
    item = call(client, "GET", "/api/me/bids", me).json_body["items"][0]
    assert item["myMaxAmount"] == "500.00" and item["state"] == "leading"


def test_my_auctions_puts_what_awaits_my_decision_first(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    first = Seller(client, seller).create()
    awaiting = ended_auction(ctx, client, seller, [(buyer, "100")])
    last = Seller(client, seller).create()
    other = person(ctx, "seller")
    Seller(client, other).create()
    items = call(client, "GET", "/api/me/auctions?limit=2", seller).json_body
    assert [a["id"] for a in items["items"]] == [str(awaiting), last["id"]]
    rest = call(
        client, "GET", f"/api/me/auctions?limit=2&cursor={items['nextCursor']}", seller
    ).json_body
    assert [a["id"] for a in rest["items"]] == [first["id"]]
    assert call(client, "GET", "/api/me/auctions", buyer).status_code == 403
    only = call(client, "GET", "/api/me/auctions?status=scheduled", seller).json_body["items"]
    assert {a["id"] for a in only} == {first["id"], last["id"]}


def test_my_purchases_name_the_price_and_the_invoice(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    aid = ended_auction(ctx, client, seller, [(buyer, "250")])
    call(client, "POST", f"/api/auctions/{aid}/decision", seller, {"action": "accept"})
    items = call(client, "GET", "/api/me/purchases", buyer).json_body["items"]
    assert len(items) == 1
    assert items[0]["auction"]["id"] == str(aid)
    assert items[0]["finalPrice"] == "250.00"
    assert items[0]["invoiceNumber"] == "INV-000001"
    assert items[0]["payment"]["status"] == "pending"  # the sale's payment
    assert call(client, "GET", "/api/me/purchases", seller).json_body["items"] == []


def test_read_all_marks_every_unread_notification(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    aid = live_auction(ctx, seller)
    Bidder(client, buyer).placed(aid, "100")
    Bidder(client, person(ctx, "buyer")).placed(aid, "200")
    hammer(ctx, aid)
    from tests.support.after_sale import run_jobs

    run_jobs(ctx)
    unread = call(client, "GET", "/api/notifications?unreadOnly=true", seller).json_body
    assert unread["unreadCount"] >= 2
    response = call(client, "POST", "/api/notifications/read-all", seller)
    assert response.status_code == 200
    assert response.json_body == {"updated": unread["unreadCount"]}
    assert call(client, "GET", "/api/notifications", seller).json_body["unreadCount"] == 0
    assert call(client, "POST", "/api/notifications/read-all", seller).json_body == {"updated": 0}
    assert call(client, "GET", "/api/notifications", buyer).json_body["unreadCount"] > 0
    assert call(client, "POST", "/api/notifications/read-all").status_code == 401
