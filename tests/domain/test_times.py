"""The API's moments (shared.domain.times.iso): ISO 8601 in UTC with milliseconds, truncated,
whatever offset the moment carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.times import iso, parse_iso

OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9000, 12, 30), timezones=OFFSETS
)


@given(MOMENTS)
def test_a_moment_is_written_in_utc_to_the_millisecond(moment: datetime) -> None:
    utc = moment.astimezone(UTC)
    expected = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    assert iso(moment) == expected  # truncated, never rounded up into the next second


@given(MOMENTS)
def test_what_iso_writes_parse_iso_reads_back_to_the_millisecond(moment: datetime) -> None:
    text = iso(moment)
    assert text is not None
    back = parse_iso(text)
    assert back == moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def test_none_stays_none() -> None:
    assert iso(None) is None
