"""The emails after the hammer, sent by the real sendgrid client to the local SendGrid sink:
who gets which, what they say (currency, zone), and that each goes once."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import orjson
import pypdf
import pytest
from chalice.test import Client
from sqlalchemy import select

from shared.adapters import keys
from shared.adapters.invoice_store import InvoiceStore
from shared.adapters.mailer import FileMailer
from shared.adapters.orm import EmailDelivery
from shared.services import email_jobs
from shared.services.context import Context
from tests.support import harness
from tests.support.actors import Seller, call
from tests.support.after_sale import ended_auction, run_jobs
from tests.support.harness import Person, tcp
from tests.support.sendgrid_sink import SendGridSink


@pytest.fixture
def rival(ctx: Context) -> Person:
    return harness.person(ctx, "buyer", "Ravi")


@pytest.fixture
def ended(ctx: Context, client: Client, seller: Person, buyer: Person, rival: Person) -> uuid.UUID:
    return ended_auction(
        ctx,
        client,
        seller,
        [(buyer, "100.00"), (rival, "120000.00")],
        item_name="Brass <lamp> & shade",
    )


def test_a_sale_mails_both_sides_with_the_invoice(
    ctx: Context,
    client: Client,
    seller: Person,
    rival: Person,
    ended: uuid.UUID,
    sink: SendGridSink,
) -> None:
    Seller(client, seller).decided(ended, action="accept")
    report = run_jobs(ctx)
    assert sorted(report.done) == [f"email:sale:{ended}:buyer", f"email:sale:{ended}:seller"]
    (to_buyer,) = sink.to(rival.principal.email)
    (to_seller,) = sink.to(seller.principal.email)
    assert (
        to_buyer.subject == "You bought Brass <lamp> & shade for ₹1,20,000.00 (invoice INV-000001)"
    )
    assert to_seller.subject.startswith("Sold: Brass <lamp> & shade for ₹1,20,000.00")
    for message in (to_buyer, to_seller):
        assert "₹1,20,000.00" in message.text and "₹1,20,000.00" in message.html
        assert " IST" in message.text  # TZ (default Asia/Kolkata)
        assert "Brass &lt;lamp&gt; &amp; shade" in message.html
        assert "Brass <lamp> & shade" in message.text
        attachment = message.attachments[0]
        assert attachment.filename == f"INV-000001-{ended}.pdf"
        assert attachment.type == "application/pdf"
        text = pypdf.PdfReader(io.BytesIO(attachment.content)).pages[0].extract_text()
        assert "INV-000001" in text and "INR 1,20,000.00" in text
    assert to_buyer.attachments[0].content == to_seller.attachments[0].content  # built once
    # The seller also gets their statement of the sale (hammer price, fee, net).
    assert [a.filename for a in to_seller.attachments[1:]] == [f"INV-000001-{ended}-statement.pdf"]
    statement = pypdf.PdfReader(io.BytesIO(to_seller.attachments[1].content)).pages[0]
    assert "SELLER'S STATEMENT" in statement.extract_text()
    assert len(to_buyer.attachments) == 1
    assert sink.duplicates() == []


def test_a_rejection_mails_only_the_highest_bidder(
    ctx: Context,
    client: Client,
    seller: Person,
    buyer: Person,
    rival: Person,
    ended: uuid.UUID,
    sink: SendGridSink,
) -> None:
    Seller(client, seller).decided(ended, action="reject")
    run_jobs(ctx)
    assert [m.to for m in sink.messages] == [[rival.principal.email]]
    (message,) = sink.messages
    assert message.subject == "The seller did not accept your bid on Brass <lamp> & shade"
    assert "₹1,20,000.00" in message.text
    assert message.attachments == []
    assert message.job_id == f"email:rejection:{ended}:r1:buyer"


def test_a_counter_invites_the_highest_bidder(
    ctx: Context,
    client: Client,
    seller: Person,
    rival: Person,
    ended: uuid.UUID,
    sink: SendGridSink,
) -> None:
    Seller(client, seller).decided(ended, action="counter", amount="150000")
    run_jobs(ctx)
    (message,) = sink.messages
    assert message.to == [rival.principal.email]
    assert message.subject == "Counter-offer on Brass <lamp> & shade: ₹1,50,000.00"
    assert "₹1,20,000.00" in message.text  # the bid it answers
    assert f"/#/auctions/{ended}" in message.html


def test_a_counter_accept_confirms_the_sale_in_one_email_each_with_the_invoice(
    ctx: Context,
    client: Client,
    seller: Person,
    rival: Person,
    ended: uuid.UUID,
    sink: SendGridSink,
) -> None:
    counter = Seller(client, seller).decided(ended, action="counter", amount="150000")[
        "counterOffer"
    ]
    response = call(
        client, "POST", f"/api/counter/{counter['id']}/response", rival, {"action": "accept"}
    )
    assert response.status_code == 200
    run_jobs(ctx)
    buyer_subjects = sorted(m.subject for m in sink.to(rival.principal.email))
    seller_subjects = sorted(m.subject for m in sink.to(seller.principal.email))
    assert buyer_subjects == [
        "Counter-offer on Brass <lamp> & shade: ₹1,50,000.00",
        "You accepted the counter-offer on Brass <lamp> & shade: ₹1,50,000.00 (invoice INV-000001)",
    ]
    assert seller_subjects == [
        "Ravi accepted your counter-offer on Brass <lamp> & shade (invoice INV-000001)",
    ]
    accepted = [m for m in sink.messages if m.job_id and ":counter_accepted:" in m.job_id]
    assert sorted(len(m.attachments) for m in accepted) == [1, 2]  # the seller's statement
    assert not [m for m in sink.messages if m.job_id and m.job_id.startswith("email:sale:")]


def test_currency_and_zone_come_from_the_configuration(
    ctx: Context,
    client: Client,
    seller: Person,
    rival: Person,
    ended: uuid.UUID,
    sink: SendGridSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        ctx, "settings", ctx.settings.model_copy(update={"currency": "USD", "tz": "UTC"})
    )
    Seller(client, seller).decided(ended, action="reject")
    run_jobs(ctx)
    (message,) = sink.messages
    assert "$120,000.00" in message.text
    assert " UTC" in message.text and " IST" not in message.text


def test_each_delivery_is_recorded_with_the_providers_message_id(
    ctx: Context, client: Client, seller: Person, ended: uuid.UUID, sink: SendGridSink
) -> None:
    Seller(client, seller).decided(ended, action="accept")
    run_jobs(ctx)
    with ctx.db.session() as session:
        rows = {d.job_id: d for d in session.scalars(select(EmailDelivery))}
    assert set(rows) == {m.job_id for m in sink.messages}
    for message in sink.messages:
        assert rows[str(message.job_id)].provider_message_id == message.message_id
        assert rows[str(message.job_id)].template == "sale_confirmation"


def test_a_job_already_delivered_is_never_sent_again(
    ctx: Context, client: Client, seller: Person, ended: uuid.UUID, sink: SendGridSink
) -> None:
    Seller(client, seller).decided(ended, action="accept")
    run_jobs(ctx)
    assert len(sink.messages) == 2
    # The same jobs arrive again (a replayed outbox row, an operator's push): nothing is sent.
    for message in list(sink.messages):
        job = {
            "id": message.job_id,
            "type": "email",
            "template": "sale_confirmation",
            "auctionId": str(ended),
            "recipientId": seller.id,
            "role": "seller",
            "attachInvoice": True,
        }
        tcp().command("HSET", keys.JOBS_DATA, str(message.job_id), orjson.dumps(job).decode())
        tcp().command("LPUSH", keys.JOBS_READY, str(message.job_id))
    report = run_jobs(ctx)
    assert len(report.done) == 2
    assert len(sink.messages) == 2
    assert sink.duplicates() == []


def test_without_a_key_development_mail_lands_in_files(
    ctx: Context,
    client: Client,
    seller: Person,
    rival: Person,
    ended: uuid.UUID,
    tmp_path: Path,
    sendgrid_sink: SendGridSink,
) -> None:
    sendgrid_sink.reset()
    assert ctx.settings.sendgrid_api_key is None  # the suite runs without a key
    outlets = email_jobs.Outlets(
        FileMailer(tmp_path / "mail", ctx.settings.email_from),
        InvoiceStore(bucket=None, directory=tmp_path / "invoices"),
    )
    Seller(client, seller).decided(ended, action="accept")
    run_jobs(ctx, outlets=outlets)
    files = sorted(p.name for p in (tmp_path / "mail").iterdir())
    assert files == [f"email_sale_{ended}_buyer.eml", f"email_sale_{ended}_seller.eml"]
    assert sendgrid_sink.messages == []
    raw = (tmp_path / "mail" / files[0]).read_bytes()
    assert b"application/pdf" in raw and rival.principal.email.encode() in raw
    assert (tmp_path / "invoices" / f"INV-000001-{ended}.pdf").is_file()


def test_the_default_outlets_follow_the_settings(ctx: Context, sink: SendGridSink) -> None:
    outlets = email_jobs.outlets_for(ctx.settings)
    assert outlets is email_jobs.outlets_for(ctx.settings)  # built once per configuration
    assert type(outlets.mailer).__name__ == "SendGridMailer"
    plain = ctx.settings.model_copy(
        update={"sendgrid_api_key": None, "sendgrid_api_host": "https://api.sendgrid.com"}
    )
    assert type(email_jobs.outlets_for(plain).mailer).__name__ == "FileMailer"
