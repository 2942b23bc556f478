"""The one problem-body builder (`shared.domain.errors.problem_body`): every code of the table
gives a body the API's ProblemOut model accepts, and the socket node answers with the very same
body (status, title and all) as the API."""

from __future__ import annotations

import orjson
import pytest
from chalicelib.schemas import ProblemOut

from shared.domain.errors import PROBLEMS, DomainError, invalid, problem_body
from socket_node.http_routes import problem as socket_problem


@pytest.mark.parametrize("code", sorted(PROBLEMS))
def test_every_code_builds_a_body_the_document_allows(code: str) -> None:
    status, title = PROBLEMS[code]
    body = problem_body(code)
    assert body == {
        "type": f"https://auction.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": title,
        "code": code,
    }
    ProblemOut.model_validate(body)


def test_what_a_code_carries_is_declared_and_never_replaces_the_problems_own() -> None:
    carried = [
        invalid("itemName", "must not be empty").body(),
        DomainError("bid_too_low", minNextBid="110.00").body(),
        DomainError("rate_limited", retryAfter=3).body(),
        DomainError("counter_too_low", highestBid="150.00").body(),
        DomainError("decision_not_allowed", auctionStatus="sold").body(),
        DomainError("counter_not_pending", counterStatus="accepted").body(),
    ]
    for body in carried:
        ProblemOut.model_validate(body)
    assert DomainError("not_found", status=200).body()["status"] == 404


@pytest.mark.parametrize(
    "code", ["method_not_allowed", "unauthenticated", "forbidden", "not_found"]
)
def test_the_socket_node_answers_with_the_same_body(code: str) -> None:
    response = socket_problem(code, "Why it was refused")
    assert response.status_code == PROBLEMS[code][0]
    assert response.headers["Content-Type"] == "application/problem+json"
    assert orjson.loads(response.body) == problem_body(code, "Why it was refused")
