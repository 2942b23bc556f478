"""SnapStart: the template turns it on where the runtime has it (Python 3.12+) and says why
not where it has not; the hooks keep connections out of the snapshot, reseed randomness after a
restore, and the requests after a restore open their own connections again."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import snapshot_restore_py
from chalice.test import Client
from chalicelib import runtime, snapstart

from infra import package
from shared.adapters.redis_store import RestStore
from shared.services.context import Context
from tests.support import harness
from tests.support.api_client import InProcessApi


def _template(bundle: Path) -> dict[str, Any]:
    template: dict[str, Any] = json.loads((bundle.parent / "sam.json").read_text())
    return template


def test_the_packaged_runtime_says_whether_it_has_snapstart(packaged_bundle: Path) -> None:
    api = _template(packaged_bundle)["Resources"]["APIHandler"]
    runtime_name = api["Properties"]["Runtime"]
    if package.runtime_version(runtime_name) >= package.SNAPSTART_FROM:
        assert api["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    else:  # python3.11 today: no SnapStart, and the template says why
        assert "SnapStart" not in api["Properties"]
        assert (
            "3.12" in api["Metadata"]["SnapStart"] and runtime_name in api["Metadata"]["SnapStart"]
        )


def test_a_python_312_template_snapshots_published_versions_behind_an_alias(
    packaged_bundle: Path, tmp_path: Path
) -> None:
    """The same template on python3.12: SnapStart on published versions, a version published
    per deploy under an alias, and the gateway and its permission on that alias (SnapStart
    never applies to $LATEST). The scheduled tick is left as it is."""
    template = _template(packaged_bundle)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["Runtime"] = "python3.12"
            resource.pop("Metadata", None)
    before = copy.deepcopy(template)
    path = tmp_path / "sam.json"
    path.write_text(json.dumps(template))
    package.add_snapstart(path)
    after = json.loads(path.read_text())
    api = after["Resources"]["APIHandler"]["Properties"]
    assert api["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert api["AutoPublishAlias"] == package.ALIAS
    said = after["Resources"]["APIHandler"]["Metadata"]
    assert "restore" in said["SnapStartCost"] and "cache" in said["SnapStartCost"]
    uris = [
        spec["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        for methods in after["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
            "paths"
        ].values()
        for spec in methods.values()
        if "x-amazon-apigateway-integration" in spec
    ]
    assert uris and all("${APIHandler.Alias}" in uri and ".Arn}" not in uri for uri in uris)
    permission = after["Resources"]["APIHandlerInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "APIHandler.Alias"}
    assert after["Resources"]["LifecycleTick"] == before["Resources"]["LifecycleTick"]


def test_the_hooks_are_registered_with_the_runtime_library() -> None:
    """The app registered them when imported (the library is installed here, as on a 3.12
    runtime): before the snapshot, after a restore."""
    import app  # noqa: F401 (importing it registers the hooks)

    before = [hook for hook, _, _ in snapshot_restore_py.get_before_snapshot()]
    after = [hook for hook, _, _ in snapshot_restore_py.get_after_restore()]
    assert snapstart.before_snapshot in before
    assert snapstart.after_restore in after


def test_no_connection_survives_into_the_snapshot_and_a_restore_reconnects(
    client: Client, ctx: Context
) -> None:
    """A request opens the hot lane's and Redis's connections; before the snapshot none is
    left open; after a restore randomness is reseeded and the next bid opens its own."""
    api = InProcessApi(client)
    assert runtime.context() is ctx
    store = ctx.store
    assert isinstance(store, RestStore)
    seller = harness.person(ctx, "seller")
    bidder = harness.person(ctx, "buyer")
    auction_id = harness.live_auction(ctx, seller)
    placed = api.post(
        f"/api/auctions/{auction_id}/bids", json={"amount": "100.00"}, headers=bidder.headers
    )
    assert placed.status == 201, placed
    assert ctx.db.lane._idle, "the bid left its connection in the lane"
    assert store.connections._idle

    snapstart.before_snapshot()
    assert not ctx.db.lane._idle
    assert not store.connections._idle

    random.seed(7)
    snapshot_draw = random.random()
    random.seed(7)  # as every instance restored from one snapshot would be
    snapstart.after_restore()
    assert random.random() != snapshot_draw
    rival = harness.person(ctx, "buyer")
    again = api.post(
        f"/api/auctions/{auction_id}/bids", json={"amount": "110.00"}, headers=rival.headers
    )
    assert again.status == 201, again
    assert ctx.db.lane._idle


def test_a_snapshot_init_warms_the_bid_path_and_opens_nothing(ctx: Context) -> None:
    """`warm`: the bid's modules, settings, verifier, script and validators, no connection."""
    snapstart.before_snapshot()
    snapstart.warm()
    from chalicelib import schemas

    assert type(schemas.PlaceBid.__pydantic_validator__).__name__ == "SchemaValidator"
    assert not ctx.db.lane._idle
