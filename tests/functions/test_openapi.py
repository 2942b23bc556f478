"""The OpenAPI 3.1 document at /api/openapi.json and the docs page at /api/docs: a valid
document, generated from the models that validate requests, covering every route and every
error code of the API's error table; a docs page that needs nothing from the network; and every
route's real answers (its success and its problems) exactly as the document says."""

from __future__ import annotations

import inspect
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import app  # noqa: F401  (registers every route in http.OPERATIONS)
import httpx
import orjson
import pytest
import schemathesis
from chalice.test import Client
from chalicelib.operations import MAX_BODY, OPERATIONS, Operation, Reply, render
from chalicelib.problems import problem
from chalicelib.schemas import CreateAuction
from pydantic import BaseModel
from schemathesis.core.result import Err

from shared.adapters.db import Database, make_engine
from shared.adapters.redis_store import RestStore
from shared.domain.vocabulary import NotificationType
from shared.services import notifications, outbox, users
from shared.services.context import Context
from tests.support import harness
from tests.support.after_sale import ended_auction, run_jobs
from tests.support.harness import Person, insert_auction, live_auction

# The API's route table (its `{id}` is any one path parameter here).
API_ROUTES = [
    ("GET", "/health"),
    ("GET", "/api/me"),
    ("POST", "/api/auctions"),
    ("GET", "/api/auctions"),
    ("GET", "/api/auctions/{id}"),
    ("POST", "/api/auctions/{id}/bids"),
    ("GET", "/api/auctions/{id}/bids"),
    ("POST", "/api/auctions/{id}/decision"),
    ("POST", "/api/counter/{id}/response"),
    ("GET", "/api/auctions/{id}/invoice"),
    ("GET", "/api/notifications"),
    ("POST", "/api/notifications/{id}/read"),
    ("GET", "/api/admin/auctions"),
    ("POST", "/api/admin/auctions/{id}/start"),
    ("POST", "/api/admin/auctions/{id}/reset"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("POST", "/api/dev/login"),  # dev sign-in (development only)
]

# The API's error table: each code with its status.
API_ERRORS = {
    "unauthenticated": 401,
    "forbidden": 403,
    "own_auction": 403,
    "not_found": 404,
    "auction_not_live": 409,
    "bid_too_low": 409,
    "already_highest": 409,
    "decision_not_allowed": 409,
    "counter_too_low": 409,
    "counter_not_pending": 409,
    "payload_too_large": 413,
    "validation_error": 422,
    "rate_limited": 429,
    "unavailable": 503,
}


@pytest.fixture(scope="module")
def served(api_url: str) -> dict[str, Any]:
    response = httpx.get(f"{api_url}/api/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    return dict(response.json())


def _normal(path: str) -> str:
    return re.sub(r"{[^}]+}", "{id}", path)


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, spec)
        for path, methods in document["paths"].items()
        for method, spec in methods.items()
    ]


def test_the_served_document_is_the_generated_one(served: dict[str, Any]) -> None:
    from chalicelib.openapi import document

    assert served == orjson.loads(orjson.dumps(document()))


def test_the_document_is_valid_openapi_3_1(served: dict[str, Any]) -> None:
    assert served["openapi"].startswith("3.1")
    loaded = schemathesis.openapi.from_dict(served)
    loaded.validate()  # raises on a document that breaks the OpenAPI 3.1 schema
    # An operation the loader could not read is an Err (it has no .ok()).
    problems = [r.err() for r in loaded.get_all_operations() if isinstance(r, Err)]
    assert problems == []


def test_every_contract_route_is_documented(served: dict[str, Any]) -> None:
    documented = {(method, _normal(path)) for method, path, _ in _operations(served)}
    missing = [route for route in API_ROUTES if route not in documented]
    assert missing == [], f"routes of the route table missing from the document: {missing}"


def test_every_contract_error_code_is_documented_with_its_status(served: dict[str, Any]) -> None:
    seen: dict[str, set[int]] = {}
    for _, _, spec in _operations(served):
        for status, response in spec["responses"].items():
            for content in response.get("content", {}).values():
                for part in content.get("schema", {}).get("allOf", []):
                    for code in part.get("properties", {}).get("code", {}).get("enum", []):
                        seen.setdefault(code, set()).add(int(status))
    for code, status in API_ERRORS.items():
        assert seen.get(code) == {status}, f"{code}: documented as {seen.get(code)}"


def test_every_error_response_is_problem_json(served: dict[str, Any]) -> None:
    for method, path, spec in _operations(served):
        for status, response in spec["responses"].items():
            if int(status) >= 400 and path != "/health":
                assert list(response["content"]) == ["application/problem+json"], (method, path)


def test_bids_document_the_idempotency_key_header(served: dict[str, Any]) -> None:
    bids = served["paths"]["/api/auctions/{auction_id}/bids"]["post"]
    [header] = [p for p in bids["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and header["required"] is False
    assert bids["security"] == [{"bearerAuth": []}]
    assert {"201", "401", "403", "404", "409", "413", "422", "429"} <= set(bids["responses"])
    # Every other write is rate limited (and documented so); reads are not.
    assert "429" in served["paths"]["/api/auctions"]["post"]["responses"]
    assert "429" in served["paths"]["/api/admin/auctions/{auction_id}/reset"]["post"]["responses"]
    assert "429" not in served["paths"]["/api/auctions"]["get"]["responses"]


def test_authentication_is_documented_per_route(served: dict[str, Any]) -> None:
    scheme = served["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    paths = served["paths"]
    assert paths["/api/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/auctions"]["get"]["security"] == [{}, {"bearerAuth": []}]
    assert paths["/health"]["get"]["security"] == []
    assert "`admin`" in paths["/api/admin/auctions"]["get"]["description"]


def test_path_and_query_parameters_are_documented(served: dict[str, Any]) -> None:
    listing = {p["name"]: p for p in served["paths"]["/api/auctions"]["get"]["parameters"]}
    assert listing["limit"]["schema"] == {
        "default": 20,
        "maximum": 100,
        "minimum": 1,
        "type": "integer",
    }
    assert set(listing["status"]["schema"]["enum"]) == {
        "scheduled",
        "live",
        "ended",
        "sold",
        "closed_no_winner",
        "cancelled",  # the marketplace
    }
    assert "cursor" in listing
    for method, path, spec in _operations(served):
        named = re.findall(r"{([^}]+)}", path)
        in_path = [p["name"] for p in spec.get("parameters", []) if p["in"] == "path"]
        assert in_path == named, (method, path)


def test_request_schemas_are_the_validating_models(served: dict[str, Any]) -> None:
    from chalicelib.schemas import CreateAuction, PlaceBid

    schemas = served["components"]["schemas"]
    for model in (CreateAuction, PlaceBid):
        generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
        nested = generated.pop("$defs", {})  # the models it nests are components of their own
        assert schemas[model.__name__] == orjson.loads(orjson.dumps(generated))
        for name, schema in nested.items():
            assert schemas[name] == orjson.loads(orjson.dumps(schema)), name
    body = served["paths"]["/api/auctions"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateAuction"
    }
    assert set(schemas["CreateAuction"]["required"]) == {
        "itemName",
        "startPrice",
        "bidIncrement",
        "goLiveAt",
        "durationMins",
    }
    assert schemas["CreateAuction"]["additionalProperties"] is False


def test_money_is_documented_as_number_or_decimal_string(served: dict[str, Any]) -> None:
    start = served["components"]["schemas"]["CreateAuction"]["properties"]["startPrice"]
    kinds = {option["type"] for option in start["oneOf"]}
    assert kinds == {"number", "string"}
    out = served["components"]["schemas"]["AuctionOut"]["properties"]["startPrice"]
    assert out["type"] == "string" and re.fullmatch(out["pattern"], "1250.00")


# -- the docs page -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs(api_url: str) -> httpx.Response:
    return httpx.get(f"{api_url}/api/docs", timeout=10)


def test_the_docs_page_is_html_that_lists_every_documented_operation(
    docs: httpx.Response, served: dict[str, Any]
) -> None:
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    page = docs.text
    assert page.startswith("<!doctype html>")
    for method, path, spec in _operations(served):
        assert f'id="{spec["operationId"]}"' in page, (method, path)
        assert f"<code>{path}</code>" in page, path
    for name in served["components"]["schemas"]:
        assert f'id="schema-{name}"' in page


def test_the_docs_page_works_offline(docs: httpx.Response) -> None:
    page = docs.text
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"@import|url\(", page, re.I)
    assert not re.search(r"https?://", page)


def test_the_docs_page_has_a_csp_that_allows_only_its_inline_styles(
    docs: httpx.Response,
) -> None:
    csp = docs.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp
    assert "script-src" not in csp
    assert docs.headers["x-content-type-options"] == "nosniff"


def test_health_documents_its_own_503_body(served: dict[str, Any]) -> None:
    responses = served["paths"]["/health"]["get"]["responses"]
    health = {"application/json": {"schema": {"$ref": "#/components/schemas/HealthOut"}}}
    assert responses["200"]["content"] == responses["503"]["content"] == health


# -- every route's real answers, checked against the served document ---------------------------
#
# Each request below names its operation (the operationId, i.e. the view's name in
# `http.OPERATIONS`) and the status it expects; every answer must have a status the operation
# documents, the media type documented for it, and a body that validates against the
# documented schema (the response models, `additionalProperties: false`; problems narrowed to
# the codes of that status). The last test fails when an operation of the registry, or one of
# its documented statuses, was never checked (unless `UNREACHED` says why it cannot be).

# (operationId, status) that no test can reach, and why.
UNREACHED = {
    ("dev_login", 503): "mints a token locally: it touches neither PostgreSQL nor Redis",
    ("get_ledger_key", 503): "the process's own signing key: it touches neither store",
}
SEEN: dict[str, set[int]] = defaultdict(set)
RAN: set[str] = set()


@pytest.fixture(scope="module")
def documented(served: dict[str, Any]) -> Any:
    return schemathesis.openapi.from_dict(served)


def check_answer(documented: Any, operation_id: str, response: httpx.Response) -> None:
    """`response` is what the served document says `operation_id` answers with its status."""
    operation = documented.find_operation_by_id(operation_id)
    responses = operation.definition.raw["responses"]
    status = str(response.status_code)
    assert status in responses, f"{operation_id}: undocumented status {status}: {response.text}"
    content = responses[status].get("content")
    if content:
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        assert media_type in content, f"{operation_id} {status}: {media_type} not documented"
    operation.validate_response(response)  # raises on a body its schema does not allow


@dataclass
class Api:
    """Real HTTP to the local server, every answer checked and counted."""

    url: str
    documented: Any

    def __call__(
        self,
        operation_id: str,
        who: Person | None = None,
        *,
        expect: int,
        json: Any = None,
        content: bytes | None = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> httpx.Response:
        operation = self.documented.find_operation_by_id(operation_id)
        path = operation.path.format(**{k: str(v) for k, v in params.items()})
        response = httpx.request(
            operation.method.upper(),
            f"{self.url}{path}",
            json=json,
            content=content,
            params=query,
            headers={**(who.headers if who else {}), **(headers or {})},
            timeout=30,
        )
        assert response.status_code == expect, f"{operation_id}: {response.text[:500]}"
        check_answer(self.documented, operation_id, response)
        SEEN[operation_id].add(response.status_code)
        return response


@pytest.fixture
def api(
    api_url: str, documented: Any, ctx: Context, request: pytest.FixtureRequest
) -> Iterator[Api]:
    yield Api(api_url, documented)
    RAN.add(request.node.originalname)


def test_the_checker_refuses_what_the_document_does_not_allow(documented: Any) -> None:
    """The checks below can fail: an undeclared member, a null where the contract says
    absent, a problem code its status does not list, an undocumented status or media type."""
    auction = {
        "id": "a",
        "sellerId": "b",
        "itemName": "Lamp",
        "description": "",
        "startPrice": "1.00",
        "bidIncrement": "1.00",
        "goLiveAt": "2030-01-01T10:00:00.000Z",
        "durationMins": 1,
        "endsAt": "2030-01-01T10:01:00.000Z",
        "status": "live",
        "highestBid": None,
        "minNextBid": "1.00",
        "bidCount": 0,
        "counterOffer": None,
        "serverTime": "2030-01-01T10:00:00.000Z",
        "createdAt": "2029-01-01T10:00:00.000Z",
        "updatedAt": "2029-01-01T10:00:00.000Z",
        "category": None,  # the marketplace: always there, and the photos and watchers
        "images": [],
        "watchers": 0,
    }
    problem = {"type": "t", "title": "t", "status": 404, "detail": "d", "code": "not_found"}

    def answer(status: int, body: Any, media_type: str = "application/json") -> httpx.Response:
        request = httpx.Request("GET", "http://api/api/auctions/a")
        response = httpx.Response(
            status,
            content=orjson.dumps(body),
            headers={"content-type": media_type},
            request=request,
        )
        response.elapsed = timedelta(0)
        return response

    check_answer(documented, "get_auction", answer(200, auction))
    check_answer(documented, "get_auction", answer(200, {**auction, "buyNowPrice": "9.00"}))
    check_answer(documented, "get_auction", answer(404, problem, "application/problem+json"))
    refused = [
        answer(200, {**auction, "endedReason": "buy_now"}),
        answer(200, {**auction, "buyNowPrice": None}),
        answer(200, {k: v for k, v in auction.items() if k != "highestBid"}),
        answer(200, {**auction, "startPrice": "1.5"}),
        answer(404, {**problem, "code": "bid_too_low"}, "application/problem+json"),
        answer(404, problem, "application/json"),
        answer(409, problem, "application/problem+json"),
    ]
    for response in refused:
        # schemathesis's failures are AssertionErrors (several at once: a group of them)
        with pytest.raises((AssertionError, BaseExceptionGroup)):
            check_answer(documented, "get_auction", response)


def test_a_body_its_model_does_not_allow_is_never_sent(caplog: pytest.LogCaptureFixture) -> None:
    """A view's body that breaks its model (or a status without one), or a problem with a
    member ProblemOut does not declare: logged, and answered 500 `internal_error` instead."""
    [get_me] = [op for op in OPERATIONS if op.name == "get_me"]
    user = {"id": str(uuid.uuid4()), "email": "a@example.com", "name": "A", "role": "buyer"}
    assert render(get_me, user).status_code == 200
    broken = [
        {**user, "avatar": None},  # a member no model declares
        {**user, "role": "king"},
        {k: v for k, v in user.items() if k != "name"},
        {**user, "id": 7},  # strict: no coercion either
        Reply(user, 418),  # a status the operation has no model for
    ]
    for body in broken:
        response = render(get_me, body)
        assert response.status_code == 500, body
        assert orjson.loads(response.body)["code"] == "internal_error"
        assert response.headers["Content-Type"] == "application/problem+json"
    assert problem("not_found", "No such thing").status_code == 404
    assert problem("not_found", "No such thing", colour="red").status_code == 500
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert sum("response_breaks_contract" in line for line in logged) == 5
    assert sum("response_without_model" in line for line in logged) == 1
    assert not any("king" in line or "a@example.com" in line for line in logged), "no values"


RULES = {"reservePrice", "reserveMet", "buyNowPrice", "softCloseSecs", "myMaxAmount"}
SALE = {"winnerId", "finalPrice"}


def _later(hours: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _valid_body(model: type[BaseModel]) -> dict[str, Any]:
    """A body each request model accepts (a new model without one here fails: add it)."""
    bodies: dict[str, dict[str, Any]] = {
        "CreateAuction": {
            "itemName": "Brass lamp",
            "startPrice": "100",
            "bidIncrement": 5,
            "goLiveAt": _later(),
            "durationMins": 60,
        },
        "PlaceBid": {"amount": "100.00"},
        "Decision": {"action": "accept"},
        "CounterResponse": {"action": "accept"},
        "ResetAuction": {"goLiveAt": _later()},
        "DevLogin": {"email": "someone@example.com"},
        "EditAuction": {"itemName": "Brass lamp, polished"},
        "CancelAuction": {"reason": "Withdrawn by its seller"},
        # after the hammer
        "MakeOffer": {"bidderId": str(uuid.uuid4())},
        "OfferResponse": {"action": "accept"},
        "PaymentRequest": {"action": "mark_paid"},
        "Suspend": {"reason": "shill bidding"},
        # the open marketplace
        "SellerProfileIn": {
            "displayName": "Sita Antiques",
            "phone": "+919845012345",
            "address": {
                "line1": "12 MG Road",
                "city": "Bengaluru",
                "state": "KA",
                "postalCode": "560001",
                "country": "IN",
            },
            "acceptTerms": True,
        },
        "SetRole": {"role": "seller"},
        "Shipment": {"carrier": "India Post", "trackingNumber": "EE123456789IN"},
        "OpenDispute": {"reason": "not_received", "detail": "Nothing came."},
        "DisputeReplyIn": {"message": "Shipped on time; tracking attached."},
        "ResolveDispute": {"outcome": "release", "note": "Tracking shows delivery."},
        # trust and safety
        "LeaveFeedback": {"rating": "positive"},
        "ReplyToFeedback": {"comment": "Thank you"},
        "RetractBid": {"reason": "typo"},
    }
    return bodies[model.__name__]


def _caller(op: Operation, people: dict[str, Person]) -> Person:
    """Someone the operation lets through to its view: a role it wants, a buyer for bids."""
    if op.roles:
        return people[op.roles[0]]
    return people["buyer" if op.name == "place_bid" else "seller"]


def _unknown_params(op: Operation) -> dict[str, Any]:
    """Path parameters naming nothing that exists."""
    return {
        name: "no-such-job" if name == "job_id" else str(uuid.uuid4())
        for name in re.findall(r"{([^}]+)}", op.path)
    }


def test_checked_system_routes(api: Api, seller: Person, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import runtime

    assert api("get_health", expect=200).json() == {"status": "ok", "db": "ok", "redis": "ok"}
    assert api("get_me", seller, expect=200).json()["id"] == seller.id
    login = {"email": "new@example.com", "name": "New Buyer", "role": "buyer"}
    token = api("dev_login", expect=200, json=login).json()["token"]
    me = api("get_me", expect=200, headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["email"], me["name"], me["role"]) == ("new@example.com", "New Buyer", "buyer")
    api("dev_login", expect=422, json={"email": "not an address"})
    production = runtime.settings().model_copy(update={"app_env": "production"})
    monkeypatch.setattr(runtime, "settings", lambda: production)
    api("dev_login", expect=404, json=login)


def test_checked_auction_and_bid_routes(
    api: Api, ctx: Context, seller: Person, buyer: Person
) -> None:
    rival = harness.person(ctx, "buyer")
    plain = api("create_auction", seller, expect=201, json=_valid_body(CreateAuction)).json()
    assert plain["highestBid"] is None and plain["counterOffer"] is None
    assert not (RULES | SALE) & plain.keys(), "absent means off"
    rules = {"reservePrice": "500", "buyNowPrice": 900, "softCloseSecs": 30}
    ruled = api(
        "create_auction", seller, expect=201, json={**_valid_body(CreateAuction), **rules}
    ).json()
    assert (ruled["reservePrice"], ruled["reserveMet"]) == ("500.00", False)
    assert (ruled["buyNowPrice"], ruled["softCloseSecs"]) == ("900.00", 30)
    api("create_auction", buyer, expect=403, json=_valid_body(CreateAuction))

    first = api("list_auctions", expect=200, query={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["nextCursor"]
    rest = api("list_auctions", buyer, expect=200, query={"cursor": first["nextCursor"]}).json()
    assert rest["nextCursor"] is None
    assert "reservePrice" not in api("get_auction", expect=200, auction_id=ruled["id"]).json()
    assert api("get_auction", seller, expect=200, auction_id=ruled["id"]).json()["reservePrice"]

    live = live_auction(ctx, seller, reserve="500.00", buy_now="900.00", soft_close_secs=30)
    api("place_bid", seller, expect=403, auction_id=live, json={"amount": "100"})
    api("place_bid", buyer, expect=201, auction_id=live, json={"amount": "100"})
    assert api("place_bid", buyer, expect=409, auction_id=live, json={"amount": "200"}).json()[
        "code"
    ] == ("already_highest")
    low = api("place_bid", rival, expect=409, auction_id=live, json={"amount": "101"}).json()
    assert (low["code"], low["minNextBid"]) == ("bid_too_low", "110.00")
    proxy = api("place_bid", rival, expect=201, auction_id=live, json={"maxAmount": "300"})
    assert proxy.json()["maxAmount"] == "300.00"
    mine = api("get_auction", rival, expect=200, auction_id=live).json()
    assert mine["myMaxAmount"] == "300.00" and mine["highestBid"]["bidderId"] == rival.id
    assert "myMaxAmount" not in api("get_auction", buyer, expect=200, auction_id=live).json()
    bids = api("list_bids", expect=200, auction_id=live, query={"limit": 1}).json()
    assert len(bids["items"]) == 1 and bids["nextCursor"]

    api("place_bid", buyer, expect=201, auction_id=live, json={"amount": "900"})  # buy now
    sold = api("get_auction", expect=200, auction_id=live).json()
    assert (sold["status"], sold["winnerId"], sold["finalPrice"]) == ("sold", buyer.id, "900.00")
    late = api("place_bid", rival, expect=409, auction_id=live, json={"amount": "1000"}).json()
    assert late["code"] == "auction_not_live"


def test_checked_after_sale_routes(
    api: Api, ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    stranger = harness.person(ctx, "buyer")
    auction = ended_auction(ctx, client, seller, [(buyer, "150.00")])
    api("decide", buyer, expect=403, auction_id=auction, json={"action": "accept"})
    low = api(
        "decide", seller, expect=409, auction_id=auction, json={"action": "counter", "amount": 1}
    ).json()
    assert (low["code"], low["highestBid"]) == ("counter_too_low", "150.00")
    countered = api(
        "decide", seller, expect=200, auction_id=auction, json={"action": "counter", "amount": 200}
    ).json()
    counter = countered["counterOffer"]
    assert (counter["amount"], counter["status"]) == ("200.00", "pending")
    again = api("decide", seller, expect=409, auction_id=auction, json={"action": "accept"})
    assert again.json()["code"] == "decision_not_allowed" and "auctionStatus" in again.json()
    answer = {"action": "accept"}
    api("respond_to_counter", stranger, expect=403, counter_id=counter["id"], json=answer)
    sold = api("respond_to_counter", buyer, expect=200, counter_id=counter["id"], json=answer)
    assert (sold.json()["status"], sold.json()["finalPrice"]) == ("sold", "200.00")
    gone = api("respond_to_counter", buyer, expect=409, counter_id=counter["id"], json=answer)
    assert gone.json()["counterStatus"] == "accepted"
    assert api("get_invoice", buyer, expect=200, auction_id=auction).content.startswith(b"%PDF")
    api("get_invoice", stranger, expect=403, auction_id=auction)

    for action, status in (("accept", "sold"), ("reject", "closed_no_winner")):
        other = ended_auction(ctx, client, seller, [(buyer, "150.00")])
        decided = api("decide", seller, expect=200, auction_id=other, json={"action": action})
        assert decided.json()["status"] == status


def test_checked_offer_payment_and_moderation_routes(
    api: Api, ctx: Context, client: Client, seller: Person, buyer: Person, admin: Person
) -> None:
    """After the hammer: second-chance offers, the payment, suspensions and the audit log."""
    rival = harness.person(ctx, "buyer", "Ravi Kumar")
    auction = ended_auction(ctx, client, seller, [(buyer, "100.00"), (rival, "150.00")])
    api("decide", seller, expect=200, auction_id=auction, json={"action": "reject"})
    listed = api("list_offers", seller, expect=200, auction_id=auction).json()
    assert [c["bidderId"] for c in listed["candidates"]] == [buyer.id]
    api("list_offers", buyer, expect=403, auction_id=auction)
    to_buyer = {"bidderId": buyer.id}
    api("make_offer", buyer, expect=403, auction_id=auction, json=to_buyer)
    made = api("make_offer", seller, expect=201, auction_id=auction, json=to_buyer).json()
    assert (made["amount"], made["status"]) == ("100.00", "pending")
    pending = api("make_offer", seller, expect=409, auction_id=auction, json=to_buyer).json()
    assert pending["code"] == "offer_pending"
    accept = {"action": "accept"}
    api("respond_to_offer", rival, expect=403, offer_id=made["id"], json=accept)
    sold = api("respond_to_offer", buyer, expect=200, offer_id=made["id"], json=accept).json()
    assert (sold["status"], sold["payment"]["status"]) == ("sold", "pending")
    gone = api("respond_to_offer", buyer, expect=409, offer_id=made["id"], json=accept).json()
    assert gone["offerStatus"] == "accepted"

    paid = {"action": "mark_paid"}
    api("payment", rival, expect=403, auction_id=auction, json=paid)
    assert api("payment", buyer, expect=200, auction_id=auction, json=paid).json()["payment"][
        "status"
    ] == ("paid")
    twice = api("payment", buyer, expect=409, auction_id=auction, json=paid).json()
    assert (twice["code"], twice["paymentStatus"]) == ("payment_action_not_allowed", "paid")

    found = api("list_users", admin, expect=200, query={"q": "ravi"}).json()
    assert [u["id"] for u in found["items"]] == [rival.id]
    reason = {"reason": "shill bidding"}
    assert api("suspend_user", admin, expect=200, user_id=rival.id, json=reason).json()["suspended"]
    with ctx.db.session() as session:
        note = notifications.notify(
            session,
            ctx,
            cause=f"contract:{uuid.uuid4()}",
            user_id=rival.id,
            kind=NotificationType.OUTBID,
            payload={"auctionId": str(auction)},
        )
        assert note is not None
        note_id = str(note.id)
    refused = api("mark_read", rival, expect=403, notification_id=note_id).json()
    assert refused["code"] == "account_suspended"
    # Every write refuses a suspended user, the marketplace's too.
    for name in ("watch", "unwatch"):
        assert api(name, rival, expect=403, auction_id=auction).json()["code"] == (
            "account_suspended"
        )
    assert api("mark_all_read", rival, expect=403).json()["code"] == "account_suspended"
    assert not api("unsuspend_user", admin, expect=200, user_id=rival.id).json()["suspended"]
    api("mark_read", rival, expect=200, notification_id=note_id)
    log = api("list_audit", admin, expect=200, query={"auctionId": str(auction)}).json()
    assert [e["action"] for e in log["items"]][:2] == ["buyer.mark_paid", "bidder.offer_accept"]


def test_checked_open_marketplace_routes(
    api: Api, ctx: Context, client: Client, seller: Person, buyer: Person, admin: Person
) -> None:
    """Start selling, a registered seller's shipped sale (its tax invoice issued at payment),
    the shipment and receipt, a dispute refunded, the documents, the admin's role control."""
    from tests.support import market

    asha = harness.person(ctx, "buyer", "Asha Kumar")
    api("get_seller_profile", asha, expect=404)
    made = api(
        "put_seller_profile", asha, expect=200, json=market.profile(gstin=market.SELLER_GSTIN)
    )
    assert made.json()["role"] == "seller"
    assert api("get_seller_profile", asha, expect=200).json()["gstRegistered"] is True
    demoted = api("set_user_role", admin, expect=200, user_id=seller.id, json={"role": "buyer"})
    assert demoted.json()["role"] == "buyer"
    api("set_user_role", admin, expect=200, user_id=seller.id, json={"role": "seller"})
    suspended = harness.person(ctx, "buyer")
    api("suspend_user", admin, expect=200, user_id=suspended.id, json={"reason": "fraud"})
    refused = api("put_seller_profile", suspended, expect=403, json=market.profile()).json()
    assert refused["code"] == "account_suspended"

    auction = market.sold(ctx, client, asha, buyer, "1000.00", shipping_method="ship")
    assert api("get_invoice", buyer, expect=409, auction_id=auction).json()["code"] == (
        "invoice_not_issued"
    )
    api("get_statement", asha, expect=409, auction_id=auction)
    early = api("record_shipment", asha, expect=409, auction_id=auction, json=market.SHIPMENT)
    assert early.json()["code"] == "shipment_not_allowed"
    api("mark_received", buyer, expect=409, auction_id=auction)
    api("open_dispute", buyer, expect=409, auction_id=auction, json=market.COMPLAINT)
    paid = {"action": "mark_paid", "address": market.MAHARASHTRA}
    assert api("payment", buyer, expect=200, auction_id=auction, json=paid).json()["delivery"]
    assert api("get_invoice", buyer, expect=200, auction_id=auction).content.startswith(b"%PDF")
    api("get_statement", buyer, expect=403, auction_id=auction)
    assert api("get_statement", asha, expect=200, auction_id=auction).content.startswith(b"%PDF")
    api("record_shipment", buyer, expect=403, auction_id=auction, json=market.SHIPMENT)
    api("record_shipment", asha, expect=200, auction_id=auction, json=market.SHIPMENT)
    api("mark_received", asha, expect=403, auction_id=auction)
    api("mark_received", buyer, expect=200, auction_id=auction)

    api("open_dispute", asha, expect=403, auction_id=auction, json=market.COMPLAINT)
    opened = api("open_dispute", buyer, expect=201, auction_id=auction, json=market.COMPLAINT)
    assert opened.json()["status"] == "open"
    api("open_dispute", buyer, expect=409, auction_id=auction, json=market.COMPLAINT)
    answer = {"message": "Sent on time."}
    api("reply_to_dispute", buyer, expect=403, auction_id=auction, json=answer)
    api("reply_to_dispute", asha, expect=200, auction_id=auction, json=answer)
    listed = api("list_disputes", admin, expect=200).json()
    assert [d["auctionId"] for d in listed["items"]] == [str(auction)]
    refund = {"outcome": "refund", "note": "Not as described."}
    api("get_credit_note", buyer, expect=404, auction_id=auction)
    resolved = api("resolve_dispute", admin, expect=200, auction_id=auction, json=refund).json()
    assert resolved["creditNoteNumber"] == "CN-000001"
    api("resolve_dispute", admin, expect=409, auction_id=auction, json=refund)
    api("reply_to_dispute", asha, expect=409, auction_id=auction, json=answer)
    api("get_credit_note", harness.person(ctx, "buyer"), expect=403, auction_id=auction)
    credit = api("get_credit_note", buyer, expect=200, auction_id=auction)
    assert credit.content.startswith(b"%PDF")


def test_checked_trust_routes(
    api: Api, ctx: Context, client: Client, seller: Person, buyer: Person, admin: Person
) -> None:
    """Shill suspects, blocked bidders, feedback and reputations."""
    from shared.services import bid_intake, trust

    stranger = harness.person(ctx, "buyer", "Stranger")
    auction = ended_auction(ctx, client, seller, [(buyer, "150.00")])
    bid_intake.drain(ctx)
    trust.refresh(ctx)
    suspects = api("list_suspects", admin, expect=200, query={"sellerId": seller.id}).json()
    assert [s["bidderId"] for s in suspects["items"]] == [buyer.id]

    api("block_bidder", seller, expect=204, user_id=stranger.id)
    api("block_bidder", seller, expect=422, user_id=seller.id)
    blocked = api("my_blocked_bidders", seller, expect=200).json()
    assert [b["userId"] for b in blocked["items"]] == [stranger.id]
    api("unblock_bidder", seller, expect=204, user_id=stranger.id)
    api("suspend_user", admin, expect=200, user_id=stranger.id, json={"reason": "shill"})
    for name in ("block_bidder", "unblock_bidder"):  # a suspended user's writes
        assert api(name, stranger, expect=403, user_id=buyer.id).json()["code"] == (
            "account_suspended"
        )
    api("unsuspend_user", admin, expect=200, user_id=stranger.id)

    good = {"rating": "positive", "comment": "Smooth"}
    api("decide", seller, expect=200, auction_id=auction, json={"action": "accept"})
    early = api("leave_feedback", buyer, expect=409, auction_id=auction, json=good).json()
    assert early["code"] == "feedback_not_allowed"
    api("payment", seller, expect=200, auction_id=auction, json={"action": "confirm"})
    api("leave_feedback", stranger, expect=403, auction_id=auction, json=good)
    api("leave_feedback", buyer, expect=201, auction_id=auction, json=good)
    api("leave_feedback", buyer, expect=409, auction_id=auction, json=good)
    thanks = {"comment": "Thanks"}
    api("reply_to_feedback", stranger, expect=403, auction_id=auction, json=thanks)
    api("reply_to_feedback", seller, expect=201, auction_id=auction, json=thanks)
    api("reply_to_feedback", seller, expect=409, auction_id=auction, json=thanks)
    listed = api("auction_feedback", expect=200, auction_id=auction).json()
    assert listed["items"][0]["reply"]["comment"] == "Thanks"
    rep = api("reputation", expect=200, user_id=seller.id).json()
    assert (rep["positive"], rep["percentPositive"]) == (1, 100.0)

    # retracting: not live, not yours, then taken back two days before the end
    last = api("list_bids", expect=200, auction_id=auction).json()["items"][0]["id"]
    typo = {"reason": "typo"}
    api("retract_bid", buyer, expect=409, auction_id=auction, bid_id=last, json=typo)
    live = harness.live_auction(ctx, seller, ends_at=datetime.now(UTC) + timedelta(days=2))
    placed = api("place_bid", buyer, expect=201, auction_id=live, json={"amount": "100.00"})
    bid_id = placed.json()["id"]
    api("retract_bid", stranger, expect=403, auction_id=live, bid_id=bid_id, json=typo)
    taken = api("retract_bid", buyer, expect=200, auction_id=live, bid_id=bid_id, json=typo)
    assert taken.json()["bidIds"] == [bid_id]


def test_checked_ledger_routes(
    api: Api, ctx: Context, client: Client, seller: Person, buyer: Person
) -> None:
    """The public bid ledger: the key, the log's pages, checkpoint and proofs; the close
    certificate only once ended; proofs past the signed tree refused."""
    from shared.services import ledger

    key = api("get_ledger_key", expect=200).json()
    assert key["vkey"].startswith(key["keyName"] + "+")
    live = live_auction(ctx, seller)
    placed = api("place_bid", buyer, expect=201, auction_id=live, json={"amount": "100"}).json()
    assert placed["receipt"]["index"] == 0
    assert api("my_bids", buyer, expect=200).json()["items"][0]["ledgerBidder"]
    api("get_ledger_close", expect=409, auction_id=live)
    ledger.checkpoint_grown(ctx)
    page = api("get_ledger", expect=200, auction_id=live, query={"start": 0, "end": 5}).json()
    assert page["size"] == 1 and page["entries"][0]["leafHash"] == placed["receipt"]["leafHash"]
    api("get_ledger", expect=422, auction_id=live, query={"start": 3, "end": 1})
    note = api("get_ledger_checkpoint", expect=200, auction_id=live).text
    assert note.endswith("\n") and f"/auctions/{live}\n1\n" in note
    api("get_inclusion_proof", expect=200, auction_id=live, query={"index": 0, "size": 1})
    api("get_inclusion_proof", expect=422, auction_id=live, query={"index": 1, "size": 1})
    api("get_inclusion_proof", expect=422, auction_id=live, query={"index": 0, "size": 2})
    api("get_consistency_proof", expect=200, auction_id=live, query={"from": 1, "to": 1})
    api("get_consistency_proof", expect=422, auction_id=live, query={"from": 1, "to": 2})
    ended = ended_auction(ctx, client, seller, [(buyer, "150.00")])
    close = api("get_ledger_close", expect=200, auction_id=ended).json()
    assert close["outcome"]["price"] == "150.00"


def test_checked_notification_routes(api: Api, ctx: Context, seller: Person, buyer: Person) -> None:
    with ctx.db.session() as session:
        note = notifications.notify(
            session,
            ctx,
            cause=f"contract:{uuid.uuid4()}",
            user_id=buyer.id,
            kind=NotificationType.OUTBID,
            payload={"auctionId": str(uuid.uuid4())},
        )
        assert note is not None
        note_id = str(note.id)
    page = api("list_notifications", buyer, expect=200).json()
    assert page["unreadCount"] == 1 and page["items"][0]["readAt"] is None
    read = api("mark_read", buyer, expect=200, notification_id=note_id).json()
    assert read["readAt"] is not None
    unread = api("list_notifications", buyer, expect=200, query={"unreadOnly": "true"}).json()
    assert unread == {"items": [], "nextCursor": None, "unreadCount": 0}
    api("mark_read", seller, expect=404, notification_id=note_id)  # someone else's


def test_checked_admin_routes(api: Api, ctx: Context, seller: Person, admin: Person) -> None:
    scheduled = insert_auction(ctx, seller, go_live_at=datetime.now(UTC) + timedelta(hours=1))
    listed = api("list_all_auctions", admin, expect=200, query={"status": "scheduled"}).json()
    assert [a["id"] for a in listed["items"]] == [str(scheduled)]
    assert api("start_auction", admin, expect=200, auction_id=scheduled).json()["status"] == "live"
    api("start_auction", admin, expect=409, auction_id=scheduled)
    reset = api(
        "reset_auction", admin, expect=200, auction_id=scheduled, json={"goLiveAt": _later()}
    )
    assert reset.json()["status"] == "scheduled"
    sold = insert_auction(ctx, seller, status="sold", seed_redis=False)
    api("reset_auction", admin, expect=409, auction_id=sold, json={"goLiveAt": _later()})

    with ctx.db.session() as session:
        outbox.job(session, {"id": "cleanup:contract", "type": "cleanup"})  # no handler: dead
    run_jobs(ctx)
    dead = api("list_dead_jobs", admin, expect=200).json()
    assert [j["id"] for j in dead["items"]] == ["cleanup:contract"]
    replayed = api("replay_dead_job", admin, expect=200, job_id="cleanup:contract").json()
    assert replayed["state"] == "ready"


def test_checked_marketplace_routes(
    api: Api, ctx: Context, seller: Person, buyer: Person, admin: Person
) -> None:
    """The marketplace: seller controls, photos, watching, the personal pages."""
    from tests.marketplace import images

    auction = api("create_auction", seller, expect=201, json=_valid_body(CreateAuction)).json()
    aid = auction["id"]
    edited = api("edit_auction", seller, expect=200, auction_id=aid, json={"category": "lamps"})
    assert edited.json()["category"] == "lamps"
    jpeg = {"Content-Type": "image/jpeg"}
    photo = api(
        "upload_image", seller, expect=201, auction_id=aid, content=images.jpeg(), headers=jpeg
    ).json()
    assert set(photo) == {"id", "url", "thumbUrl", "width", "height"}
    gif = {"Content-Type": "image/gif"}
    api("upload_image", seller, expect=415, auction_id=aid, content=b"GIF89a", headers=gif)
    huge = b"\xff" * (5 * 1024 * 1024 + 1)
    api("upload_image", seller, expect=413, auction_id=aid, content=huge, headers=jpeg)
    api("upload_image", seller, expect=422, auction_id=aid, content=images.png(), headers=jpeg)
    api("delete_image", seller, expect=204, auction_id=aid, image_id=photo["id"])
    api("watch", buyer, expect=204, auction_id=aid)
    api("unwatch", buyer, expect=204, auction_id=aid)
    api("watch", buyer, expect=204, auction_id=aid)
    assert api("get_auction", buyer, expect=200, auction_id=aid).json()["watching"] is True
    assert [a["id"] for a in api("my_watchlist", buyer, expect=200).json()["items"]] == [aid]
    assert api("my_auctions", seller, expect=200).json()["items"][0]["id"] == aid
    assert api("my_bids", buyer, expect=200).json()["items"] == []
    assert api("my_purchases", buyer, expect=200).json()["items"] == []
    found = api("list_auctions", expect=200, query={"q": "lamp", "sort": "price_desc"}).json()
    assert [a["id"] for a in found["items"]] == [aid]
    api("cancel_auction", buyer, expect=403, auction_id=aid, json={"reason": "not mine"})
    cancelled = api("cancel_auction", seller, expect=200, auction_id=aid, json={"reason": "Gone"})
    assert (cancelled.json()["status"], cancelled.json()["cancelReason"]) == ("cancelled", "Gone")
    api("cancel_auction", admin, expect=409, auction_id=aid, json={"reason": "again"})
    api("edit_auction", seller, expect=409, auction_id=aid, json={"itemName": "x"})
    api("upload_image", seller, expect=409, auction_id=aid, content=images.png(), headers=jpeg)
    other = api("create_auction", seller, expect=201, json=_valid_body(CreateAuction)).json()
    kept = api(
        "upload_image",
        seller,
        expect=201,
        auction_id=other["id"],
        content=images.jpeg(),
        headers=jpeg,
    ).json()
    live = live_auction(ctx, seller)
    with ctx.db.session() as session:
        from shared.adapters.orm import AuctionImage

        image = session.get(AuctionImage, uuid.UUID(kept["id"]))
        assert image is not None
        image.auction_id = live  # a photo on an auction that has gone live meanwhile
    api("delete_image", seller, expect=409, auction_id=live, image_id=kept["id"])
    # The buyer watched it: the cancel told them.
    assert api("mark_all_read", buyer, expect=200).json()["updated"] >= 1


def test_checked_docs_routes(api: Api) -> None:
    assert api("get_openapi", expect=200).json()["openapi"].startswith("3.1")
    assert api("get_docs", expect=200).text.startswith("<!doctype html>")


def test_checked_refusals_every_declaration_implies(
    api: Api, seller: Person, buyer: Person, admin: Person
) -> None:
    """From each operation's declaration: a bad token (401), the wrong role (403), nothing at
    that path (404), a body too large (413), a body or query that is not valid (422)."""
    people = {"buyer": buyer, "seller": seller, "admin": admin}
    bad_token = {"Authorization": "Bearer not-a-token"}
    for op in OPERATIONS:
        who, params = _caller(op, people), _unknown_params(op)
        body = _valid_body(op.body) if op.body is not None else None
        if op.auth != "none":
            api(op.name, expect=401, headers=bad_token, json=body, **params)
        if op.roles:
            outsider = next(p for role, p in people.items() if role not in op.roles)
            api(op.name, outsider, expect=403, json=body, **params)
        if params:
            api(op.name, who, expect=404, json=body, **params)
        if op.body is not None:
            huge = b'{"itemName": "' + b"x" * MAX_BODY + b'"}'
            json_type = {"Content-Type": "application/json"}
            api(op.name, who, expect=413, content=huge, headers=json_type, **params)
            api(op.name, who, expect=422, json=[], **params)
        if op.query is not None:
            api(op.name, who, expect=422, query={"limit": 0}, **params)


def test_checked_rate_limits(
    api: Api, ctx: Context, seller: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every rate-limited write answers 429 with Retry-After once its bucket is empty, and so
    does a bid past the bid script's own bucket."""
    monkeypatch.setattr(ctx.settings, "write_rate_limit", "1/h:1")
    monkeypatch.setattr(ctx.settings, "bid_rate_limit", "1/h:1")
    limited = [op for op in OPERATIONS if op.rate_group is not None]
    assert limited
    for op in limited:
        who = harness.person(ctx, op.roles[0] if op.roles else "seller")  # a full bucket
        params = _unknown_params(op)
        body = _valid_body(op.body) if op.body is not None else None
        first = {"create_auction": 201, "mark_all_read": 200, "put_seller_profile": 200}.get(
            op.name, 404
        )
        api(op.name, who, expect=first, json=body, **params)
        refused = api(op.name, who, expect=429, json=body, **params)
        assert int(refused.headers["Retry-After"]) >= 1
    bidder, live = harness.person(ctx, "buyer"), live_auction(ctx, seller)
    api("place_bid", bidder, expect=201, auction_id=live, json={"amount": "100"})
    refused = api("place_bid", bidder, expect=429, auction_id=live, json={"amount": "200"})
    assert int(refused.headers["Retry-After"]) >= 1


def test_checked_revalidations(api: Api, ctx: Context, seller: Person, buyer: Person) -> None:
    """The auction reads that carry an ETag answer a current If-None-Match with 304."""
    live = live_auction(ctx, seller)
    api("place_bid", buyer, expect=201, auction_id=live, json={"amount": "100"})
    for name in ("get_auction", "list_bids"):
        tag = api(name, expect=200, auction_id=live).headers["ETag"]
        api(name, expect=304, auction_id=live, headers={"If-None-Match": tag})


def test_checked_answers_with_the_dependencies_down(
    api: Api,
    ctx: Context,
    seller: Person,
    buyer: Person,
    admin: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL and Redis unreachable: every operation that needs them answers 503."""
    from chalicelib import runtime

    engine = make_engine("postgresql://nobody@127.0.0.1:9/none", pool_size=0, timeout_s=1)
    dead = Context(ctx.settings, Database(engine), RestStore("http://127.0.0.1:9", "x", retries=0))
    monkeypatch.setattr(runtime, "_context", dead)
    users._seen.clear()  # a user seen before would skip the database on sign-in
    people = {"buyer": buyer, "seller": seller, "admin": admin}
    try:
        for op in OPERATIONS:
            if op.tag == "docs" or (op.name, 503) in UNREACHED:
                continue
            body = _valid_body(op.body) if op.body is not None else None
            params = _unknown_params(op)
            answer = api(op.name, _caller(op, people), expect=503, json=body, **params)
            assert answer.json()["code"] == "unavailable", op.name
    finally:
        monkeypatch.undo()
        dead.close()


def test_every_operation_and_status_was_checked(served: dict[str, Any]) -> None:
    """The registry, every status each operation documents: all met above (or UNREACHED)."""
    scenarios = {
        name
        for name, test in globals().items()
        if name.startswith("test_") and "api" in inspect.signature(test).parameters
    }
    if scenarios - RAN:
        pytest.skip(f"checks the whole module's work; not run: {sorted(scenarios - RAN)}")
    assert OPERATIONS
    unchecked = [
        (op.name, status)
        for op in OPERATIONS
        for status in served["paths"][op.path][op.method.lower()]["responses"]
        if int(status) not in SEEN[op.name] and (op.name, int(status)) not in UNREACHED
    ]
    assert unchecked == [], f"never checked against the document: {unchecked}"
