"""A local stand-in for Supabase Auth (GoTrue), for the real `@supabase/supabase-js` to talk to.

Like the SendGrid sink, it speaks the provider's wire format, no more: the endpoints that
supabase-js (`@supabase/auth-js`, GoTrueClient) calls for email sign-in, under `/auth/v1`:

| endpoint | supabase-js |
| --- | --- |
| `POST /signup` | `auth.signUp({email, password, options: {data}})` |
| `POST /token?grant_type=password` | `auth.signInWithPassword` |
| `POST /token?grant_type=refresh_token` | the auto-refresh ticker, `getSession()` near expiry |
| `POST /token?grant_type=pkce` | `detectSessionInUrl` on `?code=` (PKCE flow) |
| `POST /otp` | `auth.signInWithOtp({email})`: the magic link lands in `mailbox` |
| `GET /verify` | the emailed link: back to `redirect_to` with `?code=` (PKCE) or `#access_token=` |
| `POST /verify` | `auth.verifyOtp({email, token, type})` (the six-digit code of the same email) |
| `GET /user` | `auth.getUser()` |
| `POST /logout?scope=` | `auth.signOut()` (global, local or others) |
| `GET /.well-known/jwks.json` | `auth.getClaims()`; the API and socket node (`SUPABASE_JWKS_URL`) |

Access tokens are ES256 JWTs signed with a key made at start (its public half in the JWKS),
with the claims Supabase puts in them (`aud=authenticated`, `sub`, `email`, `user_metadata`,
`app_metadata` with the `role` our API reads, `session_id`...), for `access_token_ttl_s`
seconds (settable at any time, so a test can make supabase-js refresh by itself). Refresh
tokens rotate: each is good once; reusing a spent one within `reuse_interval_s` (GoTrue's
default 10 s, for two tabs racing) answers with the current one, later it revokes the whole
session, as GoTrue does. Requests need the project's `apikey` header, as Supabase's gateway
requires (except the email link and the JWKS, which are public there too). CORS answers the
origins in `allowed_origins` ("*": any).

Everything received is recorded (`requests`) and every token issued (`issued`), so a test can
tell a refresh that happened from one that did not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

PREFIX = "/auth/v1"
API_VERSION = "2024-01-01"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 6


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _salted(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)


@dataclass
class AuthUser:
    id: str
    email: str
    password_salt: bytes
    password_hash: bytes | None  # None: made by a magic link, no password yet
    user_metadata: dict[str, Any]
    app_metadata: dict[str, Any]
    created_at: str
    confirmed_at: str | None = None
    last_sign_in_at: str | None = None

    def check(self, password: str) -> bool:
        return self.password_hash is not None and hmac.compare_digest(
            self.password_hash, _salted(password, self.password_salt)
        )

    def json(self) -> dict[str, Any]:
        """The user object of GoTrue's answers."""
        return {
            "id": self.id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": self.email,
            "email_confirmed_at": self.confirmed_at,
            "confirmed_at": self.confirmed_at,
            "phone": "",
            "last_sign_in_at": self.last_sign_in_at,
            "app_metadata": self.app_metadata,
            "user_metadata": self.user_metadata,
            "identities": [
                {
                    "identity_id": self.id,
                    "id": self.id,
                    "user_id": self.id,
                    "provider": "email",
                    "identity_data": {"email": self.email, "sub": self.id},
                    "created_at": self.created_at,
                    "updated_at": self.created_at,
                }
            ],
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "is_anonymous": False,
        }


@dataclass
class RefreshToken:
    token: str
    user_id: str
    session_id: str
    revoked_at: float | None = None
    child: str | None = None  # the token this one was exchanged for


@dataclass
class Mail:
    """An email the stand-in "sent": the link in it, and the six-digit code in it."""

    to: str
    kind: str  # magiclink | signup
    link: str
    otp: str


class Seen(NamedTuple):
    method: str
    path: str  # with the query
    at: float  # epoch seconds


@dataclass
class Issued:
    access_token: str
    user_id: str
    session_id: str
    grant: str  # password | refresh_token | pkce | signup | verify
    expires_at: int


@dataclass
class _Pending:
    """A link or code on its way to being used: whom it signs in, and the PKCE challenge the
    client sent with the request (None: the implicit flow)."""

    user_id: str
    kind: str
    code_challenge: str | None
    used: bool = False


@dataclass
class _FlowCode:
    user_id: str
    code_challenge: str
    kind: str
    used: bool = False


@dataclass
class _Problem(Exception):
    status: int
    code: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)


class SupabaseAuthStandIn:
    def __init__(
        self,
        *,
        anon_key: str = "stand-in-anon-key",
        access_token_ttl_s: int = 3600,
        confirm_email: bool = False,
        reuse_interval_s: float = 10.0,
        allowed_origins: tuple[str, ...] = ("*",),
        site_url: str | None = None,
    ) -> None:
        self.anon_key = anon_key
        self.access_token_ttl_s = access_token_ttl_s
        self.confirm_email = confirm_email
        self.reuse_interval_s = reuse_interval_s
        self.allowed_origins = allowed_origins
        self.site_url = site_url
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.kid = uuid.uuid4().hex
        self.users: dict[str, AuthUser] = {}  # by id
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.revoked_sessions: set[str] = set()
        self.mailbox: list[Mail] = []
        self.requests: list[Seen] = []
        self.issued: list[Issued] = []
        self._links: dict[str, _Pending] = {}  # link token or otp -> pending sign-in
        self._codes: dict[str, _FlowCode] = {}  # PKCE auth codes
        self._lock = threading.RLock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                stand_in._handle(self, "GET")

            def do_POST(self) -> None:
                stand_in._handle(self, "POST")

            def do_PUT(self) -> None:
                stand_in._handle(self, "PUT")

            def do_OPTIONS(self) -> None:
                stand_in._preflight(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    # -- where it is -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The project URL (SUPABASE_URL)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}{PREFIX}"

    @property
    def jwks_url(self) -> str:
        """What SUPABASE_JWKS_URL points at."""
        return f"{self.auth_url}/.well-known/jwks.json"

    @property
    def issuer(self) -> str:
        return self.auth_url

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key()))
        return {
            "keys": [
                {**public, "kid": self.kid, "alg": "ES256", "use": "sig", "key_ops": ["verify"]}
            ]
        }

    # -- for tests: people and what happened ------------------------------------------------

    def create_user(
        self,
        email: str,
        password: str,
        *,
        name: str | None = None,
        role: str | None = None,
        confirmed: bool = True,
    ) -> AuthUser:
        """A user as an admin makes one (the dashboard, or the service-role API): only this
        way does `app_metadata.role` get set, as in Supabase, where users cannot write it."""
        with self._lock:
            user = self._new_user(email, password, {"name": name} if name else {})
            if role:
                user.app_metadata["role"] = role
            if confirmed:
                user.confirmed_at = user.created_at
            return user

    def sign_in(self, email: str, password: str) -> dict[str, Any]:
        """A session, as `POST /token?grant_type=password` gives it (for a test's own REST
        calls as that user)."""
        with self._lock:
            return self._password_grant({"email": email, "password": password})

    def user_by_email(self, email: str) -> AuthUser | None:
        with self._lock:
            return next((u for u in self.users.values() if u.email == email.lower()), None)

    def last_mail(self, to: str, kind: str | None = None) -> Mail:
        with self._lock:
            for mail in reversed(self.mailbox):
                if mail.to == to.lower() and (kind is None or mail.kind == kind):
                    return mail
        raise LookupError(f"no {kind or ''} mail to {to}")

    def issued_to(self, user_id: str) -> list[Issued]:
        with self._lock:
            return [i for i in self.issued if i.user_id == user_id]

    def refreshes(self) -> int:
        with self._lock:
            return len(self.refreshed_at())

    def refreshed_at(self) -> list[float]:
        """When each refresh-token grant came (epoch seconds)."""
        with self._lock:
            return [r.at for r in self.requests if "grant_type=refresh_token" in r.path]

    def session_revoked(self, refresh_token: str) -> bool:
        with self._lock:
            known = self.refresh_tokens.get(refresh_token)
            return known is None or known.session_id in self.revoked_sessions

    # -- tokens ------------------------------------------------------------------------------

    def _access_token(self, user: AuthUser, session_id: str, method: str) -> tuple[str, int]:
        now = int(time.time())
        exp = now + self.access_token_ttl_s
        claims = {
            "iss": self.issuer,
            "sub": user.id,
            "aud": "authenticated",
            "exp": exp,
            "iat": now,
            "email": user.email,
            "phone": "",
            "app_metadata": user.app_metadata,
            "user_metadata": user.user_metadata,
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{"method": method, "timestamp": now}],
            "session_id": session_id,
            "is_anonymous": False,
        }
        token = jwt.encode(
            claims, self._key, algorithm="ES256", headers={"kid": self.kid, "typ": "JWT"}
        )
        return token, exp

    def _session(
        self, user: AuthUser, grant: str, session_id: str | None = None, refresh: str | None = None
    ) -> dict[str, Any]:
        """A new access token, with a new refresh token (or `refresh`, when reusing)."""
        session_id = session_id or str(uuid.uuid4())
        if refresh is None:
            refresh = secrets.token_urlsafe(16)
            self.refresh_tokens[refresh] = RefreshToken(refresh, user.id, session_id)
        access, exp = self._access_token(user, session_id, "otp" if grant == "verify" else grant)
        user.last_sign_in_at = _now_iso()
        self.issued.append(Issued(access, user.id, session_id, grant, exp))
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.access_token_ttl_s,
            "expires_at": exp,
            "refresh_token": refresh,
            "user": user.json(),
        }

    def _bearer_user(self, request: BaseHTTPRequestHandler) -> tuple[AuthUser, dict[str, Any]]:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _Problem(401, "no_authorization", "This endpoint requires a Bearer token")
        try:
            claims = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["ES256"],
                audience="authenticated",
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise _Problem(403, "bad_jwt", f"invalid JWT: {exc}") from None
        if claims.get("session_id") in self.revoked_sessions:
            raise _Problem(
                403, "session_not_found", "Session from session_id claim in JWT does not exist"
            )
        user = self.users.get(str(claims["sub"]))
        if user is None:
            raise _Problem(403, "user_not_found", "User from sub claim in JWT does not exist")
        return user, claims

    # -- the endpoints -----------------------------------------------------------------------

    def _new_user(self, email: str, password: str | None, metadata: dict[str, Any]) -> AuthUser:
        email = email.strip().lower()
        if not EMAIL.match(email):
            raise _Problem(
                400, "validation_failed", "Unable to validate email address: invalid format"
            )
        if any(u.email == email for u in self.users.values()):
            raise _Problem(422, "user_already_exists", "User already registered")
        salt = secrets.token_bytes(16)
        user = AuthUser(
            id=str(uuid.uuid4()),
            email=email,
            password_salt=salt,
            password_hash=_salted(password, salt) if password is not None else None,
            user_metadata={**metadata, "email": email, "email_verified": False, "sub": ""},
            app_metadata={"provider": "email", "providers": ["email"]},
            created_at=_now_iso(),
        )
        user.user_metadata["sub"] = user.id
        self.users[user.id] = user
        return user

    def _password_grant(self, body: dict[str, Any]) -> dict[str, Any]:
        email = str(body.get("email") or "").strip().lower()
        user = next((u for u in self.users.values() if u.email == email), None)
        if user is None or not user.check(str(body.get("password") or "")):
            raise _Problem(400, "invalid_credentials", "Invalid login credentials")
        if user.confirmed_at is None:
            raise _Problem(400, "email_not_confirmed", "Email not confirmed")
        return self._session(user, "password")

    def _refresh_grant(self, body: dict[str, Any]) -> dict[str, Any]:
        known = self.refresh_tokens.get(str(body.get("refresh_token") or ""))
        if known is None or known.session_id in self.revoked_sessions:
            raise _Problem(
                400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"
            )
        user = self.users[known.user_id]
        if known.revoked_at is not None:
            if time.time() - known.revoked_at > self.reuse_interval_s:
                # Reuse long after rotation: a stolen token. GoTrue ends the whole session.
                self.revoked_sessions.add(known.session_id)
                raise _Problem(
                    400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"
                )
            active = known  # two tabs racing: both get the current end of the chain
            while active.child is not None and self.refresh_tokens[active.child].revoked_at:
                active = self.refresh_tokens[active.child]
            return self._session(user, "refresh_token", known.session_id, active.child)
        session = self._session(user, "refresh_token", known.session_id)
        known.revoked_at = time.time()
        known.child = session["refresh_token"]
        return session

    def _pkce_grant(self, body: dict[str, Any]) -> dict[str, Any]:
        flow = self._codes.get(str(body.get("auth_code") or ""))
        if flow is None or flow.used:
            raise _Problem(
                404, "flow_state_not_found", "invalid flow state, no valid flow state found"
            )
        verifier = str(body.get("code_verifier") or "")
        if not hmac.compare_digest(_s256(verifier), flow.code_challenge):
            raise _Problem(
                403,
                "bad_code_verifier",
                "code challenge does not match previously saved code verifier",
            )
        flow.used = True
        return self._session(self.users[flow.user_id], "pkce")

    def _signup(self, body: dict[str, Any], redirect_to: str | None) -> dict[str, Any]:
        password = str(body.get("password") or "")
        if len(password) < MIN_PASSWORD:
            raise _Problem(
                422,
                "weak_password",
                f"Password should be at least {MIN_PASSWORD} characters.",
                {"weak_password": {"reasons": ["length"]}},
            )
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        user = self._new_user(str(body.get("email") or ""), password, dict(data or {}))
        if not self.confirm_email:
            user.confirmed_at = user.created_at
            return self._session(user, "password")
        self._send_link(user, "signup", body, redirect_to)
        return user.json()  # no session until the address is confirmed

    def _otp(self, body: dict[str, Any], redirect_to: str | None) -> dict[str, Any]:
        email = str(body.get("email") or "").strip().lower()
        user = next((u for u in self.users.values() if u.email == email), None)
        if user is None:
            if body.get("create_user") is False:
                raise _Problem(422, "otp_disabled", "Signups not allowed for otp")
            data = body.get("data") if isinstance(body.get("data"), dict) else {}
            user = self._new_user(email, None, dict(data or {}))
        self._send_link(user, "magiclink", body, redirect_to)
        return {}

    def _send_link(
        self, user: AuthUser, kind: str, body: dict[str, Any], redirect_to: str | None
    ) -> None:
        challenge = body.get("code_challenge")
        if challenge and body.get("code_challenge_method") not in ("s256", "S256"):
            raise _Problem(400, "validation_failed", "unsupported code_challenge_method")
        pending = _Pending(user.id, kind, str(challenge) if challenge else None)
        token = secrets.token_hex(28)
        otp = f"{secrets.randbelow(1_000_000):06d}"
        self._links[token] = pending
        self._links[otp] = pending
        query = {"token": token, "type": kind}
        target = self._redirect_target(redirect_to)
        if target:
            query["redirect_to"] = target
        link = f"{self.auth_url}/verify?{urlencode(query)}"
        self.mailbox.append(Mail(user.email, kind, link, otp))

    def _redirect_target(self, redirect_to: str | None) -> str | None:
        """GoTrue sends people only where the project allows (else to the site URL)."""
        if redirect_to and self._origin_allowed(_origin(redirect_to)):
            return redirect_to
        return self.site_url

    def _use_link(self, token: str, kind: str) -> _Pending:
        pending = self._links.get(token)
        if pending is None or pending.used or (kind and kind != pending.kind):
            raise _Problem(403, "otp_expired", "Email link is invalid or has expired")
        pending.used = True
        user = self.users[pending.user_id]
        if user.confirmed_at is None:
            user.confirmed_at = _now_iso()
            user.user_metadata["email_verified"] = True
        return pending

    def _verify_link(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        """The link in the email, opened in a browser: a redirect back to the app."""
        target = self._redirect_target(query.get("redirect_to")) or self.url
        try:
            pending = self._use_link(query.get("token", ""), query.get("type", ""))
        except _Problem as problem:
            fragment = urlencode(
                {
                    "error": "access_denied",
                    "error_code": problem.code,
                    "error_description": problem.message,
                }
            )
            return self._redirect(request, _with_fragment(target, fragment))
        if pending.code_challenge is not None:  # PKCE: a one-time code for the client
            code = str(uuid.uuid4())
            self._codes[code] = _FlowCode(pending.user_id, pending.code_challenge, pending.kind)
            return self._redirect(request, _with_query(target, {"code": code}))
        session = self._session(self.users[pending.user_id], "verify")
        fragment = urlencode(
            {
                "access_token": session["access_token"],
                "expires_at": session["expires_at"],
                "expires_in": session["expires_in"],
                "refresh_token": session["refresh_token"],
                "token_type": "bearer",
                "type": pending.kind,
            }
        )
        return self._redirect(request, _with_fragment(target, fragment))

    def _logout(self, request: BaseHTTPRequestHandler, scope: str) -> None:
        user, claims = self._bearer_user(request)
        mine = {t.session_id for t in self.refresh_tokens.values() if t.user_id == user.id}
        current = str(claims.get("session_id"))
        if scope == "global":
            self.revoked_sessions |= mine
        elif scope == "local":
            self.revoked_sessions.add(current)
        elif scope == "others":
            self.revoked_sessions |= mine - {current}
        else:
            raise _Problem(400, "validation_failed", "scope must be global, local or others")

    # -- HTTP --------------------------------------------------------------------------------

    def _origin_allowed(self, origin: str | None) -> bool:
        return bool(origin) and ("*" in self.allowed_origins or origin in self.allowed_origins)

    def _cors(self, request: BaseHTTPRequestHandler) -> dict[str, str]:
        origin = request.headers.get("Origin")
        if not self._origin_allowed(origin):
            return {"Vary": "Origin"}
        return {
            "Access-Control-Allow-Origin": str(origin),
            "Access-Control-Expose-Headers": "X-Supabase-Api-Version",
            "Vary": "Origin",
        }

    def _preflight(self, request: BaseHTTPRequestHandler) -> None:
        headers = self._cors(request)
        if "Access-Control-Allow-Origin" in headers:
            headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
            headers["Access-Control-Allow-Headers"] = (
                request.headers.get("Access-Control-Request-Headers")
                or "authorization, apikey, content-type, x-client-info, x-supabase-api-version"
            )
            headers["Access-Control-Max-Age"] = "600"
        request.send_response(204)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        parts = urlsplit(request.path)
        path = parts.path.removeprefix(PREFIX) if parts.path.startswith(PREFIX) else None
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(Seen(method, request.path, time.time()))
            try:
                if path is None:
                    raise _Problem(404, "not_found", "Not found")
                if method == "GET" and path == "/.well-known/jwks.json":
                    return self._answer(request, 200, self.jwks())
                if method == "GET" and path == "/verify":
                    return self._verify_link(request, query)
                if request.headers.get("apikey") != self.anon_key:
                    raise _Problem(401, "no_api_key", "No API key found in request")
                body = json.loads(raw) if raw else {}
                if not isinstance(body, dict):
                    raise _Problem(400, "validation_failed", "The body must be a JSON object")
                answer = self._route(request, method, path, query, body)
            except _Problem as problem:
                return self._answer(
                    request,
                    problem.status,
                    {
                        "code": problem.code,
                        "error_code": problem.code,
                        "msg": problem.message,
                        **problem.extra,
                    },
                )
            except ValueError:
                return self._answer(
                    request,
                    400,
                    {"code": "bad_json", "error_code": "bad_json", "msg": "Could not parse JSON"},
                )
        if answer is None:
            return self._answer(request, 204, None)
        return self._answer(request, 200, answer)

    def _route(
        self,
        request: BaseHTTPRequestHandler,
        method: str,
        path: str,
        query: dict[str, str],
        body: dict[str, Any],
    ) -> dict[str, Any] | None:
        if method == "POST" and path == "/signup":
            return self._signup(body, query.get("redirect_to"))
        if method == "POST" and path == "/token":
            grant = query.get("grant_type")
            if grant == "password":
                return self._password_grant(body)
            if grant == "refresh_token":
                return self._refresh_grant(body)
            if grant == "pkce":
                return self._pkce_grant(body)
            raise _Problem(400, "validation_failed", f"unsupported grant_type {grant!r}")
        if method == "POST" and path == "/otp":
            return self._otp(body, query.get("redirect_to"))
        if method == "POST" and path == "/verify":
            pending = self._use_link(str(body.get("token") or ""), str(body.get("type") or ""))
            user = self.users[pending.user_id]
            if str(body.get("email") or "").strip().lower() != user.email:
                raise _Problem(403, "otp_expired", "Token has expired or is invalid")
            return self._session(user, "verify")
        if method == "GET" and path == "/user":
            return self._bearer_user(request)[0].json()
        if method == "POST" and path == "/logout":
            self._logout(request, query.get("scope", "global"))
            return None
        raise _Problem(404, "not_found", f"{method} {path} is not served by this stand-in")

    def _answer(self, request: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        request.send_response(status)
        for name, value in self._cors(request).items():
            request.send_header(name, value)
        request.send_header("X-Supabase-Api-Version", API_VERSION)
        if body is not None:
            request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _redirect(self, request: BaseHTTPRequestHandler, location: str) -> None:
        request.send_response(303)
        request.send_header("Location", location)
        request.send_header("Content-Length", "0")
        request.end_headers()


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _with_query(url: str, extra: dict[str, str]) -> str:
    """GoTrue adds `code` to the redirect's query and keeps its fragment (the SPA's route)."""
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _with_fragment(url: str, fragment: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, fragment))
