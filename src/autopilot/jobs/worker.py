"""The worker: claims due jobs, runs them, heartbeats, reaps, shuts down cleanly."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from queue import SimpleQueue
from types import FrameType
from typing import Any

from autopilot.db import Database
from autopilot.errors import AutopilotError, JobError
from autopilot.jobs import attempts, liveness, queue, reaper, signals
from autopilot.jobs.context import JobContext, JobStopped
from autopilot.jobs.kinds import KindRegistry
from autopilot.jobs.records import JobRecord
from autopilot.jobs.retry import RetryPolicy

log = logging.getLogger(__name__)

LIVENESS_CHECK_SECONDS = 1.0
"""How often a worker looks for dead worker processes, between full reaps."""


@dataclass
class Periodic:
    """A task a worker runs every ``interval`` seconds, such as a scheduler."""

    name: str
    interval: float
    run: Callable[[], object]
    due_at: float = 0.0


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker behaves; built from the settings."""

    concurrency: int = 1
    burst: bool = False
    heartbeat_seconds: float = 5.0
    lease_seconds: float = 30.0
    reap_interval_seconds: float = 5.0
    poll_seconds: float = 1.0
    shutdown_grace_seconds: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    only_job_id: int | None = None
    """Claim this job and no other (a command working one run itself)."""


class _Runners:
    """Reusable daemon threads that run attempts, so a job costs no thread start.

    Daemon threads, so a job that ignores its stop never keeps the process up.
    """

    def __init__(self, run: Callable[[JobContext], None]) -> None:
        self._run = run
        self._tasks: SimpleQueue[JobContext | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, ctx: JobContext, in_flight: int) -> None:
        """Run ``ctx``; a thread is added while fewer exist than jobs in flight."""
        if len(self._threads) < in_flight:
            thread = threading.Thread(
                target=self._serve,
                name=f"job-runner-{len(self._threads) + 1}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()
        self._tasks.put(ctx)

    def _serve(self) -> None:
        while (ctx := self._tasks.get()) is not None:
            self._run(ctx)

    def close(self) -> None:
        """Let every thread end once it is done with its current job."""
        for _ in self._threads:
            self._tasks.put(None)


class Worker:
    """Runs jobs of the registered kinds until stopped (or, in burst, drained)."""

    def __init__(
        self,
        db: Database,
        kinds: KindRegistry,
        config: WorkerConfig,
        *,
        periodic: Sequence[Periodic] = (),
    ) -> None:
        self.db = db
        self.kinds = kinds
        self.config = config
        self.periodic = list(periodic)
        suffix = secrets.token_hex(3)
        self.id = f"{socket.gethostname()}-{os.getpid()}-{suffix}"
        self.lock_key = liveness.new_lock_key()
        self.processed = 0
        self._running: dict[int, JobContext] = {}
        self._finished: list[tuple[JobContext, dict[str, Any] | None]] = []
        """Attempts whose work is done, waiting for the main loop to record them."""
        self._runners = _Runners(self._execute)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._listener: liveness.Listener | None = None

    # Life cycle -----------------------------------------------------------

    def run(self) -> None:
        """Work until :meth:`stop` (or SIGTERM/SIGINT in the main thread)."""
        self._install_signal_handlers()
        self._start_liveness()
        liveness.register(
            self.db,
            self.id,
            lock_key=self.lock_key,
            concurrency=self.config.concurrency,
            kinds=self.kinds.names(),
        )
        log.info(
            "worker %s started",
            self.id,
            extra={"event": "worker_started", "worker_id": self.id},
        )
        beating = threading.Thread(target=self._heartbeat_loop, daemon=True)
        beating.start()
        reason = "stopped"
        try:
            self._loop()
            reason = "drained" if self.config.burst else "shut down"
        except BaseException:
            reason = "crashed"
            raise
        finally:
            self._shutdown(reason)
            self._stopped.set()
            beating.join(timeout=self.config.heartbeat_seconds + 1)

    def stop(self) -> None:
        """Stop claiming; running jobs get the grace period, then are released."""
        self._stopping.set()
        signals.jobs_enqueued.notify()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info(
                "worker %s got %s; stopping",
                self.id,
                signal.Signals(signum).name,
                extra={"event": "worker_stopping", "worker_id": self.id},
            )
            self.stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def _start_liveness(self) -> None:
        if not self.db.is_postgres:
            return
        self._listener = liveness.Listener(self.db, self.lock_key, self._stopping)
        self._listener.start()

    # The main loop --------------------------------------------------------

    def _loop(self) -> None:
        next_reap = 0.0
        next_liveness = 0.0
        while not self._stopping.is_set():
            seen = signals.jobs_enqueued.generation()
            # Finished work is recorded before any reap, so a job that ended
            # just inside its deadline is never taken for one that overran.
            self._record_finished()
            now = time.monotonic()
            if now >= next_reap:
                self._reap()
                next_reap = now + self.config.reap_interval_seconds
                next_liveness = now + LIVENESS_CHECK_SECONDS
            elif now >= next_liveness:
                self._reap_dead_workers()
                next_liveness = now + LIVENESS_CHECK_SECONDS
            self._run_periodic(now)

            # Read before claiming: a job of ours that fails while we claim
            # may be due again at once, and a drain must not leave it behind.
            was_busy = self._busy()
            claimed = self._claim()
            if self.config.burst and not claimed and not was_busy:
                return
            if claimed and self._free_slots() > 0:
                continue
            timeout = min(
                self.config.poll_seconds,
                max(0.0, min(next_reap, next_liveness) - time.monotonic()),
            )
            signals.jobs_enqueued.wait(seen, timeout)

    def _busy(self) -> bool:
        with self._lock:
            return bool(self._running)

    def _free_slots(self) -> int:
        with self._lock:
            return self.config.concurrency - len(self._running)

    def _claim(self) -> list[JobRecord]:
        free = self._free_slots()
        if free <= 0:
            return []
        try:
            claimed = queue.claim(
                self.db,
                self.id,
                list(self.kinds),
                limit=free,
                lease_seconds=self.config.lease_seconds,
                only_job_id=self.config.only_job_id,
            )
        except AutopilotError as exc:
            log.warning("claim failed: %s", exc, extra={"event": "claim_failed"})
            return []
        for job in claimed:
            self._start(job)
        return claimed

    def _start(self, job: JobRecord) -> None:
        ctx = JobContext(self.db, job, self.kinds.get(job.kind))
        with self._lock:
            self._running[job.id] = ctx
            in_flight = len(self._running)
        log.info(
            "job %s (%s) attempt %s started",
            job.id,
            job.kind,
            job.attempt,
            extra={"event": "job_started", "job_id": job.id, "attempt": job.attempt},
        )
        self._runners.submit(ctx, in_flight)

    def _execute(self, ctx: JobContext) -> None:
        """Run one attempt on a runner thread; the main loop records a success."""
        waiting = False
        try:
            waiting = self._outcome(ctx)
        except Exception:
            self._log_outcome_lost(ctx)
        finally:
            if not waiting:
                self._forget(ctx)
            signals.jobs_enqueued.notify()

    def _forget(self, ctx: JobContext) -> None:
        with self._lock:
            self._running.pop(ctx.id, None)
            self.processed += 1

    def _log_outcome_lost(self, ctx: JobContext) -> None:
        log.exception(
            "job %s: could not record its outcome",
            ctx.id,
            extra={"event": "job_outcome_lost", "job_id": ctx.id},
        )

    def _outcome(self, ctx: JobContext) -> bool:
        """Run the job; True when its success waits in ``_finished`` to be recorded."""
        try:
            result = ctx.kind.run(ctx)
        except JobStopped as stop:
            self._log_stopped(ctx, stop.reason)
            return False
        except JobError as error:
            self._fail(ctx, error)
            return False
        except Exception as exc:
            log.warning(
                "job %s raised %s",
                ctx.id,
                type(exc).__name__,
                exc_info=True,
                extra={"event": "job_crashed", "job_id": ctx.id},
            )
            message = f"The run stopped on an unexpected error: {exc}"
            self._fail(ctx, JobError("internal_error", message, retryable=True))
            return False

        if ctx.stopped:
            self._log_stopped(ctx, ctx.stop_reason or "stopped")
            return False
        with self._lock:
            self._finished.append((ctx, result))
        return True

    def _record_finished(self) -> None:
        """Complete every attempt whose work is done, in one transaction.

        If that fails (a result that cannot be stored, say), each is tried on
        its own, so one bad outcome does not hold back the others.
        """
        with self._lock:
            finished, self._finished = self._finished, []
        if not finished:
            return
        batch = [
            attempts.Finished(ctx.id, ctx.attempt, ctx.stage, result)
            for ctx, result in finished
        ]
        try:
            completed = attempts.complete_many(self.db, batch)
        except Exception:
            log.warning(
                "recording %s completions at once failed; recording each alone",
                len(batch),
                exc_info=True,
                extra={"event": "complete_batch_failed"},
            )
            for ctx, result in finished:
                self._complete_one(ctx, result)
            return
        for ctx, _ in finished:
            self._log_completed(ctx, ctx.id in completed)
            self._forget(ctx)

    def _complete_one(self, ctx: JobContext, result: dict[str, Any] | None) -> None:
        try:
            done = attempts.complete(self.db, ctx.id, ctx.attempt, ctx.stage, result)
        except Exception:
            self._log_outcome_lost(ctx)
        else:
            self._log_completed(ctx, done)
        finally:
            self._forget(ctx)

    def _log_completed(self, ctx: JobContext, done: bool) -> None:
        if not done:
            self._log_stopped(ctx, ctx.stop_reason or "lease_lost")
            return
        log.info(
            "job %s completed",
            ctx.id,
            extra={"event": "job_completed", "job_id": ctx.id},
        )

    def _fail(self, ctx: JobContext, error: JobError) -> None:
        if ctx.stopped:
            self._log_stopped(ctx, ctx.stop_reason or "stopped")
            return
        job = attempts.fail(
            self.db, ctx.id, ctx.attempt, ctx.stage, error, self.config.retry
        )
        if job is None:
            self._log_stopped(ctx, "lease_lost")
            return
        final = job.status == "failed"
        log.log(
            logging.ERROR if final else logging.WARNING,
            "job %s attempt %s failed (%s): %s",
            ctx.id,
            ctx.attempt,
            error.code,
            error.message,
            extra={
                "event": "job_failed" if final else "job_retry_scheduled",
                "job_id": ctx.id,
                "code": error.code,
            },
        )

    def _log_stopped(self, ctx: JobContext, reason: str) -> None:
        log.info(
            "job %s attempt %s stopped: %s",
            ctx.id,
            ctx.attempt,
            reason,
            extra={"event": "job_stopped", "job_id": ctx.id, "reason": reason},
        )

    # Heartbeats, reaping, periodic tasks ----------------------------------

    def _heartbeat_loop(self) -> None:
        while not self._stopped.wait(self.config.heartbeat_seconds):
            try:
                self._heartbeat()
            except AutopilotError as exc:
                log.warning(
                    "heartbeat failed: %s", exc, extra={"event": "heartbeat_failed"}
                )

    def _heartbeat(self) -> None:
        # Judge only the jobs that were ours before the statement: one claimed
        # while it ran is missing from its answer without being lost.
        with self._lock:
            running = list(self._running.values())
        held = queue.heartbeat(self.db, self.id, self.config.lease_seconds)
        for ctx in running:
            state = held.get(ctx.id)
            if ctx.stopped:
                continue
            if state is None or state.attempt != ctx.attempt:
                ctx.stop("lease_lost")
            elif state.cancel_requested:
                attempts.acknowledge_cancel(self.db, ctx.id, ctx.attempt, ctx.stage)
                ctx.stop("cancelled")

    def _reap(self) -> None:
        try:
            reaper.reap(
                self.db, self.config.retry, lease_seconds=self.config.lease_seconds
            )
        except AutopilotError as exc:
            log.warning("reap failed: %s", exc, extra={"event": "reap_failed"})

    def _reap_dead_workers(self) -> None:
        """A cheap look for dead processes; a full reap only when one is found."""
        try:
            dead = liveness.find_dead(self.db, self.config.lease_seconds)
        except AutopilotError as exc:
            log.warning(
                "liveness check failed: %s", exc, extra={"event": "reap_failed"}
            )
            return
        if dead:
            reaper.reap_lost_workers(self.db, self.config.retry)

    def _run_periodic(self, now: float) -> None:
        for task in self.periodic:
            if now < task.due_at:
                continue
            task.due_at = now + task.interval
            try:
                task.run()
            except Exception:
                log.exception(
                    "periodic task %s failed",
                    task.name,
                    extra={"event": "periodic_failed", "task": task.name},
                )

    # Shutdown -------------------------------------------------------------

    def _shutdown(self, reason: str) -> None:
        deadline = time.monotonic() + self.config.shutdown_grace_seconds
        while True:
            seen = signals.jobs_enqueued.generation()
            self._record_finished()
            left_seconds = deadline - time.monotonic()
            if not self._busy() or left_seconds <= 0:
                break
            signals.jobs_enqueued.wait(seen, min(0.05, left_seconds))

        with self._lock:
            left = list(self._running.values())
        for ctx in left:
            ctx.stop("shutdown")
            if attempts.release(self.db, ctx.id, ctx.attempt, ctx.stage, self.id):
                log.warning(
                    "job %s released: worker shutting down",
                    ctx.id,
                    extra={"event": "job_released", "job_id": ctx.id},
                )
        self._runners.close()
        liveness.mark_stopped(self.db, self.id, reason)
        if self._listener is not None:
            self._listener.close()
        log.info(
            "worker %s %s after %s jobs",
            self.id,
            reason,
            self.processed,
            extra={"event": "worker_stopped", "worker_id": self.id},
        )
