"""Domain errors, the one table that maps each `code` to an HTTP status and a title, and the one
builder of problem+json bodies (the API and the socket node both answer with it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# code -> (HTTP status, title). Every code the API or the socket node answers; nothing else
# invents codes.
PROBLEMS: dict[str, tuple[int, str]] = {
    "bad_request": (400, "Bad request"),
    "unauthenticated": (401, "Authentication required"),
    "forbidden": (403, "Forbidden"),
    "own_auction": (403, "You cannot bid on your own auction"),
    "account_suspended": (403, "This account is suspended"),
    "bidder_blocked": (403, "The seller has blocked you from bidding on their auctions"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "auction_not_live": (409, "The auction is not accepting bids"),
    "bid_too_low": (409, "Bid too low"),
    "already_highest": (409, "You already hold the highest bid"),
    "decision_not_allowed": (409, "No decision can be made on this auction now"),
    "counter_too_low": (409, "The counter offer must exceed the highest bid"),
    "counter_not_pending": (409, "The counter offer is no longer pending"),
    "auction_not_editable": (409, "Only a scheduled auction can be edited"),
    "auction_not_cancellable": (409, "This auction can no longer be cancelled"),
    "too_many_images": (409, "An auction has at most 8 images"),
    "offer_pending": (409, "A second-chance offer is already pending"),
    "offer_not_pending": (409, "The offer is no longer pending"),
    "offer_not_allowed": (409, "No second-chance offer can be made on this auction now"),
    "payment_action_not_allowed": (409, "That payment action is not possible now"),
    "auction_not_ended": (409, "The auction has not ended yet"),
    # the open marketplace: tax invoices, shipping, disputes
    "invoice_not_issued": (409, "The tax invoice is not issued yet"),
    "shipment_not_allowed": (409, "No shipment can be recorded for this sale now"),
    "receipt_not_allowed": (409, "The item cannot be marked received now"),
    "dispute_not_allowed": (409, "No dispute can be opened on this sale now"),
    "dispute_exists": (409, "This sale already has a dispute"),
    "dispute_not_open": (409, "The dispute is not open"),
    "refund_not_allowed": (409, "This sale cannot be refunded"),
    "feedback_not_allowed": (409, "Feedback opens once the sale is complete"),
    "feedback_exists": (409, "You already left feedback on this sale"),
    "retraction_not_allowed": (409, "This bid cannot be retracted now"),
    "reply_exists": (409, "You already replied to this feedback"),
    "payload_too_large": (413, "Payload too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "validation_error": (422, "Validation failed"),
    "idempotency_key_reused": (422, "This Idempotency-Key was used for a different request"),
    "rate_limited": (429, "Too many requests"),
    "internal_error": (500, "Internal error"),
    "unavailable": (503, "Service unavailable"),
    "outcome_unknown": (503, "The outcome is unknown; retry with the same Idempotency-Key"),
}


PROBLEM_TYPE = "https://auction.example/problems/{code}"


def problem_body(
    code: str, detail: str | None = None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The RFC 9457 body of `code`: `{type, title, status, detail, code}` from the table, plus
    what the code carries (`errors`, `minNextBid`, `retryAfter`...)."""
    status, title = PROBLEMS[code]
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE.format(code=code),
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
    }
    if extra:
        # Extra members never replace the problem's own (a `status` extra once did).
        body.update({k: v for k, v in extra.items() if k not in body})
    return body


@dataclass
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """A refusal the caller can act on. `extra` members go into the problem body."""

    def __init__(self, code: str, detail: str | None = None, **extra: Any) -> None:
        if code not in PROBLEMS:
            raise KeyError(f"unknown problem code {code!r}")
        self.code = code
        self.status, self.title = PROBLEMS[code]
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(f"{code}: {self.detail}")

    def body(self) -> dict[str, Any]:
        return problem_body(self.code, self.detail, self.extra)


class ValidationFailed(DomainError):
    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(
            "validation_error",
            detail or "; ".join(f"{e.field}: {e.message}" for e in errors),
            errors=[{"field": e.field, "message": e.message} for e in errors],
        )
        self.errors = errors


def invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field, message)])
