"""Apply the Alembic migrations (configured in pyproject.toml) to a database."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from shared.settings import REPO_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(toml_file=str(REPO_ROOT / "pyproject.toml"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def main() -> None:
    """`python -m infra.migrate`: migrate DATABASE_URL (deploys run this before the socket
    node starts)."""
    from shared.settings import settings_or_exit

    settings = settings_or_exit(serves=False)
    if not settings.database_url:
        raise SystemExit("configuration error: DATABASE_URL: not set")
    upgrade(settings.database_url)
    print("migrated", flush=True)


if __name__ == "__main__":
    main()
