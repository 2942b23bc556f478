"""The job queue's policy (pure): how long to wait before a retry, when to give up.

A provider outage of a few minutes must cost nothing (the retries ride it out); a longer one
ends in the dead-letter list, where an admin sees the job and replays it once the cause is
fixed. With the defaults a job is tried 10 times over about 40 minutes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


class PermanentFailure(Exception):
    """Retrying cannot help (the provider refused the message, the job names nothing that
    exists): the job goes to the dead-letter list at once."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    base_ms: int = 5_000
    cap_ms: int = 30 * 60_000
    jitter: float = 0.2  # up to +/-20 %, so a burst of failures does not retry in lockstep

    def delay_ms(self, job_id: str, attempt: int) -> int:
        """Wait before try number `attempt + 1`, after `attempt` (>= 1) failed tries:
        base * 2^(attempt-1), capped, with a jitter fixed by the job id (deterministic)."""
        raw = min(self.cap_ms, self.base_ms << min(max(0, attempt - 1), 40))
        digest = hashlib.sha256(f"{job_id}:{attempt}".encode()).digest()
        spread = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF * 2 - 1  # in [-1, 1]
        return max(1, round(raw * (1 + self.jitter * spread)))

    def gives_up(self, attempts: int) -> bool:
        """After `attempts` failed tries, is the job dead?"""
        return attempts >= self.max_attempts


DEFAULT_POLICY = RetryPolicy()


def job_kind(job: dict[str, object]) -> str:
    """`email:sale_confirmation`: what a person scanning the dead letters needs first."""
    kind = str(job.get("type") or "unknown")
    template = job.get("template")
    return f"{kind}:{template}" if template else kind
