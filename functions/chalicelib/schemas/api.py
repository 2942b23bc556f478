"""Every other route's request and answer models."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import (
    MISSING,
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from shared.domain.errors import invalid
from shared.domain.feedback import MAX_COMMENT, RATINGS, SIDES
from shared.domain.india import parse_address
from shared.domain.marketplace import MAX_QUERY_CHARS

from .base import (
    Body,
    CancelReason,
    Category,
    CloseReason,
    CounterStatus,
    DisputeOutcome,
    DisputeReason,
    DisputeStatus,
    ItemDescription,
    ItemName,
    Limit,
    LongText,
    Moment,
    Money,
    MoneyText,
    Name,
    NotificationType,
    OfferStatus,
    Out,
    PaymentStatus,
    Query,
    RoleName,
    ShippingMethod,
    Sort,
    Status,
    StrictInt,
    Text,
    UtcTime,
    _no_nul,
)
from .bids import BidOut, BidSummary

# Feedback's vocabularies, as the closed ones in `base` are (a Literal built at run time is
# a string to a type checker).
if TYPE_CHECKING:
    RatingName: TypeAlias = str
    SideName: TypeAlias = str
else:
    RatingName = Literal[RATINGS]
    SideName = Literal[SIDES]


# -- requests ----------------------------------------------------------------------------------


class ShippingTerms(Body):
    """How the item reaches its buyer: `ship` (the seller sends it; `cost`, charged to the
    buyer, absent means free) or `pickup` (the buyer collects it, in `pickupCity`)."""

    method: ShippingMethod
    cost: Money | None = Field(None, description="With `ship`: what the buyer pays for it.")
    pickupCity: Annotated[Name, StringConstraints(min_length=1, max_length=100)] | None = Field(
        None, description="With `pickup`: where the item is collected."
    )

    @model_validator(mode="after")
    def _fits_the_method(self) -> ShippingTerms:
        if self.method == "ship" and self.pickupCity is not None:
            raise invalid("shipping.pickupCity", "goes only with method pickup")
        if self.method == "pickup" and self.cost is not None:
            raise invalid("shipping.cost", "goes only with method ship")
        return self


class CreateAuction(Body):
    itemName: ItemName
    description: ItemDescription = ""
    startPrice: Money
    bidIncrement: Money
    goLiveAt: UtcTime
    durationMins: Annotated[StrictInt, Field(ge=1, le=43200)]
    reservePrice: Money | None = None
    buyNowPrice: Money | None = None
    softCloseSecs: Annotated[StrictInt, Field(ge=0, le=600)] | None = None
    category: Category | None = None
    shipping: ShippingTerms | None = None


class EditAuction(Body):
    """Any create field; a member left out stays as it is, `null` clears an optional rule
    (reservePrice, buyNowPrice, softCloseSecs, category). The merged auction is checked as a
    whole, as on create."""

    itemName: ItemName | None = None
    description: ItemDescription | None = None
    startPrice: Money | None = None
    bidIncrement: Money | None = None
    goLiveAt: UtcTime | None = None
    durationMins: Annotated[StrictInt, Field(ge=1, le=43200)] | None = None
    reservePrice: Money | None = None
    buyNowPrice: Money | None = None
    softCloseSecs: Annotated[StrictInt, Field(ge=0, le=600)] | None = None
    category: Category | None = None
    shipping: ShippingTerms | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> EditAuction:
        for name in ("itemName", "description", "startPrice", "bidIncrement", "goLiveAt"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise invalid(name, "cannot be cleared")
        if "durationMins" in self.model_fields_set and self.durationMins is None:
            raise invalid("durationMins", "cannot be cleared")
        return self


class CancelAuction(Body):
    reason: CancelReason


class Decision(Body):
    action: Literal["accept", "reject", "counter"]
    amount: Money | None = None

    @model_validator(mode="after")
    def _counter_needs_amount(self) -> Decision:
        if self.action == "counter" and self.amount is None:
            raise invalid("amount", "a counter offer needs an amount")
        if self.action != "counter" and self.amount is not None:
            raise invalid("amount", "amount goes only with action counter")
        return self


class CounterResponse(Body):
    action: Literal["accept", "reject"]


class ResetAuction(Body):
    goLiveAt: UtcTime


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not EMAIL.match(value):
        raise ValueError("must be an email address")
    return value


class DevLogin(Body):
    email: Annotated[
        Text,
        StringConstraints(min_length=3, max_length=320),
        AfterValidator(_email),
        Field(json_schema_extra={"pattern": EMAIL.pattern}),
    ]
    name: Annotated[Name, StringConstraints(min_length=1, max_length=200)] | None = None
    role: Literal["buyer", "seller", "admin"] = "buyer"


class Page(Query):
    limit: Limit = 20
    cursor: Annotated[str, StringConstraints(max_length=500)] | None = None


class AuctionListQuery(Page):
    status: Status | None = None


class AuctionSearchQuery(AuctionListQuery):
    q: (
        Annotated[
            Text,
            StringConstraints(max_length=MAX_QUERY_CHARS),
            Field(
                description="Words to find in the item name and description (web search "
                'syntax: "a phrase", or, -word).'
            ),
        ]
        | None
    ) = None
    category: Category | None = None
    minPrice: Money | None = Field(
        None, description="On the current price (highest bid, else start price)."
    )
    maxPrice: Money | None = None
    sellerId: uuid.UUID | None = None
    sort: Sort = "newest"

    @model_validator(mode="after")
    def _range(self) -> AuctionSearchQuery:
        if (
            self.minPrice is not None
            and self.maxPrice is not None
            and self.minPrice > self.maxPrice
        ):
            raise invalid("minPrice", "must not be above maxPrice")
        return self


class MyBidsQuery(Page):
    state: Literal["leading", "outbid", "won", "lost"] | None = None


class MyAuctionsQuery(Page):
    status: Status | None = None


class NotificationQuery(Page):
    unreadOnly: bool = False


class MakeOffer(Body):
    bidderId: Annotated[
        uuid.UUID, Field(description="The bidder to offer the item to (any other bidder).")
    ]


class OfferResponse(Body):
    action: Literal["accept", "reject"]


# An address's members are checked by the domain (`shared.domain.india.parse_address`: every
# problem at once, in words that say what to write); here only their type and an outer bound.
AddressLine = Annotated[Text, StringConstraints(max_length=200)]


AddressPart = Annotated[Text, StringConstraints(max_length=100)]


class AddressIn(Body):
    """An Indian postal address. `state` by name, short code or GST code (`Karnataka`, `KA`,
    `29`); `postalCode` the 6-digit PIN; `country` `IN`."""

    line1: AddressLine
    line2: AddressLine | None = None
    city: AddressPart
    state: AddressPart
    postalCode: AddressPart
    country: AddressPart

    @model_validator(mode="before")
    @classmethod
    def _missing_said_plainly(cls, data: Any) -> Any:
        """A member left out is named with what to write ("address.postalCode: is required:
        the 6-digit PIN code"), with every other problem of the address, rather than
        pydantic's "Field required"."""
        required = ("line1", "city", "state", "postalCode", "country")
        if isinstance(data, dict) and any(data.get(m) is None for m in required):
            parse_address(data)  # raises: something is missing
        return data


Gstin = Annotated[
    Text,
    StringConstraints(max_length=20),
    Field(description="A GSTIN, 15 characters (`29AAPFU0939F1ZV`).", examples=["29AAPFU0939F1ZV"]),
]


class PaymentRequest(Body):
    action: Literal["mark_paid", "confirm", "report_unpaid"] = Field(
        description="`mark_paid` (the buyer), `confirm` (the seller), `report_unpaid` (the "
        "seller, from dueAt on: voids the sale)."
    )
    address: AddressIn | None = Field(
        None,
        description="With `mark_paid`: the buyer's address, where the item is delivered "
        "(required when the item ships) and what the tax invoice names.",
    )
    gstin: Gstin | None = Field(
        None, description="With `mark_paid`: a registered buyer's GSTIN, for the tax invoice."
    )

    @model_validator(mode="after")
    def _address_with_mark_paid(self) -> PaymentRequest:
        for name in ("address", "gstin"):
            if getattr(self, name) is not None and self.action != "mark_paid":
                raise invalid(name, "goes only with action mark_paid")
        return self


class SellerProfileIn(Body):
    displayName: Annotated[Text, StringConstraints(max_length=200)] = Field(
        description="The name buyers see and invoices print (1 to 100 characters, one line)."
    )
    phone: Annotated[Text, StringConstraints(max_length=32)] = Field(
        description="E.164: `+` and the country code, digits only (`+919845012345`)."
    )
    address: AddressIn = Field(description="Where the seller sells from.")
    gstin: Gstin | None = Field(
        None,
        description="Registered for GST: the sales' invoices are GST tax invoices. Its state "
        "must be the address's.",
    )
    acceptTerms: StrictBool = Field(description="Must be true: the seller's terms.")


class SetRole(Body):
    role: RoleName


class Shipment(Body):
    carrier: Annotated[Name, StringConstraints(min_length=1, max_length=100)]
    trackingNumber: Annotated[Name, StringConstraints(min_length=1, max_length=100)]


DisputeText = Annotated[LongText, StringConstraints(min_length=1, max_length=2000)]


class OpenDispute(Body):
    reason: DisputeReason
    detail: DisputeText = Field(description="What went wrong, in the buyer's words.")


class DisputeReplyIn(Body):
    message: DisputeText


class ResolveDispute(Body):
    outcome: DisputeOutcome = Field(
        description="`refund`: the sale is void and credited (a credit note); `release`: the "
        "sale stands."
    )
    note: DisputeText = Field(description="The decision's reason, told to both sides.")


class DisputeListQuery(Page):
    status: DisputeStatus = Field("open", description="Open disputes (oldest first) or resolved.")


class Suspend(Body):
    reason: Annotated[Text, StringConstraints(min_length=1, max_length=500)]


class SuspectsQuery(Query):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    sellerId: uuid.UUID | None = Field(None, description="Only the pairs of this seller.")


# A feedback comment or a reply: one printable line, like a name (it is shown beside a name on
# every reputation card).
FeedbackComment = Annotated[Name, StringConstraints(max_length=MAX_COMMENT)]


class LeaveFeedback(Body):
    rating: RatingName
    comment: FeedbackComment = Field(
        "", description=f"Optional: one line of text, at most {MAX_COMMENT} characters."
    )


class RetractBid(Body):
    reason: Literal["typo", "item_changed", "cannot_contact_seller"] = Field(
        description="Why: a mistyped amount, the item's description changed since, or the "
        "seller cannot be reached."
    )


class ReplyToFeedback(Body):
    comment: Annotated[FeedbackComment, StringConstraints(min_length=1)] = Field(
        description=f"One line of text, 1 to {MAX_COMMENT} characters."
    )


class UserListQuery(Page):
    q: Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)] | None = Field(
        None, description="A part of the name or email (case-insensitive)."
    )
    suspended: bool | None = Field(None, description="Only suspended (true) or active (false).")


class AuditQuery(Page):
    actorId: uuid.UUID | None = None
    action: Annotated[str, StringConstraints(max_length=64), AfterValidator(_no_nul)] | None = (
        Field(None, description="An exact action, e.g. `admin.suspend` or `seller.accept`.")
    )
    auctionId: uuid.UUID | None = None


# -- responses: every success body is serialised through its model (`operations.operation`) ----


class CounterSummary(Out):
    id: str
    amount: MoneyText
    status: CounterStatus
    expiresAt: Moment | MISSING = Field(
        MISSING, description="Unanswered by then, it expires and the auction closes."
    )


class OfferOut(Out):
    """A second-chance offer."""

    id: str
    auctionId: str
    bidderId: str
    amount: MoneyText
    status: OfferStatus
    expiresAt: Moment


class OfferCandidate(Out):
    bidderId: str
    bidderName: str = Field(description="The bidder's public display name, e.g. `Asha K.`.")
    amount: MoneyText = Field(description="Their own highest bid: what an offer would ask.")


class OfferList(Out):
    items: list[OfferOut] = Field(description="Every offer of the auction, newest first.")
    nextCursor: str | None
    candidates: list[OfferCandidate] = Field(
        description="The bidders an offer may go to, highest bid first."
    )


class PaymentOut(Out):
    status: PaymentStatus
    dueAt: Moment
    totalDue: MoneyText | MISSING = Field(
        MISSING,
        description="What the invoice asks of the buyer (hammer price, premium, shipping, "
        "GST), once it is issued.",
    )


class ShippingOut(Out):
    method: ShippingMethod
    cost: MoneyText | MISSING = Field(MISSING, description="With `ship`: absent means free.")
    pickupCity: str | MISSING = MISSING


class AddressOut(Out):
    line1: str
    line2: str | None
    city: str
    state: str = Field(description="The state's name.")
    stateCode: str = Field(description="Its GST state code, e.g. `29`.")
    postalCode: str
    country: str


class DeliveryOut(Out):
    """A sale's way to its buyer (shown to the buyer, the seller and admins)."""

    address: AddressOut | None = Field(description="Where it goes (given at payment).")
    shipBy: Moment | MISSING = Field(
        MISSING, description="An item that ships: the seller ships by then (paid + window)."
    )
    shippedAt: Moment | MISSING = MISSING
    carrier: str | MISSING = MISSING
    trackingNumber: str | MISSING = MISSING
    receivedAt: Moment | MISSING = MISSING


class DisputeReplyOut(Out):
    id: str
    authorId: str
    message: str
    createdAt: Moment


class DisputeOut(Out):
    id: str
    auctionId: str
    itemName: str
    buyerId: str
    sellerId: str
    reason: DisputeReason
    detail: str
    status: DisputeStatus
    openedAt: Moment
    replies: list[DisputeReplyOut] = Field(description="The seller's replies, oldest first.")
    outcome: DisputeOutcome | MISSING = Field(MISSING, description="Once resolved.")
    resolvedAt: Moment | MISSING = MISSING
    resolutionNote: str | MISSING = MISSING
    creditNoteNumber: str | MISSING = Field(
        MISSING, description="A refund: the credit note that cancels the invoice."
    )


class DisputeList(Out):
    items: list[DisputeOut]
    nextCursor: str | None


class SellerProfileOut(Out):
    userId: str
    displayName: str
    phone: str
    address: AddressOut
    gstin: str | None
    gstRegistered: bool = Field(description="True: the seller's invoices are tax invoices.")
    role: RoleName = Field(description="The user's role now (a buyer who starts selling: seller).")
    termsAcceptedAt: Moment
    updatedAt: Moment


class ImageOut(Out):
    id: str
    url: str = Field(description="The photo (WebP, at most 2048 px on its longer side).")
    thumbUrl: str = Field(description="Its thumbnail (WebP, at most 400 px).")
    width: int
    height: int


class AuctionOut(Out):
    id: str
    sellerId: str
    itemName: str
    description: str
    startPrice: MoneyText
    bidIncrement: MoneyText
    goLiveAt: Moment
    durationMins: int
    endsAt: Moment
    status: Status
    highestBid: BidSummary | None
    minNextBid: MoneyText
    bidCount: int
    counterOffer: CounterSummary | None
    serverTime: Moment
    createdAt: Moment
    updatedAt: Moment
    # The competitive rules appear only on auctions that use them ("absent means off").
    reservePrice: MoneyText | MISSING = Field(
        MISSING, description="Only for the seller, on an auction with a reserve."
    )
    reserveMet: bool | MISSING = Field(MISSING, description="On an auction with a reserve.")
    buyNowPrice: MoneyText | MISSING = MISSING
    softCloseSecs: int | MISSING = MISSING
    myMaxAmount: MoneyText | MISSING = Field(
        MISSING, description="The caller's own proxy maximum, while they have one."
    )
    winnerId: str | MISSING = Field(MISSING, description="The buyer, once sold.")
    finalPrice: MoneyText | MISSING = Field(MISSING, description="The sale price, once sold.")
    # After the hammer.
    winnerName: str | MISSING = Field(
        MISSING, description="The buyer's public display name (`Asha K.`), once sold."
    )
    decisionDeadline: Moment | MISSING = Field(
        MISSING, description="An ended auction: the seller decides by then, else the default."
    )
    closeReason: CloseReason | MISSING = Field(
        MISSING, description="Why a closed_no_winner auction closed."
    )
    payment: PaymentOut | MISSING = Field(MISSING, description="A sold auction's payment.")
    offer: OfferOut | MISSING = Field(
        MISSING,
        description="The second-chance offer: the newest to its seller and admins, the "
        "caller's own to a bidder.",
    )
    category: str | None = Field(description="A lowercase slug, or null.")
    images: list[ImageOut]
    watchers: int = Field(description="How many people watch it.")
    watching: bool | MISSING = Field(
        MISSING, description="Whether the caller watches it (signed-in callers only)."
    )
    cancelReason: str | MISSING = Field(
        MISSING, description="Why it was cancelled, once cancelled."
    )
    shipping: ShippingOut | MISSING = Field(
        MISSING, description="How the item reaches its buyer (absent: the seller stated none)."
    )
    delivery: DeliveryOut | MISSING = Field(
        MISSING, description="A sale's delivery, to its buyer, its seller and admins."
    )
    dispute: DisputeOut | MISSING = Field(
        MISSING, description="The sale's dispute, to its buyer, its seller and admins."
    )


class RetractionOut(Out):
    """A retraction: what was taken back, the auction's highest now, and what the auction's
    public record says of it."""

    auctionId: str
    bidderId: str
    bidIds: list[str] = Field(description="The bids retracted, in the order they were placed.")
    reason: Literal["typo", "item_changed", "cannot_contact_seller"]
    amount: MoneyText = Field(description="The lowest amount retracted.")
    retractedAt: Moment
    arrivedAt: Moment = Field(description="When the retraction was judged (its arrival).")
    judgedAt: Moment
    endsAt: Moment = Field(description="The auction's end (a retraction never moves it).")
    highestBid: BidOut | None = Field(description="The highest standing bid now, if any.")
    minNextBid: MoneyText


class AuctionList(Out):
    items: list[AuctionOut]
    nextCursor: str | None


class BidList(Out):
    items: list[BidOut]
    nextCursor: str | None


class MyBidOut(Out):
    auction: AuctionOut
    myHighestBid: MoneyText = Field(
        description="My highest standing bid (when every one was retracted: the highest I made)."
    )
    myMaxAmount: MoneyText | None
    ledgerBidder: str = Field(
        description="Your pseudonym in this auction's public bid log (32 hex digits): find "
        "your own bids among its entries (GET /api/auctions/{id}/ledger).",
        pattern=r"^[0-9a-f]{32}$",
    )
    state: Literal["leading", "outbid", "won", "lost"]
    retractedAt: Moment | None = Field(
        None, description="When I last retracted bids on it in this round; null if never."
    )


class MyBidList(Out):
    items: list[MyBidOut]
    nextCursor: str | None


class PurchaseOut(Out):
    auction: AuctionOut
    finalPrice: MoneyText
    invoiceNumber: str = Field(examples=["INV-000042"])
    payment: PaymentOut = Field(description="The sale's payment.")


class PurchaseList(Out):
    items: list[PurchaseOut]
    nextCursor: str | None


class ReadAllOut(Out):
    updated: int = Field(description="How many notifications were marked read now.")


class NotificationOut(Out):
    id: str
    type: NotificationType
    payload: dict[str, Any]
    readAt: Moment | None
    createdAt: Moment


class NotificationList(Out):
    items: list[NotificationOut]
    nextCursor: str | None
    unreadCount: int


class DeadJobOut(Out):
    id: str = Field(description="The job's stable id, e.g. `email:sale:{auctionId}:buyer`.")
    kind: str = Field(description="`email:sale_confirmation`, `email:rejection`...")
    lastError: str | None
    attempts: int = Field(description="Failed tries since it was queued or last replayed.")
    failedAt: Moment | None
    replays: int
    auctionId: str | None
    recipientId: str | None


class DeadJobList(Out):
    items: list[DeadJobOut]
    nextCursor: str | None


class ReplayedJobOut(DeadJobOut):
    state: Literal["ready"]


class UserOut(Out):
    id: str
    email: str
    name: str
    role: RoleName


class AdminUserOut(UserOut):
    suspended: bool
    suspendedAt: Moment | None
    suspendedReason: str | None
    createdAt: Moment


class AdminUserList(Out):
    items: list[AdminUserOut]
    nextCursor: str | None


class AuditEntryOut(Out):
    id: int
    actorId: str | None = Field(description="Who acted (null: the system, e.g. a deadline).")
    action: str
    auctionId: str | None
    details: dict[str, Any]
    createdAt: Moment


class AuditList(Out):
    items: list[AuditEntryOut]
    nextCursor: str | None


# -- trust and safety ------------------------------------------------------------------------


class SuspectAuction(Out):
    id: str
    itemName: str
    status: Status


class SuspectOut(Out):
    """One (bidder, seller) pair's shill signals: a lead for a person, never a verdict."""

    bidderId: str
    sellerId: str
    bidderName: str = Field(description="The bidder's public name.")
    sellerName: str = Field(description="The seller's public name.")
    bidderSuspended: bool
    score: float = Field(ge=0, le=1, description="The signals combined (a documented formula).")
    signals: dict[str, float] = Field(
        description="auctionShare, neverWins, raisesAfterRival, minimumBids, earlyBidding "
        "(shares, 0 to 1) and networkOverlap (how many networks and devices the bidder shares "
        "with the seller)."
    )
    reasons: list[str] = Field(description="One sentence per signal that counts.")
    auctions: list[SuspectAuction] = Field(
        description="The seller's auctions the bidder bid on most recently (up to 5)."
    )
    updatedAt: Moment = Field(description="When the pair was last scored.")


class SuspectList(Out):
    items: list[SuspectOut] = Field(description="Every pair scored above 0, highest first.")


class BlockedBidderOut(Out):
    userId: str
    name: str = Field(description="The bidder's public name, as the seller's room shows it.")
    blockedAt: Moment


class BlockedBidderList(Out):
    items: list[BlockedBidderOut] = Field(description="Most recently blocked first.")
    nextCursor: str | None


class FeedbackReplyOut(Out):
    comment: str
    at: Moment


class FeedbackOut(Out):
    id: str
    auctionId: str
    fromId: str
    fromName: str
    fromRole: SideName = Field(description="The author's side of the sale.")
    toId: str
    toName: str
    rating: RatingName
    comment: str
    createdAt: Moment
    reply: FeedbackReplyOut | None = Field(description="The rated side's reply, once given.")


class FeedbackList(Out):
    items: list[FeedbackOut]


class ReputationEntry(Out):
    rating: RatingName
    comment: str
    role: SideName = Field(description="The role the user had in that sale.")
    at: Moment
    reply: FeedbackReplyOut | None


class ReputationOut(Out):
    userId: str
    name: str = Field(description="The public name.")
    positive: int
    neutral: int
    negative: int
    percentPositive: float | None = Field(
        description="Positive ratings among the positive and negative ones, in percent (one "
        "decimal); null without any."
    )
    retractions12m: int = Field(description="Bids retracted in the last 12 months.")
    memberSince: Moment
    recent: list[ReputationEntry] = Field(
        description="The latest ratings (up to 10), newest first."
    )


class TokenOut(Out):
    token: str


class HealthOut(Out):
    """Each dependency's state: `ok`, or `down: <why>` (then the status is 503)."""

    status: Literal["ok", "degraded"]
    db: str
    redis: str
    code: Literal["unavailable"] | MISSING = Field(
        MISSING, description="With 503: the problem code the rest of the API uses."
    )


# -- the public bid ledger ---------------------------------------------------------------------


class LedgerKeyOut(Out):
    keyName: str
    publicKey: str = Field(description="Base64 Ed25519 public key (32 bytes).")
    vkey: str = Field(description="The C2SP signed-note verifier key: name+keyid+base64 key.")


class LedgerQuery(Query):
    # A parameter the ledger's reads do not know is refused (`limit` here would be a page
    # size silently ignored; a misspelt `sise` a proof of another tree).
    model_config = ConfigDict(extra="forbid", defer_build=True, populate_by_name=True)


class LedgerRange(LedgerQuery):
    start: Annotated[int, Field(ge=0)] = 0
    end: Annotated[int, Field(ge=0)] | None = None


class LedgerEntryOut(Out):
    index: int
    entry: str = Field(description="The entry's canonical JSON text, exactly as hashed.")
    leafHash: str = Field(description="Base64 SHA-256(0x00 || entry bytes).")


class LedgerPage(Out):
    entries: list[LedgerEntryOut] = Field(description="At most 1,000 entries, by index.")
    size: int = Field(description="The size of the latest signed tree.")


class InclusionQuery(LedgerQuery):
    # Both required: said after the auction is known (an unknown one is 404 first).
    index: Annotated[int, Field(ge=0)] | None = None
    size: Annotated[int, Field(ge=1)] | None = None


class InclusionProofOut(Out):
    index: int
    size: int
    path: list[str] = Field(description="RFC 9162 2.1.3 audit path, base64 hashes.")


class ConsistencyQuery(LedgerQuery):
    # Both required: said after the auction is known (an unknown one is 404 first).
    from_: Annotated[int | None, Field(ge=0, alias="from")] = None
    to: Annotated[int, Field(ge=0)] | None = None


class ConsistencyProofOut(Out):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        defer_build=True,
        populate_by_name=True,
        serialize_by_alias=True,
    )

    from_: int = Field(alias="from")
    to: int
    path: list[str] = Field(description="RFC 9162 2.1.4 consistency proof, base64 hashes.")


class LedgerOutcome(Out):
    winner: str | None = Field(description="The highest bidder's pseudonym, or null.")
    price: MoneyText | None
    reserveMet: bool | None = Field(description="null when the auction has no reserve.")


class MaximumReveal(Out):
    bidder: str
    max: MoneyText = Field(description="The maximum exactly as committed (e.g. `300.00`).")
    nonce: str


class LedgerClose(Out):
    checkpoint: str = Field(description="The signed checkpoint over the whole log.")
    outcome: LedgerOutcome
    reveals: list[MaximumReveal] = Field(
        description="Every proxy maximum set, with its nonce: sha256('{max}|{nonce}') is the "
        "maxCommit of its entries."
    )
