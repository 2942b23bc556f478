"""A local stand-in for SendGrid's v3 `/v3/mail/send`, for the real sendgrid client to talk to.

It checks what SendGrid checks first (a Bearer key, a JSON body with personalizations, from,
subject and content), answers 202 with an `X-Message-Id`, and records every accepted message
with its attachments decoded. Failure modes switch it into an outage:
- `fail(status, times=None)`: answer `status` (503, 500, 429, 400...) `times` times, or until
  `recover()`;
- `drop(times=None)`: close the connection without an answer (a network failure).
Refused requests are counted too, so a test can tell "retried" from "never tried".
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class SentAttachment:
    filename: str
    type: str
    content: bytes


@dataclass
class SentMessage:
    message_id: str
    to: list[str]
    subject: str
    text: str
    html: str
    job_id: str | None
    attachments: list[SentAttachment] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Mode:
    kind: str = "ok"  # ok | fail | drop
    status: int = 503
    remaining: int | None = None  # None: until recover()


class SendGridSink:
    def __init__(self, api_key: str = "SG.test-key") -> None:
        self.api_key = api_key
        self.messages: list[SentMessage] = []
        self.refused = 0
        self._mode = _Mode()
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                sink._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- switches --------------------------------------------------------------------------
    def fail(self, status: int = 503, times: int | None = None) -> None:
        with self._lock:
            self._mode = _Mode("fail", status, times)

    def drop(self, times: int | None = None) -> None:
        with self._lock:
            self._mode = _Mode("drop", 0, times)

    def recover(self) -> None:
        with self._lock:
            self._mode = _Mode()

    def reset(self) -> None:
        with self._lock:
            self._mode = _Mode()
            self.messages.clear()
            self.refused = 0

    # -- what arrived ----------------------------------------------------------------------
    def to(self, address: str) -> list[SentMessage]:
        return [m for m in self.messages if address in m.to]

    def duplicates(self) -> list[str]:
        """Job ids accepted more than once (the provider would have sent them twice)."""
        counts = Counter(m.job_id for m in self.messages)
        return sorted(str(job) for job, n in counts.items() if n > 1)

    # -- the endpoint ----------------------------------------------------------------------
    def _outage(self) -> _Mode | None:
        with self._lock:
            mode = self._mode
            if mode.kind == "ok":
                return None
            if mode.remaining is not None:
                mode.remaining -= 1
                if mode.remaining <= 0:
                    self._mode = _Mode()
            self.refused += 1
            return _Mode(mode.kind, mode.status)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length)
        if request.path != "/v3/mail/send":
            return self._answer(request, 404, {"errors": [{"message": "not found"}]})
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._answer(request, 401, {"errors": [{"message": "bad API key"}]})
        outage = self._outage()
        if outage is not None and outage.kind == "drop":
            request.close_connection = True
            request.connection.close()
            return None
        if outage is not None:
            return self._answer(request, outage.status, {"errors": [{"message": "outage"}]})
        try:
            body = json.loads(raw)
            message = self._parse(body)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            return self._answer(request, 400, {"errors": [{"message": f"bad request: {exc}"}]})
        with self._lock:
            self.messages.append(message)
        request.send_response(202)
        request.send_header("X-Message-Id", message.message_id)
        request.send_header("Content-Length", "0")
        request.end_headers()
        return None

    @staticmethod
    def _parse(body: dict[str, Any]) -> SentMessage:
        personalizations = body["personalizations"]
        to = [r["email"] for p in personalizations for r in p["to"]]
        if not to or not body["from"]["email"] or not body["subject"]:
            raise ValueError("to, from and subject are required")
        content = {c["type"]: c["value"] for c in body["content"]}
        if body["content"][0]["type"] != "text/plain":
            raise ValueError("text/plain must come first")
        custom = {**body.get("custom_args", {})}
        for p in personalizations:
            custom.update(p.get("custom_args", {}))
        return SentMessage(
            message_id=uuid.uuid4().hex,
            to=to,
            subject=body["subject"],
            text=content.get("text/plain", ""),
            html=content.get("text/html", ""),
            job_id=custom.get("jobId"),
            attachments=[
                SentAttachment(a["filename"], a["type"], base64.b64decode(a["content"]))
                for a in body.get("attachments", [])
            ],
            raw=body,
        )

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
