"""When a failed attempt runs again: exponential backoff with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Delay before attempt ``n + 1`` after attempt ``n`` failed."""

    base_seconds: float = 10.0
    max_seconds: float = 600.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait; never less than the cause's own ``retry_after``."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(attempt - 1, 0))
        # Full jitter over the upper half keeps retries apart without
        # ever collapsing to an immediate retry.
        delay = random.uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay
