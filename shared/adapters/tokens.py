"""Supabase access tokens: verified the same way by the functions and the socket node.

Keys, in order of preference: `JWT_PUBLIC_KEYS` (inline JWKS, ES256/RS256), `SUPABASE_JWKS_URL`
(fetched by PyJWT's PyJWKClient, cached here, refreshed on an unknown `kid`), `SUPABASE_JWT_SECRET`
(HS256). In development with none of these, a local dev secret under var/ signs the tokens of
`POST /api/dev/login`, and the same verifier trusts it.

Keys from the JWKS URL are trusted as long as the set they came in is (5 minutes), never
longer: no per-kid cache outlives the set (PyJWKClient's `cache_keys` would keep a revoked key
for the life of the process), and a token verified with such a key is remembered only until
its set expires. Whatever the URL answers (`{"keys":[]}`, not JSON, a 404) refuses the token
(401); the URL unreachable (refused, timed out, 5xx) while the token's kid is not cached is
`KeysUnavailable` (503): no JWKS failure is a 500.

One fetch of the JWKS URL at a time, in a thread of its own, and never under a lock that a
check of a cached key takes: PyJWKClient held its lock across the fetch (5 s when the host
hangs), so every token check of the process, cached keys included, queued behind it. A check
whose key is not cached waits for the fetch under way at most `JWKS_WAIT_S`, then is
`KeysUnavailable` (retry); the fetch goes on and serves the checks after it.

`exp`, `nbf` and `iat` are checked with `JWT_LEEWAY_S` of slack: Supabase's clock and ours
differ by a little, and a token minted a second "in the future" (`iat`) was refused.

Refused: `alg: none`; an HMAC token when only public keys are configured and the reverse
(algorithm confusion: the algorithm must match the kind of key that the `kid` names); a bad
signature, `exp` in the past, the wrong `aud`, or (when configured) the wrong `iss`.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any, NamedTuple
from urllib.error import HTTPError, URLError

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError

from shared.domain.principal import InvalidToken as InvalidToken
from shared.domain.principal import KeysUnavailable as KeysUnavailable
from shared.domain.principal import Principal as Principal
from shared.settings import Settings

ASYMMETRIC = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}
SYMMETRIC = {"HS256"}
DEV_ISSUER = "auction-dev-login"
# An unknown `kid` refetches the JWKS at most this often: a rotated-in key is found within
# this time, and a stream of made-up kids cannot turn every request into a fetch.
JWKS_REFRESH_COOLDOWN_S = 30.0
JWKS_CACHE_S = 300
JWKS_FETCH_TIMEOUT_S = 5.0  # one fetch of the URL, at most (it runs in its own thread)
JWKS_WAIT_S = 2.0  # a check that needs a fetch waits for it at most this long, then 503
# Clock skew allowed for exp, nbf and iat (PyJWT's `leeway`): the usual half a minute.
JWT_LEEWAY_S = 30
VERIFIED_CACHE_SIZE = 10_000


class Verified(NamedTuple):
    principal: Principal
    expires: float  # the token's exp, epoch seconds
    trust_until: float | None  # monotonic: when the key's JWKS set expires (None: exp rules)


def _jwks_host_down(exc: PyJWKClientConnectionError) -> bool:
    """Refused, unreachable, timed out or a 5xx: the host is down (503). A 4xx is an answer:
    the URL is wrong, and the token cannot be verified (401)."""
    cause = exc.__cause__
    if isinstance(cause, HTTPError):
        return cause.code >= 500
    return isinstance(cause, URLError | TimeoutError | OSError | http.client.HTTPException)


def dev_user_id(email: str) -> str:
    """Dev login's user id for an email: stable, so the seeded demo users can sign in."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dev-login:{email.strip().lower()}"))


def dev_secret_path(settings: Settings) -> Path:
    return settings.var_dir / "dev-jwt-secret"


def dev_secret(settings: Settings) -> str:
    """The local dev signing secret, created once and shared by every local process."""
    path = dev_secret_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_urlsafe(48).encode())
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    return path.read_text().strip()


class _Fetch:
    """One fetch of the JWKS URL under way: its waiters wait on `done`."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: InvalidToken | None = None


class JwksKeys:
    """The signing keys of `SUPABASE_JWKS_URL`, by kid, trusted as long as the set they came
    in (`lifespan_s`). PyJWKClient fetches and parses the set; the cache and who waits for a
    fetch are ours, because its own lock is held across the fetch (a hanging host held up
    every check of the process for the fetch's whole timeout, cached keys included)."""

    def __init__(
        self,
        url: str,
        *,
        lifespan_s: float = JWKS_CACHE_S,
        fetch_timeout_s: float = JWKS_FETCH_TIMEOUT_S,
        wait_s: float = JWKS_WAIT_S,
    ) -> None:
        # PyJWKClient's caches off: it is used to fetch (no redirects, http(s) only) and parse.
        self._client = PyJWKClient(
            url, cache_keys=False, cache_jwk_set=False, timeout=fetch_timeout_s
        )
        self._lifespan_s = lifespan_s
        self._wait_s = wait_s
        # Guards the fields below, never held across I/O: a lookup of a cached key takes it
        # for a dictionary read.
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # monotonic: when the current set's fetch began
        self._fetch: _Fetch | None = None  # the one fetch under way

    def key(self, kid: str) -> tuple[Any, float]:
        """The public key `kid` names and until when (monotonic) it may be trusted; the set
        fetched when it has expired, or when `kid` is unknown and the last fetch is older than
        the cooldown (made-up kids cannot turn every request into a fetch)."""
        with self._lock:
            found = self._fresh(kid)
            if found is not None:
                return found
            now = time.monotonic()
            fresh = self._fetched_at is not None and now < self._fetched_at + self._lifespan_s
            if fresh and now - (self._fetched_at or 0.0) < JWKS_REFRESH_COOLDOWN_S:
                raise InvalidToken(f"no key for kid {kid!r} (the key set was fetched just now)")
            fetch = self._fetch
            if fetch is None:
                fetch = self._fetch = _Fetch()
                threading.Thread(
                    target=self._run, args=(fetch,), name="jwks-fetch", daemon=True
                ).start()
        if not fetch.done.wait(self._wait_s):
            raise KeysUnavailable(f"the JWKS URL has not answered within {self._wait_s:g} s")
        if fetch.error is not None:
            raise fetch.error
        with self._lock:
            found = self._fresh(kid)
        if found is None:
            raise InvalidToken(f"no key for kid {kid!r}")
        return found

    def _fresh(self, kid: str) -> tuple[Any, float] | None:
        """`kid`'s key from a set that has not expired (the caller holds the lock)."""
        if self._fetched_at is None or kid not in self._keys:
            return None
        trust_until = self._fetched_at + self._lifespan_s
        if time.monotonic() >= trust_until:
            return None
        return self._keys[kid].key, trust_until

    def _run(self, fetch: _Fetch) -> None:
        began = time.monotonic()  # trust is counted from before the fetch: it errs short
        try:
            found = self._client.get_jwk_set(refresh=True)
            keys = {
                k.key_id: k for k in found.keys if k.public_key_use in ("sig", None) and k.key_id
            }
            if not keys:
                raise InvalidToken("the JWKS URL gave no signing key")
        except PyJWKClientConnectionError as exc:
            if _jwks_host_down(exc):
                fetch.error = KeysUnavailable(f"the JWKS URL is unreachable: {exc}")
            else:
                fetch.error = InvalidToken(f"the JWKS URL refused: {exc}")
        except InvalidToken as exc:
            fetch.error = exc
        except Exception as exc:
            # Any answer that is not a usable key set ({"keys": []}, not JSON, not UTF-8...):
            # the token cannot be verified. Caught whole: a waiter is always woken with an answer.
            fetch.error = InvalidToken(f"the JWKS URL's answer: {type(exc).__name__}: {exc}")
        else:
            with self._lock:
                self._keys, self._fetched_at = keys, began
        finally:
            with self._lock:
                self._fetch = None
            fetch.done.set()


class Verifier:
    def __init__(
        self,
        settings: Settings,
        *,
        jwks_cache_s: float = JWKS_CACHE_S,
        jwks_fetch_timeout_s: float = JWKS_FETCH_TIMEOUT_S,
        jwks_wait_s: float = JWKS_WAIT_S,
    ) -> None:
        self.settings = settings
        self._keys: dict[str, PyJWK] = {}
        self._anonymous_keys: list[PyJWK] = []
        if settings.jwt_public_keys:
            for key in parse_jwks(settings.jwt_public_keys):
                if key.key_id:
                    self._keys[key.key_id] = key
                else:
                    self._anonymous_keys.append(key)
        self._jwks = (
            JwksKeys(
                settings.supabase_jwks_url,
                lifespan_s=jwks_cache_s,
                fetch_timeout_s=jwks_fetch_timeout_s,
                wait_s=jwks_wait_s,
            )
            if settings.supabase_jwks_url
            else None
        )
        self._verified: OrderedDict[str, Verified] = OrderedDict()
        self._verified_lock = threading.Lock()
        self._hmac: str | None = settings.supabase_jwt_secret
        self._dev = settings.dev_login_enabled
        if self._dev and self._hmac is None:
            self._hmac = dev_secret(settings)

    def _asymmetric_key(self, kid: str | None, alg: str) -> tuple[Any, float | None]:
        """The public key `kid` names, and (for a key from the JWKS URL) until when, on the
        monotonic clock, it may be trusted without asking the URL again."""
        if kid and kid in self._keys:
            return self._keys[kid].key, None
        if self._jwks is not None and kid:
            return self._jwks.key(kid)
        if not kid and len(self._anonymous_keys) == 1:
            return self._anonymous_keys[0].key, None
        raise InvalidToken(f"no key for kid {kid!r}")

    def verify(self, token: str) -> Principal:
        """The token's principal, or InvalidToken (KeysUnavailable: try again later)."""
        return self.verify_until(token)[0]

    def verify_until(self, token: str) -> tuple[Principal, float]:
        """The token's principal and its `exp` (epoch seconds), or InvalidToken. A token
        verified before is answered from memory until its `exp` (a bidder sends the same token
        many times a second; the signature check and PyJWT's parsing cost more than the rest
        of a bid's CPU time), and a token verified with a key from the JWKS URL no longer
        than that key's set is trusted."""
        now = time.time()
        with self._verified_lock:
            known = self._verified.get(token)
            if (
                known is not None
                and known.expires + JWT_LEEWAY_S > now
                and (known.trust_until is None or time.monotonic() < known.trust_until)
            ):
                self._verified.move_to_end(token)
                return known.principal, known.expires
        verified = self._verify_fully(token)
        with self._verified_lock:
            self._verified[token] = verified
            while len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)
        return verified.principal, verified.expires

    def _verify_fully(self, token: str) -> Verified:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed: {exc}") from None
        alg = header.get("alg")
        kid = header.get("kid")
        if not isinstance(alg, str) or not (kid is None or isinstance(kid, str)):
            raise InvalidToken("alg and kid must be strings")
        trust_until: float | None = None
        if alg in ASYMMETRIC:
            key, trust_until = self._asymmetric_key(kid, alg)
            expected = RSAPublicKey if alg[:2] in {"RS", "PS"} else EllipticCurvePublicKey
            if not isinstance(key, expected):
                raise InvalidToken(f"{alg} does not match the key kind of kid {kid!r}")
        elif alg in SYMMETRIC:
            if self._hmac is None:
                raise InvalidToken("HMAC tokens are not accepted here")
            key = self._hmac
        else:
            raise InvalidToken(f"algorithm {alg!r} is not accepted")
        options = {"require": ["exp", "sub"]}
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer or None,
                options=options,  # type: ignore[arg-type]
                leeway=JWT_LEEWAY_S,  # exp, nbf and iat: our clock and Supabase's differ
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        return Verified(Principal.from_claims(claims), float(claims["exp"]), trust_until)

    def mint_dev_token(self, email: str, name: str, role: str, ttl_s: int = 12 * 3600) -> str:
        """Development only: a token for `POST /api/dev/login`."""
        if not self._dev or self._hmac is None:
            raise InvalidToken("dev login is disabled")
        now = int(time.time())
        sub = dev_user_id(email)
        claims = {
            "sub": sub,
            "email": email,
            "aud": self.settings.jwt_audience,
            "iat": now,
            "exp": now + ttl_s,
            "role": "authenticated",
            "app_metadata": {"role": role, "provider": "dev"},
            "user_metadata": {"name": name},
        }
        if self.settings.jwt_issuer:
            claims["iss"] = self.settings.jwt_issuer
        return jwt.encode(claims, self._hmac, algorithm="HS256")


def parse_jwks(text: str) -> list[PyJWK]:
    parsed = json.loads(text)
    keys = parsed.get("keys") if isinstance(parsed, dict) else parsed
    return [PyJWK(k) for k in keys or []]
