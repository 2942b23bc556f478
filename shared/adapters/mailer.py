"""Sending email: the real SendGrid client (v3 /mail/send), or files in development.

- `SENDGRID_API_KEY` set: SendGrid at `SENDGRID_API_HOST` (tests point it at a local sink).
  Every message carries its job id in `custom_args.jobId`, so the provider's event log (and
  the test sink) can tell a duplicate from a new message.
- No key and not production: each message is written to `var/mail/<job id>.eml` (a complete
  MIME message, attachments included: open it in any mail program).
- No key in production: every send fails permanently (the job lands in the dead letters,
  where an admin replays it once the key is set) rather than dropping mail silently.

Failures say whether a retry can help: connection errors, timeouts, 429 and 5xx are
transient; any other refusal (400 bad message, 401/403 bad key, 413 too large) is permanent.
"""

from __future__ import annotations

import base64
import email.policy
import re
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any, Protocol

from shared.domain.emails import Email
from shared.settings import Settings

TIMEOUT_S = 10.0
SENDER_NAME = "Auctions"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class Outgoing:
    job_id: str
    to_email: str
    to_name: str
    email: Email
    attachments: tuple[Attachment, ...] = ()


class MailerError(Exception):
    def __init__(self, message: str, *, permanent: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status


class Mailer(Protocol):
    def send(self, message: Outgoing) -> str | None:
        """Hand the message over; returns the provider's message id (if it gives one)."""
        ...


def transient_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


class SendGridMailer:
    def __init__(
        self, api_key: str, host: str, sender: str, *, timeout_s: float = TIMEOUT_S
    ) -> None:
        from sendgrid import SendGridAPIClient

        self.sender = sender
        self.client = SendGridAPIClient(api_key=api_key, host=host.rstrip("/"))
        # The client has no timeout by default: a hung provider would hang the worker.
        self.client.client.timeout = timeout_s

    @staticmethod
    def body(message: Outgoing, sender: str) -> dict[str, Any]:
        """The v3 /mail/send request (text/plain must come before text/html)."""
        body: dict[str, Any] = {
            "personalizations": [{"to": [{"email": message.to_email, "name": message.to_name}]}],
            "from": {"email": sender, "name": SENDER_NAME},
            "subject": message.email.subject,
            "content": [
                {"type": "text/plain", "value": message.email.text},
                {"type": "text/html", "value": message.email.html},
            ],
            "custom_args": {"jobId": message.job_id},
        }
        if message.attachments:
            body["attachments"] = [
                {
                    "content": base64.b64encode(a.content).decode(),
                    "type": a.mime_type,
                    "filename": a.filename,
                    "disposition": "attachment",
                }
                for a in message.attachments
            ]
        return body

    def send(self, message: Outgoing) -> str | None:
        from python_http_client.exceptions import HTTPError

        try:
            response = self.client.send(self.body(message, self.sender))
        except HTTPError as exc:
            status = int(getattr(exc, "status_code", 0) or 0)
            detail = getattr(exc, "body", b"") or b""
            text = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
            raise MailerError(
                f"SendGrid answered {status}: {text[:300]}",
                permanent=not transient_status(status),
                status=status,
            ) from exc
        except OSError as exc:  # refused, reset, DNS, timeout (URLError is an OSError)
            raise MailerError(f"SendGrid unreachable: {exc}", permanent=False) from exc
        status = int(getattr(response, "status_code", 0) or 0)
        if status not in (200, 202):
            raise MailerError(
                f"SendGrid answered {status}", permanent=not transient_status(status), status=status
            )
        headers = getattr(response, "headers", None)
        return headers.get("X-Message-Id") if headers is not None else None


def safe_name(job_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", job_id)


class FileMailer:
    """Development without a key: each message becomes var/mail/<job id>.eml."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def mime(self, message: Outgoing) -> EmailMessage:
        mime = EmailMessage(policy=email.policy.SMTP)
        mime["From"] = formataddr((SENDER_NAME, self.sender))
        mime["To"] = formataddr((message.to_name, message.to_email))
        mime["Subject"] = message.email.subject
        mime["X-Job-Id"] = message.job_id
        mime.set_content(message.email.text)
        mime.add_alternative(message.email.html, subtype="html")
        for a in message.attachments:
            maintype, _, subtype = a.mime_type.partition("/")
            mime.add_attachment(a.content, maintype=maintype, subtype=subtype, filename=a.filename)
        return mime

    def send(self, message: Outgoing) -> str | None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{safe_name(message.job_id)}.eml"
        with tempfile.NamedTemporaryFile(dir=self.directory, delete=False, suffix=".part") as f:
            f.write(self.mime(message).as_bytes())
            partial = Path(f.name)
        partial.replace(target)
        return f"file:{target.name}"


class UnconfiguredMailer:
    def send(self, message: Outgoing) -> str | None:
        raise MailerError("SENDGRID_API_KEY is not set (production sends no files)", permanent=True)


DEFAULT_SENDGRID_HOST = "https://api.sendgrid.com"


def mailer_for(settings: Settings) -> Mailer:
    if settings.sendgrid_api_key:
        return SendGridMailer(
            settings.sendgrid_api_key, settings.sendgrid_api_host, settings.email_from
        )
    if settings.sendgrid_api_host.rstrip("/") != DEFAULT_SENDGRID_HOST:
        # A host of one's own (a test sink, a relay) without a key: send there all the same;
        # the real SendGrid would refuse the placeholder key, a sink does not care.
        return SendGridMailer("no-key", settings.sendgrid_api_host, settings.email_from)
    if settings.app_env != "production":
        return FileMailer(settings.var_dir / "mail", settings.email_from)
    return UnconfiguredMailer()
