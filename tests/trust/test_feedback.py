"""Feedback after a completed sale and the reputation it builds (shared/services/feedback.py)
over the real API and PostgreSQL: each side once, only once the payment is confirmed, only the
parties; one reply by the rated side; comments one printable line; a reputation of the last
12 months."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client, HTTPResponse
from sqlalchemy import update

from shared.adapters.orm import Feedback
from shared.domain.feedback import tally
from shared.services.context import Context
from tests.support.actors import call
from tests.support.after_sale import ended_auction
from tests.support.harness import Person, person


def _decide(client: Client, seller: Person, auction_id: Any) -> None:
    reply = call(
        client, "POST", f"/api/auctions/{auction_id}/decision", seller, {"action": "accept"}
    )
    assert reply.status_code == 200, reply.body


def _pay(client: Client, who: Person, auction_id: Any, action: str) -> None:
    reply = call(client, "POST", f"/api/auctions/{auction_id}/payment", who, {"action": action})
    assert reply.status_code == 200, reply.body


def _feedback(
    client: Client, who: Person | None, auction_id: Any, rating: str = "positive", **more: Any
) -> HTTPResponse:
    body = {"rating": rating, **more}
    return call(client, "POST", f"/api/auctions/{auction_id}/feedback", who, body)


def _reply(client: Client, who: Person | None, auction_id: Any, comment: str) -> HTTPResponse:
    path = f"/api/auctions/{auction_id}/feedback/reply"
    return call(client, "POST", path, who, {"comment": comment})


@pytest.fixture
def sold(ctx: Context, client: Client, seller: Person, buyer: Person) -> uuid.UUID:
    """Sold to the buyer at 150.00, the payment not confirmed yet."""
    auction_id = ended_auction(ctx, client, seller, [(buyer, "150.00")])
    _decide(client, seller, auction_id)
    return auction_id


def test_each_side_once_after_the_payment_is_confirmed(
    ctx: Context, client: Client, seller: Person, buyer: Person, sold: uuid.UUID
) -> None:
    assert _feedback(client, buyer, sold).json_body["code"] == "feedback_not_allowed"
    _pay(client, buyer, sold, "mark_paid")
    assert _feedback(client, seller, sold).status_code == 409  # paid, not yet confirmed
    _pay(client, seller, sold, "confirm")

    left = _feedback(client, buyer, sold, "positive", comment="  Fast, well packed  ")
    assert left.status_code == 201, left.body
    body = left.json_body
    assert (body["fromId"], body["toId"], body["fromRole"]) == (buyer.id, seller.id, "buyer")
    assert (body["rating"], body["comment"], body["reply"]) == (
        "positive",
        "Fast, well packed",
        None,
    )
    again = _feedback(client, buyer, sold, "negative")
    assert (again.status_code, again.json_body["code"]) == (409, "feedback_exists")

    theirs = _feedback(client, seller, sold, "neutral", comment="Paid late")
    assert theirs.status_code == 201 and theirs.json_body["toId"] == buyer.id

    listed = call(client, "GET", f"/api/auctions/{sold}/feedback").json_body["items"]
    assert [(f["fromRole"], f["rating"]) for f in listed] == [
        ("buyer", "positive"),
        ("seller", "neutral"),
    ]


def test_only_the_parties(
    ctx: Context, client: Client, seller: Person, buyer: Person, sold: uuid.UUID
) -> None:
    _pay(client, seller, sold, "confirm")
    stranger = person(ctx, "buyer", "stranger")
    assert _feedback(client, stranger, sold).json_body["code"] == "forbidden"
    assert _feedback(client, None, sold).status_code == 401
    assert _feedback(client, buyer, uuid.uuid4()).status_code == 404
    assert _feedback(client, buyer, "nonsense").status_code == 404


def test_before_a_sale_a_bidder_is_nobody_and_the_seller_waits(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    ended = ended_auction(ctx, client, seller, [(buyer, "150.00")])
    assert _feedback(client, buyer, ended).json_body["code"] == "forbidden"
    assert _feedback(client, seller, ended).json_body["code"] == "feedback_not_allowed"


@pytest.mark.parametrize(
    "body",
    [
        {"rating": "great"},
        {"rating": "positive", "comment": "line\nbreak"},
        {"rating": "positive", "comment": "evil\u202etxt.exe"},
        {"rating": "positive", "comment": "bell\x07"},
        {"rating": "positive", "comment": "x" * 501},
        {"rating": "positive", "extra": 1},
        {"comment": "no rating"},
    ],
)
def test_what_is_not_feedback_is_refused(
    client: Client, seller: Person, buyer: Person, sold: uuid.UUID, body: dict[str, Any]
) -> None:
    _pay(client, seller, sold, "confirm")
    refused = call(client, "POST", f"/api/auctions/{sold}/feedback", buyer, body)
    assert (refused.status_code, refused.json_body["code"]) == (422, "validation_error")


def test_the_rated_side_replies_once(
    ctx: Context, client: Client, seller: Person, buyer: Person, sold: uuid.UUID
) -> None:
    _pay(client, seller, sold, "confirm")
    assert _reply(client, seller, sold, "Thanks!").status_code == 404  # nothing about them yet
    assert _feedback(client, buyer, sold, "negative", comment="Box was damaged").status_code == 201
    assert _reply(client, buyer, sold, "me again").status_code == 404  # nothing about the buyer
    stranger = person(ctx, "buyer", "stranger")
    assert _reply(client, stranger, sold, "hi").json_body["code"] == "forbidden"
    assert _reply(client, seller, sold, "").status_code == 422
    replied = _reply(client, seller, sold, "Sorry: the courier's fault, refund sent")
    assert replied.status_code == 201, replied.body
    assert replied.json_body["reply"]["comment"] == "Sorry: the courier's fault, refund sent"
    again = _reply(client, seller, sold, "And another thing")
    assert (again.status_code, again.json_body["code"]) == (409, "reply_exists")


def test_a_reputation_counts_the_last_twelve_months(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    for n, (rating, comment) in enumerate(
        [("positive", "Great"), ("positive", "Again great"), ("negative", "Never shipped")]
    ):
        other = person(ctx, "buyer", f"Buyer {n}")
        auction_id = ended_auction(ctx, client, seller, [(other, "150.00")])
        _decide(client, seller, auction_id)
        _pay(client, seller, auction_id, "confirm")
        assert _feedback(client, other, auction_id, rating, comment=comment).status_code == 201
    with ctx.db.session() as session:  # the first of them is from 13 months ago
        session.execute(
            update(Feedback)
            .where(Feedback.comment == "Great")
            .values(created_at=datetime.now(UTC) - timedelta(days=400))
        )
    rep = call(client, "GET", f"/api/users/{seller.id}/reputation").json_body
    assert rep["userId"] == seller.id and rep["name"] == "seller"
    assert (rep["positive"], rep["neutral"], rep["negative"]) == (1, 0, 1)
    assert rep["percentPositive"] == 50.0 and rep["retractions12m"] == 0
    assert rep["memberSince"].endswith("Z")
    assert [(r["rating"], r["comment"], r["role"]) for r in rep["recent"]] == [
        ("negative", "Never shipped", "seller"),
        ("positive", "Again great", "seller"),
    ]
    fresh = call(client, "GET", f"/api/users/{buyer.id}/reputation").json_body
    assert (fresh["positive"], fresh["percentPositive"], fresh["recent"]) == (0, None, [])
    assert call(client, "GET", f"/api/users/{uuid.uuid4()}/reputation").status_code == 404
    assert call(client, "GET", "/api/users/nobody/reputation").status_code == 404


def test_the_positive_share_rounds_half_up_and_leaves_neutral_out() -> None:
    from shared.domain.feedback import Received

    now = datetime.now(UTC)
    ratings = ["positive"] * 2 + ["negative"] + ["neutral"] * 5
    t = tally([Received(r, "", "seller", now - timedelta(days=1)) for r in ratings], now)
    assert (t.positive, t.neutral, t.negative, t.percent_positive) == (2, 5, 1, 66.7)
