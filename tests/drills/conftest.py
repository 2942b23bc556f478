"""The socket tests' fixtures (real nodes in this process or as processes, WebSocket clients)."""

from tests.socket.conftest import clients, node, node_factory, node_processes  # noqa: F401
