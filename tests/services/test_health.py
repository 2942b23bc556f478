"""/health on the functions: 200 with db and redis ok; 503 naming the part that is down."""

from __future__ import annotations

import httpx
from chalice.test import Client

from shared.adapters.db import Database, make_engine
from shared.adapters.redis_store import RestStore
from shared.services import health
from shared.services.context import Context


def test_health_reports_both_parts(client: Client) -> None:
    response = client.http.get("/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok", "db": "ok", "redis": "ok"}


def test_health_over_real_http(api_url: str) -> None:
    response = httpx.get(f"{api_url}/health")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"


def test_health_names_redis_when_it_is_down(ctx: Context) -> None:
    dead = Context(ctx.settings, ctx.db, RestStore("http://127.0.0.1:9", "x", retries=0))
    status, body = health.check(dead)
    assert status == 503
    assert body["db"] == "ok" and body["redis"].startswith("down")


def test_health_names_the_database_when_it_is_down(ctx: Context) -> None:
    db = Database(make_engine("postgresql://nobody@127.0.0.1:9/none", pool_size=0, timeout_s=1))
    status, body = health.check(Context(ctx.settings, db, ctx.store))
    assert status == 503
    assert body["redis"] == "ok" and body["db"].startswith("down")
