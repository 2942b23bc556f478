"""The functions' CloudWatch Embedded Metric Format lines: every bid's request
line carries BidLatency, BidAccepted and BidRefused (by problem code), and each line parses
and holds to AWS's "Specification: Embedded metric format" (a JSON Schema of it below, plus
the rules a schema cannot say: every dimension and metric a directive names is a member of
the line, of the right type)."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import jsonschema_rs
import orjson
import pytest
from chalice.test import Client

from infra.embedded import free_port
from shared.adapters.redis_store import RestStore
from shared.logs import JsonFormatter
from shared.services.context import Context
from tests.support.actors import Bidder
from tests.support.harness import TOKEN, Person, live_auction

UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
]  # fmt: skip
# The document structure of the specification: the root is an object with `_aws`; `_aws` has
# a Timestamp (epoch ms) and CloudWatchMetrics, an array of MetricDirectives; a directive has
# a Namespace, Dimensions (an array of DimensionSets: arrays of at most 30 dimension keys) and
# Metrics (at most 100 MetricDefinitions: a Name, an optional Unit from the list, an optional
# StorageResolution of 1 or 60); objects of the specification carry no other members.
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "additionalProperties": False,
                        "properties": {
                            "Namespace": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 1024,
                                "pattern": "^[a-zA-Z0-9._#:/-]+$",
                            },
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "Name": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 1024,
                                        },
                                        "Unit": {"enum": UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}
VALIDATOR = jsonschema_rs.validator_for(EMF_SCHEMA)


def emf_errors(line: dict[str, Any]) -> list[str]:
    """Everything about `line` the specification forbids (empty: a valid EMF document)."""
    errors = [e.message for e in VALIDATOR.iter_errors(line)]
    if errors:
        return errors
    for directive in line["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for key in dimension_set:
                if not isinstance(line.get(key), str) or not line[key]:
                    errors.append(f"dimension {key!r} is not a string member of the line")
        for metric in directive["Metrics"]:
            target = line.get(metric["Name"])
            numbers = target if isinstance(target, list) else [target]
            if (
                not numbers
                or len(numbers) > 100
                or not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers)
            ):
                errors.append(f"metric {metric['Name']!r} is not a number member of the line")
    return errors


def metric(line: dict[str, Any], name: str, dimensions: list[str]) -> Any:
    """The value of metric `name` as CloudWatch would extract it with `dimensions`, or None."""
    for directive in line["_aws"]["CloudWatchMetrics"]:
        if dimensions in directive["Dimensions"] and any(
            m["Name"] == name for m in directive["Metrics"]
        ):
            return line[name]
    return None


def post_bid(
    client: Client, person: Person | None, auction_id: uuid.UUID, amount: str, rid: str
) -> Any:
    return Bidder(client, person).bid(auction_id, amount, headers={"X-Request-Id": rid})


def request_line(lines: list[str], rid: str) -> dict[str, Any]:
    found = [orjson.loads(x) for x in lines if rid in x]
    found = [x for x in found if x.get("event") == "request"]
    assert len(found) == 1, lines
    line: dict[str, Any] = found[0]
    return line


def test_every_bid_writes_one_emf_line_by_outcome(
    ctx: Context, client: Client, seller: Person, buyer: Person, admin: Person
) -> None:
    auction = live_auction(ctx, seller, start_price="100.00", increment="10.00")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("api"))
    logging.getLogger("api").addHandler(handler)
    try:
        accepted = post_bid(client, buyer, auction, "100.00", "emf-accepted")
        again = post_bid(client, buyer, auction, "200.00", "emf-again")
        low = post_bid(client, admin, auction, "100.00", "emf-too-low")
        own = post_bid(client, seller, auction, "500.00", "emf-own")
        anonymous = post_bid(client, None, auction, "500.00", "emf-anonymous")
        client.http.get(f"/api/auctions/{auction}", headers={"X-Request-Id": "emf-read"})
    finally:
        logging.getLogger("api").removeHandler(handler)
    captured = out.getvalue().splitlines()
    statuses = [r.status_code for r in (accepted, again, low, own, anonymous)]
    assert statuses == [201, 409, 409, 403, 401]
    for text in captured:  # every line one JSON object
        assert isinstance(orjson.loads(text), dict), text

    ok = request_line(captured, "emf-accepted")
    assert emf_errors(ok) == []
    assert ok["status"] == 201 and ok["service"] == "api"
    assert metric(ok, "BidAccepted", ["service"]) == 1
    assert metric(ok, "BidRefused", ["service"]) == 0
    assert metric(ok, "BidLatency", ["service"]) == ok["ms"] > 0
    assert metric(ok, "BidRefused", ["service", "code"]) is None  # no code when accepted
    assert {m["Unit"] for d in ok["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]} == {
        "Milliseconds",
        "Count",
    }
    assert ok["_aws"]["Timestamp"] > 1_600_000_000_000  # epoch milliseconds, not seconds

    for rid, code in (
        ("emf-again", "already_highest"),
        ("emf-too-low", "bid_too_low"),
        ("emf-own", "own_auction"),
        ("emf-anonymous", "unauthenticated"),
    ):
        line = request_line(captured, rid)
        assert emf_errors(line) == [], rid
        assert line["code"] == code
        assert metric(line, "BidAccepted", ["service"]) == 0
        assert metric(line, "BidRefused", ["service"]) == 1
        assert metric(line, "BidRefused", ["service", "code"]) == 1
        assert metric(line, "BidLatency", ["service"]) == line["ms"]

    # Only the operations that declare metrics carry them.
    assert "_aws" not in request_line(captured, "emf-read")


def test_a_bid_when_the_store_is_unreachable_is_refused_as_unavailable(
    ctx: Context, client: Client, seller: Person, buyer: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import runtime

    auction = live_auction(ctx, seller)
    nowhere = RestStore(f"http://127.0.0.1:{free_port()}", TOKEN)
    monkeypatch.setattr(runtime, "_context", replace(ctx, store=nowhere))
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("api"))
    logging.getLogger("api").addHandler(handler)
    try:
        assert post_bid(client, buyer, auction, "100.00", "emf-down").status_code == 503
    finally:
        logging.getLogger("api").removeHandler(handler)
    line = request_line(out.getvalue().splitlines(), "emf-down")
    assert emf_errors(line) == []
    assert line["code"] == "unavailable"
    assert metric(line, "BidRefused", ["service", "code"]) == 1


def test_the_emf_line_is_written_whatever_the_log_level(
    ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    """LOG_LEVEL=WARNING drops the request lines, never the bid metrics."""
    auction = live_auction(ctx, seller)
    api_log = logging.getLogger("api")
    level = api_log.level
    api_log.setLevel(logging.WARNING)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("api"))
    api_log.addHandler(handler)
    try:
        post_bid(client, buyer, auction, "100.00", "emf-quiet")
        client.http.get(f"/api/auctions/{auction}", headers={"X-Request-Id": "quiet-read"})
    finally:
        api_log.removeHandler(handler)
        api_log.setLevel(level)
    lines = out.getvalue().splitlines()
    assert emf_errors(request_line(lines, "emf-quiet")) == []
    assert not any("quiet-read" in line for line in lines)


def test_the_specification_check_catches_broken_documents() -> None:
    """The checker above must fail what the specification forbids (else it proves nothing)."""
    good = {
        "_aws": {
            "Timestamp": 1,
            "CloudWatchMetrics": [
                {
                    "Namespace": "N",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": "M", "Unit": "Count"}],
                }
            ],
        },
        "service": "api",
        "M": 1,
    }
    assert emf_errors(good) == []
    broken: list[dict[str, Any]] = []
    changes: tuple[Callable[[dict[str, Any]], object], ...] = (
        lambda d: d["_aws"].pop("Timestamp"),
        lambda d: d["_aws"].update(Timestamp="now"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="ms"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Namespace="has space"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Extra=1),
        lambda d: d.pop("service"),
        lambda d: d.update(M="1"),
        lambda d: d.pop("M"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Dimensions=[["d"] * 31]),
    )
    for change in changes:
        document = orjson.loads(orjson.dumps(good))
        change(document)
        broken.append(document)
    for document in broken:
        assert emf_errors(document) != [], document
