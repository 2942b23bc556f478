"""The local API server (`infra.api_server`) with the bench's routes mounted (`bench.routes`:
the HTTP floor and the peer designs). The shipped app never has them; the benchmarks start
this module instead: `Stack(api_module="bench.api_server")`."""

from __future__ import annotations

from infra import api_server


def make_app() -> api_server.Gateway:
    """Granian's factory for the bench: the app, and the bench's routes on it."""
    app = api_server.chalice_app()
    from bench.routes import bp  # imports chalicelib: functions/ is on the path by now

    if not any(route.startswith("/bench/") for route in app.routes):
        app.register_blueprint(bp)
    return api_server.Gateway(app)


def main() -> None:
    api_server.main(factory="bench.api_server:make_app")


if __name__ == "__main__":
    main()
