"""Every route, every answer it documents, over every transport: in-process (chalice.test),
the local HTTP server, and the packaged bundle behind the API Gateway harness (REST proxy
events v1 into `make package`'s zip, read-only, in a fresh interpreter).

Driven by the operation registry (`chalicelib.operations.OPERATIONS`): each operation's success and
each problem code it declares (`errors`), and each extra documented status (`responses`), is
a scenario here. A route or a code without one fails `test_every_documented_answer_has_a_
scenario`, so a new route is covered or the suite says so.

Each scenario sets up what it needs (directly in PostgreSQL/Redis, or through the API), makes
the request over the transport under test and returns the reply; the test checks the status,
the problem `code` (or the success body against the operation's response model), the media
type and the security headers. A few answers need a process configured otherwise (PostgreSQL
and Redis down, rate limits of one a minute, auth keys set): the gateway transport starts a
Lambda instance so configured; in-process and HTTP patch the settings the handlers read, or
skip with the reason when that would mean stopping the suite's own services.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from shared.adapters import keys
from shared.adapters.orm import CounterOffer
from shared.adapters.tokens import dev_secret
from shared.domain.errors import PROBLEMS
from shared.domain.vocabulary import NotificationType
from shared.services import bid_intake, ledger, notifications, trust
from shared.services.context import Context
from shared.settings import get_settings
from tests.support import harness
from tests.support.after_sale import hammer
from tests.support.api_client import Api, Reply
from tests.support.gateway import Gateway
from tests.support.gst_samples import gstin_for
from tests.support.harness import Person, tcp

BIG = {"itemName": "x" * (70 * 1024)}  # over the 64 KiB body limit
GSTIN_KA = str(gstin_for("29"))  # a registered seller in Karnataka


def operations() -> list[Any]:
    """The operations the app serves (a route module imported but not registered, like the
    bench's, is not one of them)."""
    import app as functions_app
    from chalicelib.operations import OPERATIONS

    served = functions_app.app.routes
    return [op for op in OPERATIONS if op.method in served.get(op.path, {})]


def documented(op: Any) -> list[str]:
    """What `op` says it answers: "ok", each problem code, each extra status."""
    return ["ok", *op.errors, *(str(status) for status, _ in op.responses)]


# -- the world a scenario acts in -------------------------------------------------------------


@dataclass
class World:
    api: Api
    transport: str
    ctx: Context
    request: pytest.FixtureRequest
    monkeypatch: pytest.MonkeyPatch
    _people: dict[str, Person] = field(default_factory=dict)

    def who(self, role: str, name: str | None = None) -> Person:
        key = name or role
        if key not in self._people:
            self._people[key] = harness.person(self.ctx, role, name)
        return self._people[key]

    @property
    def seller(self) -> Person:
        return self.who("seller")

    @property
    def buyer(self) -> Person:
        return self.who("buyer")

    @property
    def admin(self) -> Person:
        return self.who("admin")

    def live(self, **kwargs: Any) -> uuid.UUID:
        return harness.live_auction(self.ctx, self.seller, **kwargs)

    def scheduled(self) -> uuid.UUID:
        return harness.insert_auction(
            self.ctx, self.seller, go_live_at=datetime.now(UTC) + timedelta(hours=1)
        )

    def bid(self, who: Person, auction_id: uuid.UUID, amount: str) -> Reply:
        reply = self.api.post(
            f"/api/auctions/{auction_id}/bids", json={"amount": amount}, headers=who.headers
        )
        assert reply.status == 201, reply
        return reply

    def ended(self) -> uuid.UUID:
        """Ended with the buyer's bid of 150.00, awaiting the seller's decision."""
        auction_id = self.live()
        self.bid(self.buyer, auction_id, "150.00")
        hammer(self.ctx, auction_id)
        return auction_id

    def sold(self) -> uuid.UUID:
        auction_id = self.ended()
        reply = self.api.post(
            f"/api/auctions/{auction_id}/decision",
            json={"action": "accept"},
            headers=self.seller.headers,
        )
        assert reply.status == 200, reply
        return auction_id

    def countered(self) -> str:
        """A pending counter offer of 200.00 to the buyer; its id."""
        auction_id = self.ended()
        reply = self.api.post(
            f"/api/auctions/{auction_id}/decision",
            json={"action": "counter", "amount": "200.00"},
            headers=self.seller.headers,
        )
        assert reply.status == 200, reply
        with self.ctx.db.session() as session:
            return str(
                session.scalars(
                    select(CounterOffer.id).where(CounterOffer.auction_id == auction_id)
                ).one()
            )

    def closed(self) -> uuid.UUID:
        """Closed without a winner after bids: the buyer 150.00 on top (rejected), the
        runner-up 120.00 (a second-chance offer may go to them)."""
        auction_id = self.live()
        self.bid(self.who("buyer", "runner-up"), auction_id, "120.00")
        self.bid(self.buyer, auction_id, "150.00")
        hammer(self.ctx, auction_id)
        reply = self.api.post(
            f"/api/auctions/{auction_id}/decision",
            json={"action": "reject"},
            headers=self.seller.headers,
        )
        assert reply.status == 200, reply
        return auction_id

    def offered(self) -> str:
        """A pending second-chance offer to the runner-up; its id."""
        auction_id = self.closed()
        reply = self.api.post(
            f"/api/auctions/{auction_id}/offers",
            json={"bidderId": self.who("buyer", "runner-up").id},
            headers=self.seller.headers,
        )
        assert reply.status == 201, reply
        return str(reply.json()["id"])

    def suspended(self, who: Person) -> Person:
        reply = self.api.post(
            f"/api/admin/users/{who.id}/suspend",
            json={"reason": "shill bidding"},
            headers=self.admin.headers,
        )
        assert reply.status == 200, reply
        return who

    def dead_letter(self) -> str:
        job_id = f"email:sale:{uuid.uuid4()}:buyer"
        job = {"id": job_id, "kind": "email:sale_confirmation"}
        meta = {"attempts": 10, "lastError": "SendGrid answered 503", "failedAt": 1}
        tcp().pipeline(  # the bridge runs only what the project sends
            [
                ["HSET", keys.JOBS_DATA, job_id, orjson.dumps(job).decode()],
                ["HSET", keys.JOBS_META, job_id, orjson.dumps(meta).decode()],
                ["RPUSH", keys.JOBS_DEAD, job_id],
            ]
        )
        return job_id

    def notification(self, who: Person) -> str:
        with self.ctx.db.session() as session:
            made = notifications.notify(
                session,
                self.ctx,
                cause=f"test:{uuid.uuid4()}",
                user_id=who.id,
                kind=NotificationType.NEW_BID,
                payload={"auctionId": str(uuid.uuid4()), "itemName": "Lot"},
            )
            assert made is not None
            return str(made.id)

    # -- the API configured otherwise ----------------------------------------------------

    def down(self) -> Api:
        """The API with PostgreSQL and Redis unreachable."""
        if self.transport != "gateway":
            pytest.skip(
                "PostgreSQL and Redis down would stop the suite's own services: the gateway "
                "transport runs this in a Lambda instance of its own"
            )
        return self._gateway("down_gateway")

    def lost_replies(self) -> Api:
        """The API whose bid store hears every request and never answers: each connection is
        read, then dropped (Redis may have run the command; the API cannot know)."""
        if self.transport == "gateway":
            pytest.skip("the bid store of a Lambda instance of its own is not this process's")
        import socket
        import threading

        from shared.adapters.redis_store import RestStore

        listener = socket.create_server(("127.0.0.1", 0))

        def swallow() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(65536)

        threading.Thread(target=swallow, daemon=True).start()
        self.request.addfinalizer(listener.close)
        lost = RestStore(f"http://127.0.0.1:{listener.getsockname()[1]}", harness.TOKEN)
        self.monkeypatch.setattr(self.ctx, "store", lost)
        return self.api

    def tight(self) -> Api:
        """The API with write and bid limits of one a minute."""
        if self.transport == "gateway":
            return self._gateway("tight_gateway")
        limits = {"write_rate_limit": "1/m:1", "bid_rate_limit": "1/m:1"}
        self.monkeypatch.setattr(self.ctx, "settings", self.ctx.settings.model_copy(update=limits))
        return self.api

    def with_auth_keys(self) -> Api:
        """The API with auth keys configured (so no dev login): the bundle always is."""
        if self.transport != "gateway":
            from chalicelib import runtime

            keyed = get_settings().model_copy(
                update={"supabase_jwt_secret": dev_secret(get_settings())}
            )
            self.monkeypatch.setattr(runtime, "settings", lambda: keyed)
        return self.api

    def with_dev_login(self) -> Api:
        if self.transport == "gateway":
            pytest.skip(
                "no dev login in the bundle: its keys come as SUPABASE_JWT_SECRET, since the "
                "read-only task directory cannot hold var/dev-jwt-secret"
            )
        return self.api

    def _gateway(self, fixture: str) -> Api:
        pair: tuple[Gateway, Api] = self.request.getfixturevalue(fixture)
        return pair[1]


# -- the scenarios --------------------------------------------------------------------------

Scenario = Callable[[World], Reply]
SCENARIOS: dict[tuple[str, str], Scenario] = {}


def scenario(operation: str, *answers: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        for answer in answers:
            SCENARIOS[(operation, answer)] = fn
        return fn

    return register


def _new_auction(go_live: datetime | None = None) -> dict[str, Any]:
    return {
        "itemName": "Brass compass",
        "startPrice": "100.00",
        "bidIncrement": "10.00",
        "goLiveAt": (go_live or datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "durationMins": 30,
    }


# /api/auctions


@scenario("create_auction", "ok")
def _(w: World) -> Reply:
    return w.api.post("/api/auctions", json=_new_auction(), headers=w.seller.headers)


@scenario("create_auction", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.post("/api/auctions", json=_new_auction())


@scenario("create_auction", "forbidden")
def _(w: World) -> Reply:
    return w.api.post("/api/auctions", json=_new_auction(), headers=w.buyer.headers)


@scenario("create_auction", "validation_error")
def _(w: World) -> Reply:
    body = {**_new_auction(), "startPrice": "1.001"}
    return w.api.post("/api/auctions", json=body, headers=w.seller.headers)


@scenario("create_auction", "payload_too_large")
def _(w: World) -> Reply:
    return w.api.post("/api/auctions", json=BIG, headers=w.seller.headers)


@scenario("list_auctions", "ok")
def _(w: World) -> Reply:
    w.live()
    return w.api.get("/api/auctions", query={"status": "live", "limit": 5})


@scenario("list_auctions", "validation_error")
def _(w: World) -> Reply:
    return w.api.get("/api/auctions", query={"limit": 0})


@scenario("get_auction", "ok")
def _(w: World) -> Reply:
    return w.api.get(f"/api/auctions/{w.live()}", headers=w.buyer.headers)


@scenario("get_auction", "not_found")
def _(w: World) -> Reply:
    return w.api.get(f"/api/auctions/{uuid.uuid4()}")


# bids


def _bid(
    w: World, auction_id: uuid.UUID, who: Person | None, body: Any, api: Api | None = None
) -> Reply:
    return (api or w.api).post(
        f"/api/auctions/{auction_id}/bids", json=body, headers=who.headers if who else None
    )


@scenario("place_bid", "ok")
def _(w: World) -> Reply:
    reply = _bid(w, w.live(), w.buyer, {"amount": "100.00"})
    assert reply.json()["arrivedAt"].endswith("Z")  # the moment it was judged at
    return reply


@scenario("place_bid", "idempotency_key_reused")
def _(w: World) -> Reply:
    auction_id, key = w.live(), {**w.buyer.headers, "Idempotency-Key": "one-bid"}
    first = w.api.post(f"/api/auctions/{auction_id}/bids", json={"amount": "100"}, headers=key)
    assert first.status == 201
    return w.api.post(f"/api/auctions/{auction_id}/bids", json={"amount": "200"}, headers=key)


@scenario("place_bid", "unauthenticated")
def _(w: World) -> Reply:
    return _bid(w, w.live(), None, {"amount": "100.00"})


@scenario("place_bid", "own_auction")
def _(w: World) -> Reply:
    return _bid(w, w.live(), w.seller, {"amount": "100.00"})


@scenario("place_bid", "not_found")
def _(w: World) -> Reply:
    return _bid(w, uuid.uuid4(), w.buyer, {"amount": "100.00"})


@scenario("place_bid", "auction_not_live")
def _(w: World) -> Reply:
    return _bid(w, w.scheduled(), w.buyer, {"amount": "100.00"})


@scenario("place_bid", "bid_too_low")
def _(w: World) -> Reply:
    reply = _bid(w, w.live(), w.buyer, {"amount": "99.99"})
    assert reply.json()["minNextBid"] == "100.00"
    return reply


@scenario("place_bid", "already_highest")
def _(w: World) -> Reply:
    auction_id = w.live()
    w.bid(w.buyer, auction_id, "100.00")
    return _bid(w, auction_id, w.buyer, {"amount": "110.00"})


@scenario("place_bid", "validation_error")
def _(w: World) -> Reply:
    return _bid(w, w.live(), w.buyer, {"amount": "100.00", "maxAmount": "150.00"})


@scenario("place_bid", "rate_limited")
def _(w: World) -> Reply:
    api, auction_id = w.tight(), w.live()
    _bid(w, auction_id, w.buyer, {"amount": "100.00"}, api)
    reply = _bid(w, auction_id, w.buyer, {"amount": "110.00"}, api)
    assert int(reply.headers["retry-after"]) >= 1
    return reply


@scenario("place_bid", "payload_too_large")
def _(w: World) -> Reply:
    return _bid(w, w.live(), w.buyer, BIG)


@scenario("place_bid", "unavailable")
def _(w: World) -> Reply:
    return _bid(w, uuid.uuid4(), w.buyer, {"amount": "100.00"}, w.down())


@scenario("place_bid", "outcome_unknown")
def _(w: World) -> Reply:
    auction_id, api = w.live(), w.lost_replies()
    reply = _bid(w, auction_id, w.buyer, {"amount": "100.00"}, api)
    assert int(reply.headers["retry-after"]) >= 1
    assert reply.json()["idempotencyKey"]
    return reply


@scenario("list_bids", "ok")
def _(w: World) -> Reply:
    auction_id = w.live()
    w.bid(w.buyer, auction_id, "100.00")
    reply = w.api.get(f"/api/auctions/{auction_id}/bids", query={"limit": 1})
    assert [b["amount"] for b in reply.json()["items"]] == ["100.00"]
    return reply


@scenario("list_bids", "not_found")
def _(w: World) -> Reply:
    return w.api.get(f"/api/auctions/{uuid.uuid4()}/bids")


@scenario("list_bids", "validation_error")
def _(w: World) -> Reply:
    return w.api.get(f"/api/auctions/{w.live()}/bids", query={"limit": 101})


# admin


@scenario("list_all_auctions", "ok")
def _(w: World) -> Reply:
    w.scheduled()
    return w.api.get("/api/admin/auctions", headers=w.admin.headers)


@scenario("list_all_auctions", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/auctions")


@scenario("list_all_auctions", "forbidden")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/auctions", headers=w.seller.headers)


@scenario("list_all_auctions", "validation_error")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/auctions", query={"status": "nonsense"}, headers=w.admin.headers)


def _admin(w: World, action: str, auction_id: Any, who: Person | None, **kwargs: Any) -> Reply:
    api = kwargs.pop("api", None) or w.api
    return api.post(
        f"/api/admin/auctions/{auction_id}/{action}",
        headers=who.headers if who else None,
        **kwargs,
    )


@scenario("start_auction", "ok")
def _(w: World) -> Reply:
    reply = _admin(w, "start", w.scheduled(), w.admin)
    assert reply.json()["status"] == "live"
    return reply


@scenario("start_auction", "unauthenticated")
def _(w: World) -> Reply:
    return _admin(w, "start", w.scheduled(), None)


@scenario("start_auction", "forbidden")
def _(w: World) -> Reply:
    return _admin(w, "start", w.scheduled(), w.seller)


@scenario("start_auction", "not_found")
def _(w: World) -> Reply:
    return _admin(w, "start", uuid.uuid4(), w.admin)


@scenario("start_auction", "decision_not_allowed")
def _(w: World) -> Reply:
    return _admin(w, "start", w.live(), w.admin)


@scenario("start_auction", "rate_limited")
def _(w: World) -> Reply:
    api = w.tight()
    _admin(w, "start", uuid.uuid4(), w.admin, api=api)
    return _admin(w, "start", uuid.uuid4(), w.admin, api=api)


@scenario("start_auction", "unavailable")
def _(w: World) -> Reply:
    return _admin(w, "start", uuid.uuid4(), w.admin, api=w.down())


def _reset_body() -> dict[str, str]:
    return {"goLiveAt": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}


@scenario("reset_auction", "ok")
def _(w: World) -> Reply:
    reply = _admin(w, "reset", w.live(), w.admin, json=_reset_body())
    assert reply.json()["status"] == "scheduled"
    return reply


@scenario("reset_auction", "unauthenticated")
def _(w: World) -> Reply:
    return _admin(w, "reset", w.live(), None, json=_reset_body())


@scenario("reset_auction", "forbidden")
def _(w: World) -> Reply:
    return _admin(w, "reset", w.live(), w.buyer, json=_reset_body())


@scenario("reset_auction", "not_found")
def _(w: World) -> Reply:
    return _admin(w, "reset", uuid.uuid4(), w.admin, json=_reset_body())


@scenario("reset_auction", "decision_not_allowed")
def _(w: World) -> Reply:
    return _admin(w, "reset", w.sold(), w.admin, json=_reset_body())


@scenario("reset_auction", "validation_error")
def _(w: World) -> Reply:
    return _admin(w, "reset", w.live(), w.admin, json={"goLiveAt": "2030-01-01T10:00:00"})


@scenario("reset_auction", "payload_too_large")
def _(w: World) -> Reply:
    return _admin(w, "reset", w.live(), w.admin, json=BIG)


@scenario("reset_auction", "rate_limited")
def _(w: World) -> Reply:
    api = w.tight()
    _admin(w, "reset", uuid.uuid4(), w.admin, json=_reset_body(), api=api)
    return _admin(w, "reset", uuid.uuid4(), w.admin, json=_reset_body(), api=api)


@scenario("reset_auction", "unavailable")
def _(w: World) -> Reply:
    return _admin(w, "reset", uuid.uuid4(), w.admin, json=_reset_body(), api=w.down())


# after the hammer


def _decide(w: World, auction_id: Any, who: Person | None, body: Any) -> Reply:
    return w.api.post(
        f"/api/auctions/{auction_id}/decision", json=body, headers=who.headers if who else None
    )


@scenario("decide", "ok")
def _(w: World) -> Reply:
    reply = _decide(w, w.ended(), w.seller, {"action": "accept"})
    assert reply.json()["status"] == "sold"
    return reply


@scenario("decide", "unauthenticated")
def _(w: World) -> Reply:
    return _decide(w, w.ended(), None, {"action": "accept"})


@scenario("decide", "forbidden")
def _(w: World) -> Reply:
    return _decide(w, w.ended(), w.buyer, {"action": "accept"})


@scenario("decide", "not_found")
def _(w: World) -> Reply:
    return _decide(w, uuid.uuid4(), w.seller, {"action": "accept"})


@scenario("decide", "decision_not_allowed")
def _(w: World) -> Reply:
    return _decide(w, w.live(), w.seller, {"action": "accept"})


@scenario("decide", "counter_too_low")
def _(w: World) -> Reply:
    return _decide(w, w.ended(), w.seller, {"action": "counter", "amount": "150.00"})


@scenario("decide", "validation_error")
def _(w: World) -> Reply:
    return _decide(w, w.ended(), w.seller, {"action": "counter"})


@scenario("decide", "payload_too_large")
def _(w: World) -> Reply:
    return _decide(w, w.ended(), w.seller, BIG)


def _answer(w: World, counter_id: str, who: Person | None, body: Any) -> Reply:
    return w.api.post(
        f"/api/counter/{counter_id}/response", json=body, headers=who.headers if who else None
    )


@scenario("respond_to_counter", "ok")
def _(w: World) -> Reply:
    reply = _answer(w, w.countered(), w.buyer, {"action": "accept"})
    assert (reply.json()["status"], reply.json()["finalPrice"]) == ("sold", "200.00")
    return reply


@scenario("respond_to_counter", "unauthenticated")
def _(w: World) -> Reply:
    return _answer(w, w.countered(), None, {"action": "accept"})


@scenario("respond_to_counter", "forbidden")
def _(w: World) -> Reply:
    return _answer(w, w.countered(), w.who("buyer", "someone-else"), {"action": "accept"})


@scenario("respond_to_counter", "not_found")
def _(w: World) -> Reply:
    return _answer(w, str(uuid.uuid4()), w.buyer, {"action": "accept"})


@scenario("respond_to_counter", "counter_not_pending")
def _(w: World) -> Reply:
    counter_id = w.countered()
    assert _answer(w, counter_id, w.buyer, {"action": "reject"}).status == 200
    return _answer(w, counter_id, w.buyer, {"action": "accept"})


@scenario("respond_to_counter", "validation_error")
def _(w: World) -> Reply:
    return _answer(w, w.countered(), w.buyer, {"action": "maybe"})


@scenario("respond_to_counter", "payload_too_large")
def _(w: World) -> Reply:
    return _answer(w, w.countered(), w.buyer, BIG)


def _invoice(w: World, auction_id: Any, who: Person | None, api: Api | None = None) -> Reply:
    headers = {"Accept": "application/pdf", **(who.headers if who else {})}
    return (api or w.api).get(f"/api/auctions/{auction_id}/invoice", headers=headers)


@scenario("get_invoice", "ok")
def _(w: World) -> Reply:
    reply = _invoice(w, w.sold(), w.buyer)
    assert (
        reply.content.startswith(b"%PDF-")
        and b"INV-000001" in reply.headers.get("content-disposition", "").encode()
    )
    return reply


@scenario("get_invoice", "unauthenticated")
def _(w: World) -> Reply:
    return _invoice(w, w.sold(), None)


@scenario("get_invoice", "forbidden")
def _(w: World) -> Reply:
    return _invoice(w, w.sold(), w.who("buyer", "someone-else"))


@scenario("get_invoice", "not_found")
def _(w: World) -> Reply:
    return _invoice(w, w.ended(), w.seller)  # not sold (yet): no invoice


@scenario("get_invoice", "unavailable")
def _(w: World) -> Reply:
    return _invoice(w, uuid.uuid4(), w.buyer, w.down())


# after the hammer, complete: second-chance offers, payment, moderation


@scenario("place_bid", "account_suspended")
def _(w: World) -> Reply:
    auction_id = w.live()
    return _bid(w, auction_id, w.suspended(w.buyer), {"amount": "100.00"})


def _offer(w: World, auction_id: Any, who: Person | None, body: Any) -> Reply:
    return w.api.post(
        f"/api/auctions/{auction_id}/offers", json=body, headers=who.headers if who else None
    )


def _to_runner_up(w: World) -> dict[str, str]:
    return {"bidderId": w.who("buyer", "runner-up").id}


@scenario("make_offer", "ok")
def _(w: World) -> Reply:
    reply = _offer(w, w.closed(), w.seller, _to_runner_up(w))
    assert (reply.json()["amount"], reply.json()["status"]) == ("120.00", "pending")
    return reply


@scenario("make_offer", "unauthenticated")
def _(w: World) -> Reply:
    return _offer(w, w.closed(), None, _to_runner_up(w))


@scenario("make_offer", "forbidden")
def _(w: World) -> Reply:
    return _offer(w, w.closed(), w.buyer, _to_runner_up(w))


@scenario("make_offer", "not_found")
def _(w: World) -> Reply:
    return _offer(w, uuid.uuid4(), w.seller, _to_runner_up(w))


@scenario("make_offer", "offer_not_allowed")
def _(w: World) -> Reply:
    return _offer(w, w.closed(), w.seller, {"bidderId": w.buyer.id})  # the highest bidder


@scenario("make_offer", "offer_pending")
def _(w: World) -> Reply:
    auction_id = w.closed()
    assert _offer(w, auction_id, w.seller, _to_runner_up(w)).status == 201
    return _offer(w, auction_id, w.seller, _to_runner_up(w))


@scenario("make_offer", "validation_error")
def _(w: World) -> Reply:
    return _offer(w, w.closed(), w.seller, {"bidderId": w.who("buyer", "never-bid").id})


@scenario("make_offer", "payload_too_large")
def _(w: World) -> Reply:
    return _offer(w, w.closed(), w.seller, BIG)


@scenario("list_offers", "ok")
def _(w: World) -> Reply:
    reply = w.api.get(f"/api/auctions/{w.closed()}/offers", headers=w.seller.headers)
    assert [c["amount"] for c in reply.json()["candidates"]] == ["120.00"]
    return reply


@scenario("list_offers", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get(f"/api/auctions/{w.closed()}/offers")


@scenario("list_offers", "forbidden")
def _(w: World) -> Reply:
    return w.api.get(f"/api/auctions/{w.closed()}/offers", headers=w.buyer.headers)


@scenario("list_offers", "not_found")
def _(w: World) -> Reply:
    return w.api.get(f"/api/auctions/{uuid.uuid4()}/offers", headers=w.seller.headers)


def _respond(w: World, offer_id: str, who: Person | None, body: Any) -> Reply:
    return w.api.post(
        f"/api/offers/{offer_id}/response", json=body, headers=who.headers if who else None
    )


@scenario("respond_to_offer", "ok")
def _(w: World) -> Reply:
    reply = _respond(w, w.offered(), w.who("buyer", "runner-up"), {"action": "accept"})
    assert (reply.json()["status"], reply.json()["finalPrice"]) == ("sold", "120.00")
    return reply


@scenario("respond_to_offer", "unauthenticated")
def _(w: World) -> Reply:
    return _respond(w, w.offered(), None, {"action": "accept"})


@scenario("respond_to_offer", "forbidden")
def _(w: World) -> Reply:
    return _respond(w, w.offered(), w.buyer, {"action": "accept"})


@scenario("respond_to_offer", "not_found")
def _(w: World) -> Reply:
    return _respond(w, str(uuid.uuid4()), w.buyer, {"action": "accept"})


@scenario("respond_to_offer", "offer_not_pending")
def _(w: World) -> Reply:
    offer_id, runner_up = w.offered(), w.who("buyer", "runner-up")
    assert _respond(w, offer_id, runner_up, {"action": "reject"}).status == 200
    return _respond(w, offer_id, runner_up, {"action": "accept"})


@scenario("respond_to_offer", "validation_error")
def _(w: World) -> Reply:
    return _respond(w, w.offered(), w.who("buyer", "runner-up"), {"action": "maybe"})


@scenario("respond_to_offer", "payload_too_large")
def _(w: World) -> Reply:
    return _respond(w, w.offered(), w.who("buyer", "runner-up"), BIG)


def _pay(w: World, auction_id: Any, who: Person | None, body: Any) -> Reply:
    return w.api.post(
        f"/api/auctions/{auction_id}/payment", json=body, headers=who.headers if who else None
    )


@scenario("payment", "ok")
def _(w: World) -> Reply:
    reply = _pay(w, w.sold(), w.buyer, {"action": "mark_paid"})
    assert reply.json()["payment"]["status"] == "paid"
    return reply


@scenario("payment", "unauthenticated")
def _(w: World) -> Reply:
    return _pay(w, w.sold(), None, {"action": "mark_paid"})


@scenario("payment", "forbidden")
def _(w: World) -> Reply:
    return _pay(w, w.sold(), w.seller, {"action": "mark_paid"})  # the buyer's to mark


@scenario("payment", "not_found")
def _(w: World) -> Reply:
    return _pay(w, uuid.uuid4(), w.buyer, {"action": "mark_paid"})


@scenario("payment", "payment_action_not_allowed")
def _(w: World) -> Reply:
    return _pay(w, w.sold(), w.seller, {"action": "report_unpaid"})  # not due yet


@scenario("payment", "validation_error")
def _(w: World) -> Reply:
    return _pay(w, w.sold(), w.buyer, {"action": "refund"})


@scenario("payment", "payload_too_large")
def _(w: World) -> Reply:
    return _pay(w, w.sold(), w.buyer, BIG)


@scenario("list_users", "ok")
def _(w: World) -> Reply:
    target = w.who("buyer", "findable")
    reply = w.api.get("/api/admin/users", query={"q": "findable"}, headers=w.admin.headers)
    assert [u["id"] for u in reply.json()["items"]] == [target.id]
    return reply


@scenario("list_users", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/users")


@scenario("list_users", "forbidden")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/users", headers=w.seller.headers)


@scenario("list_users", "validation_error")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/users", query={"suspended": "perhaps"}, headers=w.admin.headers)


def _moderate(w: World, action: str, user_id: str, who: Person | None, **kwargs: Any) -> Reply:
    return w.api.post(
        f"/api/admin/users/{user_id}/{action}", headers=who.headers if who else None, **kwargs
    )


REASON = {"reason": "shill bidding"}


@scenario("suspend_user", "ok")
def _(w: World) -> Reply:
    reply = _moderate(w, "suspend", w.buyer.id, w.admin, json=REASON)
    assert reply.json()["suspended"] is True
    return reply


@scenario("suspend_user", "unauthenticated")
def _(w: World) -> Reply:
    return _moderate(w, "suspend", w.buyer.id, None, json=REASON)


@scenario("suspend_user", "forbidden")
def _(w: World) -> Reply:
    return _moderate(w, "suspend", w.buyer.id, w.seller, json=REASON)


@scenario("suspend_user", "not_found")
def _(w: World) -> Reply:
    return _moderate(w, "suspend", str(uuid.uuid4()), w.admin, json=REASON)


@scenario("suspend_user", "validation_error")
def _(w: World) -> Reply:
    return _moderate(w, "suspend", w.buyer.id, w.admin, json={"reason": ""})


@scenario("unsuspend_user", "ok")
def _(w: World) -> Reply:
    w.suspended(w.buyer)
    reply = _moderate(w, "unsuspend", w.buyer.id, w.admin)
    assert reply.json()["suspended"] is False
    return reply


@scenario("unsuspend_user", "unauthenticated")
def _(w: World) -> Reply:
    return _moderate(w, "unsuspend", w.buyer.id, None)


@scenario("unsuspend_user", "forbidden")
def _(w: World) -> Reply:
    return _moderate(w, "unsuspend", w.buyer.id, w.buyer)


@scenario("unsuspend_user", "not_found")
def _(w: World) -> Reply:
    return _moderate(w, "unsuspend", str(uuid.uuid4()), w.admin)


@scenario("list_audit", "ok")
def _(w: World) -> Reply:
    w.suspended(w.buyer)
    reply = w.api.get(
        "/api/admin/audit", query={"action": "admin.suspend"}, headers=w.admin.headers
    )
    assert [e["details"]["userId"] for e in reply.json()["items"]] == [w.buyer.id]
    return reply


@scenario("list_audit", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/audit")


@scenario("list_audit", "forbidden")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/audit", headers=w.seller.headers)


@scenario("list_audit", "validation_error")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/audit", query={"actorId": "nobody"}, headers=w.admin.headers)


# documentation


@scenario("get_openapi", "ok")
def _(w: World) -> Reply:
    reply = w.api.get("/api/openapi.json")
    assert reply.json()["openapi"].startswith("3.1")
    return reply


@scenario("get_docs", "ok")
def _(w: World) -> Reply:
    reply = w.api.get("/api/docs")
    assert b"<title>" in reply.content
    return reply


# the job queue's dead letters


@scenario("list_dead_jobs", "ok")
def _(w: World) -> Reply:
    job_id = w.dead_letter()
    reply = w.api.get("/api/admin/jobs/dead", headers=w.admin.headers)
    assert [item["id"] for item in reply.json()["items"]] == [job_id]
    return reply


@scenario("list_dead_jobs", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/jobs/dead")


@scenario("list_dead_jobs", "forbidden")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/jobs/dead", headers=w.buyer.headers)


@scenario("list_dead_jobs", "validation_error")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/jobs/dead", query={"cursor": "!!"}, headers=w.admin.headers)


@scenario("list_dead_jobs", "unavailable")
def _(w: World) -> Reply:
    return w.down().get("/api/admin/jobs/dead", headers=w.admin.headers)


def _replay(w: World, job_id: str, who: Person | None, api: Api | None = None) -> Reply:
    # Colons percent-encoded, as a careful client sends them.
    path = f"/api/admin/jobs/dead/{job_id.replace(':', '%3A')}/replay"
    return (api or w.api).post(path, headers=who.headers if who else None)


@scenario("replay_dead_job", "ok")
def _(w: World) -> Reply:
    job_id = w.dead_letter()
    reply = _replay(w, job_id, w.admin)
    assert reply.json()["id"] == job_id
    return reply


@scenario("replay_dead_job", "unauthenticated")
def _(w: World) -> Reply:
    return _replay(w, w.dead_letter(), None)


@scenario("replay_dead_job", "forbidden")
def _(w: World) -> Reply:
    return _replay(w, w.dead_letter(), w.seller)


@scenario("replay_dead_job", "not_found")
def _(w: World) -> Reply:
    return _replay(w, "email:sale:nothing:buyer", w.admin)


@scenario("replay_dead_job", "unavailable")
def _(w: World) -> Reply:
    return _replay(w, "email:sale:nothing:buyer", w.admin, w.down())


# notifications


@scenario("list_notifications", "ok")
def _(w: World) -> Reply:
    w.notification(w.seller)
    reply = w.api.get("/api/notifications", query={"unreadOnly": "true"}, headers=w.seller.headers)
    assert reply.json()["unreadCount"] == 1
    return reply


@scenario("list_notifications", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get("/api/notifications")


@scenario("list_notifications", "validation_error")
def _(w: World) -> Reply:
    return w.api.get("/api/notifications", query={"unreadOnly": "perhaps"}, headers=w.buyer.headers)


@scenario("mark_read", "ok")
def _(w: World) -> Reply:
    notification_id = w.notification(w.seller)
    reply = w.api.post(f"/api/notifications/{notification_id}/read", headers=w.seller.headers)
    assert reply.json()["readAt"]
    return reply


@scenario("mark_read", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.post(f"/api/notifications/{w.notification(w.seller)}/read")


@scenario("mark_read", "not_found")
def _(w: World) -> Reply:
    notification_id = w.notification(w.seller)  # someone else's
    return w.api.post(f"/api/notifications/{notification_id}/read", headers=w.buyer.headers)


# system


@scenario("get_health", "ok")
def _(w: World) -> Reply:
    reply = w.api.get("/health")
    assert reply.json() == {"status": "ok", "db": "ok", "redis": "ok"}
    return reply


@scenario("get_health", "503")
def _(w: World) -> Reply:
    reply = w.down().get("/health")
    assert reply.json()["db"] != "ok" and reply.json()["redis"] != "ok"
    return reply


@scenario("get_me", "ok")
def _(w: World) -> Reply:
    reply = w.api.get("/api/me", headers=w.buyer.headers)
    assert reply.json()["id"] == w.buyer.id
    return reply


@scenario("get_me", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get("/api/me", headers={"Authorization": "Bearer not.a.token"})


@scenario("dev_login", "ok")
def _(w: World) -> Reply:
    return w.with_dev_login().post("/api/dev/login", json={"email": "asha@example.com"})


@scenario("dev_login", "validation_error")
def _(w: World) -> Reply:
    return w.with_dev_login().post("/api/dev/login", json={"email": "not an email"})


@scenario("dev_login", "not_found")
def _(w: World) -> Reply:
    return w.with_auth_keys().post("/api/dev/login", json={"email": "asha@example.com"})


# -- the tests ------------------------------------------------------------------------------


# the marketplace

JPEG = {"Content-Type": "image/jpeg"}


def _photo() -> bytes:
    from tests.marketplace import images

    return images.jpeg(64, 48)


def _upload(w: World, auction_id: Any, body: bytes) -> Reply:
    headers = {**w.seller.headers, **JPEG}
    return w.api.post(f"/api/auctions/{auction_id}/images", body=body, headers=headers)


@scenario("edit_auction", "ok")
def _(w: World) -> Reply:
    return w.api.patch(
        f"/api/auctions/{w.scheduled()}", json={"category": "compasses"}, headers=w.seller.headers
    )


@scenario("edit_auction", "auction_not_editable")
def _(w: World) -> Reply:
    return w.api.patch(
        f"/api/auctions/{w.live()}", json={"itemName": "x"}, headers=w.seller.headers
    )


@scenario("cancel_auction", "ok")
def _(w: World) -> Reply:
    return w.api.post(
        f"/api/auctions/{w.scheduled()}/cancel",
        json={"reason": "Withdrawn"},
        headers=w.seller.headers,
    )


@scenario("cancel_auction", "forbidden")
def _(w: World) -> Reply:
    return w.api.post(
        f"/api/auctions/{w.scheduled()}/cancel", json={"reason": "x"}, headers=w.buyer.headers
    )


@scenario("cancel_auction", "auction_not_cancellable")
def _(w: World) -> Reply:
    return w.api.post(
        f"/api/auctions/{w.sold()}/cancel", json={"reason": "x"}, headers=w.admin.headers
    )


@scenario("upload_image", "ok")
def _(w: World) -> Reply:
    # Through the gateway: a binary body, base64 in the proxy event (binary_types).
    return _upload(w, w.scheduled(), _photo())


@scenario("upload_image", "auction_not_editable")
def _(w: World) -> Reply:
    return _upload(w, w.live(), _photo())


@scenario("upload_image", "too_many_images")
def _(w: World) -> Reply:
    auction_id = w.scheduled()
    photo = _photo()
    for _ in range(8):
        assert _upload(w, auction_id, photo).status == 201
    return _upload(w, auction_id, photo)


def _uploaded(w: World) -> tuple[uuid.UUID, str]:
    auction_id = w.scheduled()
    reply = _upload(w, auction_id, _photo())
    assert reply.status == 201, reply
    return auction_id, reply.json()["id"]


@scenario("delete_image", "ok")
def _(w: World) -> Reply:
    auction_id, image_id = _uploaded(w)
    return w.api.delete(f"/api/auctions/{auction_id}/images/{image_id}", headers=w.seller.headers)


@scenario("delete_image", "auction_not_editable")
def _(w: World) -> Reply:
    auction_id, image_id = _uploaded(w)
    w.api.post(f"/api/admin/auctions/{auction_id}/start", headers=w.admin.headers)
    return w.api.delete(f"/api/auctions/{auction_id}/images/{image_id}", headers=w.seller.headers)


@scenario("watch", "ok")
def _(w: World) -> Reply:
    return w.api.put(f"/api/auctions/{w.live()}/watch", headers=w.buyer.headers)


@scenario("unwatch", "ok")
def _(w: World) -> Reply:
    return w.api.delete(f"/api/auctions/{w.live()}/watch", headers=w.buyer.headers)


@scenario("my_watchlist", "ok")
def _(w: World) -> Reply:
    w.api.put(f"/api/auctions/{w.live()}/watch", headers=w.buyer.headers)
    return w.api.get("/api/me/watchlist", headers=w.buyer.headers)


@scenario("my_bids", "ok")
def _(w: World) -> Reply:
    w.bid(w.buyer, w.live(), "100.00")
    return w.api.get("/api/me/bids", query={"state": "leading"}, headers=w.buyer.headers)


@scenario("my_auctions", "ok")
def _(w: World) -> Reply:
    w.ended()
    return w.api.get("/api/me/auctions", headers=w.seller.headers)


@scenario("my_purchases", "ok")
def _(w: World) -> Reply:
    w.sold()
    return w.api.get("/api/me/purchases", headers=w.buyer.headers)


@scenario("mark_all_read", "ok")
def _(w: World) -> Reply:
    w.notification(w.buyer)
    return w.api.post("/api/notifications/read-all", headers=w.buyer.headers)


@scenario("mark_all_read", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.post("/api/notifications/read-all")


# the open marketplace: selling, documents, shipping, disputes

SELLER_PROFILE = {
    "displayName": "Sita Antiques",
    "phone": "+919845012345",
    "address": {
        "line1": "12 MG Road",
        "city": "Bengaluru",
        "state": "KA",
        "postalCode": "560001",
        "country": "IN",
    },
    "acceptTerms": True,
}
DELIVERY = {
    "line1": "4 Marine Drive",
    "city": "Mumbai",
    "state": "MH",
    "postalCode": "400020",
    "country": "IN",
}
SHIPMENT = {"carrier": "India Post", "trackingNumber": "EE123456789IN"}
COMPLAINT = {"reason": "not_received", "detail": "Nothing came."}
RELEASE = {"outcome": "release", "note": "Tracking shows it delivered."}


def _profile(w: World, who: Person | None, body: Any = None) -> Reply:
    return w.api.put(
        "/api/me/seller-profile",
        json=SELLER_PROFILE if body is None else body,
        headers=who.headers if who else None,
    )


def _shipped_sale(w: World, *, gstin: str | None = None) -> uuid.UUID:
    """Sold (the buyer's 150.00 accepted) with shipping terms `ship`, not paid yet; the seller
    with a profile (registered for GST with `gstin`)."""
    from sqlalchemy import update

    from shared.adapters.orm import Auction

    body = dict(SELLER_PROFILE, gstin=gstin) if gstin else None
    assert _profile(w, w.seller, body).status == 200
    auction_id = w.live()
    with w.ctx.db.session() as session:
        session.execute(
            update(Auction).where(Auction.id == auction_id).values(shipping_method="ship")
        )
    w.bid(w.buyer, auction_id, "150.00")
    hammer(w.ctx, auction_id)
    reply = w.api.post(
        f"/api/auctions/{auction_id}/decision", json={"action": "accept"}, headers=w.seller.headers
    )
    assert reply.status == 200, reply
    return auction_id


def _paid_sale(w: World) -> uuid.UUID:
    auction_id = _shipped_sale(w)
    reply = _pay(w, auction_id, w.buyer, {"action": "mark_paid", "address": DELIVERY})
    assert reply.status == 200, reply
    return auction_id


def _disputed(w: World) -> uuid.UUID:
    auction_id = _paid_sale(w)
    assert _dispute(w, auction_id, w.buyer, COMPLAINT).status == 201
    return auction_id


def _voided(w: World) -> uuid.UUID:
    """Sold, then reported unpaid after its due date: void, with a credit note."""
    from sqlalchemy import update

    from shared.adapters.orm import Invoice

    auction_id = w.sold()
    past = datetime.now(UTC) - timedelta(seconds=10)
    with w.ctx.db.session() as session:
        session.execute(
            update(Invoice).where(Invoice.auction_id == auction_id).values(payment_due_at=past)
        )
    assert _pay(w, auction_id, w.seller, {"action": "report_unpaid"}).status == 200
    return auction_id


def _pdf(w: World, path: str, who: Person | None, api: Api | None = None) -> Reply:
    headers = {"Accept": "application/pdf", **(who.headers if who else {})}
    return (api or w.api).get(path, headers=headers)


def _dispute(w: World, auction_id: Any, who: Person | None, body: Any, step: str = "") -> Reply:
    return w.api.post(
        f"/api/auctions/{auction_id}/dispute{step}", json=body, headers=who.headers if who else None
    )


@scenario("put_seller_profile", "ok")
def _(w: World) -> Reply:
    reply = _profile(w, w.buyer)
    assert reply.json()["role"] == "seller"
    assert w.api.get("/api/me", headers=w.buyer.headers).json()["role"] == "seller"
    return reply


@scenario("put_seller_profile", "unauthenticated")
def _(w: World) -> Reply:
    return _profile(w, None)


@scenario("put_seller_profile", "account_suspended")
def _(w: World) -> Reply:
    return _profile(w, w.suspended(w.buyer))


@scenario("put_seller_profile", "validation_error")
def _(w: World) -> Reply:
    reply = _profile(w, w.buyer, dict(SELLER_PROFILE, gstin="29AABCS1429B1Z0"))
    assert reply.json()["errors"][0]["field"] == "gstin"  # the check character is wrong
    return reply


@scenario("put_seller_profile", "payload_too_large")
def _(w: World) -> Reply:
    return _profile(w, w.buyer, BIG)


@scenario("get_seller_profile", "ok")
def _(w: World) -> Reply:
    assert _profile(w, w.buyer).status == 200
    return w.api.get("/api/me/seller-profile", headers=w.buyer.headers)


@scenario("get_seller_profile", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get("/api/me/seller-profile")


@scenario("get_seller_profile", "not_found")
def _(w: World) -> Reply:
    return w.api.get("/api/me/seller-profile", headers=w.buyer.headers)


def _role(w: World, user_id: str, who: Person | None, body: Any) -> Reply:
    return w.api.put(
        f"/api/admin/users/{user_id}/role", json=body, headers=who.headers if who else None
    )


@scenario("set_user_role", "ok")
def _(w: World) -> Reply:
    reply = _role(w, w.buyer.id, w.admin, {"role": "seller"})
    assert reply.json()["role"] == "seller"
    return reply


@scenario("set_user_role", "unauthenticated")
def _(w: World) -> Reply:
    return _role(w, w.buyer.id, None, {"role": "seller"})


@scenario("set_user_role", "forbidden")
def _(w: World) -> Reply:
    return _role(w, w.buyer.id, w.seller, {"role": "seller"})


@scenario("set_user_role", "not_found")
def _(w: World) -> Reply:
    return _role(w, str(uuid.uuid4()), w.admin, {"role": "seller"})


@scenario("set_user_role", "validation_error")
def _(w: World) -> Reply:
    return _role(w, w.buyer.id, w.admin, {"role": "owner"})


@scenario("get_statement", "ok")
def _(w: World) -> Reply:
    reply = _pdf(w, f"/api/auctions/{w.sold()}/statement", w.seller)
    assert reply.content.startswith(b"%PDF-")
    return reply


@scenario("get_statement", "unauthenticated")
def _(w: World) -> Reply:
    return _pdf(w, f"/api/auctions/{w.sold()}/statement", None)


@scenario("get_statement", "forbidden")
def _(w: World) -> Reply:
    return _pdf(w, f"/api/auctions/{w.sold()}/statement", w.buyer)  # the seller's document


@scenario("get_statement", "not_found")
def _(w: World) -> Reply:
    return _pdf(w, f"/api/auctions/{w.ended()}/statement", w.seller)


@scenario("get_statement", "invoice_not_issued")
def _(w: World) -> Reply:
    auction_id = _shipped_sale(w, gstin=GSTIN_KA)
    return _pdf(w, f"/api/auctions/{auction_id}/statement", w.seller)


@scenario("get_invoice", "invoice_not_issued")
def _(w: World) -> Reply:
    return _invoice(w, _shipped_sale(w, gstin=GSTIN_KA), w.buyer)


@scenario("get_credit_note", "ok")
def _(w: World) -> Reply:
    reply = _pdf(w, f"/api/auctions/{_voided(w)}/credit-note", w.buyer)
    assert b"CN-000001" in reply.headers.get("content-disposition", "").encode()
    return reply


@scenario("get_credit_note", "unauthenticated")
def _(w: World) -> Reply:
    return _pdf(w, f"/api/auctions/{_voided(w)}/credit-note", None)


@scenario("get_credit_note", "forbidden")
def _(w: World) -> Reply:
    return _pdf(w, f"/api/auctions/{_voided(w)}/credit-note", w.who("buyer", "someone-else"))


@scenario("get_credit_note", "not_found")
def _(w: World) -> Reply:
    return _pdf(w, f"/api/auctions/{w.sold()}/credit-note", w.buyer)  # never voided


@scenario("get_credit_note", "unavailable")
def _(w: World) -> Reply:
    return _pdf(w, f"/api/auctions/{uuid.uuid4()}/credit-note", w.buyer, w.down())


def _ship(w: World, auction_id: Any, who: Person | None, body: Any = None) -> Reply:
    return w.api.post(
        f"/api/auctions/{auction_id}/shipment",
        json=SHIPMENT if body is None else body,
        headers=who.headers if who else None,
    )


@scenario("record_shipment", "ok")
def _(w: World) -> Reply:
    reply = _ship(w, _paid_sale(w), w.seller)
    assert reply.json()["delivery"]["trackingNumber"] == "EE123456789IN"
    return reply


@scenario("record_shipment", "unauthenticated")
def _(w: World) -> Reply:
    return _ship(w, _paid_sale(w), None)


@scenario("record_shipment", "forbidden")
def _(w: World) -> Reply:
    return _ship(w, _paid_sale(w), w.buyer)


@scenario("record_shipment", "not_found")
def _(w: World) -> Reply:
    return _ship(w, uuid.uuid4(), w.seller)


@scenario("record_shipment", "shipment_not_allowed")
def _(w: World) -> Reply:
    reply = _ship(w, _shipped_sale(w), w.seller)  # a shipment on an unpaid sale
    assert reply.json()["paymentStatus"] == "pending"
    return reply


@scenario("record_shipment", "validation_error")
def _(w: World) -> Reply:
    return _ship(w, _paid_sale(w), w.seller, {"carrier": "India Post"})


@scenario("record_shipment", "payload_too_large")
def _(w: World) -> Reply:
    return _ship(w, uuid.uuid4(), w.seller, BIG)


def _received(w: World, auction_id: Any, who: Person | None) -> Reply:
    return w.api.post(f"/api/auctions/{auction_id}/received", headers=who.headers if who else None)


@scenario("mark_received", "ok")
def _(w: World) -> Reply:
    auction_id = _paid_sale(w)
    assert _ship(w, auction_id, w.seller).status == 200
    return _received(w, auction_id, w.buyer)


@scenario("mark_received", "unauthenticated")
def _(w: World) -> Reply:
    return _received(w, _paid_sale(w), None)


@scenario("mark_received", "forbidden")
def _(w: World) -> Reply:
    return _received(w, _paid_sale(w), w.seller)


@scenario("mark_received", "not_found")
def _(w: World) -> Reply:
    return _received(w, uuid.uuid4(), w.buyer)


@scenario("mark_received", "receipt_not_allowed")
def _(w: World) -> Reply:
    return _received(w, _paid_sale(w), w.buyer)  # not shipped yet


@scenario("open_dispute", "ok")
def _(w: World) -> Reply:
    reply = _dispute(w, _paid_sale(w), w.buyer, COMPLAINT)
    assert reply.json()["status"] == "open"
    return reply


@scenario("open_dispute", "unauthenticated")
def _(w: World) -> Reply:
    return _dispute(w, _paid_sale(w), None, COMPLAINT)


@scenario("open_dispute", "forbidden")
def _(w: World) -> Reply:
    return _dispute(w, _paid_sale(w), w.seller, COMPLAINT)


@scenario("open_dispute", "not_found")
def _(w: World) -> Reply:
    return _dispute(w, uuid.uuid4(), w.buyer, COMPLAINT)


@scenario("open_dispute", "dispute_not_allowed")
def _(w: World) -> Reply:
    return _dispute(w, _shipped_sale(w), w.buyer, COMPLAINT)  # not paid


@scenario("open_dispute", "dispute_exists")
def _(w: World) -> Reply:
    return _dispute(w, _disputed(w), w.buyer, COMPLAINT)


@scenario("open_dispute", "validation_error")
def _(w: World) -> Reply:
    return _dispute(w, _paid_sale(w), w.buyer, {"reason": "bored", "detail": "x"})


@scenario("open_dispute", "payload_too_large")
def _(w: World) -> Reply:
    return _dispute(w, uuid.uuid4(), w.buyer, BIG)


REPLY = {"message": "Shipped on time; tracking EE123456789IN."}


@scenario("reply_to_dispute", "ok")
def _(w: World) -> Reply:
    reply = _dispute(w, _disputed(w), w.seller, REPLY, "/reply")
    assert len(reply.json()["replies"]) == 1
    return reply


@scenario("reply_to_dispute", "unauthenticated")
def _(w: World) -> Reply:
    return _dispute(w, _disputed(w), None, REPLY, "/reply")


@scenario("reply_to_dispute", "forbidden")
def _(w: World) -> Reply:
    return _dispute(w, _disputed(w), w.buyer, REPLY, "/reply")


@scenario("reply_to_dispute", "not_found")
def _(w: World) -> Reply:
    return _dispute(w, _paid_sale(w), w.seller, REPLY, "/reply")  # no dispute


@scenario("reply_to_dispute", "dispute_not_open")
def _(w: World) -> Reply:
    auction_id = _disputed(w)
    assert _dispute(w, auction_id, w.admin, RELEASE, "/resolve").status == 200
    return _dispute(w, auction_id, w.seller, REPLY, "/reply")


@scenario("reply_to_dispute", "validation_error")
def _(w: World) -> Reply:
    return _dispute(w, _disputed(w), w.seller, {"message": ""}, "/reply")


@scenario("reply_to_dispute", "payload_too_large")
def _(w: World) -> Reply:
    return _dispute(w, uuid.uuid4(), w.seller, BIG, "/reply")


@scenario("resolve_dispute", "ok")
def _(w: World) -> Reply:
    reply = _dispute(w, _disputed(w), w.admin, {**RELEASE, "outcome": "refund"}, "/resolve")
    assert reply.json()["creditNoteNumber"] == "CN-000001"
    return reply


@scenario("resolve_dispute", "unauthenticated")
def _(w: World) -> Reply:
    return _dispute(w, _disputed(w), None, RELEASE, "/resolve")


@scenario("resolve_dispute", "forbidden")
def _(w: World) -> Reply:
    return _dispute(w, _disputed(w), w.seller, RELEASE, "/resolve")


@scenario("resolve_dispute", "not_found")
def _(w: World) -> Reply:
    return _dispute(w, _paid_sale(w), w.admin, RELEASE, "/resolve")


@scenario("resolve_dispute", "dispute_not_open")
def _(w: World) -> Reply:
    auction_id = _disputed(w)
    assert _dispute(w, auction_id, w.admin, RELEASE, "/resolve").status == 200
    return _dispute(w, auction_id, w.admin, RELEASE, "/resolve")


@scenario("resolve_dispute", "refund_not_allowed")
def _(w: World) -> Reply:
    from sqlalchemy import update

    from shared.adapters.orm import Invoice

    auction_id = _disputed(w)
    past = datetime.now(UTC) - timedelta(seconds=10)
    with w.ctx.db.session() as session:
        session.execute(
            update(Invoice).where(Invoice.auction_id == auction_id).values(payment_due_at=past)
        )
    assert _pay(w, auction_id, w.seller, {"action": "report_unpaid"}).status == 200
    return _dispute(w, auction_id, w.admin, {**RELEASE, "outcome": "refund"}, "/resolve")


@scenario("resolve_dispute", "validation_error")
def _(w: World) -> Reply:
    return _dispute(w, _disputed(w), w.admin, {"outcome": "halve", "note": "x"}, "/resolve")


@scenario("resolve_dispute", "payload_too_large")
def _(w: World) -> Reply:
    return _dispute(w, uuid.uuid4(), w.admin, BIG, "/resolve")


@scenario("list_disputes", "ok")
def _(w: World) -> Reply:
    auction_id = _disputed(w)
    reply = w.api.get("/api/admin/disputes", headers=w.admin.headers)
    assert [d["auctionId"] for d in reply.json()["items"]] == [str(auction_id)]
    return reply


@scenario("list_disputes", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/disputes")


@scenario("list_disputes", "forbidden")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/disputes", headers=w.seller.headers)


@scenario("list_disputes", "validation_error")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/disputes", query={"status": "lost"}, headers=w.admin.headers)


# trust and safety: shill suspects, blocked bidders, feedback, reputations


@scenario("list_suspects", "ok")
def _(w: World) -> Reply:
    w.bid(w.buyer, w.live(), "100.00")
    bid_intake.drain(w.ctx)  # as the ticker does, then the pairs the bid touched
    assert trust.refresh(w.ctx) == 1
    reply = w.api.get("/api/admin/trust/suspects", headers=w.admin.headers)
    (item,) = reply.json()["items"]
    assert (item["bidderId"], item["sellerId"]) == (w.buyer.id, w.seller.id)
    assert item["reasons"] and 0 < item["score"] <= 1
    return reply


@scenario("list_suspects", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/trust/suspects")


@scenario("list_suspects", "forbidden")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/trust/suspects", headers=w.seller.headers)


@scenario("list_suspects", "validation_error")
def _(w: World) -> Reply:
    return w.api.get("/api/admin/trust/suspects", query={"limit": 201}, headers=w.admin.headers)


def _blocks(w: World, method: str, user_id: str, who: Person | None = None) -> Reply:
    headers = (who or w.seller).headers
    return w.api.request(method, f"/api/me/blocked-bidders/{user_id}", headers=headers)


@scenario("block_bidder", "ok")
def _(w: World) -> Reply:
    reply = _blocks(w, "PUT", w.buyer.id)
    listed = w.api.get("/api/me/blocked-bidders", headers=w.seller.headers).json()
    assert [b["userId"] for b in listed["items"]] == [w.buyer.id]
    return reply


@scenario("block_bidder", "not_found")
def _(w: World) -> Reply:
    return _blocks(w, "PUT", str(uuid.uuid4()))


@scenario("block_bidder", "validation_error")
def _(w: World) -> Reply:
    return _blocks(w, "PUT", w.seller.id)  # yourself


@scenario("unblock_bidder", "ok")
def _(w: World) -> Reply:
    assert _blocks(w, "PUT", w.buyer.id).status == 204
    reply = _blocks(w, "DELETE", w.buyer.id)
    listed = w.api.get("/api/me/blocked-bidders", headers=w.seller.headers).json()
    assert listed["items"] == []
    return reply


@scenario("unblock_bidder", "not_found")
def _(w: World) -> Reply:
    return _blocks(w, "DELETE", str(uuid.uuid4()))


@scenario("my_blocked_bidders", "ok")
def _(w: World) -> Reply:
    assert _blocks(w, "PUT", w.buyer.id).status == 204
    return w.api.get("/api/me/blocked-bidders", query={"limit": 5}, headers=w.seller.headers)


@scenario("my_blocked_bidders", "unauthenticated")
def _(w: World) -> Reply:
    return w.api.get("/api/me/blocked-bidders")


@scenario("my_blocked_bidders", "validation_error")
def _(w: World) -> Reply:
    return w.api.get("/api/me/blocked-bidders", query={"limit": 0}, headers=w.seller.headers)


@scenario("place_bid", "bidder_blocked")
def _(w: World) -> Reply:
    # The bid script checks the seller's blocked set in its own round trip.
    auction_id = w.live()
    assert _blocks(w, "PUT", w.buyer.id).status == 204
    return _bid(w, auction_id, w.buyer, {"amount": "100.00"})


def _retract(
    w: World, auction_id: Any, bid_id: Any, who: Person | None, body: Any, api: Any = None
) -> Reply:
    return (api or w.api).post(
        f"/api/auctions/{auction_id}/bids/{bid_id}/retract",
        json=body,
        headers=who.headers if who else None,
    )


def _placed(w: World, ends_in: timedelta = timedelta(days=2)) -> tuple[uuid.UUID, str]:
    """A live auction ending `ends_in` from now, with the buyer's bid on it."""
    auction_id = w.live(ends_at=datetime.now(UTC) + ends_in)
    reply = w.bid(w.buyer, auction_id, "100.00")
    return auction_id, str(reply.json()["id"])


TYPO = {"reason": "typo"}


@scenario("retract_bid", "ok")
def _(w: World) -> Reply:
    auction_id, bid_id = _placed(w)
    reply = _retract(w, auction_id, bid_id, w.buyer, TYPO)
    assert reply.json()["bidIds"] == [bid_id] and reply.json()["highestBid"] is None
    return reply


@scenario("retract_bid", "unauthenticated")
def _(w: World) -> Reply:
    auction_id, bid_id = _placed(w)
    return _retract(w, auction_id, bid_id, None, TYPO)


@scenario("retract_bid", "account_suspended")
def _(w: World) -> Reply:
    auction_id, bid_id = _placed(w)
    return _retract(w, auction_id, bid_id, w.suspended(w.buyer), TYPO)


@scenario("retract_bid", "forbidden")
def _(w: World) -> Reply:
    auction_id, bid_id = _placed(w)
    return _retract(w, auction_id, bid_id, w.who("buyer", "someone-else"), TYPO)


@scenario("retract_bid", "not_found")
def _(w: World) -> Reply:
    auction_id, _bid_id = _placed(w)
    return _retract(w, auction_id, uuid.uuid4(), w.buyer, TYPO)


@scenario("retract_bid", "retraction_not_allowed")
def _(w: World) -> Reply:
    # near the end, a bid that is not the bidder's latest
    auction_id, first = _placed(w, timedelta(hours=1))
    w.bid(w.who("buyer", "rival"), auction_id, "110.00")
    w.bid(w.buyer, auction_id, "120.00")
    return _retract(w, auction_id, first, w.buyer, TYPO)


@scenario("retract_bid", "validation_error")
def _(w: World) -> Reply:
    auction_id, bid_id = _placed(w)
    return _retract(w, auction_id, bid_id, w.buyer, {"reason": "changed_my_mind"})


@scenario("retract_bid", "rate_limited")
def _(w: World) -> Reply:
    api = w.tight()
    _retract(w, uuid.uuid4(), uuid.uuid4(), w.buyer, TYPO, api)
    return _retract(w, uuid.uuid4(), uuid.uuid4(), w.buyer, TYPO, api)


@scenario("retract_bid", "payload_too_large")
def _(w: World) -> Reply:
    return _retract(w, uuid.uuid4(), uuid.uuid4(), w.buyer, BIG)


@scenario("retract_bid", "unavailable")
def _(w: World) -> Reply:
    return _retract(w, uuid.uuid4(), uuid.uuid4(), w.buyer, TYPO, w.down())


def _completed(w: World) -> uuid.UUID:
    """Sold to the buyer and its payment confirmed by the seller."""
    auction_id = w.sold()
    assert _pay(w, auction_id, w.seller, {"action": "confirm"}).status == 200
    return auction_id


def _leave(w: World, auction_id: Any, who: Person | None, body: Any) -> Reply:
    return w.api.post(
        f"/api/auctions/{auction_id}/feedback", json=body, headers=who.headers if who else None
    )


GOOD = {"rating": "positive", "comment": "Quick payment, friendly"}


@scenario("leave_feedback", "ok")
def _(w: World) -> Reply:
    reply = _leave(w, _completed(w), w.buyer, GOOD)
    assert (reply.json()["toId"], reply.json()["fromRole"]) == (w.seller.id, "buyer")
    return reply


@scenario("leave_feedback", "unauthenticated")
def _(w: World) -> Reply:
    return _leave(w, _completed(w), None, GOOD)


@scenario("leave_feedback", "forbidden")
def _(w: World) -> Reply:
    return _leave(w, _completed(w), w.who("buyer", "someone-else"), GOOD)


@scenario("leave_feedback", "not_found")
def _(w: World) -> Reply:
    return _leave(w, uuid.uuid4(), w.buyer, GOOD)


@scenario("leave_feedback", "feedback_not_allowed")
def _(w: World) -> Reply:
    return _leave(w, w.sold(), w.buyer, GOOD)  # the payment is not confirmed


@scenario("leave_feedback", "feedback_exists")
def _(w: World) -> Reply:
    auction_id = _completed(w)
    assert _leave(w, auction_id, w.seller, GOOD).status == 201
    return _leave(w, auction_id, w.seller, {"rating": "negative"})


@scenario("leave_feedback", "validation_error")
def _(w: World) -> Reply:
    return _leave(w, _completed(w), w.buyer, {"rating": "positive", "comment": "two\nlines"})


def _answer_feedback(w: World, auction_id: Any, who: Person | None, body: Any) -> Reply:
    return w.api.post(
        f"/api/auctions/{auction_id}/feedback/reply",
        json=body,
        headers=who.headers if who else None,
    )


def _rated(w: World) -> uuid.UUID:
    """Completed, and the buyer's feedback about the seller left."""
    auction_id = _completed(w)
    assert _leave(w, auction_id, w.buyer, {"rating": "neutral", "comment": "Slow"}).status == 201
    return auction_id


THANKS = {"comment": "Thank you: shipped the same day it was paid"}


@scenario("reply_to_feedback", "ok")
def _(w: World) -> Reply:
    reply = _answer_feedback(w, _rated(w), w.seller, THANKS)
    assert reply.json()["reply"]["comment"] == THANKS["comment"]
    return reply


@scenario("reply_to_feedback", "unauthenticated")
def _(w: World) -> Reply:
    return _answer_feedback(w, _rated(w), None, THANKS)


@scenario("reply_to_feedback", "forbidden")
def _(w: World) -> Reply:
    return _answer_feedback(w, _rated(w), w.who("buyer", "someone-else"), THANKS)


@scenario("reply_to_feedback", "not_found")
def _(w: World) -> Reply:
    return _answer_feedback(w, _rated(w), w.buyer, THANKS)  # nothing about the buyer


@scenario("reply_to_feedback", "reply_exists")
def _(w: World) -> Reply:
    auction_id = _rated(w)
    assert _answer_feedback(w, auction_id, w.seller, THANKS).status == 201
    return _answer_feedback(w, auction_id, w.seller, THANKS)


@scenario("reply_to_feedback", "validation_error")
def _(w: World) -> Reply:
    return _answer_feedback(w, _rated(w), w.seller, {"comment": ""})


@scenario("auction_feedback", "ok")
def _(w: World) -> Reply:
    reply = w.api.get(f"/api/auctions/{_rated(w)}/feedback")
    assert [f["rating"] for f in reply.json()["items"]] == ["neutral"]
    return reply


@scenario("auction_feedback", "not_found")
def _(w: World) -> Reply:
    return w.api.get(f"/api/auctions/{uuid.uuid4()}/feedback")


@scenario("reputation", "ok")
def _(w: World) -> Reply:
    _rated(w)
    reply = w.api.get(f"/api/users/{w.seller.id}/reputation")
    body = reply.json()
    assert (body["neutral"], body["percentPositive"], body["retractions12m"]) == (1, None, 0)
    assert [r["role"] for r in body["recent"]] == ["seller"]
    return reply


@scenario("reputation", "not_found")
def _(w: World) -> Reply:
    return w.api.get(f"/api/users/{uuid.uuid4()}/reputation")


# -- the public bid ledger ----------------------------------------------------------------------


def _logged(w: World) -> uuid.UUID:
    """A live auction with two bids, its log signed (the ticker's step, run here)."""
    auction_id = w.live()
    w.bid(w.buyer, auction_id, "100.00")
    w.bid(w.who("buyer", "Ravi"), auction_id, "110.00")
    ledger.checkpoint_grown(w.ctx)
    return auction_id


@scenario("get_ledger_key", "ok")
def _(w: World) -> Reply:
    reply = w.api.get("/api/ledger/key")
    assert reply.json()["vkey"] == ledger.signer(get_settings()).vkey
    return reply


@scenario("get_ledger", "ok")
def _(w: World) -> Reply:
    reply = w.api.get(f"/api/auctions/{_logged(w)}/ledger", query={"start": 1})
    body = reply.json()
    assert body["size"] == 2 and [e["index"] for e in body["entries"]] == [1]
    return reply


@scenario("get_ledger", "validation_error")
def _(w: World) -> Reply:
    return w.api.get(f"/api/auctions/{w.live()}/ledger", query={"start": 5, "end": 2})


@scenario("get_ledger_checkpoint", "ok")
def _(w: World) -> Reply:
    auction_id = _logged(w)
    reply = w.api.get(f"/api/auctions/{auction_id}/ledger/checkpoint")
    assert reply.content.decode().split("\n")[:2] == [
        f"{get_settings().ledger_host}/auctions/{auction_id}",
        "2",
    ]
    return reply


@scenario("get_inclusion_proof", "ok")
def _(w: World) -> Reply:
    query = {"index": 0, "size": 2}
    reply = w.api.get(f"/api/auctions/{_logged(w)}/ledger/proof", query=query)
    assert len(reply.json()["path"]) == 1
    return reply


@scenario("get_inclusion_proof", "validation_error")
def _(w: World) -> Reply:
    query = {"index": 2, "size": 2}  # an index at the size
    return w.api.get(f"/api/auctions/{_logged(w)}/ledger/proof", query=query)


@scenario("get_consistency_proof", "ok")
def _(w: World) -> Reply:
    query = {"from": 1, "to": 2}
    reply = w.api.get(f"/api/auctions/{_logged(w)}/ledger/consistency", query=query)
    assert len(reply.json()["path"]) == 1
    return reply


@scenario("get_consistency_proof", "validation_error")
def _(w: World) -> Reply:
    query = {"from": 1, "to": 3}  # past the signed tree
    return w.api.get(f"/api/auctions/{_logged(w)}/ledger/consistency", query=query)


@scenario("get_ledger_close", "ok")
def _(w: World) -> Reply:
    reply = w.api.get(f"/api/auctions/{w.ended()}/ledger/close")
    assert reply.json()["outcome"]["price"] == "150.00"
    return reply


@scenario("get_ledger_close", "auction_not_ended")
def _(w: World) -> Reply:
    return w.api.get(f"/api/auctions/{_logged(w)}/ledger/close")


def _unknown_log(tail: str) -> Scenario:
    def ask(w: World) -> Reply:
        return w.api.get(f"/api/auctions/{uuid.uuid4()}/ledger{tail}")

    return ask


for _name, _tail in (
    ("get_ledger", ""),
    ("get_ledger_checkpoint", "/checkpoint"),
    ("get_inclusion_proof", "/proof"),
    ("get_consistency_proof", "/consistency"),
    ("get_ledger_close", "/close"),
):
    scenario(_name, "not_found")(_unknown_log(_tail))


def _cases() -> Iterator[Any]:
    for op in operations():
        for answer in documented(op):
            yield pytest.param(op, answer, id=f"{op.name}-{answer}")


def test_every_documented_answer_has_a_scenario() -> None:
    missing = [
        f"{op.name} {answer}"
        for op in operations()
        for answer in documented(op)
        if (op.name, answer) not in SCENARIOS
    ]
    assert not missing, f"routes or answers without a scenario here: {missing}"
    known = {(op.name, answer) for op in operations() for answer in documented(op)}
    assert not set(SCENARIOS) - known, "scenarios for answers no operation documents"


@pytest.mark.parametrize(("op", "answer"), list(_cases()))
def test_the_route_answers_as_documented(
    op: Any,
    answer: str,
    api: Api,
    transport: str,
    ctx: Context,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario_fn = SCENARIOS.get((op.name, answer))
    if scenario_fn is None:
        pytest.fail(f"no scenario for {op.name} {answer}")
    world = World(api, transport, ctx, request, monkeypatch)
    reply = scenario_fn(world)
    assert reply.headers.get("x-content-type-options") == "nosniff", reply.headers
    if answer == "ok":
        assert reply.status == op.status, reply
        if op.status == 204:  # no content: no body, no media type (watch, delete a photo)
            assert reply.content == b"", reply
        else:
            assert reply.media_type == op.media_type, reply
        if op.response is not None:
            op.response.model_validate(reply.json())
    elif answer.isdigit():
        assert reply.status == int(answer), reply
        model = dict(op.responses)[int(answer)]
        model.model_validate(reply.json())
    else:
        assert (reply.status, reply.code) == (PROBLEMS[answer][0], answer), reply
        problem = reply.json()
        assert problem["status"] == reply.status and problem["title"] == PROBLEMS[answer][1]
