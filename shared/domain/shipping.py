"""How a sold item reaches its buyer (pure): the terms chosen at listing, and who may say it
left or arrived, when.

    listed with shipping {method: ship, cost?} or {method: pickup, pickupCity?}
    sold -> paid (the buyer gives the delivery address with mark_paid; required to ship)
         -> the seller records the shipment (carrier, tracking number) by `shipBy`
            (paid + SHIP_WINDOW_SECS; past it the seller is reminded and the buyer told, once)
         -> the buyer marks it received

An item picked up has no shipment: the buyer marks it received once it is paid. An auction
listed before shipping terms existed (none stated) may be shipped or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.domain.deadlines import after
from shared.domain.errors import DomainError
from shared.domain.vocabulary import PaymentStatus, ShippingMethod

# A sale is paid for the shipping rules when the buyer said so or the seller confirmed it.
PAID_STATUSES = (PaymentStatus.PAID, PaymentStatus.CONFIRMED)


@dataclass(frozen=True)
class ShippingTerms:
    method: ShippingMethod
    cost: Decimal | None = None  # `ship` only; None: free
    pickup_city: str | None = None  # `pickup` only

    @property
    def ships(self) -> bool:
        return self.method == ShippingMethod.SHIP


def terms_of(method: str | None, cost: Decimal | None, city: str | None) -> ShippingTerms | None:
    """The terms as the record holds them (None: none stated)."""
    if method is None:
        return None
    return ShippingTerms(ShippingMethod(method), cost, city)


def needs_address(method: str | None) -> bool:
    """The buyer must give a delivery address when paying: the item ships."""
    return method == ShippingMethod.SHIP


def ship_deadline(method: str | None, paid_at: datetime, window_secs: int) -> datetime | None:
    """When the seller must have shipped (None: nothing ships, or no terms were stated)."""
    return after(paid_at, window_secs) if method == ShippingMethod.SHIP else None


@dataclass(frozen=True)
class Delivery:
    """A current (not void) sale as the shipping rules see it."""

    buyer_id: str
    seller_id: str
    method: str | None  # the shipping terms taken at the sale
    payment_status: str
    shipped_at: datetime | None = None
    received_at: datetime | None = None


def judge_shipment(delivery: Delivery | None, actor_id: str) -> None:
    """May `actor_id` record the shipment now? (The seller, once, after payment.)"""
    if delivery is None:
        raise DomainError(
            "shipment_not_allowed", "The auction is not sold: there is nothing to ship"
        )
    if actor_id != delivery.seller_id:
        raise DomainError("forbidden", "Only the seller records the shipment")
    status = delivery.payment_status

    def refuse(why: str) -> DomainError:
        return DomainError("shipment_not_allowed", why, paymentStatus=status)

    if delivery.method == ShippingMethod.PICKUP:
        raise refuse("The buyer picks this item up: there is no shipment to record")
    if status not in PAID_STATUSES:
        raise refuse(
            f"A shipment on an unpaid sale: the payment is {status}; ship once the buyer has "
            "paid (marked paid, or confirmed by you)"
        )
    if delivery.shipped_at is not None:
        raise refuse("The shipment is already recorded")


def judge_receipt(delivery: Delivery | None, actor_id: str) -> None:
    """May `actor_id` mark the item received now? (The buyer, once, after payment, and after
    the shipment when the item ships.)"""
    if delivery is None:
        raise DomainError("receipt_not_allowed", "The auction is not sold: nothing to receive")
    if actor_id != delivery.buyer_id:
        raise DomainError("forbidden", "Only the buyer marks the item received")
    status = delivery.payment_status

    def refuse(why: str) -> DomainError:
        return DomainError("receipt_not_allowed", why, paymentStatus=status)

    if delivery.received_at is not None:
        raise refuse("The item is already marked received")
    if status not in PAID_STATUSES:
        raise refuse(f"The payment is {status}: mark it paid first")
    if delivery.method == ShippingMethod.SHIP and delivery.shipped_at is None:
        raise refuse("The seller has not recorded the shipment yet")
