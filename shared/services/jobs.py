"""The job queue on Redis (emails and their invoices): nothing lost, nothing done twice.

Jobs come from the transactional outbox (`outbox.job`; the relay puts each id once into
`jobs:data` + `jobs:ready`). `work` runs due jobs:

- a claim (one Lua script) moves due retries and jobs of crashed workers back to ready and
  takes jobs under a lease, so any number of workers in any number of processes (the socket
  node's loop, the scheduled function) can run `work` at once without sharing a job;
- a failed job is retried with exponential backoff (`shared.domain.jobs.RetryPolicy`), a
  permanent failure or the last allowed attempt puts it in the dead-letter list, and an admin
  replays it from there (`replay_dead`);
- handlers are idempotent by the job's stable id (an email checks `email_deliveries`), so a
  retry, a replay or a worker that lost its lease never sends the same message twice.

The queue knows no job type: its handlers come from where the app is wired together (the
socket node's loop and the scheduled function pass `email_jobs.handlers(...)`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from shared.adapters import keys
from shared.adapters.redis_store import StoreError, StoreUnavailable, load_script
from shared.domain.jobs import DEFAULT_POLICY, PermanentFailure, RetryPolicy, job_kind
from shared.domain.times import from_ms, iso, to_ms
from shared.services.context import Context

log = logging.getLogger(__name__)

LEASE_MS = 60_000  # well above the mailer's 10 s timeout plus building an invoice
BATCH = 20


# A job type's handler: runs one job (a dict with a stable `id`), idempotently. Raises
# PermanentFailure for what no retry can fix; any other exception is retried.
Handler = Callable[[Context, dict[str, Any]], None]
Handlers = Mapping[str, Handler]


@dataclass
class WorkReport:
    done: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)

    @property
    def ran(self) -> int:
        return len(self.done) + len(self.retried) + len(self.dead)


def work(
    ctx: Context,
    handlers: Handlers,
    *,
    limit: int = BATCH,
    policy: RetryPolicy = DEFAULT_POLICY,
    report: WorkReport | None = None,
) -> int:
    """Run the jobs due now (at most `limit`); returns how many ran. Safe to call from many
    processes at once; never raises for an unreachable Redis (the jobs wait)."""
    now = to_ms(ctx.clock())
    try:
        claimed = ctx.store.script(
            load_script("jobs_claim"),
            [
                keys.JOBS_READY,
                keys.JOBS_DELAYED,
                keys.JOBS_PROCESSING,
                keys.JOBS_DATA,
                keys.JOBS_META,
            ],
            [now, limit, LEASE_MS],
        )
    except (StoreUnavailable, StoreError) as exc:
        log.warning("job queue unreadable: %s", exc)
        return 0
    if not claimed:
        return 0
    report = report if report is not None else WorkReport()
    for job_id, data, meta in claimed:
        _run(ctx, str(job_id), str(data), str(meta or ""), now + LEASE_MS, handlers, policy, report)
    return len(claimed)


def _run(
    ctx: Context,
    job_id: str,
    data: str,
    meta_json: str,
    lease: int,
    handlers: Handlers,
    policy: RetryPolicy,
    report: WorkReport,
) -> None:
    meta: dict[str, Any] = orjson.loads(meta_json) if meta_json else {}
    attempt = int(meta.get("attempts") or 0) + 1
    kind = "unknown"
    try:
        job = orjson.loads(data)
        kind = job_kind(job)
        handler = handlers.get(str(job.get("type")))
        if handler is None:
            raise PermanentFailure(f"no handler for jobs of type {job.get('type')!r}")
        handler(ctx, job)
    except Exception as exc:  # any failure of one job must leave the others running
        error = f"{type(exc).__name__}: {exc}"[:500]
        now = to_ms(ctx.clock())
        meta.update(attempts=attempt, lastError=error, failedAt=now, kind=kind)
        if isinstance(exc, PermanentFailure) or policy.gives_up(attempt):
            outcome, due = "dead", 0
            report.dead.append(job_id)
        else:
            outcome, due = "retry", now + policy.delay_ms(job_id, attempt)
            report.retried.append(job_id)
        _log(outcome, job_id, kind, attempt, error, due)
        _settle(ctx, job_id, lease, outcome, due, meta)
        return
    report.done.append(job_id)
    _log("done", job_id, kind, attempt)
    _settle(ctx, job_id, lease, "done", 0, {})


def _log(
    outcome: str, job_id: str, kind: str, attempt: int, error: str | None = None, due: int = 0
) -> None:
    line: dict[str, Any] = {
        "event": f"job_{outcome}",
        "id": job_id,
        "kind": kind,
        "attempt": attempt,
    }
    if error:
        line["error"] = error
    if outcome == "retry":
        line["retryAt"] = iso(from_ms(due))
    (log.warning if error else log.info)(orjson.dumps(line).decode())


def _settle(
    ctx: Context, job_id: str, lease: int, outcome: str, due: int, meta: dict[str, Any]
) -> None:
    try:
        ctx.store.script(
            load_script("jobs_settle"),
            [
                keys.JOBS_PROCESSING,
                keys.JOBS_DELAYED,
                keys.JOBS_DEAD,
                keys.JOBS_DATA,
                keys.JOBS_META,
            ],
            [job_id, lease, outcome, due, orjson.dumps(meta).decode()],
        )
    except (StoreUnavailable, StoreError) as exc:
        # The lease runs out and the job is claimed again; its handler is idempotent.
        log.warning("job %s not settled (%s): %s", job_id, outcome, exc)


# -- dead letters -------------------------------------------------------------------------------


def dead_letter_view(job_id: str, data: str | None, meta_json: str | None) -> dict[str, Any]:
    job: dict[str, Any] = orjson.loads(data) if data else {}
    meta: dict[str, Any] = orjson.loads(meta_json) if meta_json else {}
    failed_at = meta.get("failedAt")
    return {
        "id": job_id,
        "kind": job_kind(job) if job else str(meta.get("kind") or "unknown"),
        "lastError": meta.get("lastError"),
        "attempts": int(meta.get("attempts") or 0),
        "failedAt": iso(from_ms(failed_at)) if failed_at else None,
        "replays": int(meta.get("replays") or 0),
        "auctionId": job.get("auctionId"),
        "recipientId": job.get("recipientId"),
    }


def list_dead(
    ctx: Context, *, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], bool]:
    """Dead letters, most recent first; and whether more follow."""
    total = int(ctx.store.command("LLEN", keys.JOBS_DEAD) or 0)
    # The list grows at its tail; read it backwards for newest first.
    stop = total - 1 - offset
    start = max(0, stop - limit + 1)
    if stop < 0:
        return [], False
    ids = [str(i) for i in ctx.store.command("LRANGE", keys.JOBS_DEAD, start, stop) or []]
    ids.reverse()
    if not ids:
        return [], False
    data, meta = ctx.store.pipeline(
        [["HMGET", keys.JOBS_DATA, *ids], ["HMGET", keys.JOBS_META, *ids]]
    )
    items = [dead_letter_view(i, d, m) for i, d, m in zip(ids, data, meta, strict=True)]
    return items, start > 0


def replay_dead(ctx: Context, job_id: str) -> dict[str, Any] | None:
    """Put a dead letter back at the front of the queue; None if it is not a dead letter."""
    result = ctx.store.script(
        load_script("jobs_replay"),
        [keys.JOBS_DEAD, keys.JOBS_READY, keys.JOBS_DATA, keys.JOBS_META],
        [job_id, to_ms(ctx.clock())],
    )
    if int(result or 0) != 1:
        return None
    data, meta = ctx.store.pipeline(
        [["HGET", keys.JOBS_DATA, job_id], ["HGET", keys.JOBS_META, job_id]]
    )
    log.info(orjson.dumps({"event": "job_replayed", "id": job_id}).decode())
    return {**dead_letter_view(job_id, data, meta), "state": "ready"}


def job_state(ctx: Context, job_id: str) -> str:
    """ready | delayed | processing | dead | gone (done, or never queued): for tests and
    the runbook."""
    ready, delayed, processing, dead, data = ctx.store.pipeline(
        [
            ["LPOS", keys.JOBS_READY, job_id],
            ["ZSCORE", keys.JOBS_DELAYED, job_id],
            ["ZSCORE", keys.JOBS_PROCESSING, job_id],
            ["LPOS", keys.JOBS_DEAD, job_id],
            ["HEXISTS", keys.JOBS_DATA, job_id],
        ]
    )
    if not int(data or 0):
        return "gone"
    for name, value in (
        ("processing", processing),
        ("dead", dead),
        ("delayed", delayed),
        ("ready", ready),
    ):
        if value is not None and not isinstance(value, StoreError):
            return name
    return "gone"
