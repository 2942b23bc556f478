"""The REST transport (`RestConnections`) and protocol (`RestStore`): the store speaks the
Upstash REST protocol exactly as the real upstash-redis client does (the same commands through
both, to the same endpoint, give the same replies and the same refusals), keeps connections
alive, and tells "never sent" from "sent, no answer"."""

from __future__ import annotations

import inspect
import itertools
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis
import upstash_redis
from upstash_redis.errors import UpstashError
from upstash_redis.http import SyncHttpClient

from infra.bridge import serve_in_thread
from shared.adapters.redis_store import (
    OutcomeUnknown,
    RestConnections,
    RestStore,
    StoreError,
    StoreUnavailable,
    load_script,
)
from tests.support.harness import SuiteServices

TOKEN = "rest-connections-token"


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
    transport = store.connections
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
    transport = store.connections
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


def test_the_client_seam_is_the_one_the_transport_has_the_shape_of() -> None:
    """upstash-redis is pinned; its SyncHttpClient posts through `self._client.post(url,
    headers=..., json=...)` and reads `headers.get` and `json()` (what the comparison below
    runs it over). Check this again before moving the pin."""
    assert upstash_redis.__version__ == "1.8.0"
    source = inspect.getsource(SyncHttpClient.execute)
    assert "self._client.post(" in source and "json=command" in source
    assert "r.json()" in source and "r.headers.get(" in source


def test_the_store_speaks_the_protocol_as_the_real_client_does(
    bridge_url: str, services: SuiteServices
) -> None:
    """The same commands, pipelines, scripts and mistakes sent by the real upstash-redis
    client (its own REST protocol code: command formatting, replies, error replies)
    and by `RestStore`, to the same endpoint: every reply is the same, and every error reply
    the client raises is a refusal the store raises too."""
    # Configured as the store speaks: results as JSON strings (no base64 encoding).
    client = upstash_redis.Redis(
        url=bridge_url,
        token=TOKEN,
        rest_retries=0,
        rest_encoding=None,
        allow_telemetry=False,
        read_your_writes=False,
    )
    client._http._client.close()
    client._http._client = RestConnections(bridge_url, timeout_s=2)  # type: ignore[assignment]
    store = RestStore(bridge_url, TOKEN)

    def by_client(*args: str | int | float) -> object:
        return client._http.execute(url=client._url, headers=client._headers, command=list(args))

    def pipelined_by_client(commands: list[list[str | int | float]]) -> object:
        return client._http.execute(
            url=f"{client._url}/pipeline",
            headers=client._headers,
            command=commands,
            from_pipeline=True,
        )

    key = f"proto:{uuid.uuid4().hex}"
    # What the bridge lets no client write (it serves only the product's commands), set
    # directly: text beyond ASCII, a hash, a stream.
    direct = redis.Redis.from_url(services.redis_url)
    direct.set(key, "naïve ₹ bytes".encode())
    direct.hset(f"{key}:h", mapping={"a": 1, "b": 2.5})
    direct.xadd(f"{key}:s", {"type": "bid:placed", "data": "{}"})
    direct.zadd(f"{key}:z", {"m": 3, "n": 1.25})
    commands: list[list[str | int | float]] = [
        ["PING"],
        ["GET", key],
        ["GET", f"{key}:missing"],
        ["HGETALL", f"{key}:h"],
        ["HMGET", f"{key}:h", "a", "nope", "b"],
        ["ZRANGE", f"{key}:z", 0, -1, "WITHSCORES"],
        ["ZSCORE", f"{key}:z", "n"],
        ["XRANGE", f"{key}:s", "-", "+"],
        ["LRANGE", f"{key}:missing", 0, -1],
    ]
    for command in commands:
        assert store.command(*command) == by_client(*command), command
    for first, second in itertools.pairwise(commands):
        assert store.pipeline([first, second]) == pipelined_by_client([first, second])
    script = load_script("place_bid")
    direct.script_flush()
    mistakes: list[list[str | int | float]] = [
        ["EVALSHA", script.sha, 0],  # NOSCRIPT (flushed)
        ["SET", key, "x"],  # not a command the bridge serves
        ["HGETALL", key],  # WRONGTYPE
        ["ZADD", f"{key}:z", "not-a-score", "m"],
    ]
    for command in mistakes:
        with pytest.raises(UpstashError) as said:
            by_client(*command)
        with pytest.raises(StoreError) as refused:
            store.command(*command)
        assert str(refused.value) == str(said.value)
    wrong = RestStore(bridge_url, "not-the-token", retry_interval_s=0)
    with pytest.raises(StoreUnavailable):
        wrong.command("PING")
    store.close()
    wrong.close()
    client.close()  # type: ignore[no-untyped-call]
    direct.delete(key, f"{key}:h", f"{key}:s", f"{key}:z")
    direct.close()
