"""Prometheus metrics, computed from the database when scraped.

Counts and ages are read at scrape time. Durations and recoveries are folded
from the append-only ``job_events`` log, continuing where the last scrape
stopped, so every web process reports the same totals for the same log.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from autopilot.db import Database
from autopilot.jobs import control
from autopilot.jobs.liveness import workers_table
from autopilot.jobs.records import EventRecord, jobs_table
from autopilot.models import ACTIVE_STATUSES

if TYPE_CHECKING:
    from autopilot.web.broker import EventBroker

BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
ATTEMPT_ENDS = {
    "completed": "completed",
    "failed": "failed",
    "retry_scheduled": "retried",
    "cancelled": "cancelled",
    "released": "released",
}
RECOVERY_CODES = ("worker_lost", "stage_timeout", "worker_shutdown")


@dataclass
class Histogram:
    """Cumulative bucket counts and a sum, as Prometheus expects them."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds

    def buckets(self) -> list[tuple[str, float]]:
        running = 0
        out: list[tuple[str, float]] = []
        for bound, count in zip((*BUCKETS, float("inf")), self.counts, strict=True):
            running += count
            out.append(("+Inf" if bound == float("inf") else str(bound), running))
        return out


@dataclass
class _Attempt:
    started: datetime
    stage: str
    stage_started: datetime


class EventFold:
    """Run and stage durations and recoveries, from the event log onwards."""

    def __init__(self) -> None:
        self.position = 0
        self.runs: dict[str, Histogram] = {}
        self.stages: dict[str, Histogram] = {}
        self.recoveries: dict[str, int] = dict.fromkeys(RECOVERY_CODES, 0)
        self._open: dict[tuple[int, int], _Attempt] = {}

    def apply(self, event: EventRecord) -> None:
        self.position = max(self.position, event.id)
        key = (event.job_id, event.attempt)
        if event.event == "claimed":
            self._open[key] = _Attempt(event.at, event.to_status, event.at)
            return
        attempt = self._open.get(key)
        if event.event == "stage" and attempt is not None:
            self._stage_done(attempt, event.at)
            attempt.stage, attempt.stage_started = event.to_status, event.at
            return
        outcome = ATTEMPT_ENDS.get(event.event)
        if outcome is None:
            return
        if event.code in self.recoveries:
            self.recoveries[event.code] += 1
        if attempt is not None and event.from_status == attempt.stage:
            self._stage_done(attempt, event.at)
            seconds = (event.at - attempt.started).total_seconds()
            self.runs.setdefault(outcome, Histogram()).observe(seconds)
            del self._open[key]

    def _stage_done(self, attempt: _Attempt, at: datetime) -> None:
        seconds = (at - attempt.stage_started).total_seconds()
        self.stages.setdefault(attempt.stage, Histogram()).observe(seconds)


class Metrics:
    """The app's metrics registry; ``render()`` answers a scrape."""

    def __init__(self, db: Database, broker: EventBroker | None = None) -> None:
        self.db = db
        self.broker = broker
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self._fold = EventFold()
        self._lock = threading.Lock()

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            yield from self._jobs()
            yield from self._workers()
            yield from self._from_events()
        if self.broker is not None:
            streams = GaugeMetricFamily(
                "autopilot_event_streams", "Open live event streams in this process."
            )
            streams.add_metric([], self.broker.subscriber_count)
            yield streams

    def _jobs(self) -> Iterator[Metric]:
        shown = sa.case(
            (
                sa.and_(
                    jobs_table.c.status == "running", jobs_table.c.stage.is_not(None)
                ),
                jobs_table.c.stage,
            ),
            else_=jobs_table.c.status,
        )
        query = sa.select(shown, sa.func.count()).group_by(shown)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        gauge = GaugeMetricFamily(
            "autopilot_jobs", "Jobs by the status people see.", labels=["status"]
        )
        counts = dict.fromkeys(
            ("pending", "generating", "publishing", "completed", "failed", "cancelled"),
            0,
        )
        counts.update({str(status): int(n) for status, n in rows})
        for status, n in sorted(counts.items()):
            gauge.add_metric([status], n)
        yield gauge

        active = sa.select(sa.func.count()).where(
            jobs_table.c.status.in_(ACTIVE_STATUSES)
        )
        with self.db.read() as conn:
            n_active = conn.execute(active).scalar_one()
        gauge = GaugeMetricFamily("autopilot_jobs_active", "Pending or running jobs.")
        gauge.add_metric([], int(n_active))
        yield gauge

    def _workers(self) -> Iterator[Metric]:
        query = sa.select(
            workers_table.c.id, workers_table.c.heartbeat_at, self.db.now()
        ).where(workers_table.c.stopped_at.is_(None))
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        online = GaugeMetricFamily(
            "autopilot_workers_online", "Workers registered and not stopped."
        )
        online.add_metric([], len(rows))
        yield online
        ages = GaugeMetricFamily(
            "autopilot_worker_heartbeat_age_seconds",
            "Seconds since each running worker's last heartbeat.",
            labels=["worker"],
        )
        for worker_id, heartbeat_at, now in rows:
            ages.add_metric([worker_id], max(0.0, (now - heartbeat_at).total_seconds()))
        yield ages

    def _from_events(self) -> Iterator[Metric]:
        fold = self._fold
        while True:
            events = control.events_after(self.db, fold.position, limit=5000)
            for event in events:
                fold.apply(event)
            if len(events) < 5000:
                break

        recoveries = CounterMetricFamily(
            "autopilot_job_recoveries",
            "Attempts ended by the server for a worker that was lost, a stage "
            "that overran, or a worker that shut down.",
            labels=["reason"],
        )
        for code, n in sorted(fold.recoveries.items()):
            recoveries.add_metric([code], n)
        yield recoveries

        runs = HistogramMetricFamily(
            "autopilot_run_duration_seconds",
            "Duration of job attempts from claim to end, by outcome.",
            labels=["outcome"],
        )
        for outcome, hist in sorted(fold.runs.items()):
            runs.add_metric([outcome], hist.buckets(), hist.total)
        yield runs

        stages = HistogramMetricFamily(
            "autopilot_stage_duration_seconds",
            "Time attempts spent in each stage.",
            labels=["stage"],
        )
        for stage, hist in sorted(fold.stages.items()):
            stages.add_metric([stage], hist.buckets(), hist.total)
        yield stages
