"""The local servers' limits (infra/serving.py), each over a real socket against the API as it
is served (`python -m infra.api_server`, as `make run` starts it): every refusal is a clear
status at once, never a hang and never a 500, and each test fails without its limit."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import orjson
import pytest

from infra import api_server
from infra.embedded import free_port, wait_for_port
from infra.serving import Answer, Application, Head, Limits, ThreadedServer
from shared.settings import REPO_ROOT
from tests.support.harness import SuiteServices

HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def api(services: SuiteServices) -> Iterator[int]:
    """The API as `make run` serves it (granian's worker process, not the embedded server of
    the suite's in-process servers), with the limits it runs with (`api_server.LIMITS`)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.api_server", "--port", str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout_s=60)
        assert status(exchange(port, HEAD + b"Connection: close\r\n\r\n", timeout=60)) == 200
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def tight(services: SuiteServices) -> Iterator[int]:
    """In this process, with short times and two requests in flight, so that waiting is
    short."""
    limits = replace(api_server.LIMITS, head_timeout_s=1.0, body_timeout_s=1.0, max_in_flight=2)
    server: ThreadedServer = api_server.serve_in_thread("127.0.0.1", free_port(), limits)
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def exchange(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send `request`, return all the server sends until it closes the connection (a
    `Connection: close` request, or a refusal)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        # Refused while still sending: what it answered is still there to read.
        with contextlib.suppress(OSError):
            conn.sendall(request)
        chunks = []
        while data := conn.recv(65536):
            chunks.append(data)
        return b"".join(chunks)


def status(answer: bytes) -> int:
    return int(answer[9:12])


def closing(answer: bytes) -> bool:
    head = answer.partition(b"\r\n\r\n")[0].lower()
    return b"\r\nconnection: close" in head


def test_the_floor_request_is_served(api: int) -> None:
    """What the refusals below are refusals of: the same request, within the limits."""
    answer = exchange(api, HEAD + b"X-Fine: " + b"a" * 4000 + b"\r\nConnection: close\r\n\r\n")
    assert status(answer) == 200, answer[:200]


def test_a_request_target_over_its_limit_is_414(api: int) -> None:
    target = b"/health?pad=" + b"a" * api_server.LIMITS.max_target
    answer = exchange(api, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status(answer) == 414 and closing(answer), answer[:200]


def test_one_header_over_its_limit_is_431(api: int) -> None:
    big = b"X-Big: " + b"a" * api_server.LIMITS.max_field + b"\r\n"
    answer = exchange(api, HEAD + big + b"\r\n")
    assert status(answer) == 431 and closing(answer), answer[:200]


def test_a_head_over_its_limit_is_431(api: int) -> None:
    """Many headers each within their own limit, together over the head's."""
    field = b"a" * (api_server.LIMITS.max_field - 100)
    count = api_server.LIMITS.max_head // len(field) + 1
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, field) for i in range(count))
    assert status(exchange(api, HEAD + headers + b"\r\n")) == 431


def test_a_huge_header_is_refused_without_reading_it_all(api: int) -> None:
    """The review's case: a 20 MiB header. Refused once the head is over its limit, with the
    rest unread (the connection is closed under the sender)."""
    answer = exchange(api, HEAD + b"X-Big: " + b"a" * (20 << 20) + b"\r\n\r\n")
    assert status(answer) == 431, answer[:200]


def test_more_than_100_headers_is_431(api: int) -> None:
    headers = b"".join(b"X-%d: a\r\n" % i for i in range(101))
    assert status(exchange(api, HEAD + headers + b"\r\n")) == 431


def test_a_body_over_the_outer_cap_is_413_unread(api: int) -> None:
    """Content-Length over 6 MiB: refused on the head, nothing of the body sent or read."""
    length = api_server.MAX_BODY + 1
    answer = exchange(
        api,
        b"POST /api/auctions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: %d\r\n\r\n" % length,
    )
    assert status(answer) == 413 and closing(answer), answer[:200]
    problem = orjson.loads(answer.partition(b"\r\n\r\n")[2])
    assert problem["code"] == "payload_too_large"


def test_a_chunked_body_over_the_outer_cap_is_413(api: int) -> None:
    """No length to judge by: counted as it comes (to a route that would answer 405, not a
    413 of its own, if the whole body reached it)."""
    chunk = b"a" * (1 << 20)
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(7)) + b"0\r\n\r\n"
    answer = exchange(
        api,
        b"POST /health HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n" + body,
    )
    assert status(answer) == 413, answer[:200]


def test_a_slowloris_head_is_cut_off_however_often_it_sends(tight: int) -> None:
    """One header byte every 0.2 s keeps a per-read timer from ever firing; the head's
    deadline counts from its first byte, so the connection is closed long before the
    trickle (10 s) ends, and nothing is answered to a head that never came whole."""
    with socket.create_connection(("127.0.0.1", tight), timeout=15) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\n")
        cut_off = False
        for _ in range(50):
            time.sleep(0.2)
            try:
                conn.sendall(b"X")
            except OSError:
                cut_off = True
                break
        if not cut_off:  # the last bytes may sit in the buffer: the read says
            cut_off = conn.recv(100) == b""
    assert cut_off


def test_an_idle_kept_alive_connection_is_closed(tight: int) -> None:
    with socket.create_connection(("127.0.0.1", tight), timeout=15) as conn:
        conn.sendall(HEAD + b"\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += conn.recv(65536)
        assert status(answer) == 200
        length = int(answer.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        body = answer.partition(b"\r\n\r\n")[2]
        while len(body) < length:
            body += conn.recv(65536)
        assert conn.recv(100) == b""  # then nothing, and the server closed it


def test_a_body_that_stops_coming_is_408(tight: int) -> None:
    answer = exchange(
        tight,
        b"POST /api/auctions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"itemName":',
    )
    assert status(answer) == 408 and closing(answer), answer[:200]


def test_requests_past_the_in_flight_cap_are_503_at_once(tight: int) -> None:
    """Two requests whose bodies are still coming fill the cap (2); a third is refused with
    503 and Retry-After while they wait, and the cap frees when they end."""
    held = []
    try:
        for _ in range(2):
            conn = socket.create_connection(("127.0.0.1", tight), timeout=10)
            conn.sendall(
                b"POST /api/auctions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n{"
            )
            held.append(conn)
        time.sleep(0.2)  # both heads are in
        answer = exchange(tight, HEAD + b"Connection: close\r\n\r\n")
        assert status(answer) == 503, answer[:200]
        assert b"\r\nretry-after: 1" in answer.lower()
        assert orjson.loads(answer.partition(b"\r\n\r\n")[2])["code"] == "unavailable"
    finally:
        for conn in held:
            conn.close()
    time.sleep(0.2)  # both ended (the client went away)
    assert status(exchange(tight, HEAD + b"Connection: close\r\n\r\n")) == 200


class Together(Application):
    """Answers a request only once as many requests as `barrier` has parties are inside
    `answer()` at once (else the barrier breaks and the request is a 500)."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(limits)
        self.barrier = threading.Barrier(1)
        self.threads: set[int] = set()

    def answer(self, head: Head, body: bytes, arrived_ms: int) -> Answer:
        self.threads.add(threading.get_ident())
        self.barrier.wait()
        return Answer(200, [("content-type", "text/plain")], b"together")


def test_the_application_threads_answer_at_once_and_serve_again() -> None:
    """Two requests at once, then four, then four again get that many threads at once, and
    four in all: a thread counted free while busy, or twice, would leave a round short (its
    barrier breaks: 500), and one never counted free again would have a round start more."""
    app = Together(Limits(max_body=1024, threads=8))
    server = ThreadedServer(app, "127.0.0.1", free_port())
    port = server.server_address[1]
    try:
        with ThreadPoolExecutor(4) as clients:
            for together in (2, 4, 4):
                app.barrier = threading.Barrier(together, timeout=5)
                answers = list(
                    clients.map(
                        lambda _: exchange(port, HEAD + b"Connection: close\r\n\r\n"),
                        range(together),
                    )
                )
                assert [status(answer) for answer in answers] == [200] * together, answers
        assert len(app.threads) == 4
    finally:
        server.shutdown()
