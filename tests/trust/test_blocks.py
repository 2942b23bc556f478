"""A seller's blocked bidders (shared/services/blocks.py) over the real API, PostgreSQL and
Redis: the routes and their refusals, the record and the Redis set kept together (the outbox
relays each change; a missing set is rebuilt from the record before it is trusted), the check
a bid will make, and the audit log."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from chalice.test import Client
from sqlalchemy import select

from shared.adapters import keys
from shared.adapters.orm import AuditEntry, BlockedBidder, OutboxEntry
from shared.domain.errors import DomainError
from shared.domain.principal import Viewer
from shared.services import blocks, outbox
from shared.services.context import Context
from shared.settings import get_settings
from tests.support.actors import call
from tests.support.harness import Person, flush_redis, person


def _block(client: Client, seller: Person, bidder_id: str, method: str = "PUT") -> int:
    return call(client, method, f"/api/me/blocked-bidders/{bidder_id}", seller).status_code


def _listed(client: Client, seller: Person, **query: str) -> dict[str, Any]:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    response = call(client, "GET", f"/api/me/blocked-bidders?{qs}", seller)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def _members(ctx: Context, seller: Person) -> set[str]:
    """The seller's set in Redis, read over TCP (the REST bridge serves only what the
    system sends)."""
    client = redis.Redis.from_url(get_settings().redis_url or "", decode_responses=True)
    try:
        return {str(m) for m in client.smembers(keys.blocked_bidders(seller.id))}
    finally:
        client.close()


def test_a_block_lands_in_the_list_the_record_and_the_set(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    rival = person(ctx, "buyer", "Ravi Menon")
    blocks.load_blocked(ctx, seller.id)  # the set as a bid would have it rebuilt
    assert _block(client, seller, buyer.id) == 204
    assert _block(client, seller, buyer.id) == 204  # again: nothing changes
    assert _block(client, seller, rival.id) == 204
    items = _listed(client, seller)["items"]
    assert [i["userId"] for i in items] == [rival.id, buyer.id]  # most recent first
    assert items[0]["name"] == "Ravi M." and items[0]["blockedAt"].endswith("Z")
    assert _members(ctx, seller) == {keys.BLOCKED_SENTINEL, buyer.id, rival.id}
    with pytest.raises(DomainError) as refused:
        blocks.refuse_if_blocked(ctx, seller.id, buyer.id)
    assert (refused.value.code, refused.value.status) == ("bidder_blocked", 403)
    blocks.refuse_if_blocked(ctx, rival.id, buyer.id)  # another seller's auctions: fine

    assert _block(client, seller, buyer.id, "DELETE") == 204
    assert _block(client, seller, buyer.id, "DELETE") == 204  # idempotent
    blocks.refuse_if_blocked(ctx, seller.id, buyer.id)
    assert _members(ctx, seller) == {keys.BLOCKED_SENTINEL, rival.id}
    with ctx.db.session() as session:
        actions = [
            (e.action, e.details["userId"])
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
        assert session.scalar(select(OutboxEntry.id)) is None  # every change relayed
    assert actions == [
        ("seller.block", buyer.id),
        ("seller.block", rival.id),
        ("seller.unblock", buyer.id),
    ]


def test_a_list_pages_with_its_cursor(ctx: Context, client: Client, seller: Person) -> None:
    blocked = [person(ctx, "buyer", f"Bidder {n}") for n in range(3)]
    for b in blocked:
        assert _block(client, seller, b.id) == 204
    first = _listed(client, seller, limit="2")
    assert first["nextCursor"]
    second = _listed(client, seller, limit="2", cursor=str(first["nextCursor"]))
    assert second["nextCursor"] is None
    ids = [i["userId"] for page in (first, second) for i in page["items"]]
    assert sorted(ids) == sorted(b.id for b in blocked)


def test_refusals(ctx: Context, client: Client, seller: Person, buyer: Person) -> None:
    assert _block(client, seller, str(uuid.uuid4())) == 404
    assert _block(client, seller, str(uuid.uuid4()), "DELETE") == 404
    assert _block(client, seller, "not-a-user") == 404
    refused = call(client, "PUT", f"/api/me/blocked-bidders/{seller.id}", seller)
    assert refused.status_code == 422
    assert refused.json_body["errors"] == [
        {"field": "userId", "message": "you cannot block yourself"}
    ]
    assert call(client, "PUT", f"/api/me/blocked-bidders/{buyer.id}").status_code == 401
    assert call(client, "GET", "/api/me/blocked-bidders").status_code == 401
    assert call(client, "GET", "/api/me/blocked-bidders?limit=0", seller).status_code == 422
    with ctx.db.session() as session:
        assert session.scalar(select(BlockedBidder.bidder_id)) is None


def test_a_missing_set_is_rebuilt_from_the_record_before_it_is_trusted(
    ctx: Context, seller: Person, buyer: Person
) -> None:
    blocks.block(ctx, Viewer(seller.id, "seller"), buyer.id)
    flush_redis()  # Redis lost everything
    assert _members(ctx, seller) == set()
    with pytest.raises(DomainError, match="bidder_blocked"):
        blocks.refuse_if_blocked(ctx, seller.id, buyer.id)
    assert _members(ctx, seller) == {keys.BLOCKED_SENTINEL, buyer.id}
    # An unblock whose direct write to Redis was lost is repaired by the relay of its row.
    other = person(ctx, "buyer", "other")
    blocks.block(ctx, Viewer(seller.id, "seller"), other.id)
    with ctx.db.session() as session:
        session.add(
            OutboxEntry(
                kind="membership",
                body={
                    "kind": "membership",
                    "setKey": keys.blocked_bidders(seller.id),
                    "member": buyer.id,
                    "present": False,
                },
            )
        )
    outbox.relay(ctx)
    assert _members(ctx, seller) == {keys.BLOCKED_SENTINEL, other.id}


def test_with_redis_down_the_record_answers(
    ctx: Context, seller: Person, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.adapters.redis_store import RestStore

    blocks.block(ctx, Viewer(seller.id, "seller"), buyer.id)
    monkeypatch.setattr(ctx, "store", RestStore("http://127.0.0.1:9", "x", retries=0))
    with pytest.raises(DomainError, match="bidder_blocked"):
        blocks.refuse_if_blocked(ctx, seller.id, buyer.id)
    blocks.refuse_if_blocked(ctx, buyer.id, seller.id)
