"""Cold start: the deployed bundle as Lambda runs it. `make package`'s zip extracted into a
read-only directory (`infra.lambda_task`), a fresh interpreter with nothing on its path but the
bundle and the standard library (-S), `import app` and a first GET /api/auctions/{id}
(median of 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

from bench.fixtures import log, new_auction
from shared.settings import REPO_ROOT

COLD_START_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
auction_id = sys.argv[1]
event = {
    "resource": "/api/auctions/{auction_id}", "path": f"/api/auctions/{auction_id}",
    "httpMethod": "GET", "headers": {"Accept": "application/json"},
    "multiValueHeaders": {"Accept": ["application/json"]},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": {"auction_id": auction_id}, "stageVariables": None,
    "requestContext": {"resourcePath": "/api/auctions/{auction_id}", "httpMethod": "GET",
                       "stage": "api", "requestId": "cold-start",
                       "identity": {"sourceIp": "127.0.0.1"}},
    "body": None, "isBase64Encoded": False,
}
class Context:
    aws_request_id = "cold-start"
    function_name = "auction-api"
    memory_limit_in_mb = 512
    def get_remaining_time_in_millis(self): return 30000
response = app.app(event, Context())
t2 = time.perf_counter()
print(json.dumps({"import_ms": (t1 - t0) * 1000, "first_request_ms": (t2 - t1) * 1000,
                  "status": response["statusCode"]}))
"""


def run(database_url: str, redis_url: str, seller: uuid.UUID) -> dict[str, Any]:
    """The deployed bundle as Lambda runs it: `make package`'s zip extracted into a read-only
    directory, a fresh interpreter with nothing on its path but the bundle and the standard
    library (-S), importing app.py and serving a first GET /api/auctions/{id} (PostgreSQL
    and Redis through the bridge, like a real first request)."""
    from infra import lambda_task, package
    from infra.bridge import serve_in_thread

    log("  packaging the functions (make package) to measure the code as it is now")
    bundle = package.package()
    # read-only, like /var/task: no bytecode gets written
    task = lambda_task.extract(bundle, REPO_ROOT / "var" / "bench" / "lambda-task")
    bridge = serve_in_thread(redis_url, "cold-token", 0)
    auction_id = new_auction(database_url, seller)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(task),
        "PYTHONDONTWRITEBYTECODE": "1",
        "APP_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "UPSTASH_REDIS_REST_URL": f"http://127.0.0.1:{bridge.server_address[1]}",
        "UPSTASH_REDIS_REST_TOKEN": "cold-token",
    }
    samples = []
    try:
        for _ in range(7):
            out = subprocess.run(
                [sys.executable, "-S", "-c", COLD_START_PROBE, str(auction_id)],
                cwd=task,
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
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
        "what": "GET /api/auctions/{id} on the extracted make-package bundle, read-only, -S",
    }
