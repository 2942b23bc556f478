"""`make bench`: the figures of CONTRACT section 8 (see bench/__main__.py)."""

from __future__ import annotations

from infra.stack import Services
from shared.settings import REPO_ROOT, load_settings


def bench_services(database: str, redis_db: int) -> tuple[Services, str, str]:
    """The services a benchmark runs on (DATABASE_URL / REDIS_URL, else embedded ones under
    var/bench), with its own database and Redis db so it never touches anyone's data.
    Returns (services to stop, database URL, Redis URL)."""
    from tests.support.harness import with_database, with_redis_db

    settings = load_settings()
    services = Services(
        REPO_ROOT / "var" / "bench", settings.database_url, settings.redis_url, persist_redis=False
    ).start()
    assert services.database_url and services.redis_url
    return (
        services,
        with_database(services.database_url, database),
        with_redis_db(services.redis_url, redis_db),
    )
