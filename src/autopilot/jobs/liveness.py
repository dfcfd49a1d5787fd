"""Who is alive: worker registration and telling a dead process at once.

A worker that dies is noticed without waiting for its lease: on PostgreSQL it
holds a session-level advisory lock that the server drops with its session;
on one host its PID and process start time are checked.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from autopilot.db import Database
from autopilot.errors import AutopilotError
from autopilot.jobs import signals
from autopilot.jobs.records import JOBS_CHANNEL
from autopilot.models import Worker

log = logging.getLogger(__name__)

workers_table: sa.Table = Worker.__table__  # type: ignore[assignment]

ADVISORY_NAMESPACE = 0x4150  # "AP": the first key of every worker's lock


@dataclass(frozen=True)
class WorkerRecord:
    """A registered worker process."""

    id: str
    hostname: str
    pid: int
    process_start: str | None
    lock_key: int
    concurrency: int
    kinds: list[str]
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    stop_reason: str | None

    @classmethod
    def from_row(cls, row: Any) -> WorkerRecord:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a process, to tell a reused PID apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; fields resume after its ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]


def process_alive(pid: int, start: str | None) -> bool:
    """Whether the process is running (not gone, not a zombie, not a new one)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    after_name = stat[stat.rindex(")") + 2 :].split()
    if after_name[0] in ("Z", "X"):
        return False
    return start is None or after_name[19] == start


def new_lock_key() -> int:
    return random.randint(1, 2**31 - 1)


def register(
    db: Database, worker_id: str, *, lock_key: int, concurrency: int, kinds: list[str]
) -> None:
    """Record a starting worker process."""
    pid = os.getpid()
    with db.write() as conn:
        conn.execute(
            workers_table.insert().values(
                id=worker_id,
                hostname=socket.gethostname(),
                pid=pid,
                process_start=process_start_time(pid),
                lock_key=lock_key,
                concurrency=concurrency,
                kinds=kinds,
                started_at=db.now(),
                heartbeat_at=db.now(),
            )
        )


def mark_stopped(db: Database, worker_id: str, reason: str) -> bool:
    """Record that a worker is gone; False if it was already recorded so."""
    with db.write() as conn:
        result = conn.execute(
            sa.update(workers_table)
            .where(
                workers_table.c.id == worker_id, workers_table.c.stopped_at.is_(None)
            )
            .values(stopped_at=db.now(), stop_reason=reason[:200])
        )
    return result.rowcount == 1


def list_workers(db: Database, *, include_stopped: bool = False) -> list[WorkerRecord]:
    """Registered workers, newest first."""
    query = sa.select(workers_table).order_by(workers_table.c.started_at.desc())
    if not include_stopped:
        query = query.where(workers_table.c.stopped_at.is_(None))
    with db.read() as conn:
        rows = conn.execute(query).mappings().all()
    return [WorkerRecord.from_row(row) for row in rows]


def _held_lock_keys(db: Database) -> set[int]:
    query = sa.text(
        "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = :namespace AND objsubid = 2 AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with db.read() as conn:
        return {
            int(r[0]) for r in conn.execute(query, {"namespace": ADVISORY_NAMESPACE})
        }


def find_dead(db: Database, lease_seconds: float) -> dict[str, str]:
    """Workers that are gone, each with the reason, marked stopped.

    Dead means: its database session ended (PostgreSQL), its process is gone
    (same host), or it has not heartbeated for a whole lease.
    """
    with db.read() as conn:
        rows = (
            conn.execute(
                sa.select(
                    workers_table,
                    (workers_table.c.heartbeat_at < db.now(-lease_seconds)).label(
                        "silent"
                    ),
                ).where(workers_table.c.stopped_at.is_(None))
            )
            .mappings()
            .all()
        )
    if not rows:
        return {}

    held = _held_lock_keys(db) if db.is_postgres else set()
    here = socket.gethostname()
    dead: dict[str, str] = {}
    for row in rows:
        if db.is_postgres and row["lock_key"] not in held:
            dead[row["id"]] = "its database session ended"
        elif row["hostname"] == here and not process_alive(
            row["pid"], row["process_start"]
        ):
            dead[row["id"]] = f"its process {row['pid']} is gone"
        elif row["silent"]:
            dead[row["id"]] = f"no heartbeat for more than {lease_seconds:g} s"

    for worker_id, reason in list(dead.items()):
        if not mark_stopped(db, worker_id, f"dead: {reason}"):
            del dead[worker_id]
    return dead


def alive_workers(db: Database, lease_seconds: float) -> list[WorkerRecord]:
    """Workers that are running now, after dead ones were found out."""
    find_dead(db, lease_seconds)
    return list_workers(db)


LISTENER_WAKE_SECONDS = 0.25
"""Longest the PostgreSQL listener waits for a notification before it checks
whether the worker is stopping, so a stopping worker exits promptly."""


class Listener(threading.Thread):
    """PostgreSQL session that proves this worker alive and hears enqueues.

    It holds a session-level advisory lock for the worker's whole life (the
    server drops it the moment the process dies) and LISTENs for new jobs.
    """

    def __init__(self, db: Database, lock_key: int, stopping: threading.Event):
        super().__init__(name="pg-listener", daemon=True)
        self._conninfo = db.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        self._lock_key = lock_key
        self._stopping = stopping
        self._ready = threading.Event()
        self._conn: Any = None

    def start(self) -> None:
        super().start()
        if not self._ready.wait(15):
            raise AutopilotError(
                "Could not take the worker's liveness lock on PostgreSQL within "
                "15 s. Check that the database accepts another connection."
            )

    def run(self) -> None:
        import psycopg

        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    self._conn = conn
                    conn.execute(
                        "SELECT pg_advisory_lock(%s, %s)",
                        (ADVISORY_NAMESPACE, self._lock_key),
                    )
                    conn.execute(f"LISTEN {JOBS_CHANNEL}")
                    self._ready.set()
                    while not self._stopping.is_set():
                        for _ in conn.notifies(
                            timeout=LISTENER_WAKE_SECONDS, stop_after=1
                        ):
                            signals.jobs_enqueued.notify()
            except psycopg.Error as exc:
                if self._stopping.is_set():
                    return
                log.warning(
                    "liveness connection lost: %s; reconnecting",
                    exc,
                    extra={"event": "listener_reconnect"},
                )
                time.sleep(1.0)

    def close(self) -> None:
        self._stopping.set()
        self.join(timeout=3)
