"""Fixtures: real services for the session, a clean slate per test that asks for one."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from infra.embedded import free_port
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

    from infra.stack import Services

_EMBEDDED: pytest.StashKey[Services] = pytest.StashKey()

# The settings default to production; the suite (and every process it starts) is `test`,
# however pytest was invoked (settings are read lazily, after this line).
os.environ.setdefault("APP_ENV", "test")


def pytest_configure(config: pytest.Config) -> None:
    """Embedded PostgreSQL and Redis, when no URLs are given, are started once by the process
    that runs the session (pytest, or pytest-xdist's controller), before any worker exists:
    the workers inherit the URLs, and each makes its own database and claims its own Redis
    db on them (`harness.start_services`), as sessions side by side on a shared server do.
    (Each worker starting the embedded servers itself would stop them under the others.)"""
    if hasattr(config, "workerinput"):  # an xdist worker: its controller did this
        return
    from infra.stack import Services
    from shared.settings import REPO_ROOT

    embedded = Services(
        REPO_ROOT / "var" / "test",
        os.environ.get("DATABASE_URL") or None,
        os.environ.get("REDIS_URL") or None,
        persist_redis=False,
    ).start()
    assert embedded.database_url and embedded.redis_url
    os.environ["DATABASE_URL"] = embedded.database_url
    os.environ["REDIS_URL"] = embedded.redis_url
    config.stash[_EMBEDDED] = embedded


def pytest_unconfigure(config: pytest.Config) -> None:
    embedded = config.stash.get(_EMBEDDED, None)
    if embedded is not None:
        embedded.stop()


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
def packaged_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make package`'s zip (infra.package), made once per test run: the xdist workers of one
    run share it (a lock file; the first to come packages), as packaging takes ~30 s of CPU.
    Its SAM template is `sam.json` beside it. Read it only: copy or extract to change it."""
    from infra import package

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    base = tmp_path_factory.getbasetemp()
    root = (base.parent / f"bundle-{run}") if run else (base / "bundle")
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        zip_path = root / "dist" / "deployment.zip"
        if not zip_path.exists():
            package.package(out=root / "dist")
    return zip_path


@pytest.fixture(scope="session")
def api_url(services: SuiteServices) -> Iterator[str]:
    """The real local HTTP server (infra.api_server) in this process, on a free port."""
    from infra.api_server import serve_in_thread

    server = serve_in_thread("127.0.0.1", free_port())
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
