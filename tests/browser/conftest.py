"""Browser end-to-end fixtures: the real local stack (bridge, API and socket node, each its own
process, as `make run` starts them) serving the built SPA, and Debian's Chromium driven by
Playwright. No browser is ever downloaded: without /usr/bin/chromium the whole directory is
skipped with a reason that `pytest -ra` prints."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from infra.embedded import free_port
from infra.stack import Stack
from shared.settings import REPO_ROOT
from tests.support import harness
from tests.support.harness import SuiteServices

CHROMIUM = Path("/usr/bin/chromium")
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium)",
        allow_module_level=True,
    )

ARTIFACTS = REPO_ROOT / "var" / "artifacts" / "browser"
WEB_INDEX = REPO_ROOT / "web" / "dist" / "index.html"
# Debian's Chromium in a container: no sandbox (no user namespaces), no GPU, and nothing that
# phones home or updates itself while a test runs.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Generous: two CPUs run PostgreSQL, Redis, three servers and Chromium at once.
STEP_TIMEOUT_MS = 15_000
expect.set_options(timeout=STEP_TIMEOUT_MS)
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 375, "height": 740}


class LoggedStack(Stack):
    """The stack, each process writing to its own log file under the artifacts directory
    (shown when a test fails), so their output never mixes into pytest's."""

    logs: dict[str, Path]
    log_dir: Path
    _files: list[IO[bytes]]

    def _spawn(self, name: str, *args: str) -> None:
        log_path = getattr(self, "log_dir", ARTIFACTS / "logs") / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = log_path.open("wb")
        self.logs = {**getattr(self, "logs", {}), name: log_path}
        self._files = [*getattr(self, "_files", []), out]
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def close_logs(self) -> None:
        for out in getattr(self, "_files", []):
            out.close()

    def log_tails(self, lines: int = 40) -> str:
        parts = []
        for name, path in getattr(self, "logs", {}).items():
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {name} ({path}) ---\n" + "\n".join(text))
        return "\n".join(parts)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """var/artifacts/browser, emptied once per session (each stack and test has its folder)."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


def start_stack(
    services: SuiteServices,
    name: str,
    extra_env: dict[str, str],
    socket_port: int | None = None,
) -> LoggedStack:
    """Bridge, API and socket node (with its ticker and job worker) on free ports, over the
    suite's PostgreSQL and Redis, emptied first; logs under the artifacts' `logs-<name>/`."""
    if not WEB_INDEX.is_file():
        pytest.fail(f"the web app is not built ({WEB_INDEX} missing): run `make web`")
    from chalicelib import runtime

    harness.wipe(runtime.context())
    api_port, socket_port = free_port(), socket_port or free_port()
    stack = LoggedStack(
        database_url=services.database_url,
        redis_url=services.redis_url,
        api_port=api_port,
        socket_port=socket_port,
        bridge_port=free_port(),
        token=harness.TOKEN,
        extra_env={
            "CORS_ORIGINS": ",".join(origins(socket_port)),
            # The web app (and the photos it stores locally) are served by this socket node.
            "APP_BASE_URL": origins(socket_port)[0],
            **extra_env,
        },
    )
    stack.log_dir = ARTIFACTS / f"logs-{name}"
    try:
        stack.start()
    except Exception as exc:
        stack.stop()
        stack.close_logs()
        pytest.fail(f"the stack did not start: {exc}\n{stack.log_tails()}")
    return stack


def origins(socket_port: int) -> list[str]:
    """Where the SPA is served from (the socket node), by either local name."""
    return [f"http://{host}:{socket_port}" for host in ("127.0.0.1", "localhost")]


@pytest.fixture(scope="module")
def web_stack(services: SuiteServices, artifacts: Path) -> Iterator[LoggedStack]:
    """The development stack: dev login on."""
    stack = start_stack(services, "dev", {"APP_ENV": "test"})
    try:
        yield stack
    finally:
        stack.stop()
        stack.close_logs()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Screenshots:
    """Numbered screenshots of each step, kept under var/artifacts/browser/<test>/."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def __call__(self, page: Page, step: str) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{step}.png"
        page.evaluate("window.scrollTo(0, 0)")  # else the sticky header lands mid-picture
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@dataclass
class Browsing:
    """Browser contexts for one test (one per person: separate storage, separate sockets),
    with uncaught page errors collected so a test can insist there were none."""

    browser: Browser
    base_url: str
    shots: Screenshots
    contexts: dict[str, BrowserContext] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)
    page_errors: list[str] = field(default_factory=list)

    def page(self, who: str, viewport: ViewportSize | None = None, **options: Any) -> Page:
        context = self.browser.new_context(
            base_url=self.base_url,
            viewport=viewport or DESKTOP,
            timezone_id="Asia/Kolkata",
            locale="en-IN",
            accept_downloads=True,
            **options,
        )
        context.set_default_timeout(STEP_TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(f"{who}: {error}"))
        self.contexts[who] = context
        self.pages[who] = page
        return page

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()
SHOT_FOLDERS: list[Path] = []  # this session's, for the summary line


@pytest.fixture(scope="module")
def stack(web_stack: LoggedStack) -> LoggedStack:
    """The stack the module's pages talk to (a module may override it with its own)."""
    return web_stack


@pytest.fixture
def browsing(
    request: pytest.FixtureRequest, browser: Browser, stack: LoggedStack
) -> Iterator[Browsing]:
    """The people of one test, on the SPA as the socket node serves it (with /config.json)."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    session = Browsing(browser, f"{stack.socket_url}/", Screenshots(folder))
    SHOT_FOLDERS.append(folder)
    try:
        yield session
    finally:
        if request.node.stash.get(FAILED, False):
            for who, page in session.pages.items():
                if not page.is_closed():
                    page.screenshot(path=str(folder / f"failure-{who}.png"), full_page=True)
            print(stack.log_tails(), file=sys.stderr)
        session.close()
        print(f"\nbrowser screenshots: {folder.relative_to(REPO_ROOT)}/")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SHOT_FOLDERS:
        terminalreporter.write_line(
            f"browser test screenshots and stack logs: {ARTIFACTS.relative_to(REPO_ROOT)}/"
        )
