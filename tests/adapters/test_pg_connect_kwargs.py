"""How a libpq-style URL's `sslmode` reaches pg8000 (`connect_kwargs`)."""

from __future__ import annotations

import ssl

from shared.adapters.pg import connect_kwargs

URL = "postgresql://app:secret@db.example.com:6543/auctions"


def test_require_encrypts_without_verifying_or_loading_the_ca_bundle() -> None:
    context = connect_kwargs(f"{URL}?sslmode=require")["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing loaded that nothing reads


def test_verify_full_checks_the_certificate_and_the_host() -> None:
    context = connect_kwargs(f"{URL}?sslmode=verify-full")["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    verify_ca = connect_kwargs(f"{URL}?sslmode=verify-ca")["ssl_context"]
    assert verify_ca.verify_mode == ssl.CERT_REQUIRED and not verify_ca.check_hostname


def test_disable_is_plaintext_and_no_mode_leaves_the_driver_its_default() -> None:
    assert connect_kwargs(f"{URL}?sslmode=disable")["ssl_context"] is False
    plain = connect_kwargs(URL)
    assert "ssl_context" not in plain  # pg8000 offers TLS and falls back (libpq's `prefer`)
    assert (plain["host"], plain["port"], plain["database"]) == ("db.example.com", 6543, "auctions")
    assert (plain["user"], plain["password"]) == ("app", "secret")
