"""What every model stands on: the field types a request may carry (money, times, names,
texts), the closed vocabularies as Literal types, the request and answer bases, and the problem
body any route may answer with."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias

from pydantic import (
    MISSING,
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
)

from shared.domain.errors import PROBLEMS
from shared.domain.marketplace import CATEGORY, MAX_CANCEL_REASON
from shared.domain.money import parse_money
from shared.domain.text import NAME_PATTERN, TEXT_PATTERN, name_problem, text_problem
from shared.domain.times import parse_iso
from shared.domain.vocabulary import (
    AUCTION_STATUSES,
    CLOSE_REASONS,
    COUNTER_STATUSES,
    DISPUTE_OUTCOMES,
    DISPUTE_REASONS,
    DISPUTE_STATUSES,
    NOTIFICATION_TYPES,
    OFFER_STATUSES,
    PAYMENT_STATUSES,
    ROLES,
    SHIPPING_METHODS,
)

PROBLEM_CODES = tuple(PROBLEMS)


# The closed vocabularies, as Literal types built from the domain's tuples (one source each):
# pydantic validates and documents them as enums. A type checker cannot read a Literal built
# at run time; to it they are the strings they are.
if TYPE_CHECKING:
    Status: TypeAlias = str
    CounterStatus: TypeAlias = str
    OfferStatus: TypeAlias = str
    PaymentStatus: TypeAlias = str
    CloseReason: TypeAlias = str
    NotificationType: TypeAlias = str
    RoleName: TypeAlias = str
    ProblemCode: TypeAlias = str
    ShippingMethod: TypeAlias = str
    DisputeReason: TypeAlias = str
    DisputeStatus: TypeAlias = str
    DisputeOutcome: TypeAlias = str
else:
    Status = Literal[AUCTION_STATUSES]
    CounterStatus = Literal[COUNTER_STATUSES]
    OfferStatus = Literal[OFFER_STATUSES]
    PaymentStatus = Literal[PAYMENT_STATUSES]
    CloseReason = Literal[CLOSE_REASONS]
    NotificationType = Literal[NOTIFICATION_TYPES]
    RoleName = Literal[ROLES]
    ProblemCode = Literal[PROBLEM_CODES]
    ShippingMethod = Literal[SHIPPING_METHODS]
    DisputeReason = Literal[DISPUTE_REASONS]
    DisputeStatus = Literal[DISPUTE_STATUSES]
    DisputeOutcome = Literal[DISPUTE_OUTCOMES]


def _money(value: object) -> Decimal:
    return parse_money(value)


# Times a request may name: wide enough for any auction, narrow enough that adding a duration
# can never overflow (year 0001 with an offset, or 9999-12-31 plus 30 days, would).
EARLIEST_YEAR, LATEST_YEAR = 1970, 9000


def _utc(value: object) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("needs a time zone offset, e.g. 2026-12-01T10:00:00Z")
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_iso(value)
        except OverflowError:
            raise ValueError(f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}") from None
    else:
        raise ValueError("must be an ISO 8601 date-time string")
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise ValueError(f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return moment


Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 9999999999.99},
                {"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"},
            ],
            "description": "A positive amount with at most 2 fractional digits: a JSON number "
            "or a decimal string.",
            "examples": ["1250.00", 1250],
        }
    ),
]


UtcTime = Annotated[
    datetime,
    BeforeValidator(_utc),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601 with a zone offset (stored as UTC), years 1970 to 9000.",
            "examples": ["2030-01-01T10:00:00Z"],
        }
    ),
]


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold U+0000: refused here, not by the database (a 503).
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_no_nul)]


def _one_line(value: str) -> str:
    problem = name_problem(value)  # names reach email subjects: shared/domain/text.py
    if problem:
        raise ValueError(problem)
    return value


def _no_controls(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# A name (a person's, an item's): one printable line. Longer text keeps line breaks and tabs.
Name = Annotated[
    Text, AfterValidator(_one_line), Field(json_schema_extra={"pattern": NAME_PATTERN})
]


LongText = Annotated[
    Text, AfterValidator(_no_controls), Field(json_schema_extra={"pattern": TEXT_PATTERN})
]


# The auction's own texts, one definition for every way in (create, edit, cancel): an edit once
# took any text, line breaks and text-direction overrides included, where creation refused them.
ItemName = Annotated[Name, StringConstraints(min_length=1, max_length=200)]


ItemDescription = Annotated[LongText, StringConstraints(max_length=5000)]


# A cancel's reason reaches the bidders' notifications and emails: one line, like a name.
CancelReason = Annotated[Name, StringConstraints(min_length=1, max_length=MAX_CANCEL_REASON)]


StrictInt = Annotated[int, Strict()]


Category = Annotated[
    str,
    StringConstraints(pattern=CATEGORY.pattern, min_length=1, max_length=40),
    Field(description="A lowercase slug: 1 to 40 of a-z, 0-9 and -.", examples=["clocks"]),
]


Sort = Literal["ending_soon", "newest", "price_asc", "price_desc", "most_bids"]


Limit = Annotated[int, Field(ge=1, le=100)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, defer_build=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)


# -- answers: every success body is serialised through its model (`operations.operation`) ----
#
# `extra="forbid"` and `strict=True`: a member no model declares, or a value of the wrong type,
# is a bug the server answers with 500 rather than send. A member that may be absent is typed
# `X | MISSING` (the schema says "not required", never "nullable"; absent stays absent on the
# wire); a member the contract gives as `null` is required and typed `X | None`.

MoneyText = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]+\.[0-9]{2}$"),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+\.[0-9]{2}$", "examples": ["1250.00"]}),
]


Moment = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
    ),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601 UTC with milliseconds.",
            "examples": ["2030-01-01T10:00:00.000Z"],
        }
    ),
]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


class FieldProblem(Out):
    field: str = Field(description="The member at fault (`itemName`, `limit`...), or `body`.")
    message: str


class ProblemOut(Out):
    """RFC 9457 problem details; `code` is the machine-readable reason. Built by the one
    builder both deployables use (`shared.domain.errors.problem_body`)."""

    type: str
    title: str
    status: int
    detail: str
    code: ProblemCode
    errors: list[FieldProblem] | MISSING = Field(MISSING, description="With `validation_error`.")
    minNextBid: MoneyText | MISSING = Field(MISSING, description="With `bid_too_low`.")
    retryAfter: int | MISSING = Field(
        MISSING,
        description="With `rate_limited`, and a bid's `unavailable` or `outcome_unknown`: "
        "seconds to wait (also the `Retry-After` header).",
    )
    idempotencyKey: str | MISSING = Field(
        MISSING,
        description="With `outcome_unknown`: retry with this `Idempotency-Key` (yours, or the "
        "one the server used when you sent none) to learn whether the bid was placed.",
    )
    highestBid: MoneyText | MISSING = Field(
        MISSING, description="With `counter_too_low`: the amount the counter must exceed."
    )
    arrivedAt: Moment | MISSING = Field(
        MISSING,
        description="With a bid's `auction_not_live`: the moment the bid was judged at (its "
        "arrival).",
    )
    endsAt: Moment | MISSING = Field(
        MISSING, description="With a bid's `auction_not_live`: the auction's end."
    )
    auctionStatus: Status | MISSING = Field(
        MISSING,
        description="With `decision_not_allowed`, `offer_not_allowed`: the auction's status.",
    )
    counterStatus: CounterStatus | MISSING = Field(
        MISSING, description="With `counter_not_pending`: the counter offer's status."
    )
    offerStatus: OfferStatus | MISSING = Field(
        MISSING, description="With `offer_not_pending`: the offer's status."
    )
    paymentStatus: PaymentStatus | MISSING = Field(
        MISSING,
        description="With `payment_action_not_allowed`, `shipment_not_allowed`, "
        "`receipt_not_allowed`, `dispute_not_allowed`, `refund_not_allowed`: the payment's "
        "status.",
    )
    disputeStatus: DisputeStatus | MISSING = Field(
        MISSING, description="With `dispute_exists`, `dispute_not_open`: the dispute's status."
    )
