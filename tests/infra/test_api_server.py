"""The local API server's part of API Gateway (infra/api_server.py), over a real socket: the
event it builds for each request, as the gateway hands it to a small Chalice app (the
functions' own routes run over this server, the in-process client and the Lambda-bundle
gateway in tests/api)."""

from __future__ import annotations

import base64
import copy
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from chalice.app import Chalice

from infra import api_server
from infra.embedded import free_port
from infra.serving import ThreadedServer

observer = Chalice(app_name="observer")
observer.api.binary_types = ["image/png"]


@observer.route(
    "/seen/{name}", methods=["GET", "POST"], content_types=["application/json", "image/png"]
)
def seen(name: str) -> dict[str, Any]:
    return {"route": "capture"}


@observer.route("/seen/literal", methods=["GET"])
def literal() -> dict[str, Any]:
    return {"route": "literal"}


class Recording(api_server.Gateway):
    """The gateway, keeping a copy of every event it builds."""

    def __init__(self) -> None:
        super().__init__(api_server.local(observer))
        self.events: list[dict[str, Any]] = []

    def event(self, *args: Any) -> dict[str, Any]:
        event = super().event(*args)
        self.events.append(copy.deepcopy(event))
        return event


gateway = Recording()


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    port = free_port()
    server = ThreadedServer(gateway, "127.0.0.1", port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()


def received(answer: httpx.Response | bytes) -> dict[str, Any]:
    """The event of the request just answered."""
    status = answer.status_code if isinstance(answer, httpx.Response) else int(answer[9:12])
    assert status == 200, answer
    return gateway.events[-1]


def test_the_event_carries_what_api_gateway_sends(url: str) -> None:
    answer = httpx.get(
        f"{url}/seen/a%20b%2Fc?x=1&x=2&empty=",
        headers=[("X-Twice", "1"), ("X-Twice", "2"), ("Accept-Encoding", "identity")],
    )
    event = received(answer)
    assert event["resource"] == "/seen/{name}"
    assert event["path"] == "/seen/a%20b%2Fc"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"name": "a b/c"}  # one segment, decoded
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "empty": [""]}
    assert event["queryStringParameters"] == {"x": "2", "empty": ""}
    assert event["multiValueHeaders"]["x-twice"] == ["1", "2"]
    assert event["headers"]["x-twice"] == "2"
    context = event["requestContext"]
    assert context["resourcePath"] == "/seen/{name}" and context["stage"] == "local"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert abs(context["requestTimeEpoch"] - time.time() * 1000) < 60_000
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_literal_segments_win_over_captures(url: str) -> None:
    assert httpx.get(f"{url}/seen/literal").json() == {"route": "literal"}
    assert httpx.get(f"{url}/seen/literal/").json() == {"route": "literal"}


def test_no_accept_means_any_type(url: str) -> None:
    """httpx sends `Accept: */*` itself; a raw request sends none."""
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as conn:
        conn.sendall(b"GET /seen/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        raw = b""
        while data := conn.recv(65536):
            raw += data
    event = received(raw)
    assert event["headers"]["accept"] == "*/*"
    assert event["multiValueHeaders"]["accept"] == ["*/*"]


def test_a_binary_body_travels_base64_encoded(url: str) -> None:
    png = bytes(range(256))
    event = received(
        httpx.post(f"{url}/seen/x", content=png, headers={"Content-Type": "image/png"})
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == png
    text = received(httpx.post(f"{url}/seen/x", json={"a": 1}))
    assert text["isBase64Encoded"] is False and orjson.loads(text["body"]) == {"a": 1}


def test_a_path_with_no_route_is_the_404_problem(url: str) -> None:
    answer = httpx.get(f"{url}/nowhere")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.content == api_server.NO_ROUTE


def test_request_time_is_when_the_last_byte_of_the_body_arrived(url: str) -> None:
    """API Gateway stamps a request when it has arrived: a body that trickles in after its
    head gets the moment of its last byte, not of its head (a bid is judged at it)."""
    body = b'{"amount": "100.00"}'
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as conn:
        conn.sendall(
            b"POST /seen/x HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body[:10])
        )
        time.sleep(1.0)
        last_byte_sent = time.time() * 1000
        conn.sendall(body[10:])
        raw = b""
        while data := conn.recv(65536):
            raw += data
    answered = time.time() * 1000
    event = received(raw)
    assert orjson.loads(event["body"]) == {"amount": "100.00"}
    stamp = event["requestContext"]["requestTimeEpoch"]
    assert isinstance(stamp, int)
    # Whole milliseconds: the stamp may be the last byte's millisecond, truncated.
    assert last_byte_sent - 1 <= stamp <= answered, (last_byte_sent, stamp, answered)
