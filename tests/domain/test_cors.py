"""The CORS rule (shared/domain/cors.py) over plain strings."""

from __future__ import annotations

import pytest

from shared.domain.cors import CorsGrant, cors_grant

NAMED = ("https://shop.example", "http://localhost:8080")


def test_a_named_origin_gets_itself_with_credentials() -> None:
    assert cors_grant("https://shop.example", NAMED) == CorsGrant("https://shop.example", True)
    assert cors_grant("https://other.example", NAMED) is None
    assert cors_grant(None, NAMED) is None


def test_a_wildcard_gives_the_standard_star_without_credentials() -> None:
    assert cors_grant("https://other.example", ("*",)) == CorsGrant("*", False)
    # a named origin in the same list keeps its credentials
    assert cors_grant("https://shop.example", ("*", *NAMED)) == CorsGrant(
        "https://shop.example", True
    )


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "NULL",
        "file://",
        "data:text/html,x",
        "https://shop.example/",
        "https://shop.example/path",
        "https://user@shop.example",
        "https://shop.example:port",
        "javascript://shop.example",
        "",
    ],
)
def test_what_is_not_a_real_origin_is_never_granted(origin: str) -> None:
    assert cors_grant(origin, ("*", origin, *NAMED)) is None
