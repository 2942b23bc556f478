"""Changing identity on an open WebSocket: `{"type":"auth","token":JWT}` over a
real connection to a real node, with tokens from the dev signer and from the local Supabase
Auth stand-in through SUPABASE_JWKS_URL."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest

from shared.adapters.tokens import Verifier, dev_user_id
from shared.domain.vocabulary import EventType
from shared.services.context import Context
from shared.settings import get_settings
from tests.socket_node.test_rooms import bid, user_event
from tests.support.harness import Person, live_auction, person
from tests.support.socket_node import Client, InProcessNode, closed_code
from tests.support.supabase_auth import SupabaseAuthStandIn


def dev_token(email: str, ttl_s: int) -> str:
    return Verifier(get_settings()).mint_dev_token(email, email.split("@")[0], "buyer", ttl_s=ttl_s)


def expires_at(token: str) -> str:
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    return datetime.fromtimestamp(exp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def authenticate(client: Client, token: Any) -> dict[str, Any]:
    client.send({"type": "auth", "token": token})
    return client.until(lambda m: m["type"] in ("authed", "error"))


def still_open(client: Client) -> bool:
    client.send({"type": "ping"})
    return bool(client.until(lambda m: m["type"] == "pong")["type"] == "pong")


def test_an_anonymous_watcher_signs_in_without_reconnecting(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person, buyer: Person
) -> None:
    auction = live_auction(ctx, seller)
    tab = clients(node.ws_url)
    tab.join(auction)

    authed = authenticate(tab, buyer.token)

    assert authed == {
        "type": "authed",
        "userId": buyer.id,
        "expiresAt": expires_at(buyer.token),
    }
    rival = person(ctx, "buyer", "rival")
    bid(ctx, auction, buyer, "100.00")
    bid(ctx, auction, rival, "110.00")
    outbid = tab.until(lambda m: m["type"] == "bid:outbid")  # the user's channel
    assert outbid["auctionId"] == str(auction)
    placed = [m["data"]["bid"]["amount"] for m in tab.received if m["type"] == "bid:placed"]
    assert placed == ["100.00", "110.00"]  # still in the room it joined anonymously
    assert node.figures()["onlineUsers"] == 1


def test_a_refreshed_token_keeps_the_connection_past_the_first_tokens_expiry(
    ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    """The 4401 timer follows the newest token: gone with the old one, set to the new exp."""
    auction = live_auction(ctx, seller)
    email = f"refresh-{uuid.uuid4().hex[:8]}@example.com"
    short = dev_token(email, ttl_s=2)
    tab = clients(node.ws_url, short, documented=False)  # its notification is made up
    tab.join(auction)

    longer = dev_token(email, ttl_s=120)
    assert authenticate(tab, longer)["expiresAt"] == expires_at(longer)
    while time.time() < jwt.decode(short, options={"verify_signature": False})["exp"] + 1:
        time.sleep(0.2)

    assert still_open(tab)  # not closed when the first token expired
    user_event(ctx, dev_user_id(email), EventType.NOTIFICATION, {"id": "n1"})
    assert tab.until(lambda m: m["type"] == "notification")["data"] == {"id": "n1"}

    brief = dev_token(email, ttl_s=2)
    assert authenticate(tab, brief)["expiresAt"] == expires_at(brief)
    assert closed_code(tab, timeout=15) == 4401  # ... and the timer is the new token's


def forged(email: str) -> str:
    """A well-formed token for the same user, signed with a key the node does not trust."""
    now = int(time.time())
    claims = {"sub": dev_user_id(email), "aud": "authenticated", "exp": now + 600, "iat": now}
    return jwt.encode(claims, "not-the-dev-secret-" * 3, algorithm="HS256")


BAD_TOKENS: dict[str, Callable[[str], Any]] = {
    "forged": forged,
    "stale": lambda email: dev_token(email, ttl_s=-30),
    "garbage": lambda email: "not.a.jwt",
    "empty": lambda email: "",
    "missing": lambda email: None,
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_a_bad_token_leaves_the_connection_open_and_anonymous(
    kind: str, ctx: Context, node: InProcessNode, clients: Any, seller: Person
) -> None:
    auction = live_auction(ctx, seller)
    email = f"bad-{uuid.uuid4().hex[:8]}@example.com"
    user_id = dev_user_id(email)
    first = dev_token(email, ttl_s=3)
    tab = clients(node.ws_url, first)
    tab.join(auction)
    tab.send({"type": "auth", "token": BAD_TOKENS[kind](email)})

    error = tab.until(lambda m: m["type"] == "error")
    assert error["code"] == "unauthenticated"
    assert node.figures()["onlineUsers"] == 0
    # No user events for the identity it had, though that token is still good...
    user_event(ctx, user_id, EventType.NOTIFICATION, {"id": "not-for-anonymous"})
    bid(ctx, auction, person(ctx, "buyer"), "100.00")
    tab.until(lambda m: m["type"] == "bid:placed")  # ... while room events still flow,
    assert [m for m in tab.quiet(0.3) + tab.received if m["type"] == "notification"] == []
    # ... and being anonymous, it outlives that token (no 4401 at its exp).
    while time.time() < jwt.decode(first, options={"verify_signature": False})["exp"] + 1:
        time.sleep(0.2)
    assert still_open(tab)
    assert authenticate(tab, dev_token(email, ttl_s=60))["userId"] == user_id


@pytest.fixture
def stand_in() -> Iterator[SupabaseAuthStandIn]:
    server = SupabaseAuthStandIn()
    try:
        yield server
    finally:
        server.close()


class SlowJwks:
    """A JWKS endpoint that answers `delay_s` late (a slow Supabase), serving the stand-in's
    keys: the node must fetch it off its event loop."""

    def __init__(self, stand_in: SupabaseAuthStandIn, delay_s: float) -> None:
        body = json.dumps(stand_in.jwks()).encode()
        self.fetched = threading.Event()

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.fetched.set()
                time.sleep(delay_s)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/auth/v1/.well-known/jwks.json"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_supabase_tokens_are_verified_through_the_jwks_url_off_the_event_loop(
    ctx: Context, node_factory: Any, clients: Any, stand_in: SupabaseAuthStandIn
) -> None:
    """While the node waits for a slow JWKS for one client, it keeps serving the others."""
    slow = SlowJwks(stand_in, delay_s=1.5)
    try:
        node = node_factory(get_settings().model_copy(update={"supabase_jwks_url": slow.url}))
        stand_in.create_user("sia@example.com", "password1", name="Sia")
        session = stand_in.sign_in("sia@example.com", "password1")
        signing_in, other = clients(node.ws_url), clients(node.ws_url)
        signing_in.send({"type": "auth", "token": session["access_token"]})
        assert slow.fetched.wait(10)
        other.send({"type": "ping"})
        assert other.until(lambda m: m["type"] == "pong")
        assert signing_in.received == []  # its answer waits for the keys, the node does not
        authed = signing_in.until(lambda m: m["type"] in ("authed", "error"))
        assert authed["type"] == "authed"
        assert authed["userId"] == session["user"]["id"]
        # A token of the same shape from another key is refused, and the tab goes anonymous.
        impostor = SupabaseAuthStandIn()
        try:
            impostor.kid = stand_in.kid
            impostor.create_user("sia@example.com", "password1", role="admin")
            fake = impostor.sign_in("sia@example.com", "password1")["access_token"]
        finally:
            impostor.close()
        assert authenticate(signing_in, fake)["code"] == "unauthenticated"
    finally:
        slow.close()
