"""Authentication: Supabase access tokens verified with inline JWKS
(ES256/RS256), a JWKS URL (cached, refreshed on an unknown kid), or the HS256 secret; every
refusal (forged, tampered, expired, wrong audience or issuer, alg none, algorithm confusion,
unknown kid); roles from app_metadata.role; the user row written from the claims; and dev
login, which exists only in development without keys."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import orjson
import pytest
from chalice.test import Client
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import select

from shared.adapters import tokens
from shared.adapters.orm import User
from shared.adapters.tokens import InvalidToken, Verifier
from shared.services.context import Context
from shared.settings import Settings
from tests.support.actors import Actor

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
SECRET = "super-secret-jwt-token-with-at-least-32-characters"


def jwk(private_key: Any, kid: str) -> dict[str, Any]:
    public = private_key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        key = RSAAlgorithm.to_jwk(public, as_dict=True)
        key["alg"] = "RS256"
    else:
        key = ECAlgorithm.to_jwk(public, as_dict=True)
        key["alg"] = "ES256"
    return {**key, "kid": kid, "use": "sig"}


def jwks(*keys: dict[str, Any]) -> str:
    return json.dumps({"keys": list(keys)})


INLINE = jwks(jwk(RSA_KEY, "rsa-1"), jwk(EC_KEY, "ec-1"))


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    body: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "email": "asha@example.com",
        "aud": "authenticated",
        "iat": now,
        "exp": now + 600,
        "role": "authenticated",
        "app_metadata": {"provider": "email", "role": "seller"},
        "user_metadata": {"name": "Asha Rao"},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def sign(body: dict[str, Any], key: Any, alg: str, kid: str | None = None) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(body, key, algorithm=alg, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unsigned(body: dict[str, Any], alg: str = "none", kid: str | None = None) -> str:
    header = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid else {})}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}."


def settings(**env: str) -> Settings:
    """Settings for one auth configuration (no keys unless given; APP_ENV=test)."""
    base: dict[str, Any] = {
        "APP_ENV": "test",
        "JWT_PUBLIC_KEYS": "",
        "SUPABASE_JWKS_URL": "",
        "SUPABASE_JWT_SECRET": "",
    }
    return Settings(**{**base, **env})


def refused(verifier: Verifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    return str(caught.value)


RSA_PUBLIC_PEM = (
    RSA_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


# -- accepted tokens -----------------------------------------------------------------------------


def test_an_inline_rs256_token_is_accepted_with_its_claims() -> None:
    verifier = Verifier(settings(JWT_PUBLIC_KEYS=INLINE))
    body = claims()
    principal = verifier.verify(sign(body, RSA_KEY, "RS256", "rsa-1"))
    assert principal.user_id == body["sub"]
    assert (principal.email, principal.name, principal.role) == (
        "asha@example.com",
        "Asha Rao",
        "seller",
    )


def test_an_inline_es256_token_is_accepted() -> None:
    verifier = Verifier(settings(JWT_PUBLIC_KEYS=INLINE))
    principal = verifier.verify(sign(claims(), EC_KEY, "ES256", "ec-1"))
    assert principal.role == "seller"


def test_an_hs256_token_signed_with_the_secret_is_accepted() -> None:
    verifier = Verifier(settings(SUPABASE_JWT_SECRET=SECRET))
    assert verifier.verify(sign(claims(), SECRET, "HS256")).name == "Asha Rao"


@pytest.mark.parametrize(
    ("changes", "name", "role"),
    [
        ({"user_metadata": {"full_name": "Ravi Kumar"}}, "Ravi Kumar", "seller"),
        ({"app_metadata": ...}, "Asha Rao", "buyer"),
        ({"app_metadata": {"role": "admin"}}, "Asha Rao", "admin"),
        ({"app_metadata": {"role": "superuser"}}, "Asha Rao", "buyer"),
        ({"app_metadata": "admin"}, "Asha Rao", "buyer"),
        ({"user_metadata": ...}, "asha@example.com", "seller"),
    ],
)
def test_roles_come_from_app_metadata_and_names_from_user_metadata(
    changes: dict[str, Any], name: str, role: str
) -> None:
    verifier = Verifier(settings(SUPABASE_JWT_SECRET=SECRET))
    principal = verifier.verify(sign(claims(**changes), SECRET, "HS256"))
    assert (principal.name, principal.role) == (name, role)


def test_the_role_claim_of_supabase_is_not_the_app_role() -> None:
    """Supabase puts `role: authenticated` at the top level: not buyer/seller/admin."""
    verifier = Verifier(settings(SUPABASE_JWT_SECRET=SECRET))
    body = claims(role="admin", app_metadata={"role": "buyer"})
    assert verifier.verify(sign(body, SECRET, "HS256")).role == "buyer"


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [{"JWT_PUBLIC_KEYS": INLINE}, {"SUPABASE_JWT_SECRET": SECRET}, {}],
    ids=["inline-jwks", "hs256-secret", "dev"],
)
@pytest.mark.parametrize("alg", ["none", "None", "NONE", ""])
def test_alg_none_is_refused(config: dict[str, str], alg: str) -> None:
    verifier = Verifier(settings(**config))
    refused(verifier, unsigned(claims(), alg))
    refused(verifier, unsigned(claims(), alg, kid="rsa-1"))


def test_an_hs256_token_signed_with_the_rsa_public_key_is_refused() -> None:
    """Algorithm confusion: the public key used as an HMAC secret."""
    body = claims()
    forged = sign(body, RSA_PUBLIC_PEM, "HS256", "rsa-1") if _pem_signable() else None
    if forged is None:  # PyJWT refuses to use a PEM as an HMAC key: forge it by hand
        import hashlib
        import hmac

        header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
        payload = b64(json.dumps(body).encode())
        mac = hmac.new(RSA_PUBLIC_PEM.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
        forged = f"{header}.{payload}.{b64(mac.digest())}"
    assert "HMAC" in refused(Verifier(settings(JWT_PUBLIC_KEYS=INLINE)), forged)
    # With a secret configured as well, the PEM is still not the secret.
    both = Verifier(settings(JWT_PUBLIC_KEYS=INLINE, SUPABASE_JWT_SECRET=SECRET))
    refused(both, forged)


def _pem_signable() -> bool:
    try:
        jwt.encode({}, RSA_PUBLIC_PEM, algorithm="HS256")
    except jwt.InvalidKeyError:
        return False
    return True


def test_a_token_whose_algorithm_does_not_match_its_key_is_refused() -> None:
    """An RS256 header naming the EC key (and the reverse): confusion between key kinds."""
    verifier = Verifier(settings(JWT_PUBLIC_KEYS=INLINE))
    assert "does not match" in refused(verifier, sign(claims(), RSA_KEY, "RS256", "ec-1"))
    assert "does not match" in refused(verifier, sign(claims(), EC_KEY, "ES256", "rsa-1"))


def test_an_asymmetric_token_is_refused_when_only_the_secret_is_configured() -> None:
    refused(Verifier(settings(SUPABASE_JWT_SECRET=SECRET)), sign(claims(), RSA_KEY, "RS256", "k"))


def test_a_token_signed_by_another_key_is_refused() -> None:
    verifier = Verifier(settings(JWT_PUBLIC_KEYS=INLINE))
    refused(verifier, sign(claims(), OTHER_RSA_KEY, "RS256", "rsa-1"))
    refused(Verifier(settings(SUPABASE_JWT_SECRET=SECRET)), sign(claims(), "x" * 40, "HS256"))


def test_a_tampered_token_is_refused() -> None:
    verifier = Verifier(settings(JWT_PUBLIC_KEYS=INLINE))
    header, _, signature = sign(claims(), RSA_KEY, "RS256", "rsa-1").split(".")
    payload = b64(json.dumps(claims(app_metadata={"role": "admin"})).encode())
    refused(verifier, f"{header}.{payload}.{signature}")


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 60},
        {"exp": ...},
        {"aud": "anon"},
        {"aud": ...},
        {"aud": ["somebody-else"]},
        {"sub": "not-a-uuid"},
        {"sub": ...},
        {"nbf": int(time.time()) + 3600},
    ],
    ids=["expired", "no-exp", "wrong-aud", "no-aud", "aud-list", "bad-sub", "no-sub", "nbf"],
)
def test_a_token_with_bad_claims_is_refused(changes: dict[str, Any]) -> None:
    verifier = Verifier(settings(JWT_PUBLIC_KEYS=INLINE))
    refused(verifier, sign(claims(**changes), RSA_KEY, "RS256", "rsa-1"))


def test_a_little_clock_skew_is_allowed_for_iat_nbf_and_exp() -> None:
    """Supabase's clock and ours differ by a little: a token minted "a few seconds from now"
    (iat, nbf) was refused outright, with zero leeway. Half a minute of skew either way passes;
    more does not."""
    verifier = Verifier(settings(JWT_PUBLIC_KEYS=INLINE))
    now = int(time.time())
    skew = tokens.JWT_LEEWAY_S // 2
    for changes in (
        {"iat": now + skew},
        {"nbf": now + skew},
        {"exp": now - skew},
    ):
        assert verifier.verify(sign(claims(**changes), RSA_KEY, "RS256", "rsa-1")).role == "seller"
    beyond = tokens.JWT_LEEWAY_S + 30
    for changes in ({"iat": now + beyond}, {"nbf": now + beyond}, {"exp": now - beyond}):
        refused(verifier, sign(claims(**changes), RSA_KEY, "RS256", "rsa-1"))


def test_the_audience_is_the_configured_one() -> None:
    verifier = Verifier(settings(SUPABASE_JWT_SECRET=SECRET, JWT_AUDIENCE="auction-app"))
    verifier.verify(sign(claims(aud="auction-app"), SECRET, "HS256"))
    refused(verifier, sign(claims(), SECRET, "HS256"))  # "authenticated"


def test_the_issuer_is_checked_when_configured() -> None:
    issuer = "https://project.supabase.co/auth/v1"
    verifier = Verifier(settings(JWT_PUBLIC_KEYS=INLINE, JWT_ISSUER=issuer))
    verifier.verify(sign(claims(iss=issuer), RSA_KEY, "RS256", "rsa-1"))
    refused(verifier, sign(claims(iss="https://evil.example/auth/v1"), RSA_KEY, "RS256", "rsa-1"))
    refused(verifier, sign(claims(), RSA_KEY, "RS256", "rsa-1"))  # no iss at all
    unchecked = Verifier(settings(JWT_PUBLIC_KEYS=INLINE))
    unchecked.verify(sign(claims(iss="anything"), RSA_KEY, "RS256", "rsa-1"))


def test_an_unknown_kid_is_refused() -> None:
    verifier = Verifier(settings(JWT_PUBLIC_KEYS=INLINE))
    assert "kid" in refused(verifier, sign(claims(), RSA_KEY, "RS256", "rsa-9"))
    refused(verifier, sign(claims(), RSA_KEY, "RS256"))  # no kid, and more than one key


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c", "....", "e30.e30.", "\u00e9.\u00e9.\u00e9", "x" * 5000],
)
def test_garbage_is_refused(token: str) -> None:
    refused(Verifier(settings(JWT_PUBLIC_KEYS=INLINE)), token)


def test_dev_tokens_are_not_trusted_once_keys_are_configured() -> None:
    dev = Verifier(settings())
    token = dev.mint_dev_token("asha@example.com", "Asha", "admin")
    assert dev.verify(token).role == "admin"
    refused(Verifier(settings(JWT_PUBLIC_KEYS=INLINE)), token)
    with pytest.raises(InvalidToken):
        Verifier(settings(JWT_PUBLIC_KEYS=INLINE)).mint_dev_token("a@example.com", "A", "admin")


# -- the JWKS URL --------------------------------------------------------------------------------


class JwksServer:
    """A JWKS endpoint on this machine whose keys a test can rotate, counting its fetches."""

    def __init__(self, document: str) -> None:
        self.document = document
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = owner.document.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/auth/v1/.well-known/jwks.json"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer(jwks(jwk(RSA_KEY, "old")))
    yield server
    server.close()


class Later:
    """`time` for the verifier's JWKS cache, its monotonic clock moved forward by `offset`."""

    offset = 0.0

    @classmethod
    def monotonic(cls) -> float:
        return time.monotonic() + cls.offset

    @staticmethod
    def time() -> float:
        return time.time()


def test_keys_from_the_jwks_url_are_fetched_once_and_cached(jwks_server: JwksServer) -> None:
    verifier = Verifier(settings(SUPABASE_JWKS_URL=jwks_server.url))
    for _ in range(3):
        verifier.verify(sign(claims(), RSA_KEY, "RS256", "old"))
    assert jwks_server.fetches == 1


def test_a_rotated_key_is_fetched_on_its_unknown_kid(
    jwks_server: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "time", Later)
    verifier = Verifier(settings(SUPABASE_JWKS_URL=jwks_server.url))
    verifier.verify(sign(claims(), RSA_KEY, "RS256", "old"))
    jwks_server.document = jwks(jwk(RSA_KEY, "old"), jwk(EC_KEY, "new"))
    rotated = sign(claims(), EC_KEY, "ES256", "new")
    # Right after a fetch an unknown kid does not refetch: made-up kids cannot flood the URL.
    refused(verifier, rotated)
    assert jwks_server.fetches == 1
    Later.offset = tokens.JWKS_REFRESH_COOLDOWN_S + 1
    try:
        assert verifier.verify(rotated).role == "seller"
        assert jwks_server.fetches == 2
        verifier.verify(rotated)
        assert jwks_server.fetches == 2
        # A kid that is still unknown after the refresh is refused.
        refused(verifier, sign(claims(), OTHER_RSA_KEY, "RS256", "never"))
    finally:
        Later.offset = 0.0


def test_an_unreachable_jwks_url_refuses_the_token(jwks_server: JwksServer) -> None:
    url = jwks_server.url
    jwks_server.close()
    refused(Verifier(settings(SUPABASE_JWKS_URL=url)), sign(claims(), RSA_KEY, "RS256", "old"))


# -- at the API ----------------------------------------------------------------------------------


@pytest.fixture
def reconfigure(ctx: Context) -> Iterator[Callable[..., None]]:
    """Restart the functions' per-process state under other environment variables, and put
    everything back afterwards (the suite's own Context and verifier included)."""
    from chalicelib import auth, runtime

    saved = dict(os.environ)

    def apply(**env: str) -> None:
        os.environ.update(env)
        runtime.reset()
        auth.reset_verifier()

    yield apply
    os.environ.clear()
    os.environ.update(saved)
    runtime.reset()
    auth.reset_verifier()


def _me(client: Client, token: str) -> Any:
    return client.http.get("/api/me", headers={"Authorization": f"Bearer {token}"})


def test_every_refusal_is_a_401_problem_at_the_api(
    client: Client, reconfigure: Callable[..., None]
) -> None:
    reconfigure(JWT_PUBLIC_KEYS=INLINE, JWT_ISSUER="https://project.supabase.co/auth/v1")
    good = claims(iss="https://project.supabase.co/auth/v1")
    assert _me(client, sign(good, RSA_KEY, "RS256", "rsa-1")).status_code == 200
    forged = {
        "forged": sign(good, OTHER_RSA_KEY, "RS256", "rsa-1"),
        "expired": sign({**good, "exp": int(time.time()) - 60}, RSA_KEY, "RS256", "rsa-1"),
        "wrong-audience": sign({**good, "aud": "anon"}, RSA_KEY, "RS256", "rsa-1"),
        "wrong-issuer": sign({**good, "iss": "https://evil.example"}, RSA_KEY, "RS256", "rsa-1"),
        "alg-none": unsigned(good),
        "unknown-kid": sign(good, RSA_KEY, "RS256", "rsa-404"),
        "confusion": sign(good, EC_KEY, "ES256", "rsa-1"),
        "hs256": sign(good, SECRET, "HS256"),
    }
    for name, token in forged.items():
        response = _me(client, token)
        assert response.status_code == 401, name
        assert response.headers["Content-Type"] == "application/problem+json"
        assert orjson.loads(response.body)["code"] == "unauthenticated"


def test_the_user_row_is_created_and_then_updated_from_the_claims(
    client: Client, reconfigure: Callable[..., None]
) -> None:
    from chalicelib import runtime

    reconfigure(SUPABASE_JWT_SECRET=SECRET)
    sub = str(uuid.uuid4())
    first = claims(sub=sub, email="ravi@example.com", user_metadata={"name": "Ravi"})
    first["app_metadata"] = {"role": "buyer"}
    assert _me(client, sign(first, SECRET, "HS256")).status_code == 200
    with runtime.context().db.session() as session:
        row = session.scalars(select(User).where(User.id == uuid.UUID(sub))).one()
        assert (row.email, row.name, row.role) == ("ravi@example.com", "Ravi", "buyer")
    later = {
        **first,
        "user_metadata": {"full_name": "Ravi Kumar"},
        "app_metadata": {"role": "seller"},
    }
    me = orjson.loads(_me(client, sign(later, SECRET, "HS256")).body)
    # The name follows the claims; the role is the record's once the row exists (the token's
    # role only seeded it: roles live in PostgreSQL).
    assert me == {"id": sub, "email": "ravi@example.com", "name": "Ravi Kumar", "role": "buyer"}
    with runtime.context().db.session() as session:
        row = session.scalars(select(User).where(User.id == uuid.UUID(sub))).one()
        assert (row.name, row.role) == ("Ravi Kumar", "buyer")


def test_claims_postgresql_cannot_store_are_cleaned_not_refused(
    client: Client, reconfigure: Callable[..., None]
) -> None:
    """user_metadata is the user's to write: a NUL or a lone surrogate in a name must not
    turn every request of theirs into an error."""
    reconfigure(SUPABASE_JWT_SECRET=SECRET)
    body = claims(user_metadata={"name": "Ra\x00vi \ud800"}, email="ravi\x00@example.com")
    response = _me(client, sign(body, SECRET, "HS256"))
    assert response.status_code == 200, response.body
    me = orjson.loads(response.body)
    assert (me["name"], me["email"]) == ("Ravi ?", "ravi@example.com")


def test_dev_login_gives_a_token_the_api_trusts(client: Client) -> None:
    response = Actor(client, None).post(
        "/api/dev/login", {"email": "asha@example.com", "name": "Asha", "role": "seller"}
    )
    assert response.status_code == 200
    token = orjson.loads(response.body)["token"]
    me = orjson.loads(_me(client, token).body)
    assert (me["email"], me["name"], me["role"]) == ("asha@example.com", "Asha", "seller")


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "not-an-email"}, {"email": "a@example.com", "role": "root"}, {"email": 5}],
)
def test_dev_login_validates_its_body(client: Client, body: dict[str, Any]) -> None:
    response = Actor(client, None).post("/api/dev/login", body)
    assert response.status_code == 422
    assert orjson.loads(response.body)["code"] == "validation_error"


@pytest.mark.parametrize(
    "env",
    [
        {"APP_ENV": "production", "JWT_PUBLIC_KEYS": INLINE},
        {"APP_ENV": "production", "SUPABASE_JWT_SECRET": SECRET},
        {"APP_ENV": "development", "JWT_PUBLIC_KEYS": INLINE},
        {"APP_ENV": "development", "SUPABASE_JWT_SECRET": SECRET},
    ],
    ids=["production-jwks", "production-secret", "development-jwks", "development-secret"],
)
def test_dev_login_does_not_exist_in_production_or_with_keys(
    client: Client, reconfigure: Callable[..., None], env: dict[str, str]
) -> None:
    reconfigure(**env)
    response = Actor(client, None).post(
        "/api/dev/login", {"email": "asha@example.com", "role": "admin"}
    )
    assert response.status_code == 404
    assert orjson.loads(response.body)["code"] == "not_found"


def test_production_refuses_to_start_without_keys() -> None:
    from shared.settings import ConfigurationError, load_settings

    with pytest.raises(ConfigurationError) as stopped:
        load_settings(APP_ENV="production", JWT_PUBLIC_KEYS="", SUPABASE_JWT_SECRET="")
    assert "APP_ENV=production" in str(stopped.value.code)
