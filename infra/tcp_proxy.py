"""A TCP proxy for fault injection and latency: stop it to make a dependency unreachable (every
open connection is cut), start it again to restore it; or add a delay each way to act like a
remote PostgreSQL or Redis. Used by the fault tests and by `make bench`."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class TcpProxy:
    """Listens on 127.0.0.1:`port` (0: any free port) and forwards to `target`: a
    (host, port) pair or a unix socket path."""

    target: tuple[str, int] | str
    port: int = 0
    delay_s: float = 0.0
    _listener: socket.socket | None = field(default=None, repr=False)
    _conns: set[socket.socket] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _running: bool = False

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(512)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._running = True
        threading.Thread(target=self._accept, daemon=True, name="tcp-proxy").start()
        return self

    def stop(self) -> None:
        """Refuse new connections and cut every open one."""
        self._running = False
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
            self._listener = None
        with self._lock:
            for conn in list(self._conns):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    conn.close()
            self._conns.clear()

    def _connect_target(self) -> socket.socket:
        if isinstance(self.target, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
        else:
            upstream = socket.create_connection(self.target, timeout=5)
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream.settimeout(None)
        return upstream

    def _accept(self) -> None:
        listener = self._listener
        while self._running and listener is not None:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                upstream = self._connect_target()
            except OSError:
                client.close()
                continue
            with self._lock:
                if not self._running:
                    client.close()
                    upstream.close()
                    return
                self._conns.update({client, upstream})
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self.delay_s:
                    time.sleep(self.delay_s)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._conns.discard(source)
                self._conns.discard(sink)
