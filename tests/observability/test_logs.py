"""Every log line is one JSON object (the API and the socket node, real processes), with the
credentials masked; one bid is followed by its request id from the API's request line through
its outbox record to every socket node's fan-out line, and never reaches a client."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import chalice.test
import httpx
import orjson
import pytest

from infra.embedded import free_port
from shared.logs import Event, JsonFormatter, configure_logging
from shared.services import bidding
from shared.services.context import Context
from tests.support import streams
from tests.support.harness import TOKEN, Person, SuiteServices, live_auction
from tests.support.processes import logged_stack
from tests.support.socket_node import Client, wait_for


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("test-service"))
    logger = logging.getLogger(f"test.logs.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, out


def written(out: io.StringIO) -> list[dict[str, Any]]:
    text = out.getvalue()
    assert text.endswith("\n")
    parsed = [orjson.loads(line) for line in text.splitlines()]
    assert all(isinstance(line, dict) for line in parsed)
    return parsed


def test_each_record_is_one_json_object(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = lines
    logger.info("schedule rebuilt: %d open auctions", 3)
    logger.warning(orjson.dumps({"event": "job_retry", "id": "email:1", "attempt": 2}).decode())
    logger.info(Event(event="fanout", requestId="r-1", receivers=2))
    logger.info("[1, 2]")  # JSON, but not an object: a message
    logger.info('{"not": json')
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logger.exception("tick failed")
    plain, event, fast, array, broken, failed = written(out)
    assert plain["message"] == "schedule rebuilt: 3 open auctions"
    assert plain["level"] == "info" and plain["service"] == "test-service"
    assert plain["logger"] == logger.name
    assert plain["time"].endswith("Z") and len(plain["time"]) == len("2026-01-01T00:00:00.000Z")
    assert event["event"] == "job_retry" and event["attempt"] == 2 and event["level"] == "warning"
    assert "message" not in event
    assert fast["event"] == "fanout" and fast["requestId"] == "r-1" and fast["receivers"] == 2
    assert array["message"] == "[1, 2]"
    assert broken["message"] == '{"not": json'
    assert failed["message"] == "tick failed" and failed["level"] == "error"
    assert "Traceback" in failed["error"] and "boom\nsecond line" in failed["error"]
    assert len(out.getvalue().splitlines()) == 6  # the traceback inside its line


def test_credentials_are_masked_in_every_member(lines: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = lines
    logger.warning("feed unreadable (%s)", "redis://:hunter2@cache:6379/0 refused")
    logger.info(Event(event="start", database="postgresql://app:s3cret@db/auction"))
    logger.info(orjson.dumps({"event": "x", "url": "https://h/?token=abc123"}).decode())
    try:
        raise OSError("cannot reach rediss://default:tok3n@eu1.upstash.io:6379")
    except OSError:
        logger.exception("down")
    text = out.getvalue()
    for secret in ("hunter2", "s3cret", "abc123", "tok3n"):
        assert secret not in text
    first, second, third, fourth = written(out)
    assert first["message"] == "feed unreadable (redis://:***@cache:6379/0 refused)"
    assert second["database"] == "postgresql://app:***@db/auction"
    assert third["url"] == "https://h/?token=***"
    assert "rediss://default:***@eu1.upstash.io" in fourth["error"]


def test_configure_logging_replaces_the_default_and_lambdas_handlers_only() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)

    class LambdaLoggerHandler(logging.Handler):  # AWS Lambda's runtime handler, by name
        def emit(self, record: logging.LogRecord) -> None:
            pass

    class CaptureHandler(logging.StreamHandler[TextIO]):  # a test runner's
        pass

    plain, lambdas, capture = logging.StreamHandler(), LambdaLoggerHandler(), CaptureHandler()
    try:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in (plain, lambdas, capture):
            root.addHandler(handler)
        ours = configure_logging("api", "INFO")
        assert configure_logging("api", "INFO") is ours  # twice: still one
        assert plain not in root.handlers and lambdas not in root.handlers
        assert capture in root.handlers
        assert [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)] == [ours]
        for name in ("httpx", "httpcore", "websockets"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


@pytest.mark.parametrize(
    ("given", "kept"),
    [("trace-abc-123", True), ("a b", False), ("x" * 129, False), ("id;drop", False)],
)
def test_a_request_id_is_kept_only_when_it_is_a_plain_token(
    client: chalice.test.Client, given: str, kept: bool
) -> None:
    answered = client.http.get("/api/auctions", headers={"X-Request-Id": given})
    request_id = {k.lower(): v for k, v in answered.headers.items()}["x-request-id"]
    assert (request_id == given) is kept
    if not kept:
        assert len(request_id) == 32


def test_the_request_id_rides_the_feed_entry_and_the_outbox_record_never_the_event(
    ctx: Context, seller: Person, buyer: Person, admin: Person
) -> None:
    auction = live_auction(ctx, seller)
    bidding.place_bid(ctx, auction, buyer.id, Decimal("100"), request_id="rid-42")
    bidding.place_bid(ctx, auction, admin.id, Decimal("200"))  # none given: none carried
    room = [f["e"] for _, f in streams.entries(ctx, f"auction:{auction}:events")]
    feed = [f for _, f in streams.entries(ctx, "events:feed")]
    records = [json.loads(f["r"]) for _, f in streams.entries(ctx, "outbox:bids")]
    assert len(room) == 2 and not any("rid-42" in e for e in room)  # what clients and replay read
    placed = [f for f in feed if f.get("room") == str(auction)]
    outbid = [f for f in feed if f.get("user") == buyer.id]
    assert [f.get("rid") for f in placed] == ["rid-42", None]
    assert [f.get("rid") for f in outbid] == [None]  # the second bid's consequence
    assert not any("rid-42" in f["e"] for f in feed)
    assert [r.get("requestId") for r in records] == ["rid-42", None]


def test_one_bid_is_followed_from_the_api_to_the_socket_node_in_json_logs(
    services: SuiteServices,
    ctx: Context,
    tmp_path: Path,
    seller: Person,
    buyer: Person,
    clients: Callable[..., Client],
) -> None:
    stack = logged_stack(
        tmp_path,
        database_url=services.database_url,
        redis_url=services.redis_url,
        api_port=free_port(),
        socket_port=free_port(),
        bridge_port=None,  # the suite's bridge (UPSTASH_REDIS_REST_URL)
        token=TOKEN,
    )
    rid = f"trace-{uuid.uuid4().hex[:12]}"
    try:
        stack.start_api()
        stack.start_socket_node()
        stack.wait_healthy(60)
        auction = live_auction(ctx, seller)
        watcher = clients(f"ws://127.0.0.1:{stack.socket_port}/ws")
        assert watcher.join(auction)["type"] == "snapshot"
        answered = httpx.post(
            f"{stack.api_url}/api/auctions/{auction}/bids",
            json={"amount": "100.00"},
            headers={**buyer.headers, "X-Request-Id": rid},
            timeout=10,
        )
        assert answered.status_code == 201, answered.text
        event = watcher.until(lambda m: m["type"] == "bid:placed")
        # What a client receives: the contract's members, no request id anywhere.
        assert set(event) == {"type", "eventId", "auctionId", "data", "ts"}
        assert rid not in json.dumps(event)
        # The node's ticker drains the outbox record into PostgreSQL and says so.
        wait_for(
            lambda: any(
                '"bid_intake"' in line and rid in line for line in stack.log("socket").splitlines()
            ),
            timeout=15,
        )
    finally:
        stack.stop()
        stack.close_logs()

    logs = {name: stack.log(name) for name in ("api", "socket")}
    parsed: dict[str, list[dict[str, Any]]] = {}
    for name, text in logs.items():
        assert text.strip(), name
        parsed[name] = []
        for line in text.splitlines():
            if line.strip():
                value = orjson.loads(line)  # every line one JSON object, or this raises
                assert isinstance(value, dict), line
                parsed[name].append(value)
        assert "HTTP Request" not in text  # httpx's INFO lines are quieted
    requests = [x for x in parsed["api"] if x.get("requestId") == rid]
    assert len(requests) == 1 and requests[0]["event"] == "request"
    assert requests[0]["status"] == 201 and "_aws" in requests[0]
    fanout = [x for x in parsed["socket"] if x.get("event") == "fanout"]
    mine = [x for x in fanout if x.get("requestId") == rid]
    assert len(mine) == 1
    assert mine[0]["type"] == "bid:placed" and mine[0]["auctionId"] == str(auction)
    assert mine[0]["receivers"] == 1 and mine[0]["eventId"] == event["eventId"]
    intake = [x for x in parsed["socket"] if x.get("event") == "bid_intake"]
    assert any(rid in x["requestIds"] for x in intake)
    assert {x["service"] for x in parsed["api"]} == {"api"}
    assert {x["service"] for x in parsed["socket"]} == {"socket-node"}
