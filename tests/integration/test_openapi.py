"""The OpenAPI 3.1 document at /api/openapi.json and the docs page at /api/docs: a valid
document, generated from the models that validate requests, covering every route and every
error code of CONTRACT section 4; a docs page that needs nothing from the network."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest
import schemathesis

# CONTRACT section 4, the route table (its `{id}` is any one path parameter here).
CONTRACT_ROUTES = [
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
    ("POST", "/api/dev/login"),  # CONTRACT section 3 (development only)
]

# CONTRACT section 4, "Error status codes".
CONTRACT_ERRORS = {
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
    problems = [r for r in loaded.get_all_operations() if not r.ok()]  # type: ignore[attr-defined]
    assert problems == []


def test_every_contract_route_is_documented(served: dict[str, Any]) -> None:
    documented = {(method, _normal(path)) for method, path, _ in _operations(served)}
    missing = [route for route in CONTRACT_ROUTES if route not in documented]
    assert missing == [], f"routes of CONTRACT section 4 missing from the document: {missing}"


def test_every_contract_error_code_is_documented_with_its_status(served: dict[str, Any]) -> None:
    seen: dict[str, set[int]] = {}
    for _, _, spec in _operations(served):
        for status, response in spec["responses"].items():
            for content in response.get("content", {}).values():
                for part in content.get("schema", {}).get("allOf", []):
                    for code in part.get("properties", {}).get("code", {}).get("enum", []):
                        seen.setdefault(code, set()).add(int(status))
    for code, status in CONTRACT_ERRORS.items():
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
        "cancelled",  # CONTRACT section 10
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
        assert schemas[model.__name__] == orjson.loads(orjson.dumps(generated))
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
