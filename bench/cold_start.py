"""Cold start: the deployed bundle as Lambda runs it. `make package`'s zip extracted into a
read-only directory (`infra.lambda_task`), a fresh interpreter with nothing on its path but the
bundle and the standard library (-S), `import app` and a first bid answered (POST
/api/auctions/{id}/bids by a signed-in bidder on a live auction whose Redis state the bid
PostgreSQL has and Redis was given, as an auction's creation gives it: the whole bid path, cold;
median of 7). Also the modules imported, by package, for the profile of a miss."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from bench.fixtures import log, new_auction
from shared.settings import REPO_ROOT

COLD_START_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
imported = len(sys.modules)
auction_id, token = sys.argv[1], sys.argv[2]
path = f"/api/auctions/{auction_id}/bids"
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
event = {
    "resource": "/api/auctions/{auction_id}/bids", "path": path,
    "httpMethod": "POST", "headers": headers,
    "multiValueHeaders": {k: [v] for k, v in headers.items()},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": {"auction_id": auction_id}, "stageVariables": None,
    "requestContext": {"resourcePath": "/api/auctions/{auction_id}/bids", "httpMethod": "POST",
                       "stage": "api", "requestId": "cold-start",
                       "identity": {"sourceIp": "127.0.0.1"}},
    "body": json.dumps({"amount": "1.00"}), "isBase64Encoded": False,
}
class Context:
    aws_request_id = "cold-start"
    function_name = "auction-api"
    memory_limit_in_mb = 512
    def get_remaining_time_in_millis(self): return 30000
response = app.app(event, Context())
t2 = time.perf_counter()
packages = {}
for name in sys.modules:
    top = name.split(".")[0]
    packages[top] = packages.get(top, 0) + 1
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_request_ms": (t2 - t1) * 1000,
                  "status": response["statusCode"], "modules_at_import": imported,
                  "modules_after_bid": len(sys.modules), "packages": packages}))
"""


def plaintext(database_url: str) -> str:
    """The URL with `sslmode=disable` unless it names a mode."""
    if "sslmode=" in database_url:
        return database_url
    return f"{database_url}{'&' if '?' in database_url else '?'}sslmode=disable"


def bundle_environment(
    task: Path, database_url: str, rest_url: str, rest_token: str
) -> dict[str, str]:
    """What a function instance of the extracted bundle at `task` is started with."""
    from shared.adapters.tokens import dev_secret
    from shared.settings import load_settings

    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(task),
        "PYTHONDONTWRITEBYTECODE": "1",
        "APP_ENV": "test",
        "LOG_LEVEL": "WARNING",
        # The local PostgreSQL speaks no TLS: said in the URL, as a deploy to such a server
        # would (without it pg8000 offers TLS first, loading the CA bundle to do so).
        "DATABASE_URL": plaintext(database_url),
        "UPSTASH_REDIS_REST_URL": rest_url,
        "UPSTASH_REDIS_REST_TOKEN": rest_token,
        # The bidders' tokens are HS256 under the local dev secret; the bundle trusts them as
        # a Supabase project's (legacy JWT secret) tokens: its read-only task has no var/.
        "SUPABASE_JWT_SECRET": dev_secret(load_settings()),
    }


def run(database_url: str, redis_url: str, tokens: list[str], seller: uuid.UUID) -> dict[str, Any]:
    """The deployed bundle as Lambda runs it: `make package`'s zip extracted into a read-only
    directory, a fresh interpreter with nothing on its path but the bundle and the standard
    library (-S), importing app.py and answering a first bid (PostgreSQL, and Redis through
    the bridge, like a real first request), each sample on an auction of its own."""
    from infra import lambda_task, package
    from infra.bridge import serve_in_thread
    from shared.services import auction_state, blocks, moderation
    from shared.services.context import for_socket_node
    from shared.settings import load_settings

    log("  packaging the functions (make package) to measure the code as it is now")
    bundle = package.package()
    # read-only, like /var/task: no bytecode gets written
    task = lambda_task.extract(bundle, REPO_ROOT / "var" / "bench" / "lambda-task")
    bridge = serve_in_thread(redis_url, "cold-token", 0)
    env = bundle_environment(
        task, database_url, f"http://127.0.0.1:{bridge.server_address[1]}", "cold-token"
    )
    # The auction's state in Redis, as creating an auction writes it (the bench makes its
    # auctions in PostgreSQL only), the seller's blocked set as listing leaves it, and the
    # suspended set a running Redis holds: the cold
    # bid is an ordinary first bid, not a recovery from a flushed Redis (which rebuilds both
    # through the ORM).
    seeding = for_socket_node(load_settings(DATABASE_URL=database_url, REDIS_URL=redis_url))
    moderation.load_suspended(seeding)
    blocks.ensure_loaded(seeding, str(seller))  # as listing an auction leaves it
    samples = []
    try:
        for i in range(7):
            auction_id = new_auction(database_url, seller)
            auction_state.rebuild(seeding, auction_id)
            out = subprocess.run(
                [sys.executable, "-S", "-c", COLD_START_PROBE, str(auction_id), tokens[i]],
                cwd=task,
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            sample = json.loads(out.stdout.strip().splitlines()[-1])
            if sample["status"] != 201:  # a refused bid would time a shorter path
                raise RuntimeError(f"the cold bid was answered {sample['status']}: {out.stdout}")
            samples.append(sample)
    finally:
        seeding.close()
        bridge.shutdown()
        bridge.server_close()
    samples.sort(key=lambda s: s["import_ms"] + s["first_request_ms"])
    median = samples[len(samples) // 2]
    return {
        "import_ms": round(median["import_ms"], 1),
        "first_request_ms": round(median["first_request_ms"], 1),
        "total_ms": round(median["import_ms"] + median["first_request_ms"], 1),
        "status": median["status"],
        "samples": len(samples),
        "modules_at_import": median["modules_at_import"],
        "modules_after_bid": median["modules_after_bid"],
        "heaviest_packages": dict(
            sorted(median["packages"].items(), key=lambda item: -item[1])[:12]
        ),
        "what": "import app + a first bid (POST /api/auctions/{id}/bids, 201) on the "
        "extracted make-package bundle, read-only, -S",
    }
