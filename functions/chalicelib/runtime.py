"""Per-process state of the functions: settings and the Context, created on first use (a
cold start pays only for what the first request needs)."""

from __future__ import annotations

import threading

from shared.services.context import Context, for_functions
from shared.settings import ConfigurationError, Settings, get_settings

_lock = threading.Lock()
_context: Context | None = None


def settings() -> Settings:
    return get_settings()


def context() -> Context:
    global _context
    if _context is None:
        with _lock:
            if _context is None:
                settings = get_settings()
                if settings.ledger_key_problem:  # production signs receipts with its own key
                    raise ConfigurationError(settings.ledger_key_problem)
                _context = for_functions(settings)
    return _context


def close_connections() -> None:
    """Close every open connection (PostgreSQL's pools and hot lane, the REST connections to
    Redis) and keep the rest; the next request opens what it needs again. A snapshot must
    hold none (`snapstart`)."""
    with _lock:
        if _context is not None:
            _context.db.dispose()
            _context.store.close()


def reset() -> None:
    """Forget the Context (tests that change the environment)."""
    global _context
    with _lock:
        if _context is not None:
            _context.close()
        _context = None
        get_settings.cache_clear()
