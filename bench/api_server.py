"""The local API server (`infra.api_server`) with the bench's routes mounted (`bench.routes`:
the HTTP floor and the peer designs). The shipped app never has them; the benchmarks start
this module instead: `Stack(api_module="bench.api_server")`."""

from __future__ import annotations

from typing import Any

from infra import api_server


def mount(app: Any) -> None:
    from bench.routes import bp  # imports chalicelib: functions/ is on the path by now

    app.register_blueprint(bp)


def main() -> None:
    api_server.main(module="bench.api_server", mount=mount)


if __name__ == "__main__":
    main()
