"""Lambda's side of the gateway harness (tests/support/gateway.py): the bundle's handler in an
interpreter of its own, as Lambda's runtime runs it.

Started as `python -I -S -B lambda_bootstrap.py TASK RUNTIME HANDLER FD`: isolated (no
PYTHON* variables, no user site, no script directory on the path), no site-packages, no
bytecode written. The path is the task directory (the extracted bundle, read-only, like
/var/task), then RUNTIME (what Lambda's runtime adds: boto3), then the standard library.
Nothing of the repository is on it. Standard library only, here.

The protocol over the socket FD: messages of a 4-byte big-endian length and a JSON object.
First this process sends `hello` (where its modules came from, the app's route table); then
for each `{"event", "context"}` it receives it answers `{"response"}` (what the handler
returned) or `{"error"}` (what it raised: Lambda's function error); to `{"modules": true}`
it answers `{"modules": [...]}`, the names of every module loaded so far.
"""

from __future__ import annotations

import importlib
import json
import socket
import struct
import sys
import sysconfig
import time
import traceback
from typing import Any


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    sock.sendall(struct.pack(">I", len(data)) + data)


def receive(sock: socket.socket) -> dict[str, Any] | None:
    head = _exactly(sock, 4)
    if head is None:
        return None
    body = _exactly(sock, struct.unpack(">I", head)[0])
    return None if body is None else json.loads(body)


def _exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = b""
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return chunks


class LambdaContext:
    """The context object Lambda hands a Python handler."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.aws_request_id = fields["aws_request_id"]
        self.function_name = fields["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = fields["invoked_function_arn"]
        self.memory_limit_in_mb = str(fields["memory_limit_in_mb"])
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = fields["log_stream_name"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(fields["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def provenance(roots: list[str]) -> list[str]:
    """Loaded modules whose file lies outside `roots` (should be none)."""
    strays = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and not any(path.startswith(root) for root in roots):
            strays.append(f"{name}: {path}")
    return sorted(strays)


def main() -> None:
    task, runtime, handler_name, fd = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    sock = socket.socket(fileno=fd)
    sys.path[:0] = [task, runtime]
    module_name, _, attribute = handler_name.rpartition(".")
    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
        handler = getattr(module, attribute)
    except BaseException:  # an init error: Lambda reports it and never serves
        send(sock, {"hello": None, "error": traceback.format_exc()})
        return
    import_ms = (time.perf_counter() - started) * 1000
    loaded_by_import = sorted(sys.modules)
    shared = importlib.import_module("shared")
    stdlib = [sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]]
    routes = {path: sorted(methods) for path, methods in _routes(handler).items()}
    send(
        sock,
        {
            "hello": {
                "isolated": bool(sys.flags.isolated),
                "no_site": bool(sys.flags.no_site),
                "path": sys.path,
                "shared": shared.__file__,
                "handler": getattr(module, "__file__", None),
                "strays": provenance([task, runtime, *stdlib]),
                "routes": routes,
                "import_ms": round(import_ms, 1),
                "modules_at_import": loaded_by_import,
                "task_writable": _writable(task),
            }
        },
    )
    while True:
        message = receive(sock)
        if message is None:
            return
        if message.get("modules"):  # the harness asks what this interpreter has loaded
            send(sock, {"modules": sorted(sys.modules)})
            continue
        try:
            response = handler(message["event"], LambdaContext(message["context"]))
        except Exception as exc:
            send(
                sock,
                {
                    "error": {
                        "errorType": type(exc).__name__,
                        "errorMessage": str(exc),
                        "stackTrace": traceback.format_exc().splitlines(),
                    }
                },
            )
            continue
        send(sock, {"response": response})


def _writable(directory: str) -> bool:
    """Can this process create a file in `directory`? (On Lambda /var/task: no.)"""
    probe = f"{directory}/.write-probe"
    try:
        with open(probe, "w") as f:
            f.write("x")
    except OSError:
        return False
    import os

    os.unlink(probe)
    return True


def _routes(handler: Any) -> dict[str, set[str]]:
    """The Chalice app's route table: path template -> methods."""
    table = getattr(handler, "routes", {}) or {}
    return {path: set(entries) for path, entries in table.items()}


if __name__ == "__main__":
    main()
