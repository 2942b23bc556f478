"""Sign-in as in production: the real `@supabase/supabase-js` in Chromium against the local
Supabase Auth stand-in, the stack started with APP_ENV=production and trusting the stand-in's
keys through SUPABASE_JWKS_URL (so there is no dev login).

Access tokens live TOKEN_TTL_S seconds here, so supabase-js refreshes them by itself while the
test runs (its 30 s auto-refresh tick refreshes a token within three ticks of its expiry, and
`getSession()` refreshes one within 90 s of it before answering); nothing in the test asks for
a refresh. The test then outlives the first token and proves both channels moved on to the new
ones: REST calls carry a fresh token, and the WebSocket re-authenticated in place."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import Page, Request, WebSocket, expect

from infra.embedded import free_port
from tests.browser.conftest import Browsing, LoggedStack, origins, start_stack
from tests.support.harness import SuiteServices
from tests.support.supabase_auth import SupabaseAuthStandIn

pytestmark = pytest.mark.browser

TOKEN_TTL_S = 45  # > the 30 s tick, so a token is always refreshed before it runs out
PASSWORD = "correct horse battery"


@dataclass
class SupabaseStack:
    stack: LoggedStack
    auth: SupabaseAuthStandIn


@pytest.fixture(scope="module")
def supabase_stack(services: SuiteServices, artifacts: Path) -> Iterator[SupabaseStack]:
    socket_port = free_port()
    auth = SupabaseAuthStandIn(
        allowed_origins=tuple(origins(socket_port)),
        site_url=f"http://127.0.0.1:{socket_port}/",
    )
    stack = start_stack(
        services,
        "supabase",
        {
            "APP_ENV": "production",
            "LEDGER_SIGNING_KEY": "bxmVEbUYeL98gCu/Xb97k8GJG8x5az97bs2+CjA25/s=",  # (a test key)
            "SUPABASE_URL": auth.url,
            "SUPABASE_ANON_KEY": auth.anon_key,
            "SUPABASE_JWKS_URL": auth.jwks_url,
            "JWT_ISSUER": auth.issuer,
        },
        socket_port=socket_port,
    )
    try:
        yield SupabaseStack(stack, auth)
    finally:
        stack.stop()
        stack.close_logs()
        auth.close()


@pytest.fixture(scope="module")
def stack(supabase_stack: SupabaseStack) -> LoggedStack:
    return supabase_stack.stack


@pytest.fixture
def auth(supabase_stack: SupabaseStack) -> Iterator[SupabaseAuthStandIn]:
    supabase_stack.auth.access_token_ttl_s = 3600
    yield supabase_stack.auth


def email(name: str) -> str:
    return f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"


def exp_of(token: str) -> int:
    return int(jwt.decode(token, options={"verify_signature": False})["exp"])


def iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Wire:
    """Every WebSocket the page opens, and each frame it sends and receives, in order."""

    sockets: list[WebSocket] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def watch(self, page: Page) -> Wire:
        def opened(ws: WebSocket) -> None:
            self.sockets.append(ws)
            ws.on("framesent", lambda payload: self.sent.append(json.loads(payload)))
            ws.on("framereceived", lambda payload: self.received.append(json.loads(payload)))

        page.on("websocket", opened)
        return self

    def auth_tokens(self) -> list[str]:
        return [m["token"] for m in self.sent if m.get("type") == "auth"]

    def authed(self) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("type") == "authed"]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("type") == kind]


def wait_until(page: Page, condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll while Playwright keeps delivering the page's events."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f} s: {what}")
        page.wait_for_timeout(200)


class Api:
    """The test's own REST calls, as a given stand-in user."""

    def __init__(self, stack: LoggedStack, auth: SupabaseAuthStandIn, who: str, role: str) -> None:
        self.address = email(who)
        self.user = auth.create_user(self.address, PASSWORD, name=who, role=role)
        self.auth = auth
        self.http = httpx.Client(base_url=stack.api_url, timeout=15)

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        token = self.auth.sign_in(self.address, PASSWORD)["access_token"]
        return self.http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )


def live_auction(stack: LoggedStack, auth: SupabaseAuthStandIn) -> str:
    seller = Api(stack, auth, "Sima", "seller")
    admin = Api(stack, auth, "Adi", "admin")
    created = seller.call(
        "POST",
        "/api/auctions",
        {
            "itemName": "Brass ship's clock",
            "description": "Wound weekly.",
            "startPrice": "1000",
            "bidIncrement": "100",
            "goLiveAt": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            "durationMins": 30,
        },
    )
    assert created.status_code == 201, created.text
    auction_id = str(created.json()["id"])
    started = admin.call("POST", f"/api/admin/auctions/{auction_id}/start")
    assert started.status_code == 200, started.text
    return auction_id


def open_room(page: Page, auction_id: str) -> None:
    page.goto(f"#/auctions/{auction_id}")
    expect(page.get_by_test_id("auction-status")).to_have_attribute("data-status", "live")
    expect(page.get_by_test_id("connection-status")).to_have_text("live")


def place_bid(page: Page, amount: str) -> Request:
    """Bid through the room's form; the request that carried it."""
    box = page.get_by_label("Your bid", exact=True)
    expect(box).to_have_value(amount)
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/bids")) as request:
        page.get_by_role("button", name="Place bid").click()
    expect(page.get_by_test_id("bid-success")).to_contain_text("placed")
    expect(page.get_by_test_id("highest-bid")).to_have_attribute("data-amount", amount)
    return request.value


def expect_no_dev_login_and_no_token_field(page: Page) -> None:
    expect(page.get_by_test_id("auth-submit")).to_be_visible()
    expect(page.get_by_test_id("dev-login")).to_have_count(0)
    expect(page.get_by_label("Role", exact=True)).to_have_count(0)
    expect(page.locator("textarea")).to_have_count(0)
    expect(page.get_by_text("token", exact=False)).to_have_count(0)


def test_production_config_names_supabase_and_turns_dev_login_off(
    supabase_stack: SupabaseStack, browsing: Browsing
) -> None:
    stack, auth = supabase_stack.stack, supabase_stack.auth
    config = httpx.get(f"{stack.socket_url}/config.json", timeout=5).json()
    assert config["devLogin"] is False
    assert (config["supabaseUrl"], config["supabaseAnonKey"]) == (auth.url, auth.anon_key)
    dev = httpx.post(f"{stack.api_url}/api/dev/login", json={"email": "x@example.com"})
    assert dev.status_code == 404

    page = browsing.page("visitor")
    page.goto("#/login")
    expect_no_dev_login_and_no_token_field(page)
    for mode in ("signup", "magic"):
        page.get_by_test_id(f"auth-mode-{mode}").click()
        expect_no_dev_login_and_no_token_field(page)
    browsing.shots(page, "production-sign-in")
    assert browsing.page_errors == []


def test_a_new_user_signs_up_bids_survives_a_token_refresh_and_signs_out(
    supabase_stack: SupabaseStack, auth: SupabaseAuthStandIn, browsing: Browsing
) -> None:
    stack, shot = supabase_stack.stack, browsing.shots
    auction_id = live_auction(stack, auth)
    rival = Api(stack, auth, "Ravi", "buyer")
    auth.access_token_ttl_s = TOKEN_TTL_S

    page = browsing.page("nila")
    wire = Wire().watch(page)
    api_calls: list[tuple[float, Request]] = []  # when the page called the API, and what
    page.on(
        "request",
        lambda r: api_calls.append((time.time(), r)) if r.url.startswith(stack.api_url) else None,
    )

    # Sign up through supabase-js (the project confirms addresses automatically here).
    page.goto("#/login")
    expect(page.get_by_test_id("connection-status")).to_have_text("live")  # anonymous so far
    page.get_by_test_id("auth-mode-signup").click()
    address = email("Nila")
    page.get_by_label("Name", exact=True).fill("Nila")
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    shot(page, "sign-up")
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("current-user")).to_have_text("Nila (buyer)")
    user = auth.user_by_email(address)
    assert user is not None and user.user_metadata["name"] == "Nila"
    assert not wire.sockets[0].url.endswith("/ws") or "token=" not in wire.sockets[0].url

    # The open socket signed in in place: `auth` with the session's token, answered `authed`.
    wait_until(page, wire.authed, 15, "the socket's first authed")
    first_token = wire.auth_tokens()[0]
    assert wire.authed()[0] == {
        "type": "authed",
        "userId": user.id,
        "expiresAt": iso(exp_of(first_token)),
    }

    # A bid on a live auction, as this new user.
    open_room(page, auction_id)
    first_bid = place_bid(page, "1000.00")
    shot(page, "first-bid")

    # supabase-js refreshes the token by itself; the test outlives the first token.
    first_exp = exp_of(first_token)
    wait_until(
        page,
        lambda: any(exp_of(t) > first_exp for t in wire.auth_tokens()),
        TOKEN_TTL_S + 30,
        "supabase-js refreshing the token",
    )
    while time.time() < first_exp + 2:
        page.wait_for_timeout(500)

    # The WebSocket: the same connection all along, re-authenticated for every new token.
    assert len(wire.sockets) == 1 and not wire.sockets[0].is_closed()
    expect(page.get_by_test_id("connection-status")).to_have_text("live")
    wait_until(
        page,
        lambda: len(wire.authed()) == len(wire.auth_tokens()),
        15,
        "an answer to every auth message",
    )
    assert [m["expiresAt"] for m in wire.authed()] == [iso(exp_of(t)) for t in wire.auth_tokens()]
    assert {m["userId"] for m in wire.authed()} == {user.id}
    assert wire.of_type("error") == []
    # By itself: at least one refresh came while the page called no API at all (the ticker's).
    called = [at for at, _ in api_calls]
    assert any(all(abs(r - c) > 1 for c in called) for r in auth.refreshed_at())

    # A live event for this user after the refresh, on that connection: outbid by a rival.
    outbid_before = len(wire.of_type("bid:outbid"))
    answer = rival.call("POST", f"/api/auctions/{auction_id}/bids", {"amount": "1100"})
    assert answer.status_code == 201, answer.text
    alert = page.get_by_test_id("outbid-alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("1,100.00")
    assert len(wire.of_type("bid:outbid")) == outbid_before + 1
    shot(page, "outbid-after-refresh")

    # A bid after the refresh, carrying a token newer than the expired first one.
    second_bid = place_bid(page, "1200.00")
    assert time.time() > first_exp
    sent_with = second_bid.headers["authorization"].removeprefix("Bearer ")
    assert exp_of(sent_with) > first_exp
    assert sent_with != first_bid.headers["authorization"].removeprefix("Bearer ")
    assert sent_with in {i.access_token for i in auth.issued_to(user.id)}
    assert len(wire.sockets) == 1 and not wire.sockets[0].is_closed()
    shot(page, "second-bid")

    # Sign out: the session ends at Supabase, the page and the socket are anonymous again.
    last_refresh = page.evaluate(
        """() => {
            const key = Object.keys(localStorage).find((k) => k.endsWith('-auth-token'));
            return key ? JSON.parse(localStorage.getItem(key)).refresh_token : null;
        }"""
    )
    assert last_refresh
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-link")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    assert any(r.path.startswith("/auth/v1/logout") for r in auth.requests)
    assert auth.session_revoked(last_refresh)
    wait_until(page, lambda: len(wire.sockets) == 2, 15, "a fresh anonymous socket")
    assert "token=" not in wire.sockets[1].url
    expect(page.get_by_test_id("connection-status")).to_have_text("live")
    shot(page, "signed-out")
    assert len([r for _, r in api_calls if r.url.endswith("/bids")]) == 2
    assert browsing.page_errors == []


def test_an_existing_user_signs_in_with_a_password_after_a_wrong_one(
    supabase_stack: SupabaseStack, auth: SupabaseAuthStandIn, browsing: Browsing
) -> None:
    address = email("Ravi")
    auth.create_user(address, PASSWORD, name="Ravi", role="seller")
    page = browsing.page("ravi")
    page.goto("#/login")
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("auth-error")).to_have_text("Wrong email or password.")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("current-user")).to_have_text("Ravi (seller)")
    expect(page.get_by_test_id("new-auction-link")).to_be_visible()  # the role from app_metadata
    assert browsing.page_errors == []


def test_a_magic_link_signs_in_and_a_used_one_is_refused(
    supabase_stack: SupabaseStack, auth: SupabaseAuthStandIn, browsing: Browsing
) -> None:
    page = browsing.page("lin")
    wire = Wire().watch(page)
    page.goto("#/login")
    page.get_by_test_id("auth-mode-magic").click()
    address = email("Lin")
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("auth-notice")).to_contain_text(f"sent a sign-in link to {address}")
    browsing.shots(page, "magic-link-sent")

    link = auth.last_mail(address, "magiclink").link
    page.goto(link)  # as the email is opened: the stand-in sends the browser back with ?code=
    expect(page.get_by_test_id("current-user")).to_have_text(f"{address} (buyer)")
    # supabase-js exchanged it and takes it out of the address (waited for: it may do so later)
    expect(page).not_to_have_url(re.compile(r"code="))
    assert any("grant_type=pkce" in r.path for r in auth.requests)
    wait_until(page, wire.authed, 15, "the socket signing in")
    browsing.shots(page, "magic-link-signed-in")

    page.goto(link)  # a second time: spent
    expect(page.get_by_role("status").filter(has_text="invalid or has expired")).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/login$"))
    browsing.shots(page, "magic-link-spent")
    assert browsing.page_errors == []
