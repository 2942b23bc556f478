"""`make bench` still runs: the scenarios that reach deepest into the app (the API server with
the bench's own routes, the function's handler in process, the bridge, the load generator),
for a second each on the suite's PostgreSQL and Redis. `make test` does not run the bench, and
a change once broke it twice unseen: the bridge's allowlist refused its SCRIPT LOAD, and the
route models' split made the HTTP floor answer 500, which it then measured. Figures are not
judged here (never timings in tests): only that each scenario ran and no answer was a 5xx."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.settings import REPO_ROOT
from tests.support.harness import SuiteServices

pytestmark = pytest.mark.serial  # it loads both cores; alone, after the parallel part


def test_the_bench_runs_its_deepest_scenarios(services: SuiteServices, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {
        **os.environ,
        "APP_ENV": "test",
        # the suite's servers (the bench makes a database and claims a Redis db of its own)
        "DATABASE_URL": services.services.database_url or "",
        "REDIS_URL": services.services.redis_url or "",
        "BENCH_SECONDS": "1",
        "BENCH_BIDDERS": "8",
        "BENCH_CPU_REQUESTS": "20",
        "BENCH_HANDLER_CALLS": "20",
    }
    scenarios = ("api_cpu", "redis_floor", "hot_auction")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--out", str(out)]
        + [arg for name in scenarios for arg in ("--only", name)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert set(results["api_cpu"]["in_handler"]) == {"floor_422", "bid", "get_auction", "list_20"}
    assert results["redis_floor"]["upstash_rest_via_bridge"]["calls_per_s"] > 0
    for latency, runs in results["hot_auction"].items():
        for design, run in runs["8"].items():
            errors = {code: n for code, n in run["statuses"].items() if code.startswith("5")}
            assert not errors, (latency, design, run["statuses"])
            assert run["attempts_per_s"] > 0, (latency, design)
