"""CloudWatch Embedded Metric Format (EMF) members for a request's log line.

CloudWatch Logs reads the `_aws` member of a JSON log line and turns the members it names into
metrics (AWS's "Specification: Embedded metric format"): no API call, no agent, no library on
the request path. The request line of an operation that declares `outcome_metrics="Bid"`
carries, per request:

- `BidLatency` (Milliseconds): the request's time in the function;
- `BidAccepted` (Count): 1 when it succeeded, else 0;
- `BidRefused` (Count): 1 when it was answered with a problem, else 0; also by `code` (the
  problem code: `bid_too_low`, `rate_limited`, `outcome_unknown`...; a bounded set, the
  problem table of `shared/domain/errors.py`).

Built by hand: a dict of a few members on a line that is written anyway (about 2 us; the
`aws-embedded-metrics` library costs an import and an asyncio flush per call, docs/runbooks.md
"Runbook: figures and logs").
"""

from __future__ import annotations

from typing import Any

NAMESPACE = "AuctionPlatform"
SERVICE = "api"  # the `service` member the JSON log formatter writes on every line


def outcome_members(metric: str, ms: float, code: str | None, at_ms: int) -> dict[str, Any]:
    """The EMF members of one request of operation `metric` ("Bid"): took `ms`, answered
    with the problem `code` (None: success), at epoch ms `at_ms`."""
    latency, accepted, refused = f"{metric}Latency", f"{metric}Accepted", f"{metric}Refused"
    directives: list[dict[str, Any]] = [
        {
            "Namespace": NAMESPACE,
            "Dimensions": [["service"]],
            "Metrics": [
                {"Name": latency, "Unit": "Milliseconds"},
                {"Name": accepted, "Unit": "Count"},
                {"Name": refused, "Unit": "Count"},
            ],
        }
    ]
    members: dict[str, Any] = {
        "service": SERVICE,
        latency: ms,
        accepted: 0 if code else 1,
        refused: 1 if code else 0,
    }
    if code:
        directives.append(
            {
                "Namespace": NAMESPACE,
                "Dimensions": [["service", "code"]],
                "Metrics": [{"Name": refused, "Unit": "Count"}],
            }
        )
        members["code"] = code
    members["_aws"] = {"Timestamp": at_ms, "CloudWatchMetrics": directives}
    return members
