"""`make run`: the whole local stack from one command.

1. PostgreSQL and Redis: the ones in DATABASE_URL / REDIS_URL, else embedded ones under var/;
2. migrations, and the demo data in development;
3. the Upstash-REST bridge on 8079 (unless UPSTASH_REDIS_REST_URL is set), the functions on
   API_PORT, the socket node on SOCKET_PORT, each its own process;
4. the URLs printed; Ctrl-C or SIGTERM stops everything, in reverse order.

`Stack` is also what the tests and the benchmarks use to start the same processes.

The container image runs `python -m infra.stack --dev-unless-configured`: a bare `docker run`
is the development stack, anything configured is production (`development_unless_configured`).
The API listens on API_HOST (127.0.0.1 here, 0.0.0.0 in the image); the bridge and the embedded
servers stay on loopback everywhere: they are internal, and the bridge accepts a well-known
token.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from infra.embedded import EmbeddedPostgres, EmbeddedRedis, wait_for_port
from shared.redaction import mask_secrets, mask_url
from shared.settings import BRIDGE_PORT, REPO_ROOT, Settings, settings_or_exit


def bridge_token() -> str:
    """The local bridge's token: UPSTASH_REDIS_REST_TOKEN when set, else a fresh random one
    per run (a published default would let any local process, or a web page that reaches the
    port, run commands). The stack hands it to its children in their environment only."""
    return os.environ.get("UPSTASH_REDIS_REST_TOKEN") or secrets.token_urlsafe(32)


@dataclass
class Services:
    """Where PostgreSQL and Redis are, starting embedded ones when no URL is given."""

    var_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    persist_redis: bool = True
    embedded: list[EmbeddedPostgres | EmbeddedRedis] = field(default_factory=list)

    def start(self) -> Services:
        if not self.database_url:
            pg = EmbeddedPostgres(self.var_dir / "pg")
            self.database_url = pg.start()
            self.embedded.append(pg)
        if not self.redis_url:
            redis = EmbeddedRedis(self.var_dir / "redis", persist=self.persist_redis)
            self.redis_url = redis.start()
            self.embedded.append(redis)
        return self

    def stop(self) -> None:
        for server in reversed(self.embedded):
            server.stop()
        self.embedded.clear()


@dataclass
class Stack:
    """The processes of the local stack, over given services."""

    database_url: str
    redis_url: str
    api_port: int = 8000
    socket_port: int = 8080
    api_host: str = "127.0.0.1"  # API_HOST: 0.0.0.0 inside a container
    bridge_port: int | None = BRIDGE_PORT  # None: use the configured UPSTASH_REDIS_REST_URL
    token: str = field(default_factory=bridge_token)
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    quiet: bool = False
    workers: int = 1  # processes for the API server and the bridge (granian workers)
    # The API server's module: the benchmarks run `bench.api_server` (the app plus their own
    # routes, which the shipped app does not have).
    api_module: str = "infra.api_server"

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, **self.extra_env}
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            API_PORT=str(self.api_port),
            SOCKET_PORT=str(self.socket_port),
            UPSTASH_REDIS_REST_TOKEN=self.token,
            PYTHONUNBUFFERED="1",
        )
        # This stack's socket_port decides; an inherited PORT (Render's) would override it.
        env.pop("PORT", None)
        if self.bridge_port is not None:
            env["UPSTASH_REDIS_REST_URL"] = f"http://127.0.0.1:{self.bridge_port}"
        return env

    @property
    def api_url(self) -> str:
        return f"http://{_local_address(self.api_host)}:{self.api_port}"

    @property
    def socket_url(self) -> str:
        return f"http://127.0.0.1:{self.socket_port}"

    def _spawn(self, name: str, *args: str) -> None:
        out = subprocess.DEVNULL if self.quiet else None
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=out,
            stderr=out,
        )

    def start_bridge(self) -> None:
        if self.bridge_port is None:
            return
        # REDIS_URL and the token reach it through the environment (`env`), never argv.
        self._spawn(
            "bridge",
            "infra.bridge",
            "--port",
            str(self.bridge_port),
            "--workers",
            str(self.workers),
        )
        wait_for_port("127.0.0.1", self.bridge_port)

    def start_api(self) -> None:
        self._spawn(
            "api",
            self.api_module,
            "--host",
            self.api_host,
            "--port",
            str(self.api_port),
            "--workers",
            str(self.workers),
        )

    def start_socket_node(self) -> None:
        self._spawn("socket", "socket_node")

    def start(self) -> Stack:
        self.start_bridge()
        self.start_api()
        self.start_socket_node()
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        pending = {"api": f"{self.api_url}/health", "socket": f"{self.socket_url}/health"}
        pending = {k: v for k, v in pending.items() if k in self.processes}
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited with {self.processes[name].returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url, timeout=2).status_code == 200:
                        del pending[name]
            time.sleep(0.1)
        if pending:
            raise TimeoutError(f"not healthy after {timeout_s:.0f} s: {', '.join(pending)}")

    def stop(self, name: str | None = None, sig: int = signal.SIGTERM) -> None:
        names = [name] if name else ["socket", "api", "bridge"]
        for n in names:
            proc = self.processes.pop(n, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(sig)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def dead(self) -> list[str]:
        return [n for n, p in self.processes.items() if p.poll() is not None]


def _local_address(host: str) -> str:
    """How this machine reaches a server listening on `host` (a wildcard: via loopback)."""
    if host == "0.0.0.0":
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def development_unless_configured(environ: MutableMapping[str, str]) -> bool:
    """The image's default command: with neither DATABASE_URL nor APP_ENV given, a bare
    `docker run` is the development stack (embedded databases, demo data, dev login), so set
    APP_ENV=development. Given a DATABASE_URL and no APP_ENV it stays production, the default
    everywhere: it refuses to start without auth keys and never seeds demo users into that
    database. Empty values count as not given, as for every setting. Returns whether it set
    development."""
    if environ.get("APP_ENV", "").strip() or environ.get("DATABASE_URL", "").strip():
        return False
    environ["APP_ENV"] = "development"
    return True


def dev_login_warning(settings: Settings) -> str | None:
    """The one line to print when dev login (a token for anyone, in any role) is served on an
    address other machines may reach: API_HOST not loopback, as in the container image, where
    a bare `docker run -p 8000:8000` publishes it on every interface of the host."""
    if not settings.dev_login_enabled or ipaddress.ip_address(settings.api_host).is_loopback:
        return None
    return (
        f"warning: dev login (a token for anyone, any role) is served on "
        f"{settings.api_host}:{settings.api_port}; publish the ports on loopback only "
        "(docker run -p 127.0.0.1:8000:8000 -p 127.0.0.1:8080:8080 auction) or configure keys"
    )


def prepare(settings: Settings, services: Services) -> None:
    """Migrate, and seed demo data in development."""
    from infra.migrate import upgrade
    from infra.seed import seed

    assert services.database_url is not None
    upgrade(services.database_url)
    if settings.app_env == "development":
        added = seed(services.database_url)
        if added:
            print(f"seeded {added} demo auctions", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m infra.stack", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--dev-unless-configured",
        action="store_true",
        help="run as APP_ENV=development when neither DATABASE_URL nor APP_ENV is set "
        "(the container image's default command)",
    )
    args = parser.parse_args(argv)
    # Before the settings are first read (they are cached, and every child inherits them).
    if args.dev_unless_configured and development_unless_configured(os.environ):
        print("neither DATABASE_URL nor APP_ENV given: APP_ENV=development", flush=True)
    settings = settings_or_exit()
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    # First: a Ctrl-C while the embedded servers start must still stop them.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    services = Services(settings.var_dir, settings.database_url, settings.redis_url)
    stack: Stack | None = None
    code = 0
    try:
        services.start()
        assert services.database_url and services.redis_url
        stack = Stack(
            database_url=services.database_url,
            redis_url=services.redis_url,
            api_port=settings.api_port,
            socket_port=settings.socket_port,
            api_host=settings.api_host,
            bridge_port=None if settings.upstash_redis_rest_url else BRIDGE_PORT,
            # Upstash's own token when its URL is set; else the bridge's, random per run.
            token=settings.upstash_redis_rest_token
            if settings.upstash_redis_rest_url
            else bridge_token(),
        )
        if stopping:
            raise KeyboardInterrupt
        prepare(settings, services)
        stack.start()
        print(
            "\n".join(
                [
                    "",
                    f"  web app + WebSocket  http://localhost:{settings.socket_port}/  (ws /ws)",
                    f"  REST API             http://localhost:{settings.api_port}/api/docs",
                    f"  Upstash REST bridge  http://127.0.0.1:{BRIDGE_PORT}"
                    if stack.bridge_port
                    else f"  Upstash REST         {mask_url(settings.rest_url)}",
                    f"  PostgreSQL           {mask_url(services.database_url)}",
                    f"  Redis                {mask_url(services.redis_url)}",
                    "  demo users (dev login): seller@example.com, asha@example.com, "
                    "ravi@example.com, admin@example.com",
                    "  Ctrl-C stops everything.",
                    "",
                ]
            ),
            flush=True,
        )
        warning = dev_login_warning(settings)
        if warning:
            print(warning, file=sys.stderr, flush=True)
        while not stopping:
            dead = stack.dead()
            if dead:
                print(f"stopping: {', '.join(dead)} exited", file=sys.stderr, flush=True)
                code = 1
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        print(f"could not start the stack: {mask_secrets(str(exc))}", file=sys.stderr, flush=True)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if stack is not None:
            stack.stop()
        services.stop()
        print("stopped.", flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
