"""Second-chance offers: to any other bidder at their own highest bid, one pending
at a time; accept is a sale like any other; reject or expiry frees the seller to offer to the
next; racing offers and racing answers give exactly one outcome."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import httpx
import pypdf
import pytest
from chalice.test import Client
from sqlalchemy import func, select

from shared.adapters.orm import Invoice, SecondChanceOffer
from shared.domain.times import parse_iso
from shared.services import deadlines
from shared.services.context import Context, for_socket_node
from shared.settings import get_settings
from tests.support.actors import Actor, Bidder
from tests.support.after_sale import (
    audit_actions,
    ended_auction,
    feed_types,
    move_deadline,
    notification_types,
    race,
    room_types,
    run_jobs,
    soon,
    status_of,
    tick_until,
    windows,
)
from tests.support.harness import Person, live_auction, person
from tests.support.sendgrid_sink import SendGridSink
from tests.support.streams import room_events


@pytest.fixture
def asha(ctx: Context) -> Person:
    return person(ctx, "buyer", "Asha Kulkarni")


@pytest.fixture
def bina(ctx: Context) -> Person:
    return person(ctx, "buyer", "Bina Rao")


@pytest.fixture
def ravi(ctx: Context) -> Person:
    return person(ctx, "buyer", "Ravi Kumar")


@pytest.fixture
def closed(
    ctx: Context, client: Client, seller: Person, asha: Person, bina: Person, ravi: Person
) -> Any:
    """Asha bid 100 then 150, Bina 200, Ravi 1250 on top; the seller rejected Ravi's bid."""
    auction_id = ended_auction(
        ctx,
        client,
        seller,
        [(asha, "100.00"), (bina, "200.00"), (asha, "210.00"), (ravi, "1250.00")],
    )
    response = Actor(client, seller).post(
        f"/api/auctions/{auction_id}/decision", {"action": "reject"}
    )
    assert response.status_code == 200, response.body
    return auction_id


def offer(client: Client, seller: Person, auction_id: Any, bidder: Person) -> Any:
    return Actor(client, seller).post(f"/api/auctions/{auction_id}/offers", {"bidderId": bidder.id})


def answer(client: Client, who: Person, offer_id: str, action: str) -> Any:
    return Actor(client, who).post(f"/api/offers/{offer_id}/response", {"action": action})


def test_an_offer_goes_to_another_bidder_at_their_own_highest_bid(
    ctx: Context,
    client: Client,
    seller: Person,
    asha: Person,
    closed: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, offer_window_secs=3600)
    response = offer(client, seller, closed, asha)
    assert response.status_code == 201, response.body
    made = response.json_body
    assert set(made) == {"id", "auctionId", "bidderId", "amount", "status", "expiresAt"}
    assert (made["auctionId"], made["bidderId"], made["amount"], made["status"]) == (
        str(closed),
        asha.id,
        "210.00",
        "pending",
    )
    assert 3590 < (parse_iso(made["expiresAt"]) - soon()).total_seconds() <= 3600
    assert feed_types(ctx, asha, closed)[-1] == "offer:received"
    assert notification_types(ctx, asha, closed).count("offer_received") == 1
    assert audit_actions(ctx, closed) == ["seller.reject", "seller.offer"]
    # The bidder and the seller see it on the auction; nobody else does.
    assert Actor(client, asha).get(f"/api/auctions/{closed}").json_body["offer"] == made
    assert Actor(client, seller).get(f"/api/auctions/{closed}").json_body["offer"] == made
    assert "offer" not in Actor(client, None).get(f"/api/auctions/{closed}").json_body


def test_the_seller_sees_the_offers_and_whom_else_they_may_go_to(
    ctx: Context,
    client: Client,
    seller: Person,
    asha: Person,
    bina: Person,
    ravi: Person,
    closed: Any,
) -> None:
    listed = Actor(client, seller).get(f"/api/auctions/{closed}/offers").json_body
    assert listed["items"] == [] and listed["nextCursor"] is None
    assert listed["candidates"] == [
        {"bidderId": asha.id, "bidderName": "Asha K.", "amount": "210.00"},
        {"bidderId": bina.id, "bidderName": "Bina R.", "amount": "200.00"},
    ]  # Ravi, the highest bidder, had the first chance
    made = offer(client, seller, closed, bina).json_body
    listed = Actor(client, seller).get(f"/api/auctions/{closed}/offers").json_body
    assert listed["items"] == [made]
    assert [c["bidderId"] for c in listed["candidates"]] == [asha.id]
    assert Actor(client, asha).get(f"/api/auctions/{closed}/offers").status_code == 403


def test_accepting_sells_like_any_sale(
    ctx: Context,
    client: Client,
    seller: Person,
    asha: Person,
    ravi: Person,
    closed: Any,
    sink: SendGridSink,
) -> None:
    made = offer(client, seller, closed, asha).json_body
    response = answer(client, asha, made["id"], "accept")
    assert response.status_code == 200, response.body
    auction = response.json_body
    assert auction["status"] == "sold"
    assert (auction["winnerId"], auction["finalPrice"]) == (asha.id, "210.00")
    assert auction["payment"]["status"] == "pending"
    assert auction["offer"]["status"] == "accepted"
    for who in (asha, seller):
        assert feed_types(ctx, who, closed)[-1] == "offer:accepted"
        assert notification_types(ctx, who, closed)[-1] == "offer_accepted"
    sold = [e for e in room_events(ctx, closed, relay=True) if e["type"] == "auction:sold"]
    assert [e["data"] for e in sold] == [
        {"status": "sold", "finalPrice": "210.00", "winnerName": "Asha K."}
    ]
    assert audit_actions(ctx, closed)[-1] == "bidder.offer_accept"
    run_jobs(ctx)
    confirmations = [
        m for m in sink.messages if (m.job_id or "").startswith("email:offer_accepted")
    ]
    assert sorted(m.job_id or "" for m in confirmations) == [
        f"email:offer_accepted:{made['id']}:buyer",
        f"email:offer_accepted:{made['id']}:seller",
    ]
    for message in confirmations:
        pdf = message.attachments[0]  # the seller's statement comes beside it
        text = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
        assert "INV-000001" in text and "210.00" in text and "VOID" not in text
        seller_copy = message.job_id and message.job_id.endswith(":seller")
        assert len(message.attachments) == (2 if seller_copy else 1)
    # The invoice of the second-chance sale is the next number.
    response = call_invoice(client, asha, closed)
    assert response.status_code == 200


def call_invoice(client: Client, who: Person, auction_id: Any) -> Any:
    path = f"/api/auctions/{auction_id}/invoice"
    return Actor(client, who).get(path, headers={"Accept": "application/pdf"})


def test_rejecting_leaves_it_closed_and_frees_the_seller_to_offer_to_the_next(
    ctx: Context,
    client: Client,
    seller: Person,
    asha: Person,
    bina: Person,
    closed: Any,
    sink: SendGridSink,
) -> None:
    first = offer(client, seller, closed, asha).json_body
    response = answer(client, asha, first["id"], "reject")
    assert response.status_code == 200, response.body
    assert response.json_body["status"] == "closed_no_winner"
    assert response.json_body["closeReason"] == "offer_declined"
    assert feed_types(ctx, seller, closed)[-1] == "offer:rejected"
    assert notification_types(ctx, seller, closed)[-1] == "offer_rejected"
    closes = [
        e["data"]["closeReason"]
        for e in room_events(ctx, closed, relay=True)
        if e["type"] == "auction:closed"
    ]
    assert closes == ["rejected", "offer_declined"]
    # Asha had her chance; Bina is next.
    again = offer(client, seller, closed, asha)
    assert again.status_code == 409 and again.json_body["code"] == "offer_not_allowed"
    assert offer(client, seller, closed, bina).status_code == 201
    run_jobs(ctx)
    assert f"email:offer_rejected:{first['id']}:seller" in {m.job_id for m in sink.messages}


def test_an_unanswered_offer_expires_once_and_frees_the_seller(
    ctx: Context,
    client: Client,
    seller: Person,
    asha: Person,
    bina: Person,
    closed: Any,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, offer_window_secs=1)
    made = offer(client, seller, closed, asha).json_body
    tick_until(
        ctx,
        lambda: (
            Actor(client, seller).get(f"/api/auctions/{closed}").json_body["offer"]["status"]
            == "expired"
        ),
    )
    tick_until(ctx, lambda: True)
    assert status_of(ctx, closed) == ("closed_no_winner", "offer_declined")
    for who in (asha, seller):
        assert feed_types(ctx, who, closed).count("offer:expired") == 1
        assert notification_types(ctx, who, closed).count("offer_expired") == 1
    late = answer(client, asha, made["id"], "accept")
    assert late.status_code == 409 and late.json_body["code"] == "offer_not_pending"
    assert offer(client, seller, closed, bina).status_code == 201
    run_jobs(ctx)
    expired = sorted(m.job_id or "" for m in sink.messages if "offer_expired" in (m.job_id or ""))
    assert expired == [
        f"email:offer_expired:{made['id']}:buyer",
        f"email:offer_expired:{made['id']}:seller",
    ]


# -- refusals ----------------------------------------------------------------------------------


def test_refusals(
    ctx: Context,
    client: Client,
    seller: Person,
    asha: Person,
    bina: Person,
    ravi: Person,
    closed: Any,
) -> None:
    stranger = person(ctx, "buyer", "Sam Never")
    # Someone who never bid here: 422 on bidderId.
    response = offer(client, seller, closed, stranger)
    assert response.status_code == 422
    assert response.json_body["errors"][0]["field"] == "bidderId"
    # The highest bidder already had the first chance.
    response = offer(client, seller, closed, ravi)
    assert (response.status_code, response.json_body["code"]) == (409, "offer_not_allowed")
    # Only the seller offers.
    response = offer(client, asha, closed, bina)
    assert (response.status_code, response.json_body["code"]) == (403, "forbidden")
    # One pending at a time.
    made = offer(client, seller, closed, asha).json_body
    response = offer(client, seller, closed, bina)
    assert (response.status_code, response.json_body["code"]) == (409, "offer_pending")
    # Only its bidder answers; a bad action is 422; an unknown offer 404.
    response = answer(client, bina, made["id"], "accept")
    assert (response.status_code, response.json_body["code"]) == (403, "forbidden")
    response = Actor(client, asha).post(f"/api/offers/{made['id']}/response", {"action": "maybe"})
    assert response.status_code == 422
    assert answer(client, asha, str(uuid.uuid4()), "accept").status_code == 404
    assert answer(client, asha, "not-an-id", "accept").status_code == 404
    # Answered once only.
    assert answer(client, asha, made["id"], "reject").status_code == 200
    response = answer(client, asha, made["id"], "accept")
    assert (response.status_code, response.json_body["code"]) == (409, "offer_not_pending")
    # Bad bodies and unknown auctions.
    response = Actor(client, seller).post(f"/api/auctions/{closed}/offers", {"bidderId": "x"})
    assert response.status_code == 422
    assert offer(client, seller, uuid.uuid4(), asha).status_code == 404
    assert audit_actions(ctx, closed) == [
        "seller.reject",
        "seller.offer",
        "bidder.offer_reject",
    ]


def test_no_offer_on_an_auction_that_is_not_closed_after_bids(
    ctx: Context, client: Client, seller: Person, asha: Person, bina: Person
) -> None:
    live = live_auction(ctx, seller)
    Bidder(client, asha).placed(live, "100.00")
    response = offer(client, seller, live, asha)
    assert (response.status_code, response.json_body["code"]) == (409, "offer_not_allowed")
    sold = ended_auction(ctx, client, seller, [(asha, "100.00"), (bina, "150.00")])
    Actor(client, seller).post(f"/api/auctions/{sold}/decision", {"action": "accept"})
    response = offer(client, seller, sold, asha)
    assert (response.status_code, response.json_body["code"]) == (409, "offer_not_allowed")


# -- exactly one outcome -------------------------------------------------------------------------


def test_racing_offers_make_exactly_one(
    ctx: Context, api_url: str, seller: Person, asha: Person, bina: Person, closed: Any
) -> None:
    def make(who: Person) -> httpx.Response:
        return httpx.post(
            f"{api_url}/api/auctions/{closed}/offers",
            json={"bidderId": who.id},
            headers=seller.headers,
            timeout=30,
        )

    results = race(lambda: make(asha), lambda: make(bina), lambda: make(asha))
    assert sorted(r.status_code for r in results) == [201, 409, 409], [r.text for r in results]
    assert {r.json()["code"] for r in results if r.status_code == 409} <= {
        "offer_pending",
        "offer_not_allowed",
    }
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(SecondChanceOffer)) == 1
    assert audit_actions(ctx, closed).count("seller.offer") == 1


def test_racing_answers_make_exactly_one(
    ctx: Context, api_url: str, client: Client, seller: Person, asha: Person, closed: Any
) -> None:
    made = offer(client, seller, closed, asha).json_body

    def respond(action: str) -> httpx.Response:
        return httpx.post(
            f"{api_url}/api/offers/{made['id']}/response",
            json={"action": action},
            headers=asha.headers,
            timeout=30,
        )

    results = race(lambda: respond("accept"), lambda: respond("reject"), lambda: respond("accept"))
    assert sorted(r.status_code for r in results) == [200, 409, 409]
    assert all(r.json()["code"] == "offer_not_pending" for r in results if r.status_code == 409)
    answered = [
        t for t in feed_types(ctx, asha, closed) if t in ("offer:accepted", "offer:rejected")
    ]
    assert len(answered) == 1
    with ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Invoice)) == (
            1 if answered == ["offer:accepted"] else 0
        )


def test_an_offer_answer_racing_its_expiry_has_exactly_one_outcome(
    ctx: Context, api_url: str, client: Client, seller: Person, asha: Person, bina: Person
) -> None:
    node_ctx = for_socket_node(get_settings())
    outcomes = []
    try:
        for delay in (0.0, 1.0, 1.2, 1.4, 2.0):
            auction_id = ended_auction(ctx, client, seller, [(asha, "100.00"), (bina, "150.00")])
            Actor(client, seller).post(f"/api/auctions/{auction_id}/decision", {"action": "reject"})
            made = offer(client, seller, auction_id, asha).json_body
            move_deadline(ctx, auction_id, soon(1200), offer=True)

            def respond(oid: str = made["id"], delay: float = delay) -> int:
                time.sleep(delay)
                return httpx.post(
                    f"{api_url}/api/offers/{oid}/response",
                    json={"action": "accept"},
                    headers=asha.headers,
                    timeout=30,
                ).status_code

            def expire(aid: uuid.UUID = auction_id) -> bool:
                fired = False
                for _ in range(250):
                    fired = deadlines.offer_expiry(node_ctx, aid) or fired
                    time.sleep(0.01)
                return fired

            code, fired_a, fired_b = race(respond, expire, expire)
            status = status_of(ctx, auction_id)
            if code == 200:
                assert status[0] == "sold" and not (fired_a or fired_b)
                assert room_types(ctx, auction_id).count("auction:sold") == 1
            else:
                assert code == 409 and [fired_a, fired_b].count(True) == 1
                assert status == ("closed_no_winner", "offer_declined")
                assert "auction:sold" not in room_types(ctx, auction_id)
            outcomes.append(status[0])
    finally:
        node_ctx.close()
    assert "sold" in outcomes and "closed_no_winner" in outcomes
