"""A cold function starts lean: the bundle as Lambda runs it (extracted read-only, a fresh
interpreter that sees only the bundle, the runtime's boto3 and the standard library) imports
the app and answers a first bid (201, through an API Gateway REST event, against the suite's
PostgreSQL and Redis behind the REST bridge) without loading any of the heavy packages that
only other routes need. The modules are named, not timed (the bench times them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.services import blocks, moderation
from shared.services.context import Context
from tests.api.conftest import bundle_environment
from tests.support import harness
from tests.support.gateway import Gateway, LambdaTask
from tests.support.harness import SuiteServices

# What only other routes (or other processes) need, and a cold bid must never load: the ORM,
# pydantic-settings, image and PDF codecs, the AWS SDK, an HTTP client library (and the
# upstash-redis client that imports one), the standard library's mail package.
HEAVY = (
    "sqlalchemy",
    "pydantic_settings",
    "PIL",
    "reportlab",
    "boto3",
    "botocore",
    "httpx",
    "httpcore",
    "anyio",
    "upstash_redis",
    "sendgrid",
    "alembic",
)


# The one part of the mail package a cold bid does load, and why: pg8000 and scramp (its SCRAM
# authentication) each look up their own version at import (`importlib.metadata.version`),
# and importlib.metadata parses a distribution's METADATA file as a mail message. Exactly what
# `importlib.metadata.version()` loads; any other part (MIME, the generator, smtplib's
# headerregistry) means our code reached for the mail package, and fails here.
EMAIL_BY_METADATA = frozenset(
    {
        "email",
        "email._encoded_words",
        "email._parseaddr",
        "email._policybase",
        "email.base64mime",
        "email.charset",
        "email.encoders",
        "email.errors",
        "email.feedparser",
        "email.header",
        "email.iterators",
        "email.message",
        "email.parser",
        "email.quoprimime",
        "email.utils",
    }
)


def heavy_among(modules: list[str]) -> list[str]:
    heavy = [name for name in modules if name.split(".")[0] in HEAVY]
    mail = [name for name in modules if name.split(".")[0] == "email"]
    if mail and ("importlib.metadata" not in modules or set(mail) - EMAIL_BY_METADATA):
        heavy += mail
    return sorted(heavy)


@pytest.fixture
def cold(lambda_bundle: LambdaTask, services: SuiteServices, tmp_path: Path) -> Iterator[Gateway]:
    """A new instance of the function: its own interpreter, nothing imported yet but the app.
    (No S3 here: a bid never reaches it.)"""
    env = bundle_environment(services, "http://127.0.0.1:9")
    gateway = Gateway(lambda_bundle, env, tmp_path / "function.log").start()
    try:
        yield gateway
    finally:
        gateway.stop()


def test_import_and_a_first_bid_load_nothing_heavy(cold: Gateway, ctx: Context) -> None:
    seller = harness.person(ctx, "seller")
    bidder = harness.person(ctx, "buyer")
    # A Redis that has been running holds the suspended set (rebuilding it is the ORM's job,
    # after a flush); the auction's state is seeded as its creation seeds it.
    moderation.load_suspended(ctx)
    auction_id = harness.live_auction(ctx, seller)
    blocks.ensure_loaded(ctx, str(seller.id))  # as listing it loads its seller's blocked set
    at_import = cold.hello["modules_at_import"]
    assert heavy_among(at_import) == [], f"`import app` loaded {heavy_among(at_import)}"

    reply = cold.request(
        "POST",
        f"/api/auctions/{auction_id}/bids",
        headers=[("Authorization", f"Bearer {bidder.token}"), ("Content-Type", "application/json")],
        body=json.dumps({"amount": "100.00"}).encode(),
    )
    assert reply.status == 201, reply.body
    assert json.loads(reply.body)["bidderId"] == bidder.id

    after_bid = cold.modules()
    heavy = heavy_among(after_bid)
    assert heavy == [], f"the first bid loaded {heavy}; every module loaded: {after_bid}"
    # What the bid did need is there: the hot lane's driver and the bid path's own modules.
    assert {"pg8000", "shared.services.bidding", "shared.services.bid_rows"} <= set(after_bid)
    # The other routes' ~90 models are built when one of those routes is first called.
    assert "chalicelib.schemas.bids" in after_bid
    assert "chalicelib.schemas.api" not in after_bid
    # And the names are the whole story: the list is short enough to read.
    assert len(after_bid) < 500, len(after_bid)


def test_a_route_that_needs_the_orm_still_loads_it_when_first_called(
    cold: Gateway, ctx: Context
) -> None:
    """The lean start defers, it does not remove: an auction list (whose service module is
    the ORM's) loads SQLAlchemy and the other routes' models on its first call and answers."""
    reply = cold.request("GET", "/api/auctions", query="status=live&limit=2")
    assert reply.status == 200, reply.body
    assert {"sqlalchemy", "chalicelib.schemas.api"} <= set(cold.modules())
