"""Settings: every variable the system reads, with its default; a wrong value stops the
start with one line naming the variable."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.settings import ConfigurationError, RateLimit, Settings, load_settings


def _every_variable() -> set[str]:
    names = {"PORT", "SOCKET_PORT"}
    for field in Settings.model_fields.values():
        if field.alias:
            names.add(field.alias)
    return names


CLEAN = _every_variable()


@pytest.fixture(autouse=True)
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLEAN:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    s = Settings(APP_ENV="development")
    assert (s.app_env, s.api_port, s.socket_port, s.jwt_audience) == (
        "development",
        8000,
        8080,
        "authenticated",
    )
    assert (s.tz, s.currency, s.allow_self_outbid) == ("Asia/Kolkata", "INR", False)
    assert s.upstash_redis_rest_token == "local-dev-token"
    assert s.rest_url == "http://127.0.0.1:8079"
    assert s.sendgrid_api_host == "https://api.sendgrid.com"
    assert s.rate_limit == RateLimit(per_second=5.0, burst=10)
    assert s.dev_login_enabled


def test_fees_are_off_and_gst_is_18_percent_by_default() -> None:
    D0 = Decimal(0)
    s = Settings(APP_ENV="test")
    assert (s.buyers_premium_pct, s.platform_fee_pct, s.gst_rate_pct) == (D0, D0, Decimal(18))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("9", "9"), ("12.5", "12.5"), ("2.25", "2.25"), ("0", "0"), ("100", "100")],
)
def test_fee_percentages_keep_up_to_two_decimals(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    monkeypatch.setenv("PLATFORM_FEE_PCT", text)
    assert Settings(APP_ENV="test").platform_fee_pct == Decimal(expected)


def test_app_env_defaults_to_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """An image given a DATABASE_URL and nothing else must not seed demo users into it."""
    monkeypatch.setenv("SUPABASE_JWT_SECRET", "a-real-secret")
    settings = load_settings()
    assert settings.app_env == "production"
    assert not settings.dev_login_enabled


def test_port_wins_over_socket_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Render sets PORT; the image sets SOCKET_PORT=8080. PORT must win."""
    monkeypatch.setenv("SOCKET_PORT", "9000")
    assert Settings(APP_ENV="test").socket_port == 9000
    monkeypatch.setenv("PORT", "10000")
    assert Settings(APP_ENV="test").socket_port == 10000


def test_public_urls_are_kept_without_a_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_PUBLIC_URL", "https://abc.execute-api.ap-south-1.amazonaws.com/prod/")
    monkeypatch.setenv("WS_PUBLIC_URL", "wss://socket.example.com/ws")
    monkeypatch.setenv("SUPABASE_URL", "https://xyz.supabase.co")
    s = Settings(APP_ENV="test")
    assert s.api_public_url == "https://abc.execute-api.ap-south-1.amazonaws.com/prod"
    assert s.ws_public_url == "wss://socket.example.com/ws"
    assert s.supabase_url == "https://xyz.supabase.co"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("APP_ENV", "staging"),
        ("API_PORT", "eighty"),
        ("SOCKET_PORT", "70000"),
        ("TZ", "Mars/Olympus"),
        ("CURRENCY", "rupees"),
        ("DATABASE_URL", "mysql://x"),
        ("REDIS_URL", "http://x"),
        ("JWT_PUBLIC_KEYS", "{not json"),
        ("JWT_PUBLIC_KEYS", '{"keys": [{"kty": "RSA", "n": "@@", "e": "AQAB"}]}'),
        ("BID_RATE_LIMIT", "fast"),
        ("ALLOW_SELF_OUTBID", "perhaps"),
        ("API_PUBLIC_URL", "api.example.com"),
        ("API_PUBLIC_URL", "ftp://api.example.com"),
        ("WS_PUBLIC_URL", "https://socket.example.com/ws"),
        ("SUPABASE_URL", "https://"),
        ("SUPABASE_URL", "not a url"),
        ("MEDIA_BASE_URL", "//cdn.example.com"),
        ("DECISION_DEFAULT", "maybe"),
        ("DECISION_WINDOW_SECS", "0"),
        ("PAYMENT_WINDOW_SECS", "forever"),
        ("PORT", "-1"),
        ("LATE_BID_GRACE_MS", "5001"),
        ("LATE_BID_GRACE_MS", "-1"),
        ("BUYERS_PREMIUM_PCT", "9%"),
        ("BUYERS_PREMIUM_PCT", "-1"),
        ("PLATFORM_FEE_PCT", "100.01"),
        ("PLATFORM_FEE_PCT", "2.125"),
        ("GST_RATE_PCT", "eighteen"),
        ("GST_RATE_PCT", "1e1"),
        ("SHIP_WINDOW_SECS", "0"),
        ("SHIP_WINDOW_SECS", "5 days"),
        ("DISPUTE_WINDOW_SECS", "-1"),
        ("DISPUTE_WINDOW_SECS", "99999999999"),
        ("LEDGER_SIGNING_KEY", "not base64!"),
        ("LEDGER_SIGNING_KEY", "AAAAAAAAAAAAAAAAAAAAAA=="),  # 16 bytes: not an Ed25519 seed
        ("LEDGER_MMD_MS", "0"),
        ("LEDGER_MMD_MS", "soon"),
    ],
)
def test_a_wrong_value_names_its_variable_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as failure:
        load_settings()
    message = str(failure.value.code)
    assert message.startswith(f"configuration error: {variable}: "), message
    assert "\n" not in message


def test_production_refuses_to_start_without_real_auth_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigurationError, match="SUPABASE_JWT_SECRET"):
        load_settings()
    monkeypatch.setenv("SUPABASE_JWT_SECRET", "a-real-secret")
    settings = load_settings()
    assert not settings.dev_login_enabled


def test_keys_turn_dev_login_off_outside_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPABASE_JWKS_URL", "https://example.supabase.co/auth/v1/jwks")
    assert not Settings(APP_ENV="development").dev_login_enabled


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5/s", RateLimit(5.0, 10)), ("5/s:3", RateLimit(5.0, 3)), ("120/m", RateLimit(2.0, 4))],
)
def test_rate_limit_forms(text: str, expected: RateLimit) -> None:
    assert RateLimit.parse(text) == expected
