"""The open marketplace's rules as plain functions: who may sell and with which role, who may
record a shipment or a receipt and when, who may open, answer and resolve a dispute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.disputes import DisputedSale, judge_open, judge_reply, judge_resolve
from shared.domain.errors import DomainError, ValidationFailed
from shared.domain.principal import effective_role
from shared.domain.sellers import parse_seller_profile, role_after_profile
from shared.domain.shipping import (
    Delivery,
    judge_receipt,
    judge_shipment,
    needs_address,
    ship_deadline,
)
from shared.domain.vocabulary import DisputeOutcome
from tests.support.gst_samples import gstin_for

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ADDRESS = {
    "line1": "12 MG Road",
    "city": "Bengaluru",
    "state": "Karnataka",
    "postalCode": "560001",
    "country": "IN",
}


def refused(call: object, *args: object) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


def test_the_role_a_request_acts_with() -> None:
    assert effective_role("buyer", "seller") == "seller"  # the record's, once it exists
    assert effective_role("seller", "buyer") == "buyer"  # the token never overrides it
    assert effective_role("admin", "buyer") == "admin"  # an admin token is always admin
    assert role_after_profile("buyer") == "seller"
    assert role_after_profile("admin") == "admin"
    assert role_after_profile("seller") == "seller"


def test_a_profile_is_read_and_every_problem_named() -> None:
    gstin = str(gstin_for("29"))
    profile = parse_seller_profile(
        display_name=" Sita ",
        phone="+919845012345",
        address=ADDRESS,
        gstin=gstin.lower(),
        accept_terms=True,
    )
    assert (profile.display_name, str(profile.gstin), profile.registered) == ("Sita", gstin, True)
    assert profile.address.state.code == "29"
    unregistered = parse_seller_profile(
        display_name="Sita", phone="+919845012345", address=ADDRESS, gstin="  ", accept_terms=True
    )
    assert unregistered.gstin is None
    with pytest.raises(ValidationFailed) as caught:
        parse_seller_profile(
            display_name="",
            phone="98450",
            address={**ADDRESS, "state": "Atlantis"},
            gstin=str(gstin_for("27")),  # valid, but Maharashtra's: the address's state wins
            accept_terms="yes",
        )
    assert [e.field for e in caught.value.errors] == [
        "displayName",
        "phone",
        "address.state",
        "acceptTerms",
    ]  # the GSTIN's state is compared only with an address that reads


def test_a_shipment_only_on_a_paid_sale_of_an_item_that_ships_and_once() -> None:
    sale = Delivery("b", "s", "ship", "pending")
    unpaid = refused(judge_shipment, sale, "s")
    assert (unpaid.code, unpaid.extra["paymentStatus"]) == ("shipment_not_allowed", "pending")
    assert "unpaid" in unpaid.detail
    assert refused(judge_shipment, sale, "b").code == "forbidden"
    assert refused(judge_shipment, None, "s").code == "shipment_not_allowed"
    for status in ("paid", "confirmed"):
        judge_shipment(Delivery("b", "s", "ship", status), "s")
        judge_shipment(Delivery("b", "s", None, status), "s")  # no terms stated: may ship
    picked = Delivery("b", "s", "pickup", "paid")
    assert "picks this item up" in refused(judge_shipment, picked, "s").detail
    twice = Delivery("b", "s", "ship", "paid", shipped_at=T0)
    assert refused(judge_shipment, twice, "s").code == "shipment_not_allowed"
    assert needs_address("ship") and not needs_address("pickup") and not needs_address(None)
    assert ship_deadline("ship", T0, 432000) == T0 + timedelta(days=5)
    assert ship_deadline("pickup", T0, 432000) is None


def test_a_receipt_after_payment_and_after_the_shipment_when_it_ships() -> None:
    assert refused(judge_receipt, Delivery("b", "s", "ship", "paid"), "b").code == (
        "receipt_not_allowed"
    )
    judge_receipt(Delivery("b", "s", "ship", "paid", shipped_at=T0), "b")
    judge_receipt(Delivery("b", "s", "pickup", "confirmed"), "b")
    assert refused(judge_receipt, Delivery("b", "s", "pickup", "pending"), "b").code == (
        "receipt_not_allowed"
    )
    assert refused(judge_receipt, Delivery("b", "s", "pickup", "paid"), "s").code == "forbidden"
    done = Delivery("b", "s", "pickup", "paid", received_at=T0)
    assert refused(judge_receipt, done, "b").code == "receipt_not_allowed"


def test_a_dispute_within_the_window_of_a_paid_sale_one_per_sale() -> None:
    paid = DisputedSale("b", "s", "paid", paid_at=T0)
    window = 1209600
    judge_open(paid, "b", T0 + timedelta(seconds=window - 1), window, None)
    late = refused(judge_open, paid, "b", T0 + timedelta(seconds=window), window, None)
    assert late.code == "dispute_not_allowed"
    assert refused(judge_open, paid, "s", T0, window, None).code == "forbidden"
    assert refused(judge_open, paid, "b", T0, window, "open").code == "dispute_exists"
    pending = DisputedSale("b", "s", "pending", paid_at=None)
    assert refused(judge_open, pending, "b", T0, window, None).code == "dispute_not_allowed"
    # A refunded sale is void (no current sale); a second dispute is still the same one.
    assert refused(judge_open, None, "b", T0, window, "resolved").code == "dispute_exists"
    assert refused(judge_open, None, "b", T0, window, None).code == "dispute_not_allowed"


def test_replies_and_resolutions() -> None:
    judge_reply("open", "s", "s")
    assert refused(judge_reply, "open", "s", "b").code == "forbidden"
    assert refused(judge_reply, "resolved", "s", "s").code == "dispute_not_open"
    paid = DisputedSale("b", "s", "confirmed", paid_at=T0)
    judge_resolve("open", DisputeOutcome.REFUND, paid)
    judge_resolve("open", DisputeOutcome.RELEASE, paid)
    assert refused(judge_resolve, "resolved", DisputeOutcome.RELEASE, paid).code == (
        "dispute_not_open"
    )
    unpaid = DisputedSale("b", "s", "unpaid", paid_at=T0, void=True)
    refusal = refused(judge_resolve, "open", DisputeOutcome.REFUND, unpaid)
    assert (refusal.code, refusal.extra["paymentStatus"]) == ("refund_not_allowed", "unpaid")
    judge_resolve("open", DisputeOutcome.RELEASE, unpaid)
