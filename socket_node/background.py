"""The socket node's background work besides the rooms: the lifecycle ticker and the job
worker. Both are the same sync use cases the functions run, called in a worker thread so the
event loop never waits on PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import time

from shared.services import email_jobs, jobs
from shared.services.context import Context
from shared.services.ticker import Ticker, rebuild_schedule

log = logging.getLogger("socket_node")

TICK_S = 1.0
JOBS_EVERY_S = 0.5


async def ticker(ctx: Context, *, every_s: float = TICK_S) -> None:
    """Rebuild the schedules from PostgreSQL, then tick every second. The Chalice scheduled
    function runs the same tick every minute; transitions are claimed atomically and guarded
    by status, so both at once (or a restart mid-transition) do each one exactly once."""
    delay = every_s
    while True:
        try:
            count = await asyncio.to_thread(rebuild_schedule, ctx)
            log.info("schedule rebuilt from PostgreSQL: %d open auctions", count)
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
            if report.started or report.ended:
                log.info("tick: started %s ended %s", report.started, report.ended)
        except Exception:
            log.exception("tick failed; next tick in %.0f s", every_s)
        await asyncio.sleep(max(0.0, every_s - (time.monotonic() - began)))


async def job_worker(ctx: Context, *, every_s: float = JOBS_EVERY_S) -> None:
    """Run the job queue (emails with their invoices) about twice a second."""
    handlers = email_jobs.handlers()
    while True:
        began = time.monotonic()
        try:
            await asyncio.to_thread(jobs.work, ctx, handlers)
        except Exception:
            log.exception("job worker failed; next run in %.1f s", every_s)
        await asyncio.sleep(max(0.0, every_s - (time.monotonic() - began)))
