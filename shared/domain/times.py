"""Time at the edges: all stored and API times are UTC; Redis and the rules use epoch ms."""

from __future__ import annotations

from datetime import UTC, datetime


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int | float | str) -> datetime:
    return datetime.fromtimestamp(int(float(ms)) / 1000, tz=UTC)


def iso(moment: datetime | None) -> str | None:
    """`2026-11-26T09:37:19.123Z`: what the API and the events give."""
    if moment is None:
        return None
    # isoformat, not strftime: ~40% less CPU, and a list renders ~150 of these. Milliseconds
    # truncated; "+00:00" written as "Z".
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_iso(text: str) -> datetime:
    """ISO 8601 with an offset or `Z`; a naive time is refused (no guessing the zone)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("needs a time zone offset, e.g. 2026-12-01T10:00:00Z")
    return moment.astimezone(UTC)
