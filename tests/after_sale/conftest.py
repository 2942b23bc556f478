"""The socket tests' fixtures (real in-process socket nodes), for the exactly-once tests here."""

from tests.socket.conftest import (  # noqa: F401
    clients,
    node,
    node_factory,
)
