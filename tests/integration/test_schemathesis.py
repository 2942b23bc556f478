"""Schemathesis against the real local HTTP server, driven by the API's own OpenAPI document:
generated requests (valid and invalid) to every operation, bounded, and every answer must be
no server error and must match what the document says about that status."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.harness import Person, live_auction

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@pytest.fixture
def people(
    ctx: Any, seller: Person, buyer: Person, admin: Person, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Tokens for each role, and a live auction of the seller's for half of the cases that
    name an auction (the other half get whatever id the generator made up: a 404)."""
    # The limiters have their own tests; here they would only turn cases into 429s.
    monkeypatch.setattr(ctx.settings, "write_rate_limit", "1000/s:1000")
    monkeypatch.setattr(ctx.settings, "bid_rate_limit", "1000/s:1000")
    return {
        "seller": seller,
        "buyer": buyer,
        "admin": admin,
        "auction": str(live_auction(ctx, seller, duration_mins=60)),
        "turn": itertools.count(),
    }


def _caller(case: Any, people: dict[str, Any]) -> Person:
    path = case.operation.path
    if path.startswith("/api/admin"):
        return people["admin"]
    if path.endswith("/bids") and case.method.upper() == "POST":
        return people["buyer"]  # the seller may not bid on their own auction
    return people["seller"]


def _load() -> Any:
    # The document the server serves is built from the same app (test_openapi checks that the
    # served JSON equals it); it is loaded here, at collection, because schemathesis's lazy
    # fixture loader does not work with this pytest.
    import app  # noqa: F401  (registers every route)
    from chalicelib.openapi import document

    loaded = schemathesis.openapi.from_dict(document())
    loaded.config.generation.update(
        max_examples=MAX_EXAMPLES,
        deterministic=True,  # the same cases every run: a failure here is reproducible
        with_security_parameters=False,  # the test signs every request in (test_auth forges)
        modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
    )
    return loaded


schema = _load()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_answers_every_generated_request_as_documented(
    case: Any, people: dict[str, Any], api_url: str
) -> None:
    if "auction_id" in (case.path_parameters or {}) and next(people["turn"]) % 2 == 0:
        case.path_parameters["auction_id"] = people["auction"]
    headers = _caller(case, people).headers
    case.call_and_validate(base_url=api_url, headers=headers, checks=CHECKS, timeout=10)
