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
