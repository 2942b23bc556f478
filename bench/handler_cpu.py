"""What one request costs the function's handler in CPU, in process: what Lambda bills, without
any server in front. The app is imported here and called with API Gateway REST proxy events
(events v1, as the gateway sends them) against a real PostgreSQL and Redis through the REST
bridge (a process of its own, so its CPU is not counted); the clock is `time.process_time`
around N calls of each kind.

    python -m bench.handler_cpu [N] [--kinds a,b] [--profile KIND] [--rounds R] [--json PATH]

Kinds: `floor_422` (a bid whose body is refused, 422, before any I/O: Chalice, the middleware,
the token check and the log line), `bid` (two bidders alternate, each bidding the minimum it
last saw: about every other one is refused `bid_too_low`, a hot auction's mix),
`get_auction` (`GET /api/auctions/{id}`), `list_20` (a list of 20).
The request log line is written (to stdout: run it with stdout sent to /dev/null), as Lambda
writes it. With `--profile KIND`, cProfile's top entries (by cumulative and by own time) for
N calls of that kind go to stderr. With `--json PATH`, each kind's median (µs) is written there
(`make bench` runs it so, in a process of its own: the app's import and settings stay out of
the bench's).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from bench.fixtures import bench_services, new_auction, setup_database
from infra.embedded import free_port
from infra.stack import Stack
from shared.settings import REPO_ROOT


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def event(method: str, resource: str, path: str, token: str, **extra: Any) -> dict[str, Any]:
    """An API Gateway REST proxy event (v1) as the gateway sends it for this route."""
    headers = {
        "Accept": "application/json",
        "Authorization": f"Bearer {token}",
        "Host": "a1b2c3d4e5.execute-api.ap-south-1.amazonaws.com",
        "User-Agent": "bench",
        "X-Forwarded-For": "203.0.113.7",
    }
    body = extra.get("body")
    if body is not None:
        headers["Content-Type"] = "application/json"
    query = extra.get("query")
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": extra.get("params"),
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "bench"},
            "apiId": "a1b2c3d4e5",
        },
        "body": orjson.dumps(body).decode() if body is not None else None,
        "isBase64Encoded": False,
    }


def main(
    argv: list[str] | None = None, variants: dict[str, Callable[[], None] | None] | None = None
) -> None:
    """`variants`: names and what to run before each call (None: nothing), measured in turn
    within every round (the same process, the same window): an A/B of a change that can be
    switched off at run time, e.g. a cache cleared before each call."""
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=2000)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default="floor_422,bid,get_auction,list_20")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    os.environ["APP_ENV"] = "test"
    with bench_services("bench_handler_cpu") as (database_url, redis_url):
        tokens, seller = setup_database(database_url, 2)
        stack = Stack(
            database_url=database_url,
            redis_url=redis_url,
            bridge_port=free_port(),
            quiet=True,
            extra_env={"APP_ENV": "test"},
        )
        stack.start_bridge()
        try:
            os.environ.update(
                {k: v for k, v in stack.env.items() if k not in ("API_PORT", "SOCKET_PORT")}
            )
            os.environ["BID_RATE_LIMIT"] = "1000000/s:1000000"
            sys.path.insert(0, str(REPO_ROOT / "functions"))
            import app as functions_app

            handler = functions_app.app
            for _ in range(25):  # a list of 20 has something to show
                new_auction(database_url, seller)
            auction_id = str(new_auction(database_url, seller))
            state = {"min": "1.00"}
            context = None

            def bid(i: int) -> None:
                answer = handler(
                    event(
                        "POST",
                        "/api/auctions/{auction_id}/bids",
                        f"/api/auctions/{auction_id}/bids",
                        tokens[i % 2],
                        params={"auction_id": auction_id},
                        body={"amount": state["min"]},
                    ),
                    context,
                )
                assert answer["statusCode"] in (201, 409), answer
                body = orjson.loads(answer["body"])
                if answer["statusCode"] == 201 or (i % 4 == 0 and body.get("minNextBid")):
                    state["min"] = body["minNextBid"]

            def get_auction(i: int) -> None:
                answer = handler(
                    event(
                        "GET",
                        "/api/auctions/{auction_id}",
                        f"/api/auctions/{auction_id}",
                        tokens[0],
                        params={"auction_id": auction_id},
                    ),
                    context,
                )
                assert answer["statusCode"] == 200, answer

            def list_20(i: int) -> None:
                query = {"limit": "20"}
                answer = handler(
                    event("GET", "/api/auctions", "/api/auctions", tokens[0], query=query), context
                )
                assert answer["statusCode"] == 200, answer

            def refused(i: int) -> None:
                # The floor: Chalice, the middleware, the token (cached), the body refused
                # (422) before any I/O, the problem rendered and its log line.
                answer = handler(
                    event(
                        "POST",
                        "/api/auctions/{auction_id}/bids",
                        f"/api/auctions/{auction_id}/bids",
                        tokens[0],
                        params={"auction_id": auction_id},
                        body={"amount": "a lot"},
                    ),
                    context,
                )
                assert answer["statusCode"] == 422, answer

            kinds: dict[str, Callable[[int], None]] = {
                "floor_422": refused,
                "bid": bid,
                "get_auction": get_auction,
                "list_20": list_20,
            }
            kinds = {name: kinds[name] for name in args.kinds.split(",")}
            for call in kinds.values():  # warm every path
                for i in range(50):
                    call(i)
            if args.profile:
                call = kinds[args.profile]  # among --kinds
                profile = cProfile.Profile(time.process_time)
                profile.enable()
                for i in range(args.count):
                    call(i)
                profile.disable()
                stats = pstats.Stats(profile, stream=sys.stderr)
                if os.environ.get("BENCH_PROFILE_OUT"):
                    stats.dump_stats(os.environ["BENCH_PROFILE_OUT"])
                stats.sort_stats("cumulative").print_stats(45)
                stats.sort_stats("tottime").print_stats(35)
                return
            variants = variants or {"": None}
            figures: dict[str, list[float]] = {
                f"{name}{' ' if variant else ''}{variant}": []
                for name in kinds
                for variant in variants
            }
            for _ in range(args.rounds):
                for name, call in kinds.items():
                    for variant, before_each in variants.items():
                        before = time.process_time()
                        for i in range(args.count):
                            if before_each is not None:
                                before_each()
                            call(i)
                        spent = (time.process_time() - before) / args.count * 1e6
                        figures[f"{name}{' ' if variant else ''}{variant}"].append(spent)
            say(f"load average {os.getloadavg()}")
            for name, values in figures.items():
                say(
                    f"  {name:<20} median {statistics.median(values):7.0f} µs"
                    f"  ({', '.join(f'{v:.0f}' for v in values)})"
                )
            if args.json:
                medians = {name: round(statistics.median(v), 1) for name, v in figures.items()}
                with open(args.json, "wb") as out:
                    out.write(orjson.dumps(medians))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
