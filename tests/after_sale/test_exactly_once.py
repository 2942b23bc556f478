"""Every deadline after the hammer fires exactly once (invariant 6), proven by injecting
the faults: three tickers racing (two socket nodes' and the scheduled function), a ticker
killed with SIGKILL between its claim and its commit, and a restart after the deadlines passed
(with Redis lost too). Each time: one transition, one set of events and notifications, and
each email sent once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from chalice.test import Client
from sqlalchemy import select, update

from shared.adapters.orm import Auction, Invoice
from shared.services import ticker
from shared.services.context import Context, for_socket_node
from shared.settings import REPO_ROOT, get_settings
from tests.support.actors import Actor
from tests.support.after_sale import (
    all_notes,
    audit_actions,
    ended_auction,
    feed_types,
    move_deadline,
    room_types,
    run_jobs,
    soon,
    status_of,
    tick_until,
)
from tests.support.harness import Person, person
from tests.support.sendgrid_sink import SendGridSink
from tests.support.socket_node import wait_for

KINDS = ("decision", "counter", "offer", "payment")


@dataclass
class World:
    """Auctions with a deadline of each kind due at one moment, and what each must cause."""

    seller: Person
    low: Person  # bid 100 (gets the second-chance offers)
    high: Person  # bid 150, the highest bidder
    auctions: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    counters: dict[uuid.UUID, str] = field(default_factory=dict)
    offers: dict[uuid.UUID, str] = field(default_factory=dict)
    emails: set[str] = field(default_factory=set)  # the deadlines' email job ids

    def done(self, ctx: Context) -> bool:
        """Has every deadline fired (as the record shows it)?"""
        notes = all_notes(ctx)
        for aid in self.auctions.get("decision", []):
            if status_of(ctx, aid) != ("closed_no_winner", "decision_expired"):
                return False
        for aid in self.auctions.get("counter", []):
            if status_of(ctx, aid) != ("closed_no_winner", "counter_expired"):
                return False
        for aid in self.auctions.get("offer", []):
            if notes[(self.seller.id, "offer_expired", str(aid))] < 1:
                return False
        for aid in self.auctions.get("payment", []):
            if notes[(self.seller.id, "payment_due", str(aid))] < 1:
                return False
        return True

    def assert_once(self, ctx: Context) -> None:
        """Each transition made once: its notifications, user events, room events, audit
        entries and email jobs, each exactly once."""
        notes = all_notes(ctx)
        expected: Counter[tuple[str, str, str]] = Counter()
        jobs: set[str] = set()
        for aid in self.auctions.get("decision", []):
            a = str(aid)
            expected[(self.seller.id, "decision_reminder", a)] = 1
            expected[(self.seller.id, "decision_expired", a)] = 1
            expected[(self.high.id, "decision_expired", a)] = 1
            assert audit_actions(ctx, aid) == ["system.decision_default"]
            assert room_types(ctx, aid).count("auction:closed") == 1
            assert feed_types(ctx, self.high, aid).count("seller:rejected") == 1
            jobs |= {
                f"email:decision_reminder:{a}:r1:seller",
                f"email:decision_expired:{a}:r1:buyer",
                f"email:decision_expired:{a}:r1:seller",
            }
        for aid in self.auctions.get("counter", []):
            a, cid = str(aid), self.counters[aid]
            for who in (self.seller, self.high):
                expected[(who.id, "counter_expired", a)] = 1
                assert feed_types(ctx, who, aid).count("counter:expired") == 1
            assert audit_actions(ctx, aid) == ["seller.counter", "system.counter_expired"]
            assert room_types(ctx, aid).count("auction:closed") == 1
            jobs |= {f"email:counter_expired:{cid}:buyer", f"email:counter_expired:{cid}:seller"}
        for aid in self.auctions.get("offer", []):
            a, oid = str(aid), self.offers[aid]
            for who in (self.seller, self.low):
                expected[(who.id, "offer_expired", a)] = 1
                assert feed_types(ctx, who, aid).count("offer:expired") == 1
            assert audit_actions(ctx, aid)[-1] == "system.offer_expired"
            assert audit_actions(ctx, aid).count("system.offer_expired") == 1
            jobs |= {f"email:offer_expired:{oid}:buyer", f"email:offer_expired:{oid}:seller"}
        for aid in self.auctions.get("payment", []):
            a = str(aid)
            for who in (self.seller, self.high):
                expected[(who.id, "payment_due", a)] = 1
                assert feed_types(ctx, who, aid).count("payment:due") == 1
            with ctx.db.session() as session:
                invoice = session.scalars(select(Invoice.id).where(Invoice.auction_id == aid)).one()
            jobs |= {f"email:payment_due:{invoice}:buyer", f"email:payment_due:{invoice}:seller"}
        kinds = {k for _, k, _ in expected}
        made = Counter({key: n for key, n in notes.items() if key[1] in kinds})
        assert made == expected
        self.emails = jobs

    def assert_emails_once(self, sink: SendGridSink) -> None:
        """Every email of the deadlines delivered, each exactly once (and nothing twice)."""
        counts = Counter(m.job_id for m in sink.messages)
        assert max(counts.values()) == 1, counts
        assert {j for j in counts if j and j.split(":")[1] in DEADLINE_TEMPLATES} == self.emails


DEADLINE_TEMPLATES = {
    "decision_reminder",
    "decision_expired",
    "counter_expired",
    "offer_expired",
    "payment_due",
}


def build(
    ctx: Context,
    client: Client,
    seller: Person,
    due: datetime,
    per_kind: int,
    kinds: tuple[str, ...] = KINDS,
) -> World:
    """Auctions whose deadlines of `kinds` fall due at `due`; their schedules placed as the
    record says (as a boot would)."""
    world = World(seller, person(ctx, "buyer", "Lata Low"), person(ctx, "buyer", "Hari High"))
    bids = [(world.low, "100.00"), (world.high, "150.00")]
    for kind in kinds:
        made = world.auctions.setdefault(kind, [])
        for _ in range(per_kind):
            aid = ended_auction(ctx, client, seller, bids)
            if kind == "decision":
                move_deadline(ctx, aid, due, decision=True)
            elif kind == "counter":
                counter = (
                    Actor(client, seller)
                    .post(f"/api/auctions/{aid}/decision", {"action": "counter", "amount": "200"})
                    .json_body["counterOffer"]
                )
                world.counters[aid] = counter["id"]
                move_deadline(ctx, aid, due, counter=True)
            elif kind == "offer":
                Actor(client, seller).post(f"/api/auctions/{aid}/decision", {"action": "reject"})
                offer = (
                    Actor(client, seller)
                    .post(f"/api/auctions/{aid}/offers", {"bidderId": world.low.id})
                    .json_body
                )
                world.offers[aid] = offer["id"]
                move_deadline(ctx, aid, due, offer=True)
            else:
                Actor(client, seller).post(f"/api/auctions/{aid}/decision", {"action": "accept"})
                move_deadline(ctx, aid, due, payment=True)
            made.append(aid)
    ticker.rebuild_schedule(ctx)
    return world


def scheduled_tick(client: Client) -> dict[str, Any]:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    return dict(client.lambda_.invoke("lifecycle_tick", event).payload)


def test_three_racing_tickers_fire_every_deadline_once(
    ctx: Context, client: Client, seller: Person, sink: SendGridSink
) -> None:
    world = build(ctx, client, seller, soon(2500), per_kind=3)
    stop = threading.Event()
    errors: list[BaseException] = []
    contexts = [for_socket_node(get_settings()) for _ in range(2)]

    def socket_node_ticker(node_ctx: Context) -> None:
        try:
            while not stop.is_set():
                ticker.tick(node_ctx)  # sweeps every time: all three go for the same ones
        except BaseException as exc:
            errors.append(exc)

    racers = [threading.Thread(target=socket_node_ticker, args=(c,)) for c in contexts]
    for racer in racers:
        racer.start()
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not world.done(ctx):
            scheduled_tick(client)
        time.sleep(0.5)  # let the racers finish what they claimed
        for _ in range(3):
            scheduled_tick(client)
    finally:
        stop.set()
        for racer in racers:
            racer.join(30)
        for node_ctx in contexts:
            node_ctx.close()
    assert errors == []
    assert world.done(ctx)
    world.assert_once(ctx)
    run_jobs(ctx)
    world.assert_emails_once(sink)


class Crasher:
    """`python -m tests.after_sale.crash_mid_transition`: ticks until a transition writes its
    first email job, then hangs inside the transaction."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.after_sale.crash_mid_transition"],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'functions'}"},
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def wait_in_transaction(self, timeout: float = 60.0) -> str:
        found = wait_for(
            lambda: next((ln for ln in self.lines if ln.startswith("IN_TRANSACTION")), None),
            timeout=timeout,
        )
        return str(found)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.mark.parametrize("kind", (*KINDS, "reminder"))
def test_a_ticker_killed_between_claim_and_commit_leaves_the_deadline_to_fire_once(
    ctx: Context, client: Client, seller: Person, sink: SendGridSink, kind: str
) -> None:
    world = build(
        ctx,
        client,
        seller,
        soon(-10),
        per_kind=1,
        kinds=("decision",) if kind == "reminder" else (kind,),
    )
    if kind == "decision":  # the reminder went out long ago: the deadline is what dies
        with ctx.db.session() as session:
            session.execute(
                update(Auction)
                .where(Auction.id.in_(world.auctions["decision"]))
                .values(decision_reminded_at=soon(-5000))
            )
    before = all_notes(ctx)
    crasher = Crasher()
    try:
        hung = crasher.wait_in_transaction()
    finally:
        crasher.kill()  # SIGKILL: claimed, locked, written, never committed
    print(f"killed at {hung}")
    assert all_notes(ctx) == before  # nothing of it committed
    if kind == "reminder":
        world.auctions = {"decision": world.auctions["decision"]}
    tick_until(ctx, lambda: world.done(ctx), timeout=30)
    for _ in range(3):
        tick_until(ctx, lambda: True)
    if kind == "decision":
        # Only the deadline was left to fire (the reminder was older than this test).
        notes = all_notes(ctx)
        (aid,) = world.auctions["decision"]
        assert notes[(seller.id, "decision_expired", str(aid))] == 1
        assert notes[(seller.id, "decision_reminder", str(aid))] == 0
        assert audit_actions(ctx, aid) == ["system.decision_default"]
        world.emails = {f"email:decision_expired:{aid}:r1:{role}" for role in ("buyer", "seller")}
    else:
        world.assert_once(ctx)
    run_jobs(ctx)
    world.assert_emails_once(sink)


def test_after_a_restart_overdue_deadlines_fire_soon_and_once(
    ctx: Context, client: Client, seller: Person, node_factory: Any, sink: SendGridSink
) -> None:
    """Redis lost everything (schedules included) while the node was down; the deadlines
    passed meanwhile. The node boots, rebuilds the schedules from PostgreSQL and fires each
    once; a second restart fires nothing again."""
    world = build(ctx, client, seller, soon(-10), per_kind=2)
    import redis

    redis.Redis.from_url(ctx.settings.redis_url or "").flushdb()  # over TCP, not the bridge
    booted = time.monotonic()
    node_factory(ticker=True)
    wait_for(lambda: world.done(ctx), timeout=15)
    took = time.monotonic() - booted
    print(f"overdue deadlines fired {took:.2f} s after boot")
    time.sleep(1.5)  # more ticks
    world.assert_once(ctx)
    run_jobs(ctx)
    world.assert_emails_once(sink)
    sent = len(sink.messages)
    notes = all_notes(ctx)

    node_factory(ticker=True)  # restarted again
    time.sleep(2.5)
    run_jobs(ctx)
    assert len(sink.messages) == sent
    assert all_notes(ctx) == notes
