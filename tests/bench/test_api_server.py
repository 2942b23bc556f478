"""The bench's routes live with the bench (`bench.routes`), mounted by its own server
(`bench.api_server`); the app the functions ship has none, whatever the environment says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from shared.settings import REPO_ROOT

ROUTES = """
import json, sys
if sys.argv[1] == "bench":
    from bench.api_server import make_app
else:
    from infra.api_server import make_app
gateway = make_app()  # what each of the server's workers builds
print(json.dumps(sorted(p for p in gateway.app.routes if p.startswith("/bench"))))
"""


def _printed(script: str, *args: str, **env: str) -> Any:
    """What `script` prints last, as JSON, run in a fresh interpreter (the routes register
    into process-wide tables) with APP_ENV as `env` says, unset when it says nothing."""
    environ = {k: v for k, v in os.environ.items() if k != "APP_ENV"}
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _bench_paths(which: str, **env: str) -> list[str]:
    paths: list[str] = _printed(ROUTES, which, **env)
    return paths


def test_the_app_has_no_bench_route_even_with_the_old_switch_and_no_app_env() -> None:
    # APP_ENV unset means production; the old switch registered the routes all the same.
    assert _bench_paths("app", AUCTION_BENCH_ROUTES="1") == []


def test_the_bench_server_mounts_them() -> None:
    assert _bench_paths("bench", APP_ENV="test") == [
        "/bench/noop",
        "/bench/rowlock/{auction_id}/bids",
        "/bench/search-ilike",
    ]


MODELS = """
import json
from bench.api_server import make_app
from chalicelib.operations import OPERATIONS
make_app()
print(json.dumps({
    op.path: [m.__name__ for m in (op.body, op.query, op.response) if m is not None]
    for op in OPERATIONS if op.path.startswith("/bench")
}))
"""


def test_the_bench_routes_models_resolve() -> None:
    """The bench's routes give their own models as classes (the API's routes name theirs):
    each resolves, or every request to the route would answer 500 and the floor measure it."""
    assert _printed(MODELS, APP_ENV="test") == {
        "/bench/noop": ["PlaceBid", "BenchAck"],
        "/bench/rowlock/{auction_id}/bids": ["PlaceBid", "BenchBid"],
        "/bench/search-ilike": ["AuctionSearchQuery", "AuctionList"],
    }
