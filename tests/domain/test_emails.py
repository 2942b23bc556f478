"""The after-the-hammer emails (shared.domain.emails): what each says, in which money and zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.domain.emails import Letter, Template, compose, display_time

SOLD_AT = datetime(2026, 11, 26, 9, 37, 12, tzinfo=UTC)  # 15:07 in India


def letter(template: Template, **changes: object) -> Letter:
    fields: dict[str, Any] = {
        "template": template,
        "role": "buyer",
        "recipient_name": "Asha",
        "item_name": "Brass lamp",
        "auction_link": "http://localhost:8080/#/auctions/a1",
        "currency": "INR",
        "tz": "Asia/Kolkata",
        "amount": Decimal("120000.00"),
        "at": SOLD_AT,
        "counterpart_name": "Sita",
        "invoice_label": "INV-000042",
    }
    fields.update(changes)
    return Letter(**fields)


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


@pytest.mark.parametrize("template", list(Template))
@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_every_email_has_a_subject_html_and_text_with_the_same_facts(
    template: Template, role: str
) -> None:
    mail = compose(letter(template, role=role))
    assert mail.subject and "\n" not in mail.subject
    assert mail.html.startswith("<!doctype html>")
    assert "Hello Asha," in mail.text
    for fact in ("Brass lamp", "₹1,20,000.00", "http://localhost:8080/#/auctions/a1"):
        assert fact in mail.text
        assert fact in mail.html
    assert "15:07 IST" in mail.text + mail.subject or template == Template.COUNTER_INVITATION


def test_inr_amounts_use_indian_digit_grouping() -> None:
    mail = compose(letter(Template.SALE_CONFIRMATION, amount=Decimal("12345678.5")))
    assert "₹1,23,45,678.50" in mail.subject
    assert "₹1,23,45,678.50" in mail.text


def test_other_currencies_use_thousands_grouping() -> None:
    mail = compose(letter(Template.SALE_CONFIRMATION, currency="USD"))
    assert "$120,000.00" in mail.text
    assert "₹" not in mail.text
    chf = compose(letter(Template.REJECTION, currency="CHF", amount=Decimal("1200")))
    assert "CHF 1,200.00" in chf.text


def test_times_are_shown_in_the_configured_zone() -> None:
    assert display_time(SOLD_AT, "Asia/Kolkata") == "26 Nov 2026, 15:07 IST"
    assert display_time(SOLD_AT, "UTC") == "26 Nov 2026, 09:37 UTC"
    assert display_time(SOLD_AT, "America/New_York") == "26 Nov 2026, 04:37 EST"
    mail = compose(letter(Template.SALE_CONFIRMATION, tz="UTC"))
    assert "26 Nov 2026, 09:37 UTC" in mail.text


def test_sale_confirmation_tells_each_side_about_the_other_and_the_invoice() -> None:
    buyer = compose(letter(Template.SALE_CONFIRMATION, role="buyer", counterpart_name="Sita"))
    seller = compose(letter(Template.SALE_CONFIRMATION, role="seller", counterpart_name="Asha"))
    assert buyer.subject == "You bought Brass lamp for ₹1,20,000.00 (invoice INV-000042)"
    assert seller.subject == "Sold: Brass lamp for ₹1,20,000.00 (invoice INV-000042)"
    assert "Seller:" in buyer.text and "Sita" in buyer.text
    assert "Buyer:" in seller.text
    for mail in (buyer, seller):
        assert "INV-000042" in mail.text
        assert "attached as a PDF" in mail.text


def test_rejection_names_the_rejected_bid() -> None:
    mail = compose(letter(Template.REJECTION, amount=Decimal("1250")))
    assert mail.subject == "The seller did not accept your bid on Brass lamp"
    assert "₹1,250.00" in mail.text
    assert "Decided:" in mail.text


def test_counter_invitation_gives_the_offer_and_the_bid_it_answers() -> None:
    mail = compose(
        letter(
            Template.COUNTER_INVITATION,
            amount=Decimal("1500"),
            highest_bid=Decimal("1250"),
            invoice_label=None,
        )
    )
    assert mail.subject == "Counter-offer on Brass lamp: ₹1,500.00"
    assert "Counter offer: ₹1,500.00" in re.sub(r" +", " ", mail.text)
    assert "Your bid: ₹1,250.00" in re.sub(r" +", " ", mail.text)
    assert "Answer the counter-offer" in mail.html


def test_counter_accepted_reads_right_for_both_sides() -> None:
    buyer = compose(letter(Template.COUNTER_ACCEPTED, role="buyer"))
    seller = compose(letter(Template.COUNTER_ACCEPTED, role="seller", counterpart_name="Asha"))
    assert buyer.subject.startswith("You accepted the counter-offer on Brass lamp")
    # it confirms the sale too: the invoice is named and attached (one email per party)
    assert seller.subject == "Asha accepted your counter-offer on Brass lamp (invoice INV-000042)"
    assert "Your invoice INV-000042 is attached as a PDF." in buyer.text


def test_html_escapes_what_people_typed() -> None:
    mail = compose(
        letter(
            Template.SALE_CONFIRMATION,
            item_name='<script>alert("x")</script> & co',
            counterpart_name="<b>Sita</b>",
        )
    )
    assert "<script>" not in mail.html
    assert "&lt;script&gt;" in mail.html
    assert "<b>Sita</b>" not in mail.html
    assert '<script>alert("x")</script> & co' in mail.text  # plain text needs no escaping
    assert "&lt;b&gt;Sita&lt;/b&gt;" in mail.html


def test_plain_text_and_html_tell_the_same_story() -> None:
    for template in Template:
        mail = compose(letter(template, highest_bid=Decimal("1000")))
        paragraphs = [line for line in mail.text.splitlines() if len(line) > 40]
        assert paragraphs
        for paragraph in paragraphs:
            if "http" in paragraph:  # the link: its label in HTML, its address in the href
                label, _, url = paragraph.partition(": ")
                assert label in visible_text(mail.html) and f'href="{url}"' in mail.html
            else:
                assert paragraph.strip() in visible_text(mail.html), paragraph


def test_a_sale_below_the_reserve_tells_the_seller_and_only_the_seller() -> None:
    below = {"amount": Decimal("1400"), "reserve": Decimal("1500")}
    seller = compose(letter(Template.SALE_CONFIRMATION, role="seller", **below))
    buyer = compose(letter(Template.SALE_CONFIRMATION, role="buyer", **below))
    assert "Reserve not met" in seller.text and "₹1,500.00" in seller.text
    assert "Reserve not met" in seller.html
    assert "eserve" not in buyer.text + buyer.html
    met = compose(letter(Template.SALE_CONFIRMATION, role="seller", reserve=Decimal("1000")))
    assert "eserve" not in met.text
