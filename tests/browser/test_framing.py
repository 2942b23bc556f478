"""The SPA's Content-Security-Policy in Chromium: a page on another origin cannot
frame it (clickjacking the prefilled bid button), and the app itself runs under the policy
without a single violation (its scripts, styles, the API and the WebSocket all allowed)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, expect

from shared.services.context import Context
from tests.browser.conftest import Browsing, LoggedStack
from tests.support.harness import live_auction, person

pytestmark = pytest.mark.browser

COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


@pytest.fixture
def attacker(web_stack: LoggedStack) -> Iterator[str]:
    """A page on another origin that frames the SPA, as a clickjacker would."""
    target = f"{web_stack.socket_url}/"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (
                "<!doctype html><title>win a prize</title>"
                f'<iframe id="victim" src="{target}" width="800" height="600"></iframe>'
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_on_another_origin_cannot_frame_the_spa(browsing: Browsing, attacker: str) -> None:
    page = browsing.page("visitor")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(attacker)
    frame_element = page.locator("#victim")
    expect(frame_element).to_be_attached()
    page.wait_for_timeout(1500)  # time for the frame to load, were it allowed to
    frame = frame_element.element_handle().content_frame()
    assert frame is not None
    # Chromium replaces a refused frame with its own error page: none of the app is there.
    expect(frame.locator("[data-testid=auction-list], [data-testid=current-user]")).to_have_count(0)
    assert frame.url.startswith("chrome-error://") or frame.url == "about:blank", frame.url
    assert any("frame-ancestors" in line for line in console), console


def test_the_app_runs_under_its_policy_without_a_violation(
    browsing: Browsing, ctx: Context
) -> None:
    seller = person(ctx, "seller")
    auction_id = live_auction(ctx, seller, item_name="Policy-abiding clock")
    page = browsing.page("visitor")
    page.add_init_script(COLLECT_VIOLATIONS)
    console: list[ConsoleMessage] = []
    page.on("console", lambda message: console.append(message))
    page.goto("")  # the auction list
    expect(page.get_by_test_id("auction-card").first).to_be_visible()
    page.goto(f"#/auctions/{auction_id}")  # the room: the WebSocket, under connect-src
    expect(page.get_by_test_id("connection-status")).to_have_text("live")
    expect(page.get_by_test_id("auction-status")).to_be_visible()
    violations = page.evaluate("window.__cspViolations")
    refused = [m.text for m in console if "Content Security Policy" in m.text]
    assert violations == [] and refused == [], (violations, refused)
    assert browsing.page_errors == []
