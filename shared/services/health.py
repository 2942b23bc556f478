"""Health: is each dependency answering? 200 when all are, 503 naming the one that is not."""

from __future__ import annotations

from typing import Any

from shared.services.context import Context


def check(ctx: Context) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"status": "ok", "db": "ok", "redis": "ok"}
    try:
        ctx.db.lane.run("SELECT 1")
    except Exception as exc:  # any failure means "down", whatever the driver raised
        body["db"] = f"down: {type(exc).__name__}"
    try:
        pong = ctx.store.command("PING")
        if str(pong).upper() not in {"PONG", "TRUE"}:
            body["redis"] = f"down: unexpected reply {pong!r}"
    except Exception as exc:
        body["redis"] = f"down: {type(exc).__name__}"
    healthy = body["db"] == "ok" and body["redis"] == "ok"
    if not healthy:
        body["status"] = "degraded"
        body["code"] = "unavailable"  # the problem code of a 503 elsewhere in the API
    return (200 if healthy else 503), body
