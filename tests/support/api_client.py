"""One small client of the REST API, three ways to reach it (the transports):

- `InProcessApi`: chalice.test.Client over the app in this process (no HTTP);
- `HttpApi` on the `api_url` fixture: the real local HTTP server (`infra.api_server`);
- `HttpApi` on the gateway harness (`tests/support/gateway.py`): API Gateway's REST proxy
  events into the packaged bundle in a process of its own, as Lambda runs it.

Each answers `get/post/put/patch/delete(path, json=..., body=..., headers=..., query=...)`
with a `Reply` (status, headers, bytes; `.json()`, `.code` for a problem's code).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from chalice.test import Client

# list: the types httpx takes for repeated parameters (a list is invariant)
Query = Mapping[str, str | int | bool] | list[tuple[str, str | int | float | bool | None]] | None


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers  # case-insensitive, repeated names kept
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def media_type(self) -> str:
        return (self.headers.get("content-type") or "").split(";")[0].strip()

    @property
    def code(self) -> str | None:
        """A problem's `code`, or None when the answer is not a problem."""
        if self.media_type != "application/problem+json":
            return None
        return str(self.json().get("code"))

    def __repr__(self) -> str:  # what an assert shows
        return f"<Reply {self.status} {self.media_type} {self.content[:300]!r}>"


class Api:
    """The verbs over one `request`; subclasses say how a request travels."""

    name = "api"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Query = None,
    ) -> Reply:
        raise NotImplementedError

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)

    @staticmethod
    def _payload(
        json: Any, body: bytes | None, headers: Mapping[str, str] | None
    ) -> tuple[bytes | None, dict[str, str]]:
        sent = dict(headers or {})
        if json is not None:
            body = orjson.dumps(json)
            if not any(k.lower() == "content-type" for k in sent):
                sent["Content-Type"] = "application/json"
        return body, sent


class InProcessApi(Api):
    """chalice.test.Client: the app's handler in this process, no HTTP."""

    name = "in-process"

    def __init__(self, client: Client) -> None:
        self.client = client

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Query = None,
    ) -> Reply:
        body, sent = self._payload(json, body, headers)
        if query:
            path = f"{path}?{urlencode(query)}"
        response = self.client.http.request(method, path, headers=sent, body=body or b"")
        return Reply(response.status_code, httpx.Headers(response.headers), response.body or b"")


class HttpApi(Api):
    """Real HTTP to `base_url` (the local server, or the gateway harness's listener)."""

    def __init__(self, base_url: str, name: str = "http") -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.http = httpx.Client(timeout=30)

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Query = None,
    ) -> Reply:
        body, sent = self._payload(json, body, headers)
        response = self.http.request(
            method,
            f"{self.base_url}{path}",
            content=body,
            headers=sent,
            params=query if query else None,
        )
        return Reply(response.status_code, response.headers, response.content)
