"""Every log line is one JSON object (docs/runbooks.md, "Runbook: figures and logs").

One formatter for the API and the socket node, installed by their entry points
(`configure_logging`). A record whose message is already a JSON object (the code logs events
as `orjson.dumps({...})`, or as an `Event`, which renders itself only when a line is written)
keeps its members at the top level; any other message becomes `{"message": ...}`. Each line
also says when, how severe, which logger and which service. A traceback is one member, so a
line is still one line. Credentials are masked in every string of the line before it is
written (`shared.redaction`), so no member, message or traceback can carry a URL's password.

`Event` is for lines on a hot path: a dict that the formatter writes as it is, without the
JSON round trip a pre-rendered string costs (it still renders itself for `getMessage()`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

import orjson

from shared.redaction import mask_secrets

# Libraries whose INFO lines are noise on every request ("HTTP Request: POST ..." per Redis
# call through REST): only their warnings and errors are written.
QUIET_LOGGERS = ("httpx", "httpcore", "websockets", "botocore", "boto3", "urllib3", "s3transfer")
# The handlers an entry point replaces: logging's own default, and AWS Lambda's runtime
# handler, which prefixes every line with "[INFO]\t<time>\t<request id>\t" (a line that is no
# longer JSON, so CloudWatch would not read the Embedded Metric Format in it).
_REPLACED = ("StreamHandler", "LambdaLoggerHandler", "LambdaLoggerHandlerWithFrameType")


class Event(dict[str, Any]):
    """A log event as a dict: `log.info(Event(event="request", ...))`."""

    def __str__(self) -> str:
        return orjson.dumps(self, default=str).decode()


def _iso(created: float, msecs: float) -> str:
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(created))}.{int(msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _iso(record.created, record.msecs),
            "level": record.levelname.lower(),
            "logger": record.name,
            "service": self.service,
        }
        msg = record.msg
        if isinstance(msg, dict) and not record.args:
            line.update(msg)
        else:
            message = record.getMessage()
            parsed: Any = None
            if message.startswith("{") and message.endswith("}"):
                try:
                    parsed = orjson.loads(message)
                except orjson.JSONDecodeError:
                    parsed = None
            if isinstance(parsed, dict):
                line.update(parsed)
            else:
                line["message"] = message
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["error"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(_masked(line), default=str).decode()


def _masked(value: Any) -> Any:
    """`value` with URL credentials masked in every string inside it. Masked before the line
    is serialised: a pattern run over the JSON text could eat a closing quote."""
    if isinstance(value, str):
        # Only a string with an `@` (user:password@) or `=` (?token=) can hold one.
        return mask_secrets(value) if "@" in value or "=" in value else value
    if isinstance(value, dict):
        # `_aws` (an EMF directive) is built from the code's own constants: nothing to mask.
        return {k: v if k == "_aws" else _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def configure_logging(service: str, level: str | int | None = None) -> logging.Handler:
    """JSON lines on stdout for this process: replaces the default handler (and Lambda's),
    keeps any other (a test runner's capture), quiets the chatty libraries, and routes Python
    warnings through logging. Safe to call twice. Returns the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__name__ in _REPLACED and not isinstance(handler.formatter, JsonFormatter):
            root.removeHandler(handler)
    ours = next(
        (h for h in root.handlers if isinstance(h.formatter, JsonFormatter)),
        None,
    )
    if ours is None:
        ours = logging.StreamHandler(sys.stdout)
        ours.setFormatter(JsonFormatter(service))
        root.addHandler(ours)
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO").upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    return ours
