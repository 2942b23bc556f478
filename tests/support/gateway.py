"""The Lambda bundle as deployed, without AWS: API Gateway (REST API, Lambda proxy integration,
events v1) in front of `make package`'s deployment.zip.

- `LambdaTask` is the bundle: the zip extracted read-only (`infra.lambda_task`), the SAM
  template beside it (the handler string, the stage, the API's routes and binary media types,
  the gateway responses), and a runtime directory with what Lambda's Python runtime adds to the
  path (boto3 and its dependencies).
- `Gateway` runs the handler in a fresh interpreter (`tests/support/lambda_bootstrap.py`:
  `python -I -S`, nothing on the path but the bundle, the runtime directory and the standard
  library; the task directory on a read-only mount when we are root) and turns HTTP requests
  into API Gateway REST proxy events: the route template
  (`resource`, `requestContext.resourcePath`) matched against the API's paths, decoded
  `pathParameters`, `queryStringParameters` and `multiValueQueryStringParameters`, `headers`
  and `multiValueHeaders`, a base64 body for binary media types, `requestContext.identity.
  sourceIp`, the stage and the stage-prefixed `requestContext.path`. The handler's answer
  (statusCode, headers, multiValueHeaders, body, isBase64Encoded) becomes the HTTP response;
  a base64 body is decoded when the request's Accept names a binary media type, as API
  Gateway does. What API Gateway answers itself, the app never sees: a path or method no
  route has is 403 "Missing Authentication Token" (or the template's gateway response for
  MISSING_AUTHENTICATION_TOKEN), a function error or a malformed answer 502.
- `Gateway.serve()` puts all of it behind a real HTTP listener, so any HTTP client can talk
  to it at `{url}/{stage}/...`, like an execute-api URL.

Every event is validated against Powertools' model of the v1 event before it is sent.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from infra import lambda_task

BOOTSTRAP = Path(__file__).with_name("lambda_bootstrap.py")
# What Lambda's Python runtime puts on the path besides the task directory.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
API_ID = "a1b2c3d4e5"
REGION = "ap-south-1"
ACCOUNT = "123456789012"
FUNCTION = "auction-api-prod-APIHandler"
TIMEOUT_S = 30.0
# API Gateway's own answers (the app never sees these requests).
MISSING_TOKEN = "MISSING_AUTHENTICATION_TOKEN"
DEFAULT_GATEWAY_RESPONSES = {
    MISSING_TOKEN: (403, "MissingAuthenticationTokenException", "Missing Authentication Token"),
    "BAD_GATEWAY": (502, "InternalServerErrorException", "Internal server error"),
}


@dataclass(frozen=True)
class Route:
    template: str  # e.g. /api/auctions/{auction_id}/bids
    methods: frozenset[str]

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/")) if self.template != "/" else ()

    def match(self, segments: tuple[str, ...]) -> dict[str, str] | None:
        """The path parameters (decoded) when `segments` (still encoded) fit this template."""
        if len(segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for part, want in zip(segments, self.segments, strict=True):
            if want.startswith("{") and want.endswith("}"):
                if not part:
                    return None
                params[want[1:-1]] = unquote(part)
            elif part != want:
                return None
        return params


class RouteTable:
    """The API's resources as API Gateway matches them: a literal segment wins over a
    parameter at the first place they differ."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = sorted(
            routes,
            key=lambda r: tuple((s.startswith("{"), s) for s in r.segments),
        )

    def find(self, path: str) -> tuple[Route, dict[str, str]] | None:
        segments = tuple(path.strip("/").split("/")) if path.strip("/") else ()
        for route in self.routes:
            params = route.match(segments)
            if params is not None:
                return route, params
        return None


@dataclass
class LambdaTask:
    """The extracted bundle and what its template says about the API in front of it."""

    task: Path
    runtime: Path
    template: dict[str, Any]

    @classmethod
    def build(cls, bundle: Path, template: Path, workdir: Path) -> LambdaTask:
        task = lambda_task.extract(bundle, workdir / "task")
        runtime = workdir / "runtime"
        runtime.mkdir(exist_ok=True)
        site = Path(str(__import__("boto3").__file__)).resolve().parent.parent
        for name in RUNTIME_PACKAGES:
            source = site / name
            if not source.exists():
                source = site / f"{name}.py"
            link = runtime / source.name
            if not link.exists():
                link.symlink_to(source)
        return cls(task, runtime, json.loads(template.read_text()))

    def remove(self) -> None:
        lambda_task.remove(self.task)

    @property
    def _api(self) -> dict[str, Any]:
        for resource in self.template["Resources"].values():
            if resource["Type"] in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
                return dict(resource["Properties"])
        raise LookupError("the template declares no REST API")

    @property
    def definition(self) -> dict[str, Any]:
        return dict(self._api.get("DefinitionBody") or self._api["Body"])

    @property
    def stage(self) -> str:
        return str(self._api["StageName"])

    @property
    def handler(self) -> str:
        """The API function's handler string (e.g. `app.app`)."""
        for resource in self.template["Resources"].values():
            props = resource.get("Properties", {})
            if resource["Type"] == "AWS::Serverless::Function" and not props.get("Events"):
                return str(props["Handler"])
        raise LookupError("the template declares no API function")

    @property
    def routes(self) -> RouteTable:
        return RouteTable(
            [
                Route(path, frozenset(m.upper() for m in methods if not m.startswith("x-")))
                for path, methods in self.definition["paths"].items()
            ]
        )

    @property
    def binary_media_types(self) -> list[str]:
        return [t.replace("~1", "/") for t in self.definition.get(BINARY_TYPES_KEY, [])]

    @property
    def gateway_responses(self) -> dict[str, dict[str, Any]]:
        return dict(self.definition.get("x-amazon-apigateway-gateway-responses") or {})


BINARY_TYPES_KEY = "x-amazon-apigateway-binary-media-types"


@dataclass
class Reply:
    """An HTTP response as the gateway sends it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in reversed(self.headers):
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Gateway:
    """API Gateway and one warm Lambda instance of the bundle (requests are served one at a
    time, as one instance serves them)."""

    bundle: LambdaTask
    env: dict[str, str]
    log_path: Path
    source_ip: str = "198.51.100.7"
    hello: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # the last few, for asserts
    _process: subprocess.Popen[bytes] | None = None
    _sock: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # -- the Lambda instance --------------------------------------------------------------

    def start(self) -> Gateway:
        ours, theirs = socket.socketpair()
        env = {
            **self.env,
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "LAMBDA_TASK_ROOT": str(self.bundle.task),
            "_HANDLER": self.bundle.handler,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
        }
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    *read_only_mount(self.bundle.task),
                    sys.executable,
                    "-I",
                    "-S",
                    "-B",
                    str(BOOTSTRAP),
                    str(self.bundle.task),
                    str(self.bundle.runtime),
                    self.bundle.handler,
                    str(theirs.fileno()),
                ],
                cwd=self.bundle.task,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(theirs.fileno(),),
            )
        theirs.close()
        ours.settimeout(60)
        self._sock = ours
        first = self._receive()
        if not first.get("hello"):
            self.stop()
            raise RuntimeError(f"the bundle did not start: {first.get('error')}\n{self.log()}")
        self.hello = first["hello"]
        ours.settimeout(TIMEOUT_S)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._process is not None:
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
            self._process = None

    def log(self) -> str:
        """What the function printed (its JSON request log lines, warnings...)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    continue
        return lines

    def _receive(self) -> dict[str, Any]:
        assert self._sock is not None
        head = self._exactly(4)
        return dict(json.loads(self._exactly(struct.unpack(">I", head)[0])))

    def _exactly(self, size: int) -> bytes:
        assert self._sock is not None
        data = b""
        while len(data) < size:
            chunk = self._sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError(f"the Lambda process went away\n{self.log()[-3000:]}")
            data += chunk
        return data

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """One invocation: the handler's answer `{"response": ...}` or `{"error": ...}`."""
        now_ms = int(time.time() * 1000)
        context = {
            "aws_request_id": str(uuid.uuid4()),
            "function_name": FUNCTION,
            "invoked_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}",
            "memory_limit_in_mb": 512,
            "log_stream_name": "2026/01/01/[$LATEST]0123456789abcdef",
            "deadline_ms": now_ms + int(TIMEOUT_S * 1000),
        }
        data = json.dumps({"event": event, "context": context}).encode()
        with self._lock:
            assert self._sock is not None, "the gateway is not started"
            self._sock.sendall(struct.pack(">I", len(data)) + data)
            answer = self._receive()
        self.events = [*self.events[-19:], event]
        return answer

    def modules(self) -> list[str]:
        """The names of every module the instance's interpreter has loaded so far."""
        data = json.dumps({"modules": True}).encode()
        with self._lock:
            assert self._sock is not None, "the gateway is not started"
            self._sock.sendall(struct.pack(">I", len(data)) + data)
            answer = self._receive()
        return list(answer["modules"])

    # -- API Gateway ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        source_ip: str | None = None,
    ) -> Reply:
        """One HTTP request to `https://{api}/{stage}{path}?{query}` (`path` as sent on the
        wire: percent-encoded)."""
        headers = list(headers or [])
        found = self.bundle.routes.find(path)
        if found is None or method.upper() not in found[0].methods:
            return self._gateway_response(MISSING_TOKEN)
        route, params = found
        event = self.event(method.upper(), path, route, params, query, headers, body, source_ip)
        validate(event)
        answer = self.invoke(event)
        response = answer.get("response")
        if "error" in answer or not isinstance(response, dict):
            return self._gateway_response("BAD_GATEWAY")
        try:
            return self._http_response(response, headers)
        except (KeyError, TypeError, ValueError):  # a malformed proxy answer
            return self._gateway_response("BAD_GATEWAY")

    def event(
        self,
        method: str,
        path: str,
        route: Route,
        params: dict[str, str],
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str | None,
    ) -> dict[str, Any]:
        """The REST proxy event (v1) API Gateway sends for this request."""
        ip = source_ip or self.source_ip
        now = datetime.now(UTC)
        request_id = str(uuid.uuid4())
        sent = [(k, v) for k, v in headers if k.lower() not in ("host", "x-forwarded-for")]
        forwarded_for = ", ".join(
            [*(v for k, v in headers if k.lower() == "x-forwarded-for"), ip, "130.176.0.1"]
        )
        domain = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
        # Edge-optimised endpoint (chalice's default): CloudFront's headers come along.
        added = [
            ("Host", domain),
            ("X-Forwarded-For", forwarded_for),
            ("X-Forwarded-Port", "443"),
            ("X-Forwarded-Proto", "https"),
            ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"),
            ("Via", "2.0 0123456789abcdef.cloudfront.net (CloudFront)"),
            ("CloudFront-Forwarded-Proto", "https"),
            ("CloudFront-Viewer-Country", "IN"),
        ]
        all_headers = sent + added
        multi_headers: dict[str, list[str]] = {}
        for name, value in all_headers:
            multi_headers.setdefault(name, []).append(value)
        pairs = parse_qsl(query, keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for name, value in pairs:
            multi_query.setdefault(name, []).append(value)
        content_type = _first(headers, "content-type") or ""
        binary = bool(body) and _matches(content_type, self.bundle.binary_media_types)
        stage_path = f"/{self.bundle.stage}{path}"
        return {
            "resource": route.template,
            "path": path,
            "httpMethod": method,
            "headers": {name: values[-1] for name, values in multi_headers.items()},
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "abc123",
                "resourcePath": route.template,
                "httpMethod": method,
                "extendedRequestId": f"{uuid.uuid4().hex[:14]}=",
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": stage_path,
                "accountId": ACCOUNT,
                "protocol": "HTTP/1.1",
                "stage": self.bundle.stage,
                "domainPrefix": API_ID,
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "requestId": request_id,
                "identity": {
                    "cognitoIdentityPoolId": None,
                    "accountId": None,
                    "cognitoIdentityId": None,
                    "caller": None,
                    "sourceIp": ip,
                    "principalOrgId": None,
                    "accessKey": None,
                    "cognitoAuthenticationType": None,
                    "cognitoAuthenticationProvider": None,
                    "userArn": None,
                    "userAgent": _first(headers, "user-agent"),
                    "user": None,
                },
                "domainName": domain,
                "apiId": API_ID,
            },
            "body": (
                None
                if not body
                else base64.b64encode(body).decode()
                if binary
                else body.decode("utf-8", errors="replace")
            ),
            "isBase64Encoded": binary,
        }

    def _http_response(self, response: dict[str, Any], request: list[tuple[str, str]]) -> Reply:
        status = int(response["statusCode"])
        merged: dict[str, list[str]] = {
            k: [str(v) for v in vs] for k, vs in (response.get("multiValueHeaders") or {}).items()
        }
        for name, value in (response.get("headers") or {}).items():
            merged.setdefault(name, [str(value)])
        raw = response.get("body") or ""
        if not isinstance(raw, str):
            raise TypeError("body must be a string")
        body = raw.encode()
        accept = (_first(request, "accept") or "").split(",")[0].split(";")[0].strip()
        # A base64 answer becomes bytes only when the caller's Accept (its first type) names
        # a binary media type; otherwise the caller gets the base64 text.
        if response.get("isBase64Encoded") and _matches(accept, self.bundle.binary_media_types):
            body = base64.b64decode(raw)
        headers = [(name, value) for name, values in merged.items() for value in values]
        headers += [
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("x-amz-apigw-id", uuid.uuid4().hex[:16]),
            ("Content-Length", str(len(body))),
        ]
        return Reply(status, headers, body)

    def _gateway_response(self, kind: str) -> Reply:
        status, error_type, message = DEFAULT_GATEWAY_RESPONSES[kind]
        body = json.dumps({"message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
        custom = self.bundle.gateway_responses.get(kind)
        if custom:
            status = int(custom.get("statusCode", status))
            templates = custom.get("responseTemplates") or {}
            if templates:
                media, template = next(iter(templates.items()))
                body = template.replace("$context.error.messageString", json.dumps(message))
                body = body.encode()
                headers = [("Content-Type", media)]
            for key, value in (custom.get("responseParameters") or {}).items():
                name = key.removeprefix("gatewayresponse.header.")
                headers = [h for h in headers if h[0].lower() != name.lower()]
                headers.append((name, value.strip("'")))
        headers += [("x-amzn-RequestId", str(uuid.uuid4())), ("Content-Length", str(len(body)))]
        return Reply(status, headers, body)

    # -- an HTTP listener in front -------------------------------------------------------

    def serve(self) -> str:
        """Listen on a free local port; returns the base URL with the stage, like
        `https://{api}.execute-api.{region}.amazonaws.com/{stage}`."""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):
                    return self._any
                raise AttributeError(name)

            def _any(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                prefix = f"/{gateway.bundle.stage}"
                if parts.path == prefix or parts.path.startswith(prefix + "/"):
                    reply = gateway.request(
                        self.command,
                        parts.path[len(prefix) :] or "/",
                        query=parts.query,
                        headers=list(self.headers.items()),
                        body=body,
                        source_ip=self.client_address[0],
                    )
                else:  # no such stage
                    reply = gateway._gateway_response(MISSING_TOKEN)
                self.send_response_only(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/{self.bundle.stage}"


def read_only_mount(directory: Path) -> list[str]:
    """A command prefix that runs the rest with `directory` on a read-only mount, as /var/task
    is on Lambda. Permission bits do not stop root, so as root the process gets a mount
    namespace of its own with `directory` bound read-only onto itself (util-linux `unshare`)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return []  # the extracted files' missing write bits are enough
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(directory)]


def _first(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _matches(media_type: str, patterns: list[str]) -> bool:
    """API Gateway's test of a media type against binaryMediaTypes (which may hold
    wildcards: `image/*`, `*/*`)."""
    media = media_type.split(";")[0].strip().lower()
    return bool(media) and any(fnmatch.fnmatchcase(media, p.lower()) for p in patterns)


def validate(event: dict[str, Any]) -> None:
    """The event as Powertools models API Gateway's REST proxy event (v1)."""
    from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

    APIGatewayProxyEventModel.model_validate(event)
