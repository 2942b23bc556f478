"""Redis behind one small interface, over Upstash REST (the functions) or TCP (the socket node).

Services see only `RedisStore`: `command(...)`, `pipeline([...])` and `script(...)`, with the raw
replies Redis gives (bulk strings as `str`, integers, nested lists, None), whichever transport
carries them. Anything that must be atomic is a Lua script (see `shared/adapters/lua/`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import httpx

LUA_DIR = Path(__file__).with_name("lua")


@dataclass(frozen=True)
class Script:
    name: str
    source: str

    @property
    def sha(self) -> str:
        return hashlib.sha1(self.source.encode()).hexdigest()


@cache
def load_script(name: str) -> Script:
    """A script from `lua/`, with the shared helpers of `lua/lib.lua` prepended."""
    lib = (LUA_DIR / "lib.lua").read_text()
    body = (LUA_DIR / f"{name}.lua").read_text()
    return Script(name=name, source=f"{lib}\n{body}")


class StoreError(Exception):
    """Redis answered with an error reply."""


class StoreUnavailable(Exception):
    """Redis (or the REST endpoint in front of it) could not be reached."""


class RedisStore(Protocol):
    def command(self, *args: str | int | float) -> Any: ...

    def pipeline(self, commands: list[list[str | int | float]]) -> list[Any]: ...

    def script(self, script: Script, keys: list[str], args: list[str | int | float]) -> Any: ...

    def close(self) -> None: ...


class ScriptRunner:
    """EVALSHA, and EVAL when Redis does not know the script yet: the same on any transport."""

    def command(self, *args: str | int | float) -> Any:
        raise NotImplementedError

    def script(self, script: Script, keys: list[str], args: list[str | int | float]) -> Any:
        try:
            return self.command("EVALSHA", script.sha, len(keys), *keys, *args)
        except StoreError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        # First use on this Redis (or after SCRIPT FLUSH): EVAL also caches it for next time.
        return self.command("EVAL", script.source, len(keys), *keys, *args)


class RestStore(ScriptRunner):
    """Upstash REST through the real `upstash-redis` client.

    The client's defaults are wrong for a bid path: its httpx client has no timeout and it
    retries a failed request once after 3 s. Here: 2 s per request, one retry after 50 ms.
    A retried request can reach Redis twice; every write script is idempotent for that reason
    (the bid script keys on the bid id / Idempotency-Key).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout_s: float = 2.0,
        retries: int = 1,
        retry_interval_s: float = 0.05,
    ) -> None:
        from upstash_redis import Redis

        self._client = Redis(
            url=url,
            token=token,
            rest_retries=retries,
            rest_retry_interval=retry_interval_s,
            allow_telemetry=False,
            read_your_writes=False,
        )
        # The client exposes no timeout setting; its transport is a plain httpx.Client.
        self._client._http._client = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )

    def _call(self, run: Any) -> Any:
        from upstash_redis.errors import UpstashError

        try:
            return run()
        except UpstashError as exc:
            if "Unauthorized" in str(exc) or "redis unavailable" in str(exc):
                raise StoreUnavailable(str(exc)) from exc
            raise StoreError(str(exc)) from exc
        except (httpx.HTTPError, OSError, ValueError) as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc

    # The client's public methods reshape replies by command name (HGETALL to a dict...);
    # its transport below them speaks the REST protocol and decodes base64, nothing more.
    def command(self, *args: str | int | float) -> Any:
        client = self._client
        return self._call(
            lambda: client._http.execute(
                url=client._url, headers=client._headers, command=list(args)
            )
        )

    def pipeline(self, commands: list[list[str | int | float]]) -> list[Any]:
        client = self._client
        return list(
            self._call(
                lambda: client._http.execute(
                    url=f"{client._url}/pipeline",
                    headers=client._headers,
                    command=commands,
                    from_pipeline=True,
                )
            )
        )

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]


class TcpStore(ScriptRunner):
    """redis-py over TCP, for the long-lived socket node (and tests)."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        import redis

        self._client = redis.Redis.from_url(
            url,
            decode_responses=True,
            protocol=2,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
        )
        # Raw replies, exactly as the REST transport gives them (HGETALL as a flat list...).
        self._client.response_callbacks.clear()

    def _call(self, run: Any) -> Any:
        import redis

        try:
            return run()
        except redis.exceptions.ResponseError as exc:
            code = getattr(exc, "status_code", None)
            raise StoreError(f"{code} {exc}" if code else str(exc)) from exc
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    def command(self, *args: str | int | float) -> Any:
        return self._call(lambda: self._client.execute_command(*args))  # type: ignore[no-untyped-call]

    def pipeline(self, commands: list[list[str | int | float]]) -> list[Any]:
        def run() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)  # type: ignore[no-untyped-call]
            return list(pipe.execute(raise_on_error=False))

        replies = self._call(run)
        return [StoreError(str(r)) if isinstance(r, Exception) else r for r in replies]

    def close(self) -> None:
        self._client.close()


def hash_to_dict(flat: list[Any] | None) -> dict[str, str]:
    """HGETALL's flat reply as a dict."""
    if not flat:
        return {}
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}
