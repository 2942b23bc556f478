"""Keys from SUPABASE_JWKS_URL: trusted with their set (5 minutes; a short
window here) and never longer, so a revoked kid is refused within the window; whatever the URL
answers that is not a usable key set refuses the token (401), never a 500; the URL down: cached
keys keep working, new kids get 503, and it recovers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from chalice.test import Client

from infra.embedded import free_port
from shared.adapters import tokens
from shared.adapters.tokens import InvalidToken, KeysUnavailable, Verifier
from tests.adapters.test_tokens import (
    EC_KEY,
    OTHER_RSA_KEY,
    RSA_KEY,
    claims,
    jwk,
    jwks,
    reconfigure,  # noqa: F401 - a fixture
    settings,
    sign,
)

WINDOW_S = 0.6  # the key set's lifespan in these tests (production: tokens.JWKS_CACHE_S)
BOTH = jwks(jwk(RSA_KEY, "old"), jwk(EC_KEY, "new"))


class JwksHost:
    """A JWKS endpoint on a fixed port that can answer anything, go down and come back."""

    def __init__(self, document: str) -> None:
        self.port = free_port()
        self.document = document
        self.status = 200
        self.content_type = "application/json"
        self.fetches = 0
        self.hanging = False  # answers wait for `release` (a host that accepts and hangs)
        self.released = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/auth/v1/.well-known/jwks.json"

    def up(self) -> None:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.fetches += 1
                if host.hanging:
                    host.released.wait(60)
                body = host.document.encode()
                self.send_response(host.status)
                self.send_header("Content-Type", host.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def hang(self) -> None:
        self.hanging = True
        self.released.clear()

    def release(self) -> None:
        self.hanging = False
        self.released.set()

    def down(self) -> None:
        self.release()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def host() -> Iterator[JwksHost]:
    served = JwksHost(BOTH)
    yield served
    served.down()


@pytest.fixture
def no_cooldown(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown kid refetches at once (production waits 30 s between such refetches)."""
    monkeypatch.setattr(tokens, "JWKS_REFRESH_COOLDOWN_S", 0.0)


def token(key: Any, kid: str, **changes: Any) -> str:
    return sign(claims(**changes), key, "RS256" if key is not EC_KEY else "ES256", kid)


def test_a_revoked_kid_is_refused_within_the_cache_window(host: JwksHost) -> None:
    verifier = Verifier(settings(SUPABASE_JWKS_URL=host.url), jwks_cache_s=WINDOW_S)
    held = token(RSA_KEY, "old")
    assert verifier.verify(held).role == "seller"
    host.document = jwks(jwk(EC_KEY, "new"))  # Supabase revokes "old"
    time.sleep(WINDOW_S + 0.2)
    # The token verified before, and a fresh one with the revoked kid: both refused, though
    # the first is far from its exp (PyJWKClient's cache_keys would trust it forever).
    for refused in (held, token(RSA_KEY, "old", sub=claims()["sub"])):
        with pytest.raises(InvalidToken) as caught:
            verifier.verify(refused)
        assert not isinstance(caught.value, KeysUnavailable)
    assert verifier.verify(token(EC_KEY, "new")).role == "seller"


def test_within_the_window_the_set_is_not_fetched_again(host: JwksHost) -> None:
    verifier = Verifier(settings(SUPABASE_JWKS_URL=host.url))
    for _ in range(3):
        verifier.verify(token(RSA_KEY, "old"))  # each a different token (a fresh sub)
    assert host.fetches == 1


BAD_ANSWERS = {
    "empty-key-set": (200, '{"keys": []}'),
    "not-json": (200, "<html>maintenance</html>"),
    "keys-not-a-list": (200, '{"keys": "nope"}'),
    "a-list": (200, "[]"),
    "unusable-keys": (200, '{"keys": [{"kty": "nope", "kid": "old"}]}'),
    "not-utf8": (200, "\udcff"),
    "not-found": (404, '{"error": "no such project"}'),
}


@pytest.mark.parametrize("answer", list(BAD_ANSWERS), ids=list(BAD_ANSWERS))
def test_any_bad_answer_of_the_jwks_url_refuses_the_token_never_a_crash(
    host: JwksHost, answer: str
) -> None:
    host.status, document = BAD_ANSWERS[answer]
    host.document = document.encode("utf-8", "surrogateescape").decode("latin-1")
    verifier = Verifier(settings(SUPABASE_JWKS_URL=host.url))
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token(RSA_KEY, "old"))
    assert not isinstance(caught.value, KeysUnavailable), caught.value


def test_jwks_host_down_cached_keys_work_new_kids_get_503_and_it_recovers(
    host: JwksHost, no_cooldown: None
) -> None:
    host.document = jwks(jwk(RSA_KEY, "old"))
    verifier = Verifier(settings(SUPABASE_JWKS_URL=host.url))
    assert verifier.verify(token(RSA_KEY, "old")).role == "seller"
    host.down()
    assert verifier.verify(token(RSA_KEY, "old")).role == "seller"  # a fresh token, cached kid
    with pytest.raises(KeysUnavailable):
        verifier.verify(token(EC_KEY, "new"))  # rotated in while the host was down
    host.up()
    host.status, host.document = 503, "upstream unavailable"
    with pytest.raises(KeysUnavailable):  # a 5xx is the host down too
        verifier.verify(token(EC_KEY, "new"))
    host.status, host.document = 200, BOTH
    assert verifier.verify(token(EC_KEY, "new")).role == "seller"  # recovered
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token(OTHER_RSA_KEY, "never"))
    assert not isinstance(caught.value, KeysUnavailable)


def test_cached_keys_are_not_trusted_past_their_set_even_when_the_host_is_down(
    host: JwksHost,
) -> None:
    verifier = Verifier(settings(SUPABASE_JWKS_URL=host.url), jwks_cache_s=WINDOW_S)
    held = token(RSA_KEY, "old")
    verifier.verify(held)
    host.down()
    time.sleep(WINDOW_S + 0.2)
    with pytest.raises(KeysUnavailable):
        verifier.verify(held)


def test_a_hanging_jwks_host_holds_up_no_check_of_a_cached_key_and_waits_are_bounded(
    host: JwksHost, no_cooldown: None
) -> None:
    """PyJWKClient held its lock across a fetch: with the host accepting and never answering,
    every check of the process, cached keys included, queued behind the fetch's timeout. Now
    one fetch at a time runs on its own; a check of a cached key never waits for it, and a
    check that needs it waits a bounded time (then 503, retry)."""
    host.document = jwks(jwk(RSA_KEY, "old"))
    # A patient verifier (its waits outlast the test) and an impatient one, on the same host.
    patient = Verifier(
        settings(SUPABASE_JWKS_URL=host.url), jwks_fetch_timeout_s=60, jwks_wait_s=60
    )
    impatient = Verifier(
        settings(SUPABASE_JWKS_URL=host.url), jwks_fetch_timeout_s=60, jwks_wait_s=0.2
    )
    for verifier in (patient, impatient):
        assert verifier.verify(token(RSA_KEY, "old")).role == "seller"
    assert host.fetches == 2
    host.hang()
    try:
        outcome: dict[str, Any] = {}

        def needs_the_fetch() -> None:
            try:
                outcome["principal"] = patient.verify(token(EC_KEY, "new"))  # rotated in
            except Exception as exc:
                outcome["error"] = exc

        waiter = threading.Thread(target=needs_the_fetch)
        waiter.start()
        while host.fetches < 3:  # its fetch has reached the host, which hangs
            time.sleep(0.01)
        # A fresh token with the cached kid is checked at once, the fetch still hanging.
        assert patient.verify(token(RSA_KEY, "old")).role == "seller"
        assert waiter.is_alive() and host.hanging

        # The impatient verifier: a check that needs a fetch gives up after its bound, with
        # the host still hanging; a second one shares that one fetch instead of starting its own.
        for kid in ("new", "newer"):
            with pytest.raises(KeysUnavailable):
                impatient.verify(token(EC_KEY, kid))
        assert host.hanging and host.fetches == 4
        assert impatient.verify(token(RSA_KEY, "old")).role == "seller"  # cached: still fine

        host.document = BOTH  # what the host answers once it does
        host.release()
        waiter.join(30)
        assert outcome.get("principal") is not None, outcome
        assert outcome["principal"].role == "seller"
    finally:
        host.release()


# -- at the API ----------------------------------------------------------------------------------


def _me(client: Client, bearer: str) -> Any:
    return client.http.get("/api/me", headers={"Authorization": f"Bearer {bearer}"})


def test_at_the_api_jwks_failures_are_401_or_503_never_500(
    client: Client,
    reconfigure: Callable[..., None],  # noqa: F811 - the fixture imported above
    host: JwksHost,
    no_cooldown: None,
) -> None:
    reconfigure(SUPABASE_JWKS_URL=host.url)
    assert _me(client, token(RSA_KEY, "old")).status_code == 200
    host.down()
    down = _me(client, token(EC_KEY, "other-kid"))
    assert down.status_code == 503
    assert down.headers["Content-Type"] == "application/problem+json"
    assert orjson.loads(down.body)["code"] == "unavailable"
    host.up()
    host.document = '{"keys": []}'
    refused = _me(client, token(EC_KEY, "other-kid"))
    assert (refused.status_code, orjson.loads(refused.body)["code"]) == (401, "unauthenticated")
    host.document = "not json at all"
    assert _me(client, token(EC_KEY, "yet-another-kid")).status_code == 401
