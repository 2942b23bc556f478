"""The socket node's background work (socket_node.background): the job worker runs off the
event loop, about twice a second."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from shared.services.context import Context
from tests.support.socket_node import InProcessNode, wait_for


def test_the_node_runs_the_job_worker_about_twice_a_second(
    ctx: Context, node_factory: Callable[..., InProcessNode], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.services import jobs

    calls: list[tuple[Context, str]] = []
    monkeypatch.setattr(
        jobs,
        "work",
        # (the node passes a WorkReport too, for its figures)
        lambda c, handlers, **_: calls.append((c, threading.current_thread().name)),
    )
    node = node_factory(jobs=True)
    wait_for(lambda: len(calls) >= 3, timeout=5)
    assert all(c is node.ctx for c, _ in calls)
    assert all(name != "MainThread" for _, name in calls)  # never on the event loop


def test_the_tick_keeps_within_the_ledgers_merge_delay() -> None:
    """A receipt promises a signed checkpoint within LEDGER_MMD_MS, and the tick signs them:
    every second by default, at most half the delay apart when the delay is shorter."""
    from socket_node.background import tick_every_s

    assert tick_every_s(2000) == 1.0
    assert tick_every_s(60000) == 1.0
    assert tick_every_s(500) == 0.25
    assert tick_every_s(100) == 0.05
