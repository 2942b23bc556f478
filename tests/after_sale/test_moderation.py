"""Moderation: an admin suspends a user, whose writes are refused at once with
403 `account_suspended` (tokens already verified and cached too), reads still work; the user
list and the audit log with their filters; every action audited in its own transaction."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest
from chalice.test import Client
from sqlalchemy import func, select

from shared.adapters import keys
from shared.adapters.orm import AuditEntry, Bid
from shared.adapters.redis_store import RestStore
from shared.domain.errors import DomainError
from shared.services import bid_intake, moderation, rate_limits
from shared.services.context import Context
from tests.support.actors import Actor, Admin, Bidder
from tests.support.after_sale import ended_auction
from tests.support.harness import Person, live_auction, person, tcp


def refused(response: Any) -> bool:
    return bool(response.status_code == 403 and response.json_body["code"] == "account_suspended")


def test_a_suspended_users_writes_are_refused_at_once_and_reads_still_work(
    ctx: Context, client: Client, admin: Person, seller: Person, buyer: Person
) -> None:
    auction_id = live_auction(ctx, seller)
    Bidder(client, buyer).placed(
        auction_id, "100.00"
    )  # the token is verified and cached, the user seen
    Bidder(client, person(ctx, "buyer")).placed(auction_id, "110.00")  # buyer gets an `outbid` note
    bid_intake.drain(ctx)
    response = Admin(client, admin).suspend(buyer.id)
    assert response.status_code == 200, response.body
    assert response.json_body["suspended"] is True
    assert response.json_body["suspendedReason"] == "spam bids"

    # The bid script refuses (same token as before), and nothing is stored.
    attempt = Actor(client, buyer).post(f"/api/auctions/{auction_id}/bids", {"amount": "200.00"})
    assert refused(attempt), attempt.body
    with ctx.db.session() as session:
        assert session.scalar(select(func.max(Bid.amount))) == 110
    # Every other write too.
    (note,) = Actor(client, buyer).get("/api/notifications").json_body["items"]
    assert refused(Actor(client, buyer).post(f"/api/notifications/{note['id']}/read"))
    assert refused(
        Actor(client, buyer).post(f"/api/auctions/{auction_id}/payment", {"action": "mark_paid"})
    )
    assert refused(
        Actor(client, buyer).post(f"/api/offers/{uuid.uuid4()}/response", {"action": "accept"})
    )
    # Reads work.
    assert Actor(client, buyer).get(f"/api/auctions/{auction_id}").status_code == 200
    assert Actor(client, buyer).get("/api/me").status_code == 200
    assert Actor(client, buyer).get("/api/notifications").status_code == 200

    assert Admin(client, admin).unsuspend(buyer.id).json_body["suspended"] is False
    Bidder(client, buyer).placed(auction_id, "200.00")
    assert Actor(client, buyer).post(f"/api/notifications/{note['id']}/read").status_code == 200
    actions = [a for a in _audit(ctx) if a[0].startswith("admin.")]
    assert actions == [
        ("admin.suspend", {"userId": buyer.id, "reason": "spam bids", "alreadySuspended": False}),
        ("admin.unsuspend", {"userId": buyer.id, "wasSuspended": True}),
    ]


def _audit(ctx: Context) -> list[tuple[str, dict[str, Any]]]:
    with ctx.db.session() as session:
        return [
            (e.action, e.details)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_a_suspended_seller_cannot_create_or_decide(
    ctx: Context, client: Client, admin: Person, seller: Person, buyer: Person
) -> None:
    ended = ended_auction(ctx, client, seller, [(buyer, "100.00")])
    Admin(client, admin).suspend(seller.id)
    decision = Actor(client, seller).post(f"/api/auctions/{ended}/decision", {"action": "accept"})
    assert refused(decision)
    draft = {
        "itemName": "Lamp",
        "startPrice": "10",
        "bidIncrement": "1",
        "goLiveAt": "2099-01-01T00:00:00Z",
        "durationMins": 5,
    }
    assert refused(Actor(client, seller).post("/api/auctions", draft))
    assert Actor(client, seller).get(f"/api/auctions/{ended}").json_body["status"] == "ended"


def test_the_check_survives_a_redis_that_lost_the_set(
    ctx: Context, client: Client, admin: Person, seller: Person, buyer: Person
) -> None:
    auction_id = live_auction(ctx, seller)
    Admin(client, admin).suspend(buyer.id)
    tcp().command("DEL", keys.SUSPENDED)  # flushed, evicted, a new Redis
    assert refused(
        Actor(client, buyer).post(f"/api/auctions/{auction_id}/bids", {"amount": "100.00"})
    )
    tcp().command("DEL", keys.SUSPENDED)
    assert refused(
        Actor(client, buyer).post(f"/api/auctions/{auction_id}/payment", {"action": "confirm"})
    )
    # Rebuilt from PostgreSQL: the sentinel and the one suspended user.
    members = tcp().command("SMEMBERS", keys.SUSPENDED)  # over TCP: the bridge has no SMEMBERS
    assert set(members) == {keys.SUSPENDED_SENTINEL, buyer.id}


def test_with_redis_unreachable_the_record_decides(
    ctx: Context, client: Client, admin: Person, buyer: Person, seller: Person
) -> None:
    Admin(client, admin).suspend(buyer.id)
    dead = replace(ctx, store=RestStore("http://127.0.0.1:9", "token"))
    with pytest.raises(DomainError) as caught:
        rate_limits.take_write_token(dead, "decisions", f"user:{buyer.id}", buyer.id)
    assert caught.value.code == "account_suspended"
    with pytest.raises(DomainError):
        moderation.refuse_if_suspended(dead, buyer.id)
    rate_limits.take_write_token(dead, "decisions", f"user:{seller.id}", seller.id)  # let through
    moderation.refuse_if_suspended(dead, seller.id)


def test_suspension_refusals(
    ctx: Context, client: Client, admin: Person, buyer: Person, seller: Person
) -> None:
    assert Admin(client, admin).suspend(str(uuid.uuid4())).status_code == 404
    assert Admin(client, admin).suspend("not-a-user").status_code == 404
    assert Admin(client, admin).unsuspend(str(uuid.uuid4())).status_code == 404
    response = Admin(client, buyer).suspend(seller.id)
    assert (response.status_code, response.json_body["code"]) == (403, "forbidden")
    response = Actor(client, admin).post(f"/api/admin/users/{buyer.id}/suspend", {})
    assert response.status_code == 422
    assert Admin(client, admin).suspend(buyer.id, reason="").status_code == 422
    assert Admin(client, admin).suspend(buyer.id, reason="x" * 501).status_code == 422
    assert Admin(client, admin).suspend(admin.id).status_code == 422  # not yourself
    # Refused requests change nothing and audit nothing.
    assert _audit(ctx) == []
    assert Actor(client, admin).get("/api/admin/users?suspended=true").json_body["items"] == []


def test_the_user_list_finds_and_filters(
    ctx: Context, client: Client, admin: Person, buyer: Person, seller: Person
) -> None:
    asha = person(ctx, "buyer", "Asha Kulkarni")
    Admin(client, admin).suspend(asha.id)
    found = Actor(client, admin).get("/api/admin/users?q=kulkarni").json_body["items"]
    assert [u["id"] for u in found] == [asha.id]
    assert found[0]["suspended"] is True and found[0]["email"] == asha.principal.email
    assert [
        u["id"]
        for u in Actor(client, admin).get("/api/admin/users?suspended=true").json_body["items"]
    ] == [asha.id]
    active = Actor(client, admin).get("/api/admin/users?suspended=false").json_body["items"]
    assert asha.id not in [u["id"] for u in active] and buyer.id in [u["id"] for u in active]
    # Cursor pages cover everyone once.
    seen: list[str] = []
    cursor = None
    while True:
        path = "/api/admin/users?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = Actor(client, admin).get(path).json_body
        seen += [u["id"] for u in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted({admin.id, buyer.id, seller.id, asha.id})
    assert (
        Actor(client, admin).get("/api/admin/users?q=%25").json_body["items"] == []
    )  # % is literal
    assert Actor(client, buyer).get("/api/admin/users").status_code == 403


def test_the_audit_log_filters_by_actor_action_and_auction(
    ctx: Context, client: Client, admin: Person, buyer: Person, seller: Person
) -> None:
    one = ended_auction(ctx, client, seller, [(buyer, "100.00")])
    two = ended_auction(ctx, client, seller, [(buyer, "100.00")])
    Actor(client, seller).post(f"/api/auctions/{one}/decision", {"action": "accept"})
    Actor(client, seller).post(f"/api/auctions/{two}/decision", {"action": "reject"})
    Admin(client, admin).suspend(buyer.id)

    def listed(query: str) -> list[dict[str, Any]]:
        response = Actor(client, admin).get(f"/api/admin/audit{query}")
        assert response.status_code == 200, response.body
        return list(response.json_body["items"])

    everything = listed("")
    assert [e["action"] for e in everything] == ["admin.suspend", "seller.reject", "seller.accept"]
    assert set(everything[0]) == {"id", "actorId", "action", "auctionId", "details", "createdAt"}
    assert [e["action"] for e in listed(f"?actorId={seller.id}")] == [
        "seller.reject",
        "seller.accept",
    ]
    assert [e["action"] for e in listed(f"?auctionId={one}")] == ["seller.accept"]
    assert [e["auctionId"] for e in listed("?action=seller.reject")] == [str(two)]
    assert listed(f"?actorId={admin.id}&action=admin.suspend")[0]["details"]["userId"] == buyer.id
    first = Actor(client, admin).get("/api/admin/audit?limit=2").json_body
    rest = (
        Actor(client, admin).get(f"/api/admin/audit?limit=2&cursor={first['nextCursor']}").json_body
    )
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in everything]
    assert rest["nextCursor"] is None
    assert Actor(client, admin).get("/api/admin/audit?actorId=nope").status_code == 422
    assert Actor(client, admin).get("/api/admin/audit?cursor=nope").status_code == 422
    assert Actor(client, seller).get("/api/admin/audit").status_code == 403


def test_the_suspension_and_its_audit_entry_commit_together(
    ctx: Context, client: Client, admin: Person, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A suspension whose transaction fails leaves neither the suspension nor its entry."""
    from shared.services import audit

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the audit log is unwritable")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        moderation.suspend(ctx, _viewer(admin), buyer.id, "spam")
    monkeypatch.undo()
    listed = Actor(client, admin).get("/api/admin/users?suspended=true").json_body["items"]
    assert listed == [] and _audit(ctx) == []


def _viewer(who: Person) -> Any:
    from shared.domain.principal import Viewer

    return Viewer(who.id, who.principal.role)
