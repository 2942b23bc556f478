"""The local Supabase Auth stand-in (tests/support/supabase_auth.py), endpoint by endpoint, as
supabase-js calls them; and our own verifier trusting its tokens through SUPABASE_JWKS_URL."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from shared.adapters.tokens import InvalidToken, Verifier
from shared.settings import load_settings
from tests.support.supabase_auth import SupabaseAuthStandIn

ORIGIN = "http://127.0.0.1:8080"
APP = f"{ORIGIN}/"


@pytest.fixture
def stand_in() -> Iterator[SupabaseAuthStandIn]:
    server = SupabaseAuthStandIn(allowed_origins=(ORIGIN,))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def auth(stand_in: SupabaseAuthStandIn) -> Iterator[httpx.Client]:
    """What supabase-js sends on every call: the project's anon key, the API version."""
    headers = {"apikey": stand_in.anon_key, "X-Supabase-Api-Version": "2024-01-01"}
    with httpx.Client(base_url=stand_in.auth_url, headers=headers, timeout=5) as client:
        yield client


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def verifier_for(stand_in: SupabaseAuthStandIn) -> Verifier:
    return Verifier(load_settings(APP_ENV="production", SUPABASE_JWKS_URL=stand_in.jwks_url))


def test_sign_up_signs_es256_tokens_our_verifier_trusts_through_the_jwks_url(
    stand_in: SupabaseAuthStandIn, auth: httpx.Client
) -> None:
    response = auth.post(
        "/signup",
        json={"email": "Mira@Example.com", "password": "s3cret-pw", "data": {"name": "Mira"}},
    )
    assert response.status_code == 200
    session = response.json()
    assert session["token_type"] == "bearer" and session["refresh_token"]
    assert session["user"]["email"] == "mira@example.com"
    header = jwt.get_unverified_header(session["access_token"])
    assert header["alg"] == "ES256" and header["kid"] == stand_in.kid
    got = claims(session["access_token"])
    assert got["aud"] == "authenticated" and got["sub"] == session["user"]["id"]
    assert got["user_metadata"]["name"] == "Mira"
    assert got["exp"] == session["expires_at"]

    principal = verifier_for(stand_in).verify(session["access_token"])
    assert (principal.user_id, principal.email, principal.name, principal.role) == (
        session["user"]["id"],
        "mira@example.com",
        "Mira",
        "buyer",  # a user cannot give themselves a role: app_metadata is the admin's
    )
    again = auth.post("/signup", json={"email": "mira@example.com", "password": "other-pw"})
    assert again.status_code == 422 and again.json()["code"] == "user_already_exists"
    weak = auth.post("/signup", json={"email": "w@example.com", "password": "123"})
    assert weak.status_code == 422 and weak.json()["code"] == "weak_password"


def test_a_token_signed_by_another_key_is_refused_by_our_verifier(
    stand_in: SupabaseAuthStandIn,
) -> None:
    impostor = SupabaseAuthStandIn()
    try:
        impostor.kid = stand_in.kid  # same kid, other key: a forgery
        impostor.create_user("eve@example.com", "password1", role="admin")
        forged = impostor.sign_in("eve@example.com", "password1")["access_token"]
    finally:
        impostor.close()
    with pytest.raises(InvalidToken):
        verifier_for(stand_in).verify(forged)


def test_password_sign_in_carries_the_admins_role_and_refuses_bad_credentials(
    stand_in: SupabaseAuthStandIn, auth: httpx.Client
) -> None:
    stand_in.create_user("sam@example.com", "password1", name="Sam", role="seller")
    session = auth.post(
        "/token?grant_type=password", json={"email": "sam@example.com", "password": "password1"}
    ).json()
    assert verifier_for(stand_in).verify(session["access_token"]).role == "seller"
    wrong = auth.post(
        "/token?grant_type=password", json={"email": "sam@example.com", "password": "nope"}
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_credentials"
    no_key = httpx.post(
        f"{stand_in.auth_url}/token?grant_type=password",
        json={"email": "sam@example.com", "password": "password1"},
    )
    assert no_key.status_code == 401


def test_refresh_tokens_rotate_and_a_spent_one_is_refused_after_the_reuse_interval(
    stand_in: SupabaseAuthStandIn, auth: httpx.Client
) -> None:
    stand_in.create_user("rio@example.com", "password1")
    stand_in.access_token_ttl_s = 45
    first = stand_in.sign_in("rio@example.com", "password1")
    assert first["expires_in"] == 45
    second = auth.post(
        "/token?grant_type=refresh_token", json={"refresh_token": first["refresh_token"]}
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (
        claims(second["access_token"])["session_id"] == claims(first["access_token"])["session_id"]
    )
    # A second tab racing with the spent token, within the interval: the current token.
    raced = auth.post(
        "/token?grant_type=refresh_token", json={"refresh_token": first["refresh_token"]}
    ).json()
    assert raced["refresh_token"] == second["refresh_token"]
    # Much later, the spent token is a stolen one: refused, and the session ends.
    stand_in.reuse_interval_s = 0
    time.sleep(0.01)
    stale = auth.post(
        "/token?grant_type=refresh_token", json={"refresh_token": first["refresh_token"]}
    )
    assert stale.status_code == 400 and stale.json()["code"] == "refresh_token_already_used"
    assert stand_in.session_revoked(second["refresh_token"])
    assert stand_in.refreshes() == 3


def test_magic_link_with_pkce_redirects_with_a_code_that_only_the_verifier_redeems(
    stand_in: SupabaseAuthStandIn, auth: httpx.Client
) -> None:
    verifier = "v" * 56
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    sent = auth.post(
        "/otp",
        params={"redirect_to": APP},
        json={
            "email": "lin@example.com",
            "create_user": True,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "s256",
        },
    )
    assert sent.status_code == 200
    mail = stand_in.last_mail("lin@example.com", "magiclink")
    opened = httpx.get(mail.link)  # as a browser opens it: no apikey
    assert opened.status_code == 303
    location = urlsplit(opened.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == APP
    code = parse_qs(location.query)["code"][0]
    bad = auth.post("/token?grant_type=pkce", json={"auth_code": code, "code_verifier": "x" * 56})
    assert bad.status_code == 403
    session = auth.post(
        "/token?grant_type=pkce", json={"auth_code": code, "code_verifier": verifier}
    ).json()
    assert session["user"]["email"] == "lin@example.com"
    assert session["user"]["email_confirmed_at"]
    reused = httpx.get(mail.link)
    assert "error_code=otp_expired" in reused.headers["Location"]


def test_the_implicit_flow_link_and_the_emailed_code_each_sign_in_once(
    stand_in: SupabaseAuthStandIn, auth: httpx.Client
) -> None:
    stand_in.create_user("ada@example.com", "password1")
    auth.post("/otp", params={"redirect_to": APP}, json={"email": "ada@example.com"})
    link = stand_in.last_mail("ada@example.com").link
    fragment = parse_qs(urlsplit(httpx.get(link).headers["Location"]).fragment)
    assert fragment["token_type"] == ["bearer"] and fragment["type"] == ["magiclink"]
    assert claims(fragment["access_token"][0])["email"] == "ada@example.com"

    auth.post("/otp", json={"email": "ada@example.com"})
    otp = stand_in.last_mail("ada@example.com").otp
    ok = auth.post("/verify", json={"email": "ada@example.com", "token": otp, "type": "magiclink"})
    assert ok.status_code == 200 and ok.json()["access_token"]
    again = auth.post(
        "/verify", json={"email": "ada@example.com", "token": otp, "type": "magiclink"}
    )
    assert again.status_code == 403 and again.json()["code"] == "otp_expired"


def test_user_and_logout_end_the_session(stand_in: SupabaseAuthStandIn, auth: httpx.Client) -> None:
    stand_in.create_user("kai@example.com", "password1", name="Kai")
    session = stand_in.sign_in("kai@example.com", "password1")
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    user = auth.get("/user", headers=bearer)
    assert user.status_code == 200 and user.json()["user_metadata"]["name"] == "Kai"
    assert auth.get("/user", headers={"Authorization": "Bearer x.y.z"}).status_code == 403
    assert auth.post("/logout", params={"scope": "global"}, headers=bearer).status_code == 204
    assert auth.get("/user", headers=bearer).json()["code"] == "session_not_found"
    refused = auth.post(
        "/token?grant_type=refresh_token", json={"refresh_token": session["refresh_token"]}
    )
    assert refused.status_code == 400 and refused.json()["code"] == "refresh_token_not_found"


def test_cors_answers_the_apps_origin_only(stand_in: SupabaseAuthStandIn) -> None:
    asks = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "apikey, authorization, content-type, x-client-info",
    }
    url = f"{stand_in.auth_url}/token?grant_type=password"
    allowed = httpx.options(url, headers={"Origin": ORIGIN, **asks})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "apikey" in allowed.headers["Access-Control-Allow-Headers"]
    other = httpx.options(url, headers={"Origin": "https://evil.example", **asks})
    assert "Access-Control-Allow-Origin" not in other.headers
    jwks = httpx.get(stand_in.jwks_url, headers={"Origin": ORIGIN})
    assert jwks.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert jwks.json()["keys"][0]["kid"] == stand_in.kid
