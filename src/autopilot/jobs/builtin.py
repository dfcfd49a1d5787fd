"""Job kinds every worker can run: ``sleep`` for operators and ``noop`` for
benchmarks."""

from __future__ import annotations

import time
from typing import Any

from autopilot.errors import InvalidInput
from autopilot.jobs.context import JobContext
from autopilot.jobs.kinds import JobKind, Stage


def run_sleep(ctx: JobContext) -> dict[str, Any]:
    """Sleep ``payload.seconds``, reporting progress and honouring cancel."""
    seconds = float(ctx.payload.get("seconds", 1.0))
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        if elapsed >= seconds:
            return {"slept_seconds": round(elapsed, 3)}
        percent = int(100 * elapsed / seconds) if seconds else 100
        ctx.progress(percent, f"slept {elapsed:.0f} of {seconds:g} s")
        ctx.sleep(min(1.0, seconds - elapsed))


def run_noop(ctx: JobContext) -> None:
    """Do nothing: measures the engine's own cost per job."""


def sleep_payload(seconds: float) -> dict[str, Any]:
    if not 0 <= seconds <= 86_400:
        raise InvalidInput("--seconds must be between 0 and 86400.")
    return {"seconds": seconds}


SLEEP = JobKind("sleep", run_sleep, (Stage("sleeping", 86_400 + 60),))
NOOP = JobKind("noop", run_noop, (Stage("working", 60),))
BUILTIN_KINDS = (SLEEP, NOOP)
