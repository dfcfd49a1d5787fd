"""In-process wake-ups, so a worker or event reader in the same process reacts
at once instead of at its next poll."""

from __future__ import annotations

import threading


class Signal:
    """A broadcast that wakes every waiter; waiters never miss a notify."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def generation(self) -> int:
        with self._cond:
            return self._generation

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until notified after generation ``seen``; return the new one."""
        with self._cond:
            self._cond.wait_for(lambda: self._generation != seen, timeout)
            return self._generation


jobs_enqueued = Signal()
"""Fired after a job becomes due in this process."""

events_recorded = Signal()
"""Fired after job events were committed in this process."""
