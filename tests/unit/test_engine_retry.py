"""The retry policy: exponential backoff with jitter, within fixed bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autopilot.jobs.retry import RetryPolicy

bases = st.floats(min_value=0.1, max_value=120)
attempts = st.integers(min_value=0, max_value=40)


@settings(deadline=None)
@given(base=bases, cap_factor=st.floats(min_value=1, max_value=1000), attempt=attempts)
def test_delay_stays_within_half_and_whole_of_the_capped_ceiling(
    base: float, cap_factor: float, attempt: int
) -> None:
    """Each delay lies between half and all of min(cap, base * 2^(n-1))."""
    policy = RetryPolicy(base_seconds=base, max_seconds=base * cap_factor)
    ceiling = min(policy.max_seconds, base * 2.0 ** max(attempt - 1, 0))

    delay = policy.delay(attempt)

    assert ceiling / 2 <= delay <= ceiling
    assert delay <= policy.max_seconds


@settings(deadline=None)
@given(attempt=attempts, retry_after=st.floats(min_value=0, max_value=10_000))
def test_delay_is_never_shorter_than_the_causes_retry_after(
    attempt: int, retry_after: float
) -> None:
    """A cause's own retry_after is a lower bound, even above the cap."""
    delay = RetryPolicy(base_seconds=10, max_seconds=600).delay(attempt, retry_after)

    assert delay >= retry_after
    assert delay <= max(600, retry_after)


def test_default_first_retry_waits_five_to_ten_seconds() -> None:
    """With the defaults the first retry comes 5-10 s later, the second 10-20 s."""
    policy = RetryPolicy()

    first = [policy.delay(1) for _ in range(200)]
    second = [policy.delay(2) for _ in range(200)]

    assert all(5 <= d <= 10 for d in first)
    assert all(10 <= d <= 20 for d in second)


def test_backoff_reaches_the_cap_and_stays_there() -> None:
    """From some attempt on every delay is at most the cap, at least half of it."""
    policy = RetryPolicy(base_seconds=10, max_seconds=600)

    late = [policy.delay(n) for n in range(8, 60)]

    assert all(300 <= d <= 600 for d in late)


def test_attempt_zero_is_treated_as_the_first() -> None:
    """An attempt number below one never shrinks the delay below the base half."""
    policy = RetryPolicy(base_seconds=8, max_seconds=100)

    assert all(4 <= policy.delay(0) <= 8 for _ in range(50))


def test_jitter_spreads_retries_over_the_window() -> None:
    """Delays for one attempt differ and cover both halves of their window."""
    policy = RetryPolicy(base_seconds=10, max_seconds=600)

    delays = [policy.delay(3) for _ in range(400)]

    assert len(set(delays)) > 390
    assert min(delays) < 25 < max(delays)
    assert 20 <= min(delays) and max(delays) <= 40


@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_ceiling_doubles_with_each_attempt(attempt: int) -> None:
    """The window's upper bound doubles per attempt until the cap."""
    policy = RetryPolicy(base_seconds=1, max_seconds=1000)

    delays = [policy.delay(attempt) for _ in range(300)]

    assert max(delays) <= 2 ** (attempt - 1)
    assert min(delays) >= 2 ** (attempt - 1) / 2
