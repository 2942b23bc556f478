"""Serve the Chalice app locally (what `chalice local` does), tuned for real use:

- Nagle off: http.server otherwise holds each keep-alive response ~40 ms for a delayed ACK;
- a path with no route answers 404 problem+json (API Gateway says 403 "Missing
  Authentication Token"; the deployed API maps that response the same way, see README);
- no per-request stderr line: the app logs one JSON line per request itself.

Usage: `python -m infra.api_server [--host API_HOST] [--port API_PORT]` (defaults from the
settings: 127.0.0.1 and 8000; the container image sets API_HOST=0.0.0.0).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import orjson
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
    ThreadedHTTPServer,
)

from infra import prefork
from shared.domain.errors import problem_body
from shared.settings import REPO_ROOT, settings_or_exit

# What a path no route has gets: here, and from the deployed API Gateway (the gateway response
# `make package` writes into the template, infra/package.py).
NO_ROUTE = orjson.dumps(problem_body("not_found", "No such route"))


class Handler(ChaliceRequestHandler):
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # headers and body in one send; http.server flushes after each request

    def _parse_payload(self) -> tuple[dict[str, Any], bytes | None]:
        headers, body = super()._parse_payload()
        # No Accept header means any type is acceptable (RFC 9110 12.5.1); Chalice would
        # otherwise refuse a binary answer (the invoice PDF) with 400.
        if not any(name.lower() == "accept" for name in headers):
            headers["Accept"] = "*/*"
        return headers, body

    def log_message(self, format: str, *args: Any) -> None:
        return

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, a made-up token): http.server would answer 501;
        # through the app it gets a 405 problem, as a method a route lacks does.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError):
            from chalicelib.http import PROBLEM, SECURITY_HEADERS

            headers = {**SECURITY_HEADERS, "Content-Type": PROBLEM}
            self._send_http_response(404, headers, NO_ROUTE)
            return
        super()._send_error_response(error)


class Server(ThreadedHTTPServer):
    request_queue_size = 1024


class SharedPortServer(Server):
    """One of several worker processes on one port: the kernel spreads connections."""

    allow_reuse_port = True


def make_server(host: str, port: int, *, shared_port: bool = False) -> LocalDevServer:
    sys.path.insert(0, str(REPO_ROOT / "functions"))
    import app as functions_app  # the Chalice project's app.py

    app_obj = functions_app.app
    # What chalice.local.create_local_server does: per-thread current_request.
    CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
    app_obj.__class__ = CustomLocalChalice
    config = Config(chalice_stage="dev", user_provided_params={"app_name": "auction-api"})
    server_cls = SharedPortServer if shared_port else Server
    return LocalDevServer(app_obj, config, host, port, handler_cls=Handler, server_cls=server_cls)


def main() -> None:
    settings = settings_or_exit()
    parser = argparse.ArgumentParser(description="Serve the Chalice app locally.")
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (SO_REUSEPORT); 0: one of them",
    )
    args = parser.parse_args()
    server = make_server(args.host, args.port, shared_port=args.workers != 1)
    if args.workers:
        # A JSON line like every other (the app configured logging when it was imported).
        logging.getLogger("api").info(
            "api on http://%s:%s (%d workers)", args.host, args.port, args.workers
        )
    prefork.serve(
        server.server,
        "infra.api_server",
        ["--host", args.host, "--port", str(args.port)],
        args.workers,
    )


if __name__ == "__main__":
    main()
