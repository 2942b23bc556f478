"""shared/services/consequences.py: the one table of what each domain event causes."""

from __future__ import annotations

import dataclasses
import inspect

from shared.domain import events
from shared.services.consequences import CONSEQUENCES


def _happenings() -> set[type]:
    """Every event a use case can record: the event classes nothing else derives from."""
    classes = [
        c
        for _, c in inspect.getmembers(events, inspect.isclass)
        if dataclasses.is_dataclass(c) and c.__module__ == events.__name__
    ]
    return {c for c in classes if not any(o is not c and issubclass(o, c) for o in classes)}


def test_every_event_has_one_row_in_the_table() -> None:
    happenings = _happenings()
    assert len(happenings) > 20
    assert set(CONSEQUENCES) == happenings


def test_every_row_causes_something() -> None:
    assert all(CONSEQUENCES[kind] for kind in CONSEQUENCES)
