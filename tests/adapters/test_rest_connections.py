"""The REST transport under the upstash-redis client (`RestConnections`): it plugs into the
client's one seam below its public methods, keeps connections alive, and tells "never sent"
from "sent, no answer"."""

from __future__ import annotations

import inspect
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
import upstash_redis
from upstash_redis.http import SyncHttpClient

from infra.bridge import serve_in_thread
from shared.adapters.redis_store import (
    OutcomeUnknown,
    RestConnections,
    RestStore,
    StoreUnavailable,
)
from tests.support.harness import SuiteServices

TOKEN = "rest-connections-token"


def test_the_seam_is_the_one_this_transport_was_written_against() -> None:
    """upstash-redis is pinned; its SyncHttpClient posts through `self._client.post(url,
    headers=..., json=...)` and reads `headers.get` and `json()`. Check this again before
    moving the pin."""
    assert upstash_redis.__version__ == "1.8.0"
    source = inspect.getsource(SyncHttpClient.execute)
    assert "self._client.post(" in source and "json=command" in source
    assert "r.json()" in source and "r.headers.get(" in source


@pytest.fixture
def bridge_url(services: SuiteServices) -> Iterator[str]:
    bridge = serve_in_thread(services.redis_url, TOKEN, 0)
    try:
        yield f"http://127.0.0.1:{bridge.server_address[1]}"
    finally:
        bridge.shutdown()
        bridge.server_close()


def test_commands_reuse_one_kept_alive_connection(bridge_url: str) -> None:
    store = RestStore(bridge_url, TOKEN)
    transport = store._client._http._client
    assert isinstance(transport, RestConnections)
    assert store.command("PING") == "PONG"
    kept = list(transport._idle)
    assert len(kept) == 1
    key = f"rest:{uuid.uuid4().hex}"
    assert store.pipeline([["ZADD", key, 2, "m"], ["ZSCORE", key, "m"]]) == [1, "2"]
    assert list(transport._idle) == kept  # the same connection, again
    store.close()
    assert not transport._idle


def test_a_refused_connection_is_never_sent() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    store = RestStore(f"http://127.0.0.1:{port}", TOKEN, retry_interval_s=0)
    with pytest.raises(StoreUnavailable) as failure:
        store.command("PING")
    assert not isinstance(failure.value, OutcomeUnknown)


def test_a_request_sent_and_never_answered_has_an_unknown_outcome() -> None:
    """A server that reads the request and says nothing: the command may have run."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # never answered

    threading.Thread(target=accept, daemon=True).start()
    store = RestStore(
        f"http://127.0.0.1:{listener.getsockname()[1]}", TOKEN, timeout_s=0.3, retry_interval_s=0
    )
    try:
        with pytest.raises(OutcomeUnknown):
            store.command("PING")
    finally:
        listener.close()
        for conn in held:
            conn.close()


def test_a_connection_the_server_closed_is_replaced(bridge_url: str) -> None:
    """An idle keep-alive connection the server dropped fails once; the retry takes a new
    one, and the command is answered."""
    store = RestStore(bridge_url, TOKEN, retry_interval_s=0)
    assert store.command("PING") == "PONG"
    transport = store._client._http._client
    assert isinstance(transport, RestConnections)
    stale = transport._idle[0]
    stale.shutdown(socket.SHUT_RDWR)  # as if the server had closed it while idle
    assert store.command("PING") == "PONG"
    assert stale not in transport._idle


def test_connections_every_one_closed_by_a_restarted_server_are_never_used() -> None:
    """A server that closes each connection after one answer (as after an idle timeout or a
    restart, every pooled connection is stale at once): each later call opens a new one and
    is answered; none fails with an unknown outcome."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                while len(body) < length:
                    body += conn.recv(65536)
                answer = b'{"result":"PONG"}'
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(answer), answer)
                )
            # closed here, though the answer said keep-alive

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    transport = RestConnections(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout_s=2)
    try:
        for _ in range(3):
            answer = transport.post("/", headers={}, json=["PING"])
            assert answer.json() == {"result": "PONG"}
            threading.Event().wait(0.05)  # the server's close lands on the idle connection
        assert len(accepted) == 3
    finally:
        transport.close()
        listener.close()


def test_a_live_connection_past_descriptor_1023_stays_pooled() -> None:
    """The stale check works for any descriptor (select() refuses those past 1,023, which a
    server with a thousand clients hands out): a live idle connection is not 'dropped'."""
    import os
    import resource

    from shared.adapters.redis_store import _dropped

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 2000:
        pytest.skip(f"descriptors are limited to {hard} here")
    if soft != resource.RLIM_INFINITY and soft <= 2000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (2048, hard))
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    served, _ = listener.accept()
    high = None
    try:
        os.dup2(client.fileno(), 2000)
        high = socket.socket(fileno=2000)
        assert not _dropped(high)  # open, nothing to read: alive
        served.close()  # the server ends it
        threading.Event().wait(0.05)
        assert _dropped(high)
    finally:
        for sock in (high, client, served, listener):
            if sock is not None:
                sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
