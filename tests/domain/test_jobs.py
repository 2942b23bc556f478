"""The job queue's retry policy (shared.domain.jobs)."""

from __future__ import annotations

import pytest

from shared.domain.jobs import DEFAULT_POLICY, RetryPolicy, job_kind

EXACT = RetryPolicy(max_attempts=5, base_ms=1_000, cap_ms=60_000, jitter=0.0)


def test_the_wait_doubles_after_each_failed_try() -> None:
    assert [EXACT.delay_ms("job", n) for n in range(1, 6)] == [1_000, 2_000, 4_000, 8_000, 16_000]


def test_the_wait_is_capped() -> None:
    assert EXACT.delay_ms("job", 7) == 60_000
    assert EXACT.delay_ms("job", 500) == 60_000


@pytest.mark.parametrize("attempt", range(1, 12))
def test_jitter_stays_within_its_bounds_and_is_fixed_by_the_job(attempt: int) -> None:
    policy = RetryPolicy(base_ms=1_000, cap_ms=10**9, jitter=0.2)
    raw = 1_000 * 2 ** (attempt - 1)
    delays = {policy.delay_ms(f"email:{i}", attempt) for i in range(50)}
    assert all(0.8 * raw - 1 <= d <= 1.2 * raw + 1 for d in delays)
    assert len(delays) > 10  # a burst of failures spreads out
    assert policy.delay_ms("email:1", attempt) == policy.delay_ms("email:1", attempt)


def test_a_job_is_given_up_after_its_last_allowed_attempt() -> None:
    assert not EXACT.gives_up(4)
    assert EXACT.gives_up(5)


def test_the_default_policy_rides_out_a_long_outage_before_dead_letters() -> None:
    waited = sum(DEFAULT_POLICY.delay_ms("j", n) for n in range(1, DEFAULT_POLICY.max_attempts))
    assert 20 * 60_000 <= waited <= 90 * 60_000


def test_job_kind_names_the_type_and_template() -> None:
    assert job_kind({"type": "email", "template": "rejection"}) == "email:rejection"
    assert job_kind({"type": "cleanup"}) == "cleanup"
    assert job_kind({}) == "unknown"
