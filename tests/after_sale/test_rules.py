"""The pure rules after the hammer: deadlines and the default, which schedule
entries an auction needs, second-chance offers, payments, the VOID invoice."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pypdf
import pytest

from shared.domain.deadlines import after, default_action, has_passed, reminder_at
from shared.domain.decisions import (
    AwaitingDecision,
    BuyerAnswer,
    PendingCounter,
    SellerAction,
    judge_answer,
    judge_decision,
)
from shared.domain.emails import Letter, Template, compose
from shared.domain.errors import DomainError, ValidationFailed
from shared.domain.invoices import InvoiceFacts, Party, invoice_filename, invoice_lines
from shared.domain.offers import (
    OfferAnswer,
    OfferRequest,
    PendingOffer,
    judge_offer,
    judge_offer_answer,
)
from shared.domain.payments import PaymentAction, Sale, judge_payment
from shared.domain.schedule import Moment, PendingDeadlines, deadline_entries

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def code(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.code


# -- deadlines ----------------------------------------------------------------------------------


def test_the_reminder_is_half_way_and_a_deadline_is_over_from_its_instant() -> None:
    deadline = after(T0, 172800)
    assert deadline == T0 + timedelta(days=2)
    assert reminder_at(T0, deadline) == T0 + timedelta(days=1)
    assert has_passed(deadline, deadline) and not has_passed(
        deadline, deadline - timedelta(microseconds=1)
    )
    assert not has_passed(None, T0)


@pytest.mark.parametrize(
    ("default", "reserve", "expected"),
    [
        ("reject", None, SellerAction.REJECT),
        ("reject", Decimal("10"), SellerAction.REJECT),
        ("accept", None, SellerAction.ACCEPT),
        ("accept", Decimal("100"), SellerAction.ACCEPT),  # met exactly
        ("accept", Decimal("100.01"), SellerAction.REJECT),  # never below the reserve
    ],
)
def test_the_default_decision(
    default: str, reserve: Decimal | None, expected: SellerAction
) -> None:
    assert default_action(default, reserve, Decimal("100")) == expected


def test_each_deadline_is_scheduled_only_in_its_status() -> None:
    every = dict(
        decision_reminder=1,
        decision_deadline=2,
        counter_expiry=3,
        offer_expiry=4,
        payment_due=5,
        ship_due=6,
    )
    assert deadline_entries(PendingDeadlines("ended", **every)) == {
        Moment.DECISION_REMINDER: 1,
        Moment.DECISION_DEADLINE: 2,
        Moment.COUNTER_EXPIRY: 3,
        Moment.OFFER_EXPIRY: None,
        Moment.PAYMENT_DUE: None,
        Moment.SHIP_DUE: None,
    }
    assert deadline_entries(PendingDeadlines("closed_no_winner", **every))[Moment.OFFER_EXPIRY] == 4
    sold = deadline_entries(PendingDeadlines("sold", **every))
    assert sold == {m: {Moment.PAYMENT_DUE: 5, Moment.SHIP_DUE: 6}.get(m) for m in sold}
    for status in ("scheduled", "live"):
        assert set(deadline_entries(PendingDeadlines(status, **every)).values()) == {None}


def test_a_decision_after_its_window_is_refused() -> None:
    waiting = AwaitingDecision("ended", "s", "b", Decimal("100"), False, window_closed=True)
    with pytest.raises(DomainError) as refused:
        judge_decision(waiting, "s", SellerAction.ACCEPT, None)
    assert code(refused) == "decision_not_allowed"
    with pytest.raises(DomainError) as refused:
        judge_decision(waiting, "someone", SellerAction.ACCEPT, None)
    assert code(refused) == "forbidden"


def test_an_expired_counter_cannot_be_answered() -> None:
    counter = PendingCounter("pending", "b", Decimal("150"), "ended", True, expired=True)
    with pytest.raises(DomainError) as refused:
        judge_answer(counter, "b", BuyerAnswer.ACCEPT)
    assert code(refused) == "counter_not_pending"
    assert refused.value.extra["counterStatus"] == "expired"


# -- second-chance offers -------------------------------------------------------------------------


def request(**changes: object) -> OfferRequest:
    fields: dict[str, Any] = dict(
        status="closed_no_winner",
        seller_id="s",
        had_bids=True,
        offer_pending=False,
        target_highest=Decimal("90"),
        target_excluded=None,
    )
    fields.update(changes)
    return OfferRequest(**fields)


def test_an_offer_is_at_the_targets_own_highest_bid() -> None:
    assert judge_offer(request(), "s") == Decimal("90")


@pytest.mark.parametrize(
    ("changes", "actor", "refusal"),
    [
        ({}, "b", "forbidden"),
        ({"status": "sold"}, "s", "offer_not_allowed"),
        ({"status": "ended"}, "s", "offer_not_allowed"),
        ({"had_bids": False}, "s", "offer_not_allowed"),
        ({"offer_pending": True}, "s", "offer_pending"),
        ({"target_highest": None}, "s", "validation_error"),
        ({"target_excluded": "the highest bidder"}, "s", "offer_not_allowed"),
    ],
)
def test_offer_refusals(changes: dict[str, object], actor: str, refusal: str) -> None:
    with pytest.raises(DomainError) as refused:
        judge_offer(request(**changes), actor)
    assert code(refused) == refusal
    if refusal == "validation_error":
        assert isinstance(refused.value, ValidationFailed)
        assert refused.value.errors[0].field == "bidderId"


def test_an_offer_answer_is_judged_on_the_clock() -> None:
    offer = PendingOffer("pending", "b", "closed_no_winner", True, T0)
    before = T0 - timedelta(milliseconds=1)
    assert judge_offer_answer(offer, "b", OfferAnswer.ACCEPT, before) == "accepted"
    assert judge_offer_answer(offer, "b", OfferAnswer.REJECT, before) == "rejected"
    with pytest.raises(DomainError) as refused:
        judge_offer_answer(offer, "b", OfferAnswer.ACCEPT, T0)  # at expiresAt: expired
    assert (code(refused), refused.value.extra["offerStatus"]) == ("offer_not_pending", "expired")
    with pytest.raises(DomainError) as refused:
        judge_offer_answer(offer, "x", OfferAnswer.ACCEPT, before)
    assert code(refused) == "forbidden"
    for stale in (
        PendingOffer("rejected", "b", "closed_no_winner", True, T0),
        PendingOffer("pending", "b", "sold", True, T0),
        PendingOffer("pending", "b", "closed_no_winner", False, T0),
    ):
        with pytest.raises(DomainError) as refused:
            judge_offer_answer(stale, "b", OfferAnswer.ACCEPT, before)
        assert code(refused) == "offer_not_pending"


# -- payments ------------------------------------------------------------------------------------

BEFORE_DUE, AFTER_DUE = T0 - timedelta(seconds=1), T0


@pytest.mark.parametrize(
    ("status", "actor", "action", "now", "outcome"),
    [
        ("pending", "b", PaymentAction.MARK_PAID, BEFORE_DUE, "paid"),
        ("pending", "b", PaymentAction.MARK_PAID, AFTER_DUE, "paid"),  # late, but not reported
        ("paid", "b", PaymentAction.MARK_PAID, BEFORE_DUE, "payment_action_not_allowed"),
        ("confirmed", "b", PaymentAction.MARK_PAID, BEFORE_DUE, "payment_action_not_allowed"),
        ("pending", "s", PaymentAction.MARK_PAID, BEFORE_DUE, "forbidden"),
        ("pending", "s", PaymentAction.CONFIRM, BEFORE_DUE, "confirmed"),
        ("paid", "s", PaymentAction.CONFIRM, BEFORE_DUE, "confirmed"),
        ("confirmed", "s", PaymentAction.CONFIRM, BEFORE_DUE, "payment_action_not_allowed"),
        ("pending", "b", PaymentAction.CONFIRM, BEFORE_DUE, "forbidden"),
        ("pending", "s", PaymentAction.REPORT_UNPAID, BEFORE_DUE, "payment_action_not_allowed"),
        ("pending", "s", PaymentAction.REPORT_UNPAID, AFTER_DUE, "unpaid"),
        ("paid", "s", PaymentAction.REPORT_UNPAID, AFTER_DUE, "unpaid"),
        ("confirmed", "s", PaymentAction.REPORT_UNPAID, AFTER_DUE, "payment_action_not_allowed"),
        ("pending", "b", PaymentAction.REPORT_UNPAID, AFTER_DUE, "forbidden"),
        ("pending", "x", PaymentAction.CONFIRM, AFTER_DUE, "forbidden"),
    ],
)
def test_payment_actions(
    status: str, actor: str, action: PaymentAction, now: datetime, outcome: str
) -> None:
    sale = Sale(buyer_id="b", seller_id="s", status=status, due_at=T0)
    if outcome in ("paid", "confirmed", "unpaid"):
        assert judge_payment(sale, actor, action, now) == outcome
    else:
        with pytest.raises(DomainError) as refused:
            judge_payment(sale, actor, action, now)
        assert code(refused) == outcome


def test_no_payment_without_a_sale() -> None:
    with pytest.raises(DomainError) as refused:
        judge_payment(None, "s", PaymentAction.CONFIRM, T0)
    assert code(refused) == "payment_action_not_allowed"


# -- the void invoice and the emails --------------------------------------------------------


def facts(voided_at: datetime | None = None) -> InvoiceFacts:
    return InvoiceFacts(
        number=42,
        auction_id="a1",
        item_name="Brass lamp",
        seller=Party("Sita", "sita@example.com"),
        buyer=Party("Asha", "asha@example.com"),
        amount=Decimal("120000"),
        currency="INR",
        sold_at=T0,
        tz="Asia/Kolkata",
        voided_at=voided_at,
    )


def test_a_void_invoice_says_so_keeps_its_number_and_has_a_file_of_its_own() -> None:
    from shared.adapters.invoice_pdf import render_invoice

    void = facts(T0 + timedelta(days=8))
    assert ("Status", "VOID since 4 Dec 2026, 14:30 IST: the sale was reported unpaid") in (
        invoice_lines(void)
    )
    assert invoice_lines(void)[0] == ("Invoice number", "INV-000042")
    assert invoice_filename(42, "a1", void=True) == "INV-000042-a1-VOID.pdf"
    assert invoice_filename(42, "a1") == "INV-000042-a1.pdf"
    text = pypdf.PdfReader(io.BytesIO(render_invoice(void))).pages[0].extract_text()
    assert "VOID" in text and "INV-000042" in text
    assert (
        "VOID" not in pypdf.PdfReader(io.BytesIO(render_invoice(facts()))).pages[0].extract_text()
    )
    assert render_invoice(void) == render_invoice(void)  # deterministic, like the first copy


def letter(template: Template, **changes: object) -> Letter:
    fields: dict[str, Any] = dict(
        template=template,
        role="buyer",
        recipient_name="Asha",
        item_name="Brass lamp",
        auction_link="http://localhost:8080/#/auctions/a1",
        currency="INR",
        tz="Asia/Kolkata",
        amount=Decimal("120000.00"),
        at=T0,
        counterpart_name="Sita",
        invoice_label="INV-000042",
        deadline=T0 + timedelta(days=1),
    )
    fields.update(changes)
    return Letter(**fields)


def test_the_new_emails_say_what_to_do_and_by_when() -> None:
    reminder = compose(letter(Template.DECISION_REMINDER, role="seller", default_action="reject"))
    assert "27 Nov 2026, 14:30 IST" in reminder.subject
    assert "the auction closes without a sale" in reminder.text
    accept = compose(letter(Template.DECISION_REMINDER, role="seller", default_action="accept"))
    assert "is accepted and the item sold" in accept.text
    offer = compose(letter(Template.OFFER_RECEIVED))
    assert "₹1,20,000.00" in offer.subject and "Answer by" in offer.text
    void = compose(letter(Template.SALE_VOID, role="buyer", credit_note_label="CN-000007"))
    assert "INV-000042 (cancelled)" in void.text and "void" in void.subject.lower()
    assert "Credit note CN-000007 cancels invoice INV-000042 in full" in void.text
    marked = compose(letter(Template.PAYMENT_DUE, role="seller", payment_status="paid"))
    unmarked = compose(letter(Template.PAYMENT_DUE, role="seller", payment_status="pending"))
    assert "has marked it paid" in marked.text and "has not marked it paid" in unmarked.text
    assert "report it unpaid" in unmarked.text
