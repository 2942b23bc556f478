"""Every environment variable the platform reads, in one pydantic class.

A wrong value stops the start with one line naming the variable (`load_settings`).

The class reads the environment itself (`_from_environ`: each field's variable by its alias,
as a string, the way pydantic-settings would hand it over) rather than through
pydantic-settings: that package costs a cold function ~20 modules and tens of milliseconds
(its dotenv, argparse and cloud-provider sources) for a job of a dozen lines. The fields, their
validators and the one-line errors are the same ones for every process.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.domain.sources import hash_key

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_SOURCE_HASH_KEY = b"development-source-marks"
BRIDGE_PORT = 8079
LOCAL_BRIDGE_URL = f"http://127.0.0.1:{BRIDGE_PORT}"

MAX_WINDOW_SECS = 366 * 24 * 3600  # a year: any longer window is a typo

_RATE_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_PERCENT_RE = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,2})?$")
_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*([smh])\s*(?::\s*(\d+))?\s*$")


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: `per_second` tokens refill each second, up to `burst`."""

    per_second: float
    burst: int

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """`5/s` (burst defaults to twice the rate per second), `5/s:10`, `120/m:20`."""
        match = _RATE_RE.match(text)
        if not match:
            raise ValueError("expected RATE/UNIT[:BURST], e.g. 5/s or 5/s:10")
        per_second = float(match.group(1)) / _RATE_UNITS[match.group(2)]
        burst = int(match.group(3)) if match.group(3) else max(1, round(per_second * 2))
        if per_second <= 0 or burst < 1:
            raise ValueError("rate and burst must be positive")
        return cls(per_second=per_second, burst=burst)


@lru_cache(maxsize=16)
def _parsed_rate(text: str) -> RateLimit:
    """Every bid asks for its limit: parsed once per text, not per request."""
    return RateLimit.parse(text)


class Settings(BaseModel):
    """`Settings(NAME=value, ...)`: the environment, with the given variables (by their
    names, e.g. `APP_ENV`) in place of the environment's."""

    model_config = ConfigDict(extra="ignore")

    def __init__(self, **values: Any) -> None:
        super().__init__(**_from_environ(values))

    # Production unless told otherwise: an image given only a DATABASE_URL must never seed demo
    # users into it. `make run` says development and `make test` says test.
    app_env: Literal["development", "test", "production"] = Field("production", alias="APP_ENV")

    database_url: str | None = Field(None, alias="DATABASE_URL")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    upstash_redis_rest_url: str | None = Field(None, alias="UPSTASH_REDIS_REST_URL")
    upstash_redis_rest_token: str = Field("local-dev-token", alias="UPSTASH_REDIS_REST_TOKEN")

    sendgrid_api_key: str | None = Field(None, alias="SENDGRID_API_KEY")
    sendgrid_api_host: str = Field("https://api.sendgrid.com", alias="SENDGRID_API_HOST")
    email_from: str = Field("auctions@example.com", alias="EMAIL_FROM")
    app_base_url: str = Field("http://localhost:8080", alias="APP_BASE_URL")

    jwt_public_keys: str | None = Field(None, alias="JWT_PUBLIC_KEYS")
    supabase_jwks_url: str | None = Field(None, alias="SUPABASE_JWKS_URL")
    supabase_jwt_secret: str | None = Field(None, alias="SUPABASE_JWT_SECRET")
    jwt_audience: str = Field("authenticated", alias="JWT_AUDIENCE")
    jwt_issuer: str | None = Field(None, alias="JWT_ISSUER")

    api_port: int = Field(8000, alias="API_PORT", ge=1, le=65535)
    # Where the local API server listens. Loopback by default: in development it signs dev
    # tokens for anyone who asks (any role), which must not reach the rest of the network. The
    # container image sets 0.0.0.0 so that a published port (`-p 8000:8000`) reaches it.
    api_host: str = Field("127.0.0.1", alias="API_HOST")
    # Render sets PORT and it wins: the image's own SOCKET_PORT must not hide it.
    socket_port: int = Field(
        8080, validation_alias=AliasChoices("PORT", "SOCKET_PORT"), ge=1, le=65535
    )
    socket_node_url: str = Field("http://127.0.0.1:8080", alias="SOCKET_NODE_URL")

    # What the browser is told (/config.json) in a split deploy: the API Gateway (or custom
    # domain) and the socket node's public WebSocket URL. Unset: the local defaults.
    api_public_url: str | None = Field(None, alias="API_PUBLIC_URL")
    ws_public_url: str | None = Field(None, alias="WS_PUBLIC_URL")
    supabase_url: str | None = Field(None, alias="SUPABASE_URL")
    supabase_anon_key: str | None = Field(None, alias="SUPABASE_ANON_KEY")

    tz: str = Field("Asia/Kolkata", alias="TZ")
    currency: str = Field("INR", alias="CURRENCY", pattern=r"^[A-Z]{3}$")
    invoice_bucket: str | None = Field(None, alias="INVOICE_BUCKET")
    media_bucket: str | None = Field(None, alias="MEDIA_BUCKET")
    media_base_url: str | None = Field(None, alias="MEDIA_BASE_URL")
    cors_origins: str = Field("http://localhost:8080,http://127.0.0.1:8080", alias="CORS_ORIGINS")
    allow_self_outbid: bool = Field(False, alias="ALLOW_SELF_OUTBID")
    bid_rate_limit: str = Field("5/s", alias="BID_RATE_LIMIT")
    # Other writes (create auction, decisions, admin actions, dev login...), per caller per
    # route group; bids have their own bucket (BID_RATE_LIMIT) inside the bid script.
    write_rate_limit: str = Field("10/s:100", alias="WRITE_RATE_LIMIT")

    # The marketplace and the after-sale deadlines, in seconds.
    ending_soon_secs: int = Field(600, alias="ENDING_SOON_SECS", ge=0, le=MAX_WINDOW_SECS)
    decision_window_secs: int = Field(
        172800, alias="DECISION_WINDOW_SECS", ge=1, le=MAX_WINDOW_SECS
    )
    decision_default: Literal["accept", "reject"] = Field("reject", alias="DECISION_DEFAULT")
    counter_window_secs: int = Field(86400, alias="COUNTER_WINDOW_SECS", ge=1, le=MAX_WINDOW_SECS)
    offer_window_secs: int = Field(86400, alias="OFFER_WINDOW_SECS", ge=1, le=MAX_WINDOW_SECS)
    payment_window_secs: int = Field(604800, alias="PAYMENT_WINDOW_SECS", ge=1, le=MAX_WINDOW_SECS)
    # The open marketplace: the seller ships within SHIP_WINDOW_SECS of the payment (else the
    # seller is reminded and the buyer told, once); the buyer may open a dispute within
    # DISPUTE_WINDOW_SECS of the payment.
    ship_window_secs: int = Field(432000, alias="SHIP_WINDOW_SECS", ge=1, le=MAX_WINDOW_SECS)
    dispute_window_secs: int = Field(1209600, alias="DISPUTE_WINDOW_SECS", ge=1, le=MAX_WINDOW_SECS)

    # How long after endsAt a bid that ARRIVED before it (the gateway's stamp) may still reach
    # the bid script and be judged on the rules: the longest a bid may spend between the
    # gateway and Redis (a cold function's start). The end transition closes the window then.
    late_bid_grace_ms: int = Field(2000, alias="LATE_BID_GRACE_MS", ge=0, le=5000)

    # Retractions: more than RETRACT_CUTOFF_SECS before the end a bidder may retract every bid
    # of theirs on an auction; closer to it, only their latest, within an hour of placing it.
    retract_cutoff_secs: int = Field(43200, alias="RETRACT_CUTOFF_SECS", ge=0, le=MAX_WINDOW_SECS)

    # The bid ledger (docs/ledger.md): the Ed25519 key that signs its checkpoints
    # and bid receipts (a base64 32-byte seed; development and test make one under var/,
    # production refuses to start without it), and the longest a receipt's entry may wait for
    # a signed checkpoint that covers it (the maximum merge delay).
    ledger_signing_key: str | None = Field(None, alias="LEDGER_SIGNING_KEY")
    ledger_mmd_ms: int = Field(2000, alias="LEDGER_MMD_MS", ge=100, le=60000)

    # The HMAC key of the source marks (docs/trust-and-safety.md: a network or device is kept
    # only as its salted hash). Unset: in production derived from UPSTASH_REDIS_REST_TOKEN (a
    # secret every API instance holds, so their hashes agree; set this to keep the hashes
    # across a rotation of that token); elsewhere a fixed development key.
    source_hash_key: str | None = Field(None, alias="SOURCE_HASH_KEY")

    # Fees and GST (docs/emails-and-invoices.md): percentages, 0 to 100, at most 2 decimals.
    buyers_premium_pct: Decimal = Field(Decimal("0"), alias="BUYERS_PREMIUM_PCT")
    platform_fee_pct: Decimal = Field(Decimal("0"), alias="PLATFORM_FEE_PCT")
    gst_rate_pct: Decimal = Field(Decimal("18"), alias="GST_RATE_PCT")

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("buyers_premium_pct", "platform_fee_pct", "gst_rate_pct", mode="before")
    @classmethod
    def _percentage(cls, value: object) -> Decimal:
        """`9`, `12.5`, `2.25`: a plain number, so "9%" or "1e1" is a typo, not a rate."""
        text = str(value).strip()
        if not _PERCENT_RE.match(text) or not Decimal(0) <= Decimal(text) <= 100:
            raise ValueError("must be a percentage from 0 to 100 with at most 2 decimals, e.g. 9")
        return Decimal(text)

    @field_validator("api_host")
    @classmethod
    def _ip_address(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise ValueError(
                "must be an IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0"
            ) from None

    @field_validator("bid_rate_limit", "write_rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        RateLimit.parse(value)
        return value

    @field_validator("jwt_public_keys")
    @classmethod
    def _jwks(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError("must be a JWKS JSON document") from exc
        keys = parsed.get("keys") if isinstance(parsed, dict) else parsed
        if not isinstance(keys, list) or not keys:
            raise ValueError('must be a JWKS JSON document with a non-empty "keys" list')
        from jwt import PyJWK, PyJWTError

        for index, key in enumerate(keys):
            try:
                PyJWK(key)
            except (PyJWTError, TypeError, ValueError, KeyError) as exc:
                raise ValueError(f"key {index} is not a usable public key ({exc})") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _pg_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^postgres(ql)?(\+pg8000)?://", value):
            raise ValueError("must be a postgres:// or postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^(rediss?|unix)://", value):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator(
        "upstash_redis_rest_url",
        "supabase_jwks_url",
        "jwt_issuer",
        "sendgrid_api_key",
        "supabase_jwt_secret",
        "invoice_bucket",
        "media_bucket",
        "supabase_anon_key",
    )
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None

    @field_validator("ledger_signing_key")
    @classmethod
    def _ed25519_seed(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            seed = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64 (a 32-byte Ed25519 seed)") from None
        if len(seed) != 32:
            raise ValueError(f"must be a 32-byte Ed25519 seed, base64 (this is {len(seed)} bytes)")
        return value.strip()

    @field_validator("source_hash_key")
    @classmethod
    def _long_secret(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value.strip()) < 16:
            raise ValueError("must be a secret of at least 16 characters")
        return value.strip()

    @field_validator("api_public_url", "supabase_url", "media_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return _absolute_url(value, ("http", "https"))

    @field_validator("ws_public_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return _absolute_url(value, ("ws", "wss"))

    @model_validator(mode="after")
    def _production_needs_real_auth(self) -> Settings:
        if self.app_env == "production" and not self.has_auth_keys:
            raise ValueError(
                "JWT_PUBLIC_KEYS, SUPABASE_JWKS_URL or SUPABASE_JWT_SECRET is required "
                "when APP_ENV=production"
            )
        return self

    @property
    def has_auth_keys(self) -> bool:
        return bool(self.jwt_public_keys or self.supabase_jwks_url or self.supabase_jwt_secret)

    @property
    def dev_login_enabled(self) -> bool:
        return self.app_env != "production" and not self.has_auth_keys

    @property
    def rest_url(self) -> str:
        return self.upstash_redis_rest_url or LOCAL_BRIDGE_URL

    @property
    def rate_limit(self) -> RateLimit:
        return _parsed_rate(self.bid_rate_limit)

    @property
    def write_limit(self) -> RateLimit:
        return _parsed_rate(self.write_rate_limit)

    @property
    def source_key(self) -> bytes:
        """The HMAC key of the source marks (`shared.domain.sources.marks_of`)."""
        if self.app_env != "production" and not self.source_hash_key:
            return DEV_SOURCE_HASH_KEY
        return hash_key(self.source_hash_key, self.upstash_redis_rest_token)

    @property
    def ledger_seed(self) -> str:
        """The ledger's signing key (base64 seed). Development and test keep one under var/
        (made on first use, kept across restarts so earlier checkpoints stay verifiable);
        production has no default (`ledger_key_problem`)."""
        if self.ledger_signing_key:
            return self.ledger_signing_key
        if self.app_env == "production":
            raise ConfigurationError(LEDGER_KEY_REQUIRED)
        return _development_ledger_seed(self.var_dir / "ledger-signing-key")

    @property
    def ledger_key_problem(self) -> str | None:
        """The one line a production start without a signing key stops with."""
        if self.app_env == "production" and not self.ledger_signing_key:
            return LEDGER_KEY_REQUIRED
        return None

    @property
    def ledger_host(self) -> str:
        """The host the logs are named after (`<host>/auctions/<id>`, and the key's name)."""
        return urlsplit(self.api_public_url or self.app_base_url).netloc or "localhost"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @property
    def var_dir(self) -> Path:
        return REPO_ROOT / "var"


def _variables(name: str, info: Any) -> tuple[str, ...]:
    """The environment variables a field reads, in order of precedence."""
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    return (str(alias or info.alias or name),)


def _from_environ(given: dict[str, Any]) -> dict[str, Any]:
    """Each field's value from the environment (names case-sensitive; the first of a field's
    variables that is set wins), unless `given` names one of that field's variables: then
    what was given stands for the field."""
    values = dict(given)
    environ = os.environ
    for name, info in Settings.model_fields.items():
        variables = _variables(name, info)
        if any(variable in given for variable in variables):
            continue
        for variable in variables:
            if variable in environ:
                values[variable] = environ[variable]
                break
    return values


def _absolute_url(value: str, schemes: tuple[str, ...]) -> str:
    """An absolute URL of one of `schemes`, with a host, without a trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in schemes or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            f"must be an absolute {' or '.join(schemes)} URL, e.g. {schemes[-1]}://host"
        )
    try:
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError:
        raise ValueError("has an invalid port") from None
    return value.strip().rstrip("/")


class ConfigurationError(SystemExit):
    """Raised with one line naming the variable that is wrong."""


LEDGER_KEY_REQUIRED = (
    "configuration error: LEDGER_SIGNING_KEY: is required when APP_ENV=production "
    "(a base64 32-byte Ed25519 seed, e.g. from `openssl rand -base64 32`)"
)


@lru_cache(maxsize=4)
def _development_ledger_seed(path: Path) -> str:
    """The development key under var/: read, or made once (atomically: processes of one
    stack may race to make it, and all must sign with the same)."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    try:
        os.link(partial, path)  # fails when another process made it first: theirs stands
    except FileExistsError:
        pass
    finally:
        partial.unlink()
    return path.read_text().strip()


def _explain(error: ValidationError) -> str:
    first = error.errors()[0]
    names = [str(part) for part in first.get("loc", ())]
    variable = names[0] if names else "configuration"
    field = Settings.model_fields.get(variable)
    if field is not None and field.alias:
        variable = field.alias
    elif variable in ("socket_port", "PORT"):  # the name pydantic reports for either alias
        variable = "PORT" if "PORT" in os.environ else "SOCKET_PORT"
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if not names:
        return f"configuration error: {message}"
    return f"configuration error: {variable}: {message}"


def load_settings(**overrides: Any) -> Settings:
    """Read the environment; raise ConfigurationError (one line) when a value is wrong."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(_explain(exc)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def settings_or_exit(*, serves: bool = True) -> Settings:
    """For process entry points: print the one line to stderr and exit 2 on a bad value.
    `serves`: the process signs ledger checkpoints or receipts (every server; not a
    migration), so production needs its signing key."""
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        print(exc.code, file=sys.stderr)
        raise SystemExit(2) from None
    if serves and settings.ledger_key_problem:
        print(settings.ledger_key_problem, file=sys.stderr)
        raise SystemExit(2)
    return settings
