"""The job queue (invariant 8): the email provider down delivers everything once it is
back, with retries and backoff, then dead letters an admin can see and replay; nothing is sent
twice, whatever the number of workers, crashes or lost leases."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from chalice.test import Client
from sqlalchemy import select

from shared.adapters import keys
from shared.adapters.mailer import Outgoing, SendGridMailer
from shared.adapters.orm import AuditEntry
from shared.adapters.redis_store import RestStore, load_script
from shared.domain.jobs import DEFAULT_POLICY, RetryPolicy
from shared.domain.times import to_ms
from shared.services import email_jobs, jobs, outbox
from shared.services.context import Context, for_functions, for_socket_node
from tests.support import harness
from tests.support.actors import Admin, call
from tests.support.after_sale import ended_auction, run_jobs
from tests.support.harness import Person
from tests.support.sendgrid_sink import SendGridSink


class Clock:
    """The queue's notion of now, moved by the test (backoff without waiting)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += timedelta(milliseconds=ms)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def qctx(ctx: Context, sink: SendGridSink, clock: Clock) -> Context:
    """The test's Context with the mailer on the sink and the clock in the test's hand."""
    return dataclasses.replace(ctx, clock=clock)


@pytest.fixture
def rival(ctx: Context) -> Person:
    return harness.person(ctx, "buyer", "ravi")


def decided(ctx: Context, client: Client, seller: Person, bidder: Any, action: str) -> uuid.UUID:
    auction_id = ended_auction(ctx, client, seller, [(bidder, "150.00")])
    response = call(
        client, "POST", f"/api/auctions/{auction_id}/decision", seller, {"action": action}
    )
    assert response.status_code == 200, response.body
    outbox.relay(ctx)
    return auction_id


def meta(ctx: Context, job_id: str) -> dict[str, Any]:
    raw = ctx.store.command("HGET", keys.JOBS_META, job_id)
    return orjson.loads(raw) if raw else {}


def due_at(ctx: Context, job_id: str) -> int:
    return int(float(ctx.store.command("ZSCORE", keys.JOBS_DELAYED, job_id)))


def dead_list(client: Client, admin: harness.Person, query: str = "") -> dict[str, Any]:
    response = call(client, "GET", f"/api/admin/jobs/dead{query}", admin)
    assert response.status_code == 200, response.body
    body: dict[str, Any] = response.json_body
    return body


def test_nothing_due_nothing_run(qctx: Context) -> None:
    assert jobs.work(qctx, email_jobs.handlers()) == 0


def test_provider_down_for_a_while_every_email_arrives_once(
    ctx: Context,
    qctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    sink: SendGridSink,
    clock: Clock,
) -> None:
    sold = decided(ctx, client, seller, rival, "accept")
    rejected = decided(ctx, client, seller, buyer, "reject")
    ids = sorted(
        [
            f"email:sale:{sold}:buyer",
            f"email:sale:{sold}:seller",
            f"email:rejection:{rejected}:r1:buyer",
        ]
    )
    sink.fail(503)
    first = run_jobs(qctx)
    assert sorted(first.retried) == ids and first.done == []
    waits = {}
    for job_id in ids:
        assert jobs.job_state(qctx, job_id) == "delayed"
        assert meta(qctx, job_id)["attempts"] == 1
        assert "503" in meta(qctx, job_id)["lastError"]
        waits[job_id] = due_at(qctx, job_id) - to_ms(clock.now)
        assert waits[job_id] == DEFAULT_POLICY.delay_ms(job_id, 1)

    clock.advance(min(waits.values()) - 1)
    assert jobs.work(qctx, email_jobs.handlers()) == 0  # not due yet: backoff holds

    sink.drop()  # the network fails differently now: no answer at all
    clock.advance(max(waits.values()))
    second = run_jobs(qctx)
    assert sorted(second.retried) == ids
    for job_id in ids:
        assert meta(qctx, job_id)["attempts"] == 2
        assert due_at(qctx, job_id) - to_ms(clock.now) == DEFAULT_POLICY.delay_ms(job_id, 2)
    assert sink.messages == []

    sink.recover()
    clock.advance(DEFAULT_POLICY.cap_ms * 2)
    third = run_jobs(qctx)
    assert sorted(third.done) == ids
    assert sorted(str(m.job_id) for m in sink.messages) == ids
    assert sink.duplicates() == []
    assert sink.refused == 6
    assert all(jobs.job_state(qctx, job_id) == "gone" for job_id in ids)
    clock.advance(DEFAULT_POLICY.cap_ms * 2)
    assert run_jobs(qctx).ran == 0
    assert len(sink.messages) == 3


@pytest.mark.parametrize("status", [429, 500, 502])
def test_throttling_and_server_errors_are_retried(
    ctx: Context,
    qctx: Context,
    client: Client,
    seller: Person,
    rival: Person,
    sink: SendGridSink,
    clock: Clock,
    status: int,
) -> None:
    decided(ctx, client, seller, rival, "reject")
    sink.fail(status, times=1)
    assert len(run_jobs(qctx).retried) == 1
    clock.advance(DEFAULT_POLICY.cap_ms * 2)
    assert len(run_jobs(qctx).done) == 1
    assert len(sink.messages) == 1


def test_a_permanent_refusal_is_dead_at_once_then_replayed_and_delivered(
    ctx: Context,
    qctx: Context,
    client: Client,
    seller: Person,
    rival: Person,
    admin: Person,
    sink: SendGridSink,
) -> None:
    auction_id = decided(ctx, client, seller, rival, "reject")
    job_id = f"email:rejection:{auction_id}:r1:buyer"
    sink.fail(400)
    report = run_jobs(qctx)
    assert report.dead == [job_id]
    assert jobs.job_state(qctx, job_id) == "dead"
    (item,) = dead_list(client, admin)["items"]
    assert item["id"] == job_id
    assert item["kind"] == "email:rejection"
    assert item["attempts"] == 1
    assert "400" in item["lastError"]
    assert item["failedAt"].endswith("Z")
    assert item["auctionId"] == str(auction_id)
    assert item["recipientId"] == rival.id

    sink.recover()
    response = Admin(client, admin).replay(job_id)
    assert response.status_code == 200, response.body
    assert response.json_body["state"] == "ready"
    assert response.json_body["replays"] == 1
    assert response.json_body["attempts"] == 0
    assert dead_list(client, admin)["items"] == []
    with ctx.db.session() as session:  # the admin action is in the audit log
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "admin.replay_dead_letter")
        ).all()
    assert [(str(e.actor_id), e.details["jobId"]) for e in entries] == [(admin.id, job_id)]
    assert run_jobs(qctx).done == [job_id]
    assert [m.job_id for m in sink.messages] == [job_id]
    assert Admin(client, admin).replay(job_id).status_code == 404  # no longer a dead letter


def test_transient_failures_past_the_last_attempt_end_in_dead_letters(
    ctx: Context,
    qctx: Context,
    client: Client,
    seller: Person,
    rival: Person,
    admin: Person,
    sink: SendGridSink,
    clock: Clock,
) -> None:
    policy = RetryPolicy(max_attempts=3, base_ms=1_000, cap_ms=10_000, jitter=0.0)
    auction_id = decided(ctx, client, seller, rival, "reject")
    job_id = f"email:rejection:{auction_id}:r1:buyer"
    sink.fail(503)
    outcomes = []
    for _ in range(3):
        report = run_jobs(qctx, policy=policy)
        outcomes.append("dead" if report.dead else "retry")
        clock.advance(10_000)
    assert outcomes == ["retry", "retry", "dead"]
    (item,) = dead_list(client, admin)["items"]
    assert item["attempts"] == 3
    # Fixed provider, replay: tried afresh (its attempts start again from zero).
    sink.recover()
    assert Admin(client, admin).replay(job_id).status_code == 200
    assert run_jobs(qctx, policy=policy).done == [job_id]
    assert len(sink.messages) == 1


def test_a_crashed_workers_job_is_taken_again_after_its_lease(
    ctx: Context,
    qctx: Context,
    client: Client,
    seller: Person,
    rival: Person,
    sink: SendGridSink,
    clock: Clock,
) -> None:
    auction_id = decided(ctx, client, seller, rival, "reject")
    job_id = f"email:rejection:{auction_id}:r1:buyer"
    # A worker claims the job and dies before settling it.
    claimed = qctx.store.script(
        load_script("jobs_claim"),
        [keys.JOBS_READY, keys.JOBS_DELAYED, keys.JOBS_PROCESSING, keys.JOBS_DATA, keys.JOBS_META],
        [to_ms(clock.now), 10, jobs.LEASE_MS],
    )
    assert [c[0] for c in claimed] == [job_id]
    assert jobs.job_state(qctx, job_id) == "processing"
    assert jobs.work(qctx, email_jobs.handlers()) == 0  # under someone's lease
    clock.advance(jobs.LEASE_MS + 1)
    assert run_jobs(qctx).done == [job_id]
    assert len(sink.messages) == 1


def test_a_worker_that_lost_its_lease_settles_nothing(
    ctx: Context,
    qctx: Context,
    client: Client,
    seller: Person,
    rival: Person,
    sink: SendGridSink,
    clock: Clock,
) -> None:
    auction_id = decided(ctx, client, seller, rival, "reject")
    job_id = f"email:rejection:{auction_id}:r1:buyer"
    scripts = [keys.JOBS_READY, keys.JOBS_DELAYED, keys.JOBS_PROCESSING, keys.JOBS_DATA]
    first_claim = to_ms(clock.now)
    qctx.store.script(
        load_script("jobs_claim"), [*scripts, keys.JOBS_META], [first_claim, 10, jobs.LEASE_MS]
    )
    clock.advance(jobs.LEASE_MS + 1)
    assert run_jobs(qctx).done == [job_id]  # the second worker took over and delivered
    settled = qctx.store.script(
        load_script("jobs_settle"),
        [keys.JOBS_PROCESSING, keys.JOBS_DELAYED, keys.JOBS_DEAD, keys.JOBS_DATA, keys.JOBS_META],
        [job_id, first_claim + jobs.LEASE_MS, "retry", to_ms(clock.now), "{}"],
    )
    assert settled == 0
    assert jobs.job_state(qctx, job_id) == "gone"
    assert len(sink.messages) == 1


class SlowMailer:
    """The real SendGrid mailer, taking its time: two workers overlap in the send."""

    def __init__(self, inner: SendGridMailer) -> None:
        self.inner = inner

    def send(self, message: Outgoing) -> str | None:
        time.sleep(0.3)
        return self.inner.send(message)


def test_two_workers_sending_the_same_job_at_once_send_it_once(
    ctx: Context, qctx: Context, client: Client, seller: Person, rival: Person, sink: SendGridSink
) -> None:
    auction_id = decided(ctx, client, seller, rival, "reject")
    raw = qctx.store.command("HGET", keys.JOBS_DATA, f"email:rejection:{auction_id}:r1:buyer")
    job = orjson.loads(raw)
    base = email_jobs.outlets_for(qctx.settings)
    assert isinstance(base.mailer, SendGridMailer)
    outlets = email_jobs.Outlets(SlowMailer(base.mailer), base.invoices)
    threads = [
        threading.Thread(target=email_jobs.deliver, args=(qctx, job, outlets)) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [m.job_id for m in sink.messages] == [job["id"]]


def test_many_workers_in_many_processes_deliver_each_email_exactly_once(
    ctx: Context, client: Client, seller: Person, rival: Person, sink: SendGridSink
) -> None:
    auction_id = decided(ctx, client, seller, rival, "accept")
    run_jobs(ctx)
    sink.reset()
    # Forty more confirmations of the same sale (distinct ids), enqueued the ordinary way.
    with ctx.db.session() as session:
        for i in range(40):
            outbox.job(
                session,
                {
                    "id": f"email:sale:{auction_id}:buyer:copy{i}",
                    "type": "email",
                    "template": "sale_confirmation",
                    "auctionId": str(auction_id),
                    "recipientId": rival.id,
                    "role": "buyer",
                    "attachInvoice": i % 4 == 0,
                },
            )
    outbox.relay(ctx)
    # Workers as separate processes would have them: their own pools and Redis clients, over
    # REST (the functions) and TCP (the socket node).
    workers = [for_functions(ctx.settings, pool_size=2), for_socket_node(ctx.settings, pool_size=2)]
    workers += [
        for_functions(ctx.settings, pool_size=2),
        for_socket_node(ctx.settings, pool_size=2),
    ]
    barrier = threading.Barrier(len(workers))
    ran: list[int] = []

    def drain(worker: Context) -> None:
        barrier.wait()
        total = 0
        while n := jobs.work(worker, email_jobs.handlers(), limit=3):
            total += n
        ran.append(total)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for w in workers:
            w.close()
    assert sum(ran) == 40
    assert len(sink.messages) == 40
    assert sink.duplicates() == []
    assert sum(len(m.attachments) for m in sink.messages) == 10


def test_jobs_naming_nothing_real_are_dead_at_once(
    qctx: Context, client: Client, admin: Person, sink: SendGridSink
) -> None:
    with qctx.db.session() as session:
        outbox.job(session, {"id": "cleanup:1", "type": "cleanup"})
        outbox.job(
            session,
            {
                "id": "email:sale:gone:buyer",
                "type": "email",
                "template": "sale_confirmation",
                "auctionId": str(uuid.uuid4()),
                "recipientId": str(uuid.uuid4()),
                "role": "buyer",
            },
        )
        outbox.job(session, {"id": "email:odd", "type": "email", "template": "poem"})
    report = run_jobs(qctx)
    assert sorted(report.dead) == ["cleanup:1", "email:odd", "email:sale:gone:buyer"]
    errors = {i["id"]: i["lastError"] for i in dead_list(client, admin)["items"]}
    assert "no handler" in errors["cleanup:1"]
    assert "does not exist" in errors["email:sale:gone:buyer"]
    assert "poem" in errors["email:odd"]
    assert sink.messages == []


def test_dead_letters_page_newest_first(
    qctx: Context, client: Client, admin: Person, sink: SendGridSink
) -> None:
    with qctx.db.session() as session:
        for i in range(3):
            outbox.job(session, {"id": f"odd:{i}", "type": "odd"})
    run_jobs(qctx)
    first = dead_list(client, admin, "?limit=2")
    second = dead_list(client, admin, f"?limit=2&cursor={first['nextCursor']}")
    assert [i["id"] for i in first["items"] + second["items"]] == ["odd:2", "odd:1", "odd:0"]
    assert second["nextCursor"] is None
    bad = call(client, "GET", "/api/admin/jobs/dead?cursor=eA", admin)
    assert bad.status_code == 422


def test_dead_letters_are_for_admins_only(client: Client, seller: Person, buyer: Person) -> None:
    for who in (seller, buyer):
        assert call(client, "GET", "/api/admin/jobs/dead", who).status_code == 403
        assert Admin(client, who).replay("email:x").status_code == 403
    assert call(client, "GET", "/api/admin/jobs/dead").status_code == 401
    assert Admin(client, None).replay("email:x").status_code == 401


def test_replaying_what_is_not_a_dead_letter_is_404(client: Client, admin: Person) -> None:
    response = Admin(client, admin).replay("email:sale:nothing:buyer")
    assert response.status_code == 404
    assert response.json_body["code"] == "not_found"


def test_an_unreachable_queue_postpones_work_without_raising(ctx: Context) -> None:
    dead_store = RestStore("http://127.0.0.1:9", "token", timeout_s=0.5, retries=0)
    assert jobs.work(dataclasses.replace(ctx, store=dead_store), email_jobs.handlers()) == 0


def test_sink_counts_what_it_refused(sendgrid_sink: SendGridSink) -> None:
    """The sink itself: a refused request is counted and never recorded as sent."""
    import httpx

    sendgrid_sink.reset()
    sendgrid_sink.fail(503, times=1)
    body = {
        "personalizations": [{"to": [{"email": "a@example.com"}]}],
        "from": {"email": "b@example.com"},
        "subject": "s",
        "content": [{"type": "text/plain", "value": "t"}],
    }
    headers = {"Authorization": f"Bearer {sendgrid_sink.api_key}"}
    url = f"{sendgrid_sink.url}/v3/mail/send"
    assert httpx.post(url, json=body, headers=headers).status_code == 503
    assert httpx.post(url, json=body, headers=headers).status_code == 202
    assert httpx.post(url, json=body, headers={"Authorization": "Bearer x"}).status_code == 401
    assert httpx.post(url, json={"subject": "s"}, headers=headers).status_code == 400
    assert (sendgrid_sink.refused, len(sendgrid_sink.messages)) == (1, 1)


def test_dead_letters_replay_over_http_with_the_id_as_listed_or_encoded(
    qctx: Context, api_url: str, admin: Person, sink: SendGridSink
) -> None:
    from urllib.parse import quote

    import httpx

    with qctx.db.session() as session:
        outbox.job(session, {"id": "odd:a:1", "type": "odd"})
        outbox.job(session, {"id": "odd:b:2", "type": "odd"})
    run_jobs(qctx)
    listed = httpx.get(f"{api_url}/api/admin/jobs/dead", headers=admin.headers).json()
    assert {i["id"] for i in listed["items"]} == {"odd:a:1", "odd:b:2"}
    for path_id in ("odd:a:1", quote("odd:b:2", safe="")):
        response = httpx.post(
            f"{api_url}/api/admin/jobs/dead/{path_id}/replay", headers=admin.headers
        )
        assert response.status_code == 200, response.text
    assert httpx.get(f"{api_url}/api/admin/jobs/dead", headers=admin.headers).json()["items"] == []
