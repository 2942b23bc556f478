"""Fixtures: real services for the session, a clean slate per test that asks for one."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from shared.services.context import Context
from tests.support import harness
from tests.support.harness import Person, SuiteServices
from tests.support.sendgrid_sink import SendGridSink
from tests.support.socket_node import (  # noqa: F401 - fixtures: real socket nodes, WebSocket clients
    clients,
    node,
    node_factory,
    node_processes,
)

if TYPE_CHECKING:  # imported where used: the app reads its settings when imported
    from chalice.test import Client

# The settings default to production; the suite (and every process it starts) is `test`,
# however pytest was invoked (settings are read lazily, after this line).
os.environ.setdefault("APP_ENV", "test")


@pytest.fixture(scope="session")
def services() -> Iterator[SuiteServices]:
    started = harness.start_services()
    try:
        yield started
    finally:
        from chalicelib import runtime

        runtime.reset()
        started.stop()


@pytest.fixture
def ctx(services: SuiteServices) -> Context:
    """The functions' own Context (REST through the bridge), on emptied tables and Redis."""
    from chalicelib import runtime

    context: Context = runtime.context()
    harness.wipe(context)
    return context


@pytest.fixture
def client(ctx: Context) -> Iterator[Client]:
    """chalice.test.Client over the real app (no HTTP)."""
    import app as functions_app
    from chalice.test import Client

    with Client(functions_app.app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def api_url(services: SuiteServices) -> Iterator[str]:
    """The real local HTTP server (infra.api_server) in this process, on a free port."""
    from infra.api_server import make_server

    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def seller(ctx: Context) -> Person:
    return harness.person(ctx, "seller")


@pytest.fixture
def buyer(ctx: Context) -> Person:
    return harness.person(ctx, "buyer")


@pytest.fixture
def admin(ctx: Context) -> Person:
    return harness.person(ctx, "admin")


@pytest.fixture(scope="session")
def sendgrid_sink() -> Iterator[SendGridSink]:
    sink = SendGridSink()
    try:
        yield sink
    finally:
        sink.close()


@pytest.fixture
def sink(
    sendgrid_sink: SendGridSink, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> SendGridSink:
    """The SendGrid sink, emptied, with the Context's mailer pointed at it (the real sendgrid
    client, SENDGRID_API_HOST = the sink)."""
    sendgrid_sink.reset()
    monkeypatch.setattr(
        ctx,
        "settings",
        ctx.settings.model_copy(
            update={
                "sendgrid_api_key": sendgrid_sink.api_key,
                "sendgrid_api_host": sendgrid_sink.url,
            }
        ),
    )
    return sendgrid_sink
