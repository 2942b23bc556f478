"""The seller's decision window and the counter offer's expiry: what fires when,
with which events, notifications and emails, once; and a decision or an answer racing its own
deadline gives exactly one outcome. Windows are shortened through the settings."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from chalice.test import Client

from shared.domain.times import parse_iso
from shared.services import deadlines
from shared.services.context import Context, for_socket_node
from shared.settings import get_settings
from tests.support.actors import Actor
from tests.support.after_sale import (
    audit_actions,
    ended_auction,
    feed_types,
    move_deadline,
    notification_types,
    queued_job_ids,
    race,
    room_types,
    run_jobs,
    soon,
    status_of,
    tick_until,
    windows,
)
from tests.support.harness import Person, person
from tests.support.sendgrid_sink import SendGridSink
from tests.support.streams import room_events

# When a racing request leaves, against a deadline 1.2 s away: early, around it, and late.
DELAYS = (0.0, 1.0, 1.2, 1.4, 2.0)


@pytest.fixture
def rival(ctx: Context) -> Person:
    return person(ctx, "buyer", "Ravi Kumar")


def ended(
    ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person, **kw: Any
) -> Any:
    """Ended with bids: `buyer` 100, `rival` 1250 on top."""
    return ended_auction(ctx, client, seller, [(buyer, "100.00"), (rival, "1250.00")], **kw)


def sent(sink: SendGridSink) -> list[tuple[str, str]]:
    return sorted((m.job_id or "", m.to[0]) for m in sink.messages)


# -- the decision window -----------------------------------------------------------------------


def test_an_ended_auction_shows_its_decision_deadline(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, decision_window_secs=3600)
    auction_id = ended(ctx, client, seller, buyer, rival)
    body = Actor(client, None).get(f"/api/auctions/{auction_id}").json_body
    assert body["status"] == "ended"
    deadline = parse_iso(body["decisionDeadline"])
    assert deadline - parse_iso(body["endsAt"]) == timedelta(seconds=3600)
    (required,) = [e for e in _events(ctx, seller) if e["type"] == "seller:decision_required"]
    assert required["data"]["decisionDeadline"] == body["decisionDeadline"]
    # Decided: the deadline no longer applies and is no longer shown.
    assert Actor(client, seller).post(f"/api/auctions/{auction_id}/decision", {"action": "reject"})
    assert (
        "decisionDeadline" not in Actor(client, None).get(f"/api/auctions/{auction_id}").json_body
    )


def _events(ctx: Context, user: Person) -> list[dict[str, Any]]:
    from tests.support.after_sale import feed_events

    return feed_events(ctx, user)


def test_silence_reminds_the_seller_once_then_rejects_at_the_deadline(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, decision_window_secs=2)  # the reminder at 1 s, the end at 2 s
    auction_id = ended(ctx, client, seller, buyer, rival)
    tick_until(ctx, lambda: "decision_reminder" in notification_types(ctx, seller, auction_id))
    assert status_of(ctx, auction_id) == ("ended", None)
    tick_until(ctx, lambda: status_of(ctx, auction_id)[0] != "ended")
    for _ in range(3):  # more ticks change nothing
        tick_until(ctx, lambda: True)

    assert status_of(ctx, auction_id) == ("closed_no_winner", "decision_expired")
    body = Actor(client, None).get(f"/api/auctions/{auction_id}").json_body
    assert body["closeReason"] == "decision_expired"
    assert notification_types(ctx, seller, auction_id).count("decision_reminder") == 1
    assert notification_types(ctx, seller, auction_id).count("decision_expired") == 1
    assert notification_types(ctx, rival, auction_id).count("decision_expired") == 1
    assert "decision_expired" not in notification_types(
        ctx, buyer, auction_id
    )  # only the highest bidder
    assert feed_types(ctx, rival, auction_id).count("seller:rejected") == 1
    assert feed_types(ctx, seller, auction_id).count("seller:rejected") == 1
    closed = [e for e in room_events(ctx, auction_id, relay=True) if e["type"] == "auction:closed"]
    assert [e["data"]["closeReason"] for e in closed] == ["decision_expired"]
    assert audit_actions(ctx, auction_id) == ["system.decision_default"]

    run_jobs(ctx)
    assert sent(sink) == sorted(
        [
            (f"email:decision_reminder:{auction_id}:r1:seller", seller.principal.email),
            (f"email:decision_expired:{auction_id}:r1:buyer", rival.principal.email),
            (f"email:decision_expired:{auction_id}:r1:seller", seller.principal.email),
        ]
    )
    reminder = next(m for m in sink.messages if "decision_reminder" in (m.job_id or ""))
    assert "₹1,250.00" in reminder.text and "IST" in reminder.text
    assert "closes without a sale" in reminder.text


def test_default_accept_sells_when_the_reserve_is_met(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, decision_window_secs=1, decision_default="accept")
    auction_id = ended(ctx, client, seller, buyer, rival, reserve="1000.00")
    tick_until(ctx, lambda: status_of(ctx, auction_id)[0] != "ended")

    body = Actor(client, seller).get(f"/api/auctions/{auction_id}").json_body
    assert body["status"] == "sold"
    assert body["winnerId"] == rival.id and body["finalPrice"] == "1250.00"
    assert body["payment"]["status"] == "pending"
    assert feed_types(ctx, rival, auction_id)[-1] == "seller:accepted"
    assert "accepted" in notification_types(ctx, rival, auction_id)
    assert notification_types(ctx, seller, auction_id).count("decision_expired") == 1  # why it sold
    (sold,) = [e for e in room_events(ctx, auction_id, relay=True) if e["type"] == "auction:sold"]
    assert sold["data"] == {"status": "sold", "finalPrice": "1250.00", "winnerName": "Ravi K."}
    assert audit_actions(ctx, auction_id) == ["system.decision_default"]
    run_jobs(ctx)
    assert [m for m in sent(sink) if "decision_reminder" not in m[0]] == sorted(
        [
            (f"email:sale:{auction_id}:buyer", rival.principal.email),
            (f"email:sale:{auction_id}:seller", seller.principal.email),
        ]
    )


def test_default_accept_below_the_reserve_rejects(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, decision_window_secs=1, decision_default="accept")
    auction_id = ended(ctx, client, seller, buyer, rival, reserve="5000.00")
    tick_until(ctx, lambda: status_of(ctx, auction_id)[0] != "ended")
    assert status_of(ctx, auction_id) == ("closed_no_winner", "decision_expired")
    assert "auction:sold" not in room_types(ctx, auction_id)


def test_a_decision_after_the_deadline_is_refused_and_the_default_applies_first(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No ticker runs here: the late request itself applies the default, then is judged."""
    windows(ctx, monkeypatch, decision_window_secs=3600)
    auction_id = ended(ctx, client, seller, buyer, rival)
    move_deadline(ctx, auction_id, soon(-10), decision=True)
    response = Actor(client, seller).post(
        f"/api/auctions/{auction_id}/decision", {"action": "accept"}
    )
    assert response.status_code == 409, response.body
    assert response.json_body["code"] == "decision_not_allowed"
    assert status_of(ctx, auction_id) == ("closed_no_winner", "decision_expired")
    assert audit_actions(ctx, auction_id) == ["system.decision_default"]


def test_a_decision_racing_its_own_deadline_has_exactly_one_outcome(
    ctx: Context, api_url: str, client: Client, seller: Person, buyer: Person, rival: Person
) -> None:
    """The seller's accept and two tickers firing the deadline, released together at the
    deadline's instant: either the seller's sale or the default's close, never both."""
    node_ctx = for_socket_node(get_settings())
    outcomes = []
    try:
        # The request leaves from well before to well after the deadline (1.2 s from now).
        for delay in DELAYS:
            auction_id = ended(ctx, client, seller, buyer, rival)
            move_deadline(ctx, auction_id, soon(1200), decision=True)

            def decide(aid: uuid.UUID = auction_id, delay: float = delay) -> int:
                time.sleep(delay)
                return httpx.post(
                    f"{api_url}/api/auctions/{aid}/decision",
                    json={"action": "accept"},
                    headers=seller.headers,
                    timeout=30,
                ).status_code

            def expire(aid: uuid.UUID = auction_id) -> bool:
                fired = False
                for _ in range(250):  # every 10 ms for 2.5 s
                    fired = deadlines.decision_deadline(node_ctx, aid) or fired
                    time.sleep(0.01)
                return fired

            code, fired_a, fired_b = race(decide, expire, expire)
            actions = audit_actions(ctx, auction_id)
            kinds = [
                t for t in room_types(ctx, auction_id) if t in ("auction:sold", "auction:closed")
            ]
            status = status_of(ctx, auction_id)
            if code == 200:
                assert actions == ["seller.accept"] and not (fired_a or fired_b)
                assert status == ("sold", "accepted") and kinds == ["auction:sold"]
            else:
                assert code == 409 and [fired_a, fired_b].count(True) == 1
                assert actions == ["system.decision_default"]
                assert status == ("closed_no_winner", "decision_expired")
                assert kinds == ["auction:closed"]
            outcomes.append(actions[0])
    finally:
        node_ctx.close()
    print("outcomes:", outcomes)
    # Both sides won at least once here (the seller early, the default late).
    assert "seller.accept" in outcomes and "system.decision_default" in outcomes


# -- the counter offer's expiry ------------------------------------------------------------------


def _counter(
    client: Client, seller: Person, auction_id: Any, amount: str = "1500"
) -> dict[str, Any]:
    response = Actor(client, seller).post(
        f"/api/auctions/{auction_id}/decision", {"action": "counter", "amount": amount}
    )
    assert response.status_code == 200, response.body
    return dict(response.json_body["counterOffer"])


def test_a_counter_offer_carries_its_expiry(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, counter_window_secs=7200)
    auction_id = ended(ctx, client, seller, buyer, rival)
    before = soon()
    counter = _counter(client, seller, auction_id)
    expires = parse_iso(counter["expiresAt"])
    assert before + timedelta(seconds=7199) <= expires <= soon() + timedelta(seconds=7200)
    (offer,) = [e for e in _events(ctx, rival) if e["type"] == "counter:offer"]
    assert offer["data"]["counterOffer"]["expiresAt"] == counter["expiresAt"]


def test_an_unanswered_counter_offer_expires_and_closes_the_auction(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, counter_window_secs=1)
    auction_id = ended(ctx, client, seller, buyer, rival)
    counter = _counter(client, seller, auction_id)
    tick_until(ctx, lambda: status_of(ctx, auction_id)[0] != "ended")
    tick_until(ctx, lambda: True)

    body = Actor(client, None).get(f"/api/auctions/{auction_id}").json_body
    assert body["status"] == "closed_no_winner" and body["closeReason"] == "counter_expired"
    assert body["counterOffer"]["status"] == "expired"
    for who in (rival, seller):
        assert feed_types(ctx, who, auction_id).count("counter:expired") == 1
        assert notification_types(ctx, who, auction_id).count("counter_expired") == 1
    assert "counter:expired" not in feed_types(ctx, buyer, auction_id)
    assert [
        e["data"]["closeReason"]
        for e in room_events(ctx, auction_id, relay=True)
        if e["type"] == "auction:closed"
    ] == ["counter_expired"]
    assert audit_actions(ctx, auction_id) == ["seller.counter", "system.counter_expired"]
    run_jobs(ctx)
    expired = sorted(j for j, _ in sent(sink) if "counter_expired" in j)
    assert expired == [
        f"email:counter_expired:{counter['id']}:buyer",
        f"email:counter_expired:{counter['id']}:seller",
    ]


def test_an_answer_after_the_expiry_is_refused(
    ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person
) -> None:
    auction_id = ended(ctx, client, seller, buyer, rival)
    counter = _counter(client, seller, auction_id)
    move_deadline(ctx, auction_id, soon(-10), counter=True)
    response = Actor(client, rival).post(
        f"/api/counter/{counter['id']}/response", {"action": "accept"}
    )
    assert response.status_code == 409
    assert response.json_body["code"] == "counter_not_pending"
    assert status_of(ctx, auction_id) == ("closed_no_winner", "counter_expired")


def test_a_counter_answer_racing_its_expiry_has_exactly_one_outcome(
    ctx: Context, api_url: str, client: Client, seller: Person, buyer: Person, rival: Person
) -> None:
    node_ctx = for_socket_node(get_settings())
    outcomes = []
    try:
        for delay in DELAYS:
            auction_id = ended(ctx, client, seller, buyer, rival)
            counter = _counter(client, seller, auction_id)
            move_deadline(ctx, auction_id, soon(1200), counter=True)

            def answer(cid: str = counter["id"], delay: float = delay) -> int:
                time.sleep(delay)
                return httpx.post(
                    f"{api_url}/api/counter/{cid}/response",
                    json={"action": "accept"},
                    headers=rival.headers,
                    timeout=30,
                ).status_code

            def expire(aid: uuid.UUID = auction_id) -> bool:
                fired = False
                for _ in range(250):  # every 10 ms for 2.5 s
                    fired = deadlines.counter_expiry(node_ctx, aid) or fired
                    time.sleep(0.01)
                return fired

            code, fired_a, fired_b = race(answer, expire, expire)
            status = status_of(ctx, auction_id)
            kinds = [
                t for t in room_types(ctx, auction_id) if t in ("auction:sold", "auction:closed")
            ]
            if code == 200:
                assert status[0] == "sold" and not (fired_a or fired_b)
                assert kinds == ["auction:sold"]
            else:
                assert code == 409 and [fired_a, fired_b].count(True) == 1
                assert status == ("closed_no_winner", "counter_expired")
                assert kinds == ["auction:closed"]
            assert len(audit_actions(ctx, auction_id)) == 2  # the counter, then one outcome
            outcomes.append(status[0])
    finally:
        node_ctx.close()
    assert "sold" in outcomes and "closed_no_winner" in outcomes


def test_each_deadline_job_is_queued_once_however_often_it_is_fired(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    windows(ctx, monkeypatch, decision_window_secs=3600)
    auction_id = ended(ctx, client, seller, buyer, rival)
    move_deadline(ctx, auction_id, soon(-10), reminder=True)
    made = [deadlines.decision_reminder(ctx, auction_id) for _ in range(3)]
    assert made == [True, False, False]
    reminders = {j for j in queued_job_ids(ctx) if "decision_reminder" in j}
    assert reminders == {f"email:decision_reminder:{auction_id}:r1:seller"}
