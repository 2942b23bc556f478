"""Retracting bids (shared/domain/retractions.py, retract_bid.lua, shared/services/
retractions.py) over the real API, PostgreSQL and Redis: who may, when (far from the end every
bid of the bidder, near it only the latest within an hour), the highest and the maximums
recomputed atomically (Redis's highest is PostgreSQL's highest standing bid after each), the
room's `bid:retracted`, the rows kept with `retractedAt` in the history and my bids, the
reputation's count, a retraction that reaches PostgreSQL only through the outbox, and the
script held to the specification on generated histories."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest
import redis
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from shared.adapters import keys
from shared.adapters.orm import Bid, ProxyMaximum
from shared.domain import retractions as rules
from shared.services import bid_intake, retractions
from shared.services.context import Context
from shared.settings import get_settings
from tests.support.actors import call
from tests.support.harness import Person, flush_redis, live_auction, person

FAR = timedelta(days=2)  # ends more than RETRACT_CUTOFF_SECS (12 h) away


def _tcp() -> redis.Redis:
    return redis.Redis.from_url(get_settings().redis_url or "", decode_responses=True)


def _bid(client: Client, auction_id: uuid.UUID, who: Person, **body: str) -> dict[str, Any]:
    reply = call(client, "POST", f"/api/auctions/{auction_id}/bids", who, body)
    assert reply.status_code == 201, reply.body
    result: dict[str, Any] = reply.json_body
    return result


def _retract(
    client: Client, auction_id: uuid.UUID, bid_id: str, who: Person | None, reason: Any = "typo"
) -> Any:
    return call(
        client,
        "POST",
        f"/api/auctions/{auction_id}/bids/{bid_id}/retract",
        who,
        {"reason": reason},
    )


def _redis_highest(ctx: Context, auction_id: uuid.UUID) -> tuple[str, int] | None:
    raw = ctx.store.command("GET", keys.highest(str(auction_id)))
    if not raw:
        return None
    leader = orjson.loads(raw)
    return str(leader["bidId"]), int(leader["amount"])


def _pg_highest(ctx: Context, auction_id: uuid.UUID) -> tuple[str, int] | None:
    with ctx.db.session() as session:
        top = session.scalars(
            select(Bid)
            .where(Bid.auction_id == auction_id, Bid.retracted_at.is_(None))
            .order_by(Bid.amount.desc(), Bid.seq.desc())
            .limit(1)
        ).first()
        return (str(top.id), int(top.amount * 100)) if top else None


def _room(ctx: Context, auction_id: uuid.UUID, kind: str) -> list[dict[str, Any]]:
    entries = ctx.store.command("XRANGE", keys.room_stream(str(auction_id)), "-", "+") or []
    events = [orjson.loads(fields[1]) for _, fields in entries]
    return [e["data"] for e in events if e["type"] == kind]


def test_far_from_the_end_every_bid_of_the_bidder_goes_and_the_highest_is_recomputed(
    ctx: Context, client: Client, seller: Person
) -> None:
    auction_id = live_auction(ctx, seller, ends_at=datetime.now(UTC) + FAR)
    asha, ravi = person(ctx, "buyer", "Asha Kumar"), person(ctx, "buyer", "Ravi Shah")
    first = _bid(client, auction_id, asha, amount="100.00")
    second = _bid(client, auction_id, ravi, amount="110.00")
    mine = _bid(client, auction_id, asha, amount="150.00")
    # Ravi's proxy: placed at 160 over Asha's 150, maximum 300
    ravi_max = _bid(client, auction_id, ravi, maxAmount="300.00")
    assert ravi_max["amount"] == "160.00"

    reply = _retract(client, auction_id, first["id"], asha, "item_changed")
    assert reply.status_code == 200, reply.body
    body = reply.json_body
    assert body["bidIds"] == [first["id"], mine["id"]]  # all of Asha's, in order
    assert (body["amount"], body["reason"], body["bidderId"]) == ("100.00", "item_changed", asha.id)
    # Ravi leads still, with his maximum: his 160 stands (nothing is re-priced downwards)
    assert body["highestBid"]["id"] == ravi_max["id"]
    assert body["minNextBid"] == "170.00"
    assert (
        _redis_highest(ctx, auction_id) == _pg_highest(ctx, auction_id) == (ravi_max["id"], 16000)
    )
    leader = orjson.loads(ctx.store.command("GET", keys.highest(str(auction_id))))
    assert leader["max"] == 30000

    # The room heard it, with the new highest; the history keeps the rows, marked.
    (event,) = _room(ctx, auction_id, "bid:retracted")
    assert event["bidIds"] == body["bidIds"] and event["highestBid"]["id"] == ravi_max["id"]
    assert event["retractedAt"] == body["retractedAt"]
    history = call(client, "GET", f"/api/auctions/{auction_id}/bids", None).json_body["items"]
    marked = {b["id"]: b["retractedAt"] for b in history}
    assert marked[first["id"]] == marked[mine["id"]] == body["retractedAt"]
    assert marked[second["id"]] is None and marked[ravi_max["id"]] is None

    # Again: already retracted. Asha may bid again, judged against the new highest.
    assert _retract(client, auction_id, mine["id"], asha).json_body["code"] == (
        "retraction_not_allowed"
    )
    low = call(client, "POST", f"/api/auctions/{auction_id}/bids", asha, {"amount": "165.00"})
    assert low.json_body["code"] == "bid_too_low"

    # My bids and the public record.
    my = call(client, "GET", "/api/me/bids", asha).json_body["items"]
    assert my[0]["retractedAt"] == body["retractedAt"] and my[0]["myHighestBid"] == "150.00"
    rep = call(client, "GET", f"/api/users/{asha.id}/reputation", None).json_body
    assert rep["retractions12m"] == 1  # one retraction, however many bids it took


def test_a_leaders_retraction_cancels_their_maximum_and_the_next_leads(
    ctx: Context, client: Client, seller: Person
) -> None:
    auction_id = live_auction(ctx, seller, ends_at=datetime.now(UTC) + FAR)
    asha, ravi = person(ctx, "buyer"), person(ctx, "buyer")
    _bid(client, auction_id, ravi, maxAmount="200.00")  # 100, max 200
    asha_bid = _bid(client, auction_id, asha, amount="150.00")  # answered: ravi 160
    asha_max = _bid(client, auction_id, asha, maxAmount="500.00")  # asha 210, max 500
    assert asha_max["amount"] == "210.00"
    reply = _retract(client, auction_id, asha_max["id"], asha)
    assert reply.status_code == 200, reply.body
    assert reply.json_body["bidIds"] == [asha_bid["id"], asha_max["id"]]
    top = _pg_highest(ctx, auction_id)
    assert top is not None and top[1] == 16000 and _redis_highest(ctx, auction_id) == top
    assert reply.json_body["highestBid"]["bidderId"] == ravi.id
    assert ctx.store.command("HGET", keys.proxies(str(auction_id)), asha.id) is None
    with ctx.db.session() as session:  # the record's maximum is gone too (a rebuild agrees)
        assert (
            session.scalars(
                select(ProxyMaximum).where(ProxyMaximum.bidder_id == uuid.UUID(asha.id))
            ).all()
            == []
        )
    # Ravi's maximum of 200 still answers a plain bid below it
    answered = _bid(client, auction_id, asha, amount="170.00")
    assert answered["amount"] == "170.00"
    assert _redis_highest(ctx, auction_id) == _pg_highest(ctx, auction_id)
    top = _pg_highest(ctx, auction_id)
    assert top is not None and top[1] == 18000  # ravi's proxy answer


def test_near_the_end_only_the_latest_within_an_hour(
    ctx: Context, client: Client, seller: Person
) -> None:
    auction_id = live_auction(ctx, seller, ends_at=datetime.now(UTC) + timedelta(hours=2))
    asha, ravi = person(ctx, "buyer"), person(ctx, "buyer")
    older = _bid(client, auction_id, asha, amount="100.00")
    _bid(client, auction_id, ravi, amount="110.00")
    latest = _bid(client, auction_id, asha, amount="120.00")
    refused = _retract(client, auction_id, older["id"], asha)
    assert (refused.status_code, refused.json_body["code"]) == (409, "retraction_not_allowed")
    ok = _retract(client, auction_id, latest["id"], asha)
    assert ok.status_code == 200 and ok.json_body["bidIds"] == [latest["id"]]
    assert ok.json_body["highestBid"]["bidderId"] == ravi.id
    assert _redis_highest(ctx, auction_id) == _pg_highest(ctx, auction_id)
    # Asha's latest standing bid is now `older`: placed "two hours ago", it may not go.
    client_tcp = _tcp()
    try:
        key = keys.placed_bids(str(auction_id))
        for i, raw in enumerate(client_tcp.lrange(key, 0, -1)):
            entry = orjson.loads(raw)
            if entry["id"] == older["id"]:
                entry["t"] -= 2 * 3600 * 1000
                client_tcp.lset(key, i, orjson.dumps(entry).decode())
    finally:
        client_tcp.close()
    late = _retract(client, auction_id, older["id"], asha)
    assert (late.status_code, late.json_body["code"]) == (409, "retraction_not_allowed")


def test_who_what_and_when(ctx: Context, client: Client, seller: Person) -> None:
    auction_id = live_auction(ctx, seller, ends_at=datetime.now(UTC) + FAR)
    asha, ravi = person(ctx, "buyer"), person(ctx, "buyer")
    mine = _bid(client, auction_id, asha, amount="100.00")
    assert _retract(client, auction_id, mine["id"], ravi).status_code == 403
    assert _retract(client, auction_id, mine["id"], None).status_code == 401
    wrong = _retract(client, auction_id, mine["id"], asha, "changed_my_mind")
    assert (wrong.status_code, wrong.json_body["code"]) == (422, "validation_error")
    assert _retract(client, auction_id, str(uuid.uuid4()), asha).status_code == 404
    assert _retract(client, auction_id, "not-a-uuid", asha).status_code == 404
    assert _retract(client, uuid.uuid4(), mine["id"], asha).status_code == 404
    # Nothing changed by any of them.
    assert _redis_highest(ctx, auction_id) == _pg_highest(ctx, auction_id) == (mine["id"], 10000)
    # Not live: ended by the clock (the end transition has not run yet).
    ended = live_auction(ctx, seller, ends_at=datetime.now(UTC) + timedelta(seconds=1))
    bid = _bid(client, ended, asha, amount="100.00")
    import time

    time.sleep(1.2)
    late = _retract(client, ended, bid["id"], asha)
    assert (late.status_code, late.json_body["code"]) == (409, "retraction_not_allowed")


def test_a_retraction_with_postgres_unreachable_reaches_it_through_the_outbox(
    ctx: Context, client: Client, seller: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    auction_id = live_auction(ctx, seller, ends_at=datetime.now(UTC) + FAR)
    asha, ravi = person(ctx, "buyer"), person(ctx, "buyer")
    mine = _bid(client, auction_id, asha, amount="100.00")
    _bid(client, auction_id, ravi, amount="110.00")
    mine2 = _bid(client, auction_id, asha, amount="120.00")

    from sqlalchemy.exc import OperationalError

    def down(*_: Any, **__: Any) -> bool:
        raise OperationalError("UPDATE bids", {}, Exception("connection refused"))

    monkeypatch.setattr(retractions, "intake", down)
    reply = _retract(client, auction_id, mine["id"], asha)
    assert reply.status_code == 200, reply.body
    monkeypatch.undo()
    with ctx.db.session() as session:
        assert session.get_one(Bid, uuid.UUID(mine2["id"])).retracted_at is None
    bid_intake.drain(ctx)
    with ctx.db.session() as session:
        rows = {str(b.id): b for b in session.scalars(select(Bid))}
        assert rows[mine["id"]].retracted_at is not None
        assert rows[mine2["id"]].retract_reason == "typo"
    assert _redis_highest(ctx, auction_id) == _pg_highest(ctx, auction_id)


def test_a_flushed_redis_rebuilds_the_standing_bids_and_retracts_from_them(
    ctx: Context, client: Client, seller: Person
) -> None:
    auction_id = live_auction(ctx, seller, ends_at=datetime.now(UTC) + FAR)
    asha, ravi = person(ctx, "buyer"), person(ctx, "buyer")
    _bid(client, auction_id, asha, amount="100.00")
    first = _bid(client, auction_id, ravi, amount="110.00")
    _bid(client, auction_id, asha, amount="120.00")
    assert _retract(client, auction_id, first["id"], ravi).status_code == 200
    bid_intake.drain(ctx)
    flush_redis()
    last = _bid(client, auction_id, ravi, amount="130.00")  # rebuilt: Asha's 120 leads
    assert _redis_highest(ctx, auction_id) == _pg_highest(ctx, auction_id) == (last["id"], 13000)
    assert _retract(client, auction_id, last["id"], ravi).status_code == 200
    top = _pg_highest(ctx, auction_id)
    assert top is not None and top[1] == 12000 and _redis_highest(ctx, auction_id) == top


# -- the script against the specification -----------------------------------------------------

BIDDERS = 4
histories = st.lists(
    st.tuples(
        st.sampled_from(["bid", "max", "retract"]),
        st.integers(min_value=0, max_value=BIDDERS - 1),
        st.integers(min_value=0, max_value=6),
    ),
    min_size=1,
    max_size=16,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories, far=st.booleans())
def test_the_script_retracts_what_the_specification_retracts(
    ctx: Context, client: Client, seller: Person, history: list[tuple[str, int, int]], far: bool
) -> None:
    """Generated histories of plain bids, maximums and retractions through the API: before each
    retraction the specification (`scope`, `retract`) is asked about the list the script
    keeps, with the maximums it keeps; the script must answer the same (the bids taken, the
    refusal, the new leader and its maximum), and Redis's highest must be PostgreSQL's."""
    ends = datetime.now(UTC) + (FAR if far else timedelta(hours=1))
    auction_id = live_auction(ctx, seller, ends_at=ends, start_price="100.00", increment="10.00")
    people = [person(ctx, "buyer") for _ in range(BIDDERS)]
    aid = str(auction_id)
    tcp = _tcp()
    try:
        for action, who, step in history:
            me = people[who]
            if action != "retract":
                state = orjson.loads(call(client, "GET", f"/api/auctions/{auction_id}", me).body)
                amount = Decimal(state["minNextBid"]) + Decimal(10) * step
                body = {"maxAmount" if action == "max" else "amount": f"{amount:.2f}"}
                call(client, "POST", f"/api/auctions/{auction_id}/bids", me, body)
                continue
            placed = [
                rules.PlacedBid(e["id"], e["u"], e["a"], e["s"], e["t"])
                for e in (orjson.loads(r) for r in tcp.lrange(keys.placed_bids(aid), 0, -1))
            ]
            own = [b for b in placed if b.bidder_id == me.id]
            if not own:
                continue
            target = own[step % len(own)]
            maxima = {
                str(u): rules.Maximum(int(orjson.loads(v)["max"]), int(orjson.loads(v)["at"]))
                for u, v in tcp.hgetall(keys.proxies(aid)).items()
            }
            now = int(datetime.now(UTC).timestamp() * 1000)
            expected = rules.scope(
                placed,
                target.id,
                me.id,
                live=True,
                ends_ms=int(ends.timestamp() * 1000),
                now_ms=now,
                cutoff_ms=43_200_000,
            )
            reply = _retract(client, auction_id, target.id, me)
            if isinstance(expected, rules.NotAllowed):
                assert (reply.status_code, reply.json_body["code"]) == (409, expected.code)
                continue
            assert reply.status_code == 200, reply.body
            spec = rules.retract(placed, maxima, expected, me.id)
            assert tuple(reply.json_body["bidIds"]) == spec.bid_ids
            assert reply.json_body["amount"] == f"{Decimal(spec.lowest) / 100:.2f}"
            leader = ctx.store.command("GET", keys.highest(aid))
            if spec.leader is None:
                assert leader is None and reply.json_body["highestBid"] is None
            else:
                got = orjson.loads(leader)
                assert (got["bidId"], got["amount"], got["max"]) == (
                    spec.leader.bid.id,
                    spec.leader.bid.amount,
                    spec.leader.max_amount,
                )
            assert _redis_highest(ctx, auction_id) == _pg_highest(ctx, auction_id)
    finally:
        tcp.close()


# -- the race: retractions, bids and the end ---------------------------------------------------


def test_retractions_race_bids_and_the_end(ctx: Context, api_url: str, seller: Person) -> None:
    """Six bidders bid through the API until after the end, three of them retracting their
    latest bid now and then (near the end: only the latest, within the hour), while a ticker
    runs the end transition. Whatever the interleaving: every retraction answered 200 was
    judged before the end, the room's order holds (no accepted bid below the highest it
    replaced, each `bid:retracted` names the highest still standing), the bid the seller
    decides on is the highest standing bid in PostgreSQL and Redis's highest, and after the
    end nothing is retracted."""
    import threading
    import time

    import httpx

    from shared.adapters.orm import Auction
    from shared.services import records, transitions
    from tests.services.test_bidding import assert_retractions_kept_the_order

    ends = datetime.now(UTC) + timedelta(seconds=3)
    auction_id = live_auction(ctx, seller, ends_at=ends, start_price="10.00", increment="1.00")
    bidders = [person(ctx, "buyer") for _ in range(6)]
    url = f"{api_url}/api/auctions/{auction_id}/bids"
    accepted: set[str] = set()
    retracted: set[str] = set()
    moments: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + 6.0

    def bidder(i: int) -> None:
        import random

        rng = random.Random(i)
        next_min = Decimal("10.00")
        with httpx.Client(headers=bidders[i].headers, timeout=10) as http:
            while time.monotonic() < stop:
                reply = http.post(url, json={"amount": str(next_min + rng.choice([0, 1, 2]))})
                body = reply.json()
                if reply.status_code == 201:
                    with lock:
                        accepted.add(body["id"])
                    if i < 3 and rng.random() < 0.4:
                        taken = http.post(f"{url}/{body['id']}/retract", json={"reason": "typo"})
                        assert taken.status_code in (200, 409), taken.text
                        if taken.status_code == 200:
                            with lock:
                                retracted.update(taken.json()["bidIds"])
                                moments.append(taken.json()["retractedAt"])
                            next_min = Decimal(taken.json()["minNextBid"])
                            continue
                if "minNextBid" in body:
                    next_min = Decimal(body["minNextBid"])
                elif reply.status_code == 429:
                    time.sleep(0.05)
                time.sleep(0.01)

    ended = threading.Event()

    def ticker() -> None:
        while time.monotonic() < stop and not ended.is_set():
            if transitions.end(ctx, auction_id):
                ended.set()
            time.sleep(0.05)

    threads = [threading.Thread(target=bidder, args=(i,)) for i in range(6)]
    threads.append(threading.Thread(target=ticker))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if not ended.is_set():
        assert transitions.end(ctx, auction_id)
    assert accepted and retracted, (len(accepted), len(retracted))
    with ctx.db.session() as session:
        auction = session.get_one(Auction, auction_id)
        final_end = auction.ends_at
        decided = records.decided_bid(session, auction)
        assert auction.status == "ended" and decided is not None
        assert decided.retracted_at is None
        assert (str(decided.id), int(decided.amount * 100)) == _pg_highest(ctx, auction_id)
    assert _redis_highest(ctx, auction_id) == _pg_highest(ctx, auction_id)
    for moment in moments:
        assert datetime.fromisoformat(moment.replace("Z", "+00:00")) < final_end
    assert_retractions_kept_the_order(ctx, auction_id, accepted, retracted, Decimal("1.00"))
    # After the end nothing is retracted.
    standing = next(iter(accepted - retracted))
    owner = next(b for b in bidders if b.id == str(records_bidder(ctx, standing)))
    with httpx.Client(headers=owner.headers, timeout=10) as http:
        late = http.post(f"{url}/{standing}/retract", json={"reason": "typo"})
    assert (late.status_code, late.json()["code"]) == (409, "retraction_not_allowed")


def records_bidder(ctx: Context, bid_id: str) -> uuid.UUID:
    with ctx.db.session() as session:
        return session.get_one(Bid, uuid.UUID(bid_id)).bidder_id


# -- mutants of the retraction script must be caught ---------------------------------------------


def _mutant(old: str, new: str) -> Any:
    from shared.adapters.redis_store import Script, load_script

    source = load_script("retract_bid").source
    assert source.count(old) == 1, old
    return Script(name="retract_bid_mutant", source=source.replace(old, new))


def _judge_directly(
    script: Any,
    bids: list[rules.PlacedBid],
    maxima: dict[str, rules.Maximum],
    user: str,
    bid_id: str,
    ends_in_ms: int,
) -> tuple[str, dict[str, Any], list[str]]:
    """Run `script` over TCP on a state written here (the bridge runs only the project's own
    scripts, and a mutant is not one); what the specification says differs in `wrong`."""
    aid = str(uuid.uuid4())
    tcp = _tcp()
    try:
        now = int(tcp.time()[0]) * 1000
        ends = now + ends_in_ms
        tcp.hset(
            keys.state(aid),
            mapping={
                "status": "live",
                "goLiveAt": 0,
                "endsAt": ends,
                "startPrice": 10_000,
                "increment": 1_000,
                "sellerId": "seller",
                "round": 1,
            },
        )
        for b in bids:
            entry = {"id": b.id, "u": b.bidder_id, "a": b.amount, "s": b.seq, "r": 1, "t": b.at_ms}
            tcp.rpush(keys.placed_bids(aid), orjson.dumps(entry).decode())
        for u, m in maxima.items():
            tcp.hset(keys.proxies(aid), u, orjson.dumps({"max": m.amount, "at": m.at_ms}).decode())
        script_keys = [
            keys.state(aid),
            keys.highest(aid),
            keys.proxies(aid),
            keys.placed_bids(aid),
            keys.room_stream(aid),
            f"test:feed:{aid}",
            f"test:outbox:{aid}",
            keys.retractions(aid),
        ]
        args: list[str | int] = [
            aid,
            user,
            bid_id,
            43_200_000,
            rules.RECENT_MS,
            100,
            100,
            "typo",
            "",
        ]
        kind, body = tcp.eval(script.source, len(script_keys), *script_keys, *args)
        result = orjson.loads(body)
        leader_raw = tcp.get(keys.highest(aid))
        tcp.delete(f"test:feed:{aid}", f"test:outbox:{aid}")
    finally:
        tcp.close()
    expected = rules.scope(
        bids, bid_id, user, live=True, ends_ms=ends, now_ms=now, cutoff_ms=43_200_000
    )
    wrong: list[str] = []
    if isinstance(expected, rules.NotAllowed):
        if (kind, result.get("code")) != ("refused", expected.code):
            wrong.append(f"script {kind} {result}, spec {expected.code}")
        return kind, result, wrong
    spec = rules.retract(bids, maxima, expected, user)
    if kind != "ok" or tuple(result["record"]["bidIds"]) != spec.bid_ids:
        return kind, result, [f"script {kind} {result}, spec {spec.bid_ids}"]
    got = orjson.loads(leader_raw) if leader_raw else None
    want = spec.leader
    if (got is None) != (want is None) or (
        got is not None
        and want is not None
        and (got["bidId"], got["max"]) != (want.bid.id, want.max_amount)
    ):
        wrong.append(f"leader {got}, spec {want}")
    return kind, result, wrong


def _history() -> tuple[list[rules.PlacedBid], dict[str, rules.Maximum]]:
    """Ravi's maximum of 150 met by Asha's plain 150 (his answer ties it, and leads), then Asha
    with a maximum of her own above: 160; Ravi raises by hand to 170, Asha's maximum answers."""
    now = int(datetime.now(UTC).timestamp() * 1000)
    asha, ravi = "asha", "ravi"
    bids = [
        rules.PlacedBid("b1", ravi, 10_000, 1, now - 9_000),
        rules.PlacedBid("b2", asha, 15_000, 2, now - 8_000),
        rules.PlacedBid("b3", ravi, 15_000, 3, now - 8_000),  # the answer: ties, and leads
        rules.PlacedBid("b4", asha, 16_000, 4, now - 7_000),
        rules.PlacedBid("b5", ravi, 17_000, 5, now - 6_000),
        rules.PlacedBid("b6", asha, 18_000, 6, now - 6_000),
    ]
    maxima = {ravi: rules.Maximum(15_000, now - 9_000), asha: rules.Maximum(30_000, now - 7_000)}
    return bids, maxima


def test_the_shipped_script_and_the_specification_agree_on_the_hard_cases() -> None:
    from shared.adapters.redis_store import load_script

    bids, maxima = _history()
    shipped = load_script("retract_bid")
    far, near = 2 * 86_400_000, 3_600_000
    # Asha takes everything back far from the end: Ravi's tying answer (b3) is not the top,
    # his 170 (b5) is, with his maximum of 150 below it.
    assert _judge_directly(shipped, bids, maxima, "asha", "b2", far)[2] == []
    # Ravi takes everything back: Asha's 180 leads with her maximum of 300.
    assert _judge_directly(shipped, bids, maxima, "ravi", "b1", far)[2] == []
    # Near the end: not the latest (refused), the latest (only it goes).
    assert _judge_directly(shipped, bids, maxima, "asha", "b2", near)[2] == []
    assert _judge_directly(shipped, bids, maxima, "asha", "b6", near)[2] == []
    # Near the end, Ravi's latest (b5): Asha's 180 still leads. Then only the tie is left.
    assert _judge_directly(shipped, bids, maxima, "ravi", "b5", near)[2] == []
    tie = bids[:3]
    assert _judge_directly(shipped, tie, maxima, "asha", "b2", far)[2] == []


def _case(name: str) -> tuple[list[rules.PlacedBid], dict[str, rules.Maximum]]:
    """`_history` cut or bent to where a mutant shows."""
    bids, maxima = _history()
    now = int(datetime.now(UTC).timestamp() * 1000)
    if name == "tie":  # a third bidder's retraction leaves the tie on top
        return [*bids[:3], rules.PlacedBid("c1", "cara", 16_000, 4, now)], maxima
    if name == "self-raise":  # Asha's latest above her own: retracted, her earlier one leads
        mine = [bids[0], bids[1], rules.PlacedBid("a2", "asha", 17_000, 3, now)]
        return mine, {"asha": rules.Maximum(30_000, now - 8_000)}
    return bids, maxima


@pytest.mark.parametrize(
    ("old", "new", "case", "user", "bid_id", "far"),
    [
        # ties to the earlier row: the bid a proxy answered would lead over its answer
        (
            "(b.a == top.a and b.s > top.s)",
            "(b.a == top.a and b.s < top.s)",
            "tie",
            "cara",
            "c1",
            True,
        ),
        # the retracting bidder's maximum kept
        ("redis.call('HDEL', KEYS[3], user_id)", "", "self-raise", "asha", "a2", False),
        # near the end, any bid of the bidder
        ("if latest.id ~= bid_id then", "if false then", "all", "asha", "b2", False),
        # the leader's maximum forgotten
        ("max, max_at = math.max(top.a, m.max), m.at", "", "all", "ravi", "b5", False),
    ],
    ids=["tie", "maximum-kept", "not-latest", "maximum-forgotten"],
)
def test_a_mutated_retraction_is_caught(
    old: str, new: str, case: str, user: str, bid_id: str, far: bool
) -> None:
    bids, maxima = _case(case)
    ends_in = 2 * 86_400_000 if far else 3_600_000
    assert _judge_directly(_mutant(old, new), bids, maxima, user, bid_id, ends_in)[2] != []
    # ... and the shipped script, on the same case, agrees with the specification.
    from shared.adapters.redis_store import load_script

    assert _judge_directly(load_script("retract_bid"), bids, maxima, user, bid_id, ends_in)[2] == []
