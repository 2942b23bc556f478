"""The socket node's background work besides the rooms: the lifecycle ticker and the job
worker. Both are the same sync use cases the functions run, called in a worker thread so the
event loop never waits on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from shared.logs import Event
from shared.services import email_jobs, jobs
from shared.services.context import Context
from shared.services.jobs import WorkReport
from shared.services.ticker import Ticker, TickReport, rebuild_schedule

log = logging.getLogger("socket_node")

TICK_S = 1.0
JOBS_EVERY_S = 0.5


def tick_every_s(ledger_mmd_ms: int) -> float:
    """A second, or less when the ledger's maximum merge delay asks for it: a bid's receipt
    promises a signed checkpoint covering it within LEDGER_MMD_MS, and the tick signs them
    (at most half the delay apart, so a tick's own time fits in the rest)."""
    return min(TICK_S, ledger_mmd_ms / 2000)


async def ticker(
    ctx: Context,
    *,
    every_s: float | None = None,
    on_tick: Callable[[TickReport, float], None] | None = None,
) -> None:
    """Rebuild the schedules from PostgreSQL, then tick every second (`tick_every_s`: less
    when the ledger's merge delay is under two seconds). The Chalice scheduled
    function runs the same tick every minute; transitions are claimed atomically and guarded
    by status, so both at once (or a restart mid-transition) do each one exactly once."""
    if every_s is None:
        every_s = tick_every_s(ctx.settings.ledger_mmd_ms)
    delay = every_s
    while True:
        try:
            count = await asyncio.to_thread(rebuild_schedule, ctx)
            log.info(Event(event="schedule_rebuilt", openAuctions=count))
            break
        except Exception:
            log.exception("schedule rebuild failed; retrying in %.0f s", delay)
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)
    own = Ticker()
    while True:
        began = time.monotonic()
        try:
            report = await asyncio.to_thread(own.tick, ctx)
            if on_tick is not None:
                on_tick(report, time.monotonic() - began)
            if any(report.fired.values()):
                fired = {moment.value: ids for moment, ids in report.fired.items() if ids}
                log.info(Event(event="tick", fired=fired, intake=report.intake))
        except Exception:
            log.exception("tick failed; next tick in %.0f s", every_s)
        await asyncio.sleep(max(0.0, every_s - (time.monotonic() - began)))


async def job_worker(
    ctx: Context,
    *,
    every_s: float = JOBS_EVERY_S,
    on_work: Callable[[WorkReport], None] | None = None,
) -> None:
    """Run the job queue (emails with their invoices) about twice a second."""
    handlers = email_jobs.handlers()
    while True:
        began = time.monotonic()
        try:
            report = WorkReport()
            await asyncio.to_thread(jobs.work, ctx, handlers, report=report)
            if on_work is not None:
                on_work(report)
        except Exception:
            log.exception("job worker failed; next run in %.1f s", every_s)
        await asyncio.sleep(max(0.0, every_s - (time.monotonic() - began)))
