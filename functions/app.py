"""The auction platform's REST API (AWS Chalice): every route of the API's route table, and the
scheduled lifecycle tick that backs up the socket node's ticker."""

# ruff: noqa: E402

from __future__ import annotations

import gc
import os

# No collection while the app is imported: the import only builds what lives as long as the
# process (~350 modules, their classes, the API's models), so the young-generation
# collections it would trigger find nothing to free (~12 ms of a cold start). Enabled again,
# with all of it frozen, at the end of this module. (So the imports below come after a
# statement: E402 is expected in this module.)
gc.disable()

# No pydantic plugins ship with the functions: say so, and pydantic's first validator skips
# scanning every installed distribution's entry points for them (~10 ms of a cold start).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from chalice.app import Chalice, Rate
from chalicelib import middleware, runtime, snapstart
from chalicelib.routes import (
    admin,
    after_sale,
    auctions,
    decisions,
    disputes,
    docs,
    jobs_admin,
    ledger,
    marketplace,
    moderation,
    notifications,
    selling,
    shipping,
    system,
    trust,
)

from shared.logs import configure_logging

# One JSON object per line (EMF lines included), credentials masked in each.
configure_logging("api")

app = Chalice(app_name="auction-api")
# The binary media types are exactly what the API sends (the invoice PDF) and takes (photo
# uploads, which API Gateway passes on base64-encoded only when their type is declared binary;
# Chalice then decodes `raw_body`): not Chalice's twenty defaults (audio, video, archives),
# which it lower-cases and scans for every request and every answer (~90 str.lower calls).
app.api.binary_types = ["application/pdf", "image/jpeg", "image/png", "image/webp"]
app.register_blueprint(system.bp)
app.register_blueprint(auctions.bp)
app.register_blueprint(admin.bp)
app.register_blueprint(docs.bp)
app.register_blueprint(decisions.bp)
app.register_blueprint(notifications.bp)
app.register_blueprint(jobs_admin.bp)
app.register_blueprint(after_sale.bp)
app.register_blueprint(moderation.bp)
app.register_blueprint(marketplace.bp)
app.register_blueprint(selling.bp)
app.register_blueprint(shipping.bp)
app.register_blueprint(disputes.bp)
app.register_blueprint(trust.bp)
app.register_blueprint(ledger.bp)
middleware.install(app)
# SnapStart (Python 3.12+ runtimes): connections out of the snapshot, the bid path warmed in.
snapstart.install()


# What the import built (modules, classes, the API's models, the route table) lives as long as
# the process: out of the garbage collector's sight, so the first full collection of a new
# instance, early in its first requests, scans only what requests made (~80 ms less).
gc.freeze()
gc.enable()


@app.schedule(Rate(1, unit=Rate.MINUTES))
def lifecycle_tick(event: object) -> dict[str, object]:
    """The backstop ticker: the same tick as the socket node's, and a ping that keeps the
    socket node awake on free hosting."""
    from shared.services import email_jobs, jobs, ticker

    report = ticker.tick(runtime.context())
    # Emails too, in case the socket node (whose loop runs them) is asleep; the queue's
    # leases keep the two workers off each other's jobs.
    ran = jobs.work(runtime.context(), email_jobs.handlers(), limit=50)
    pinged = _ping_socket_node()
    return {
        "started": report.started,
        "ended": report.ended,
        "deadlines": report.deadlines,
        "intake": report.intake,
        "jobs": ran,
        "socketNode": pinged,
    }


def _ping_socket_node() -> int | str:
    import httpx

    try:
        return httpx.get(f"{runtime.settings().socket_node_url}/health", timeout=10).status_code
    except httpx.HTTPError as exc:
        return f"unreachable: {type(exc).__name__}"
