"""The mailer adapter without a network: the SendGrid request, the development files, the choice."""

from __future__ import annotations

import base64
import email
import email.policy
from pathlib import Path

import pytest

from shared.adapters.mailer import (
    Attachment,
    FileMailer,
    MailerError,
    Outgoing,
    SendGridMailer,
    UnconfiguredMailer,
    mailer_for,
    transient_status,
)
from shared.domain.emails import Email
from shared.settings import load_settings

MESSAGE = Outgoing(
    job_id="email:sale:a1:buyer",
    to_email="asha@example.com",
    to_name="Asha",
    email=Email("Sold: lamp", "Hello Asha,\n₹1,20,000.00\n", "<p>Hello Asha, ₹1,20,000.00</p>"),
    attachments=(Attachment("INV-000001-a1.pdf", b"%PDF-1.4 fake"),),
)


def test_the_sendgrid_request_carries_both_parts_the_attachment_and_the_job_id() -> None:
    body = SendGridMailer.body(MESSAGE, "auctions@example.com")
    assert body["personalizations"] == [{"to": [{"email": "asha@example.com", "name": "Asha"}]}]
    assert body["from"]["email"] == "auctions@example.com"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["custom_args"] == {"jobId": "email:sale:a1:buyer"}
    (attachment,) = body["attachments"]
    assert attachment["filename"] == "INV-000001-a1.pdf"
    assert attachment["type"] == "application/pdf"
    assert base64.b64decode(attachment["content"]) == b"%PDF-1.4 fake"


def test_a_message_without_attachments_sends_none() -> None:
    plain = Outgoing("email:rejection:a1:r1:buyer", "a@example.com", "A", MESSAGE.email)
    assert "attachments" not in SendGridMailer.body(plain, "auctions@example.com")


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (408, True),
        (400, False),
        (401, False),
        (403, False),
        (413, False),
    ],
)
def test_which_provider_answers_are_worth_a_retry(status: int, transient: bool) -> None:
    assert transient_status(status) is transient


def test_development_mail_lands_as_a_complete_eml_file(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path, "auctions@example.com")
    assert mailer.send(MESSAGE) == "file:email_sale_a1_buyer.eml"
    parsed = email.message_from_bytes(
        (tmp_path / "email_sale_a1_buyer.eml").read_bytes(), policy=email.policy.default
    )
    assert parsed["To"] == "Asha <asha@example.com>"
    assert parsed["X-Job-Id"] == "email:sale:a1:buyer"
    assert parsed["Subject"] == "Sold: lamp"
    body = parsed.get_body(("plain",))
    assert body is not None and "₹1,20,000.00" in body.get_content()
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_filename() == "INV-000001-a1.pdf"
    assert attachment.get_content() == b"%PDF-1.4 fake"
    assert list(tmp_path.glob("*.part")) == []


def test_the_same_job_overwrites_its_file_rather_than_adding_one(tmp_path: Path) -> None:
    mailer = FileMailer(tmp_path, "auctions@example.com")
    mailer.send(MESSAGE)
    mailer.send(MESSAGE)
    assert len(list(tmp_path.iterdir())) == 1


def test_the_mailer_follows_the_configuration() -> None:
    keyed = mailer_for(
        load_settings(
            APP_ENV="development",
            SENDGRID_API_KEY="SG.x",
            SENDGRID_API_HOST="http://127.0.0.1:9/",
        )
    )
    assert isinstance(keyed, SendGridMailer)
    assert keyed.client.host == "http://127.0.0.1:9"
    assert keyed.client.client.timeout == 10.0
    development = mailer_for(
        load_settings(
            APP_ENV="development", SENDGRID_API_KEY="", SENDGRID_API_HOST="https://api.sendgrid.com"
        )
    )
    assert isinstance(development, FileMailer)
    assert development.directory.parts[-2:] == ("var", "mail")
    # A host of one's own (a test's sink) without a key: the mail goes there, not to files.
    sink = mailer_for(
        load_settings(APP_ENV="test", SENDGRID_API_KEY="", SENDGRID_API_HOST="http://127.0.0.1:9")
    )
    assert isinstance(sink, SendGridMailer)
    assert sink.client.host == "http://127.0.0.1:9"
    production = mailer_for(
        load_settings(
            APP_ENV="production",
            SENDGRID_API_KEY="",
            SENDGRID_API_HOST="https://api.sendgrid.com",
            SUPABASE_JWT_SECRET="s" * 32,
        )
    )
    assert isinstance(production, UnconfiguredMailer)
    with pytest.raises(MailerError) as caught:
        production.send(MESSAGE)
    assert caught.value.permanent
