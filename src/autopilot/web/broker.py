"""Live job events for the portal: one reader per web process, many streams.

A single thread waits for new rows in ``job_events`` (PostgreSQL LISTEN, the
in-process signal, or a short poll), reads them once, attaches each job's
current state, and hands the encoded messages to every connected stream that
may see that project. However many pages are open, the database sees one
reader.

Event ids come from a sequence, and on PostgreSQL a transaction that took a
lower id can commit after one that took a higher id. The reader keeps such a
gap open for a few seconds, re-reading from below it, so a late event is
still delivered instead of being skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from autopilot.db import Database
from autopilot.errors import AutopilotError
from autopilot.jobs import control, reaper, signals
from autopilot.jobs.records import EVENTS_CHANNEL, EventRecord, JobRecord, jobs_table
from autopilot.runtime import retry_policy
from autopilot.settings import Settings
from autopilot.web.views import event_json, jobs_json, json_ready

log = logging.getLogger(__name__)

READ_LIMIT = 500
REPLAY_LIMIT = 1000
"""A reconnect further behind than this gets a reset: reload, do not replay."""
GAP_WAIT_SECONDS = 5.0
LISTEN_FALLBACK_SECONDS = 5.0
QUEUE_LIMIT = 2000
"""Messages a slow stream may fall behind before it is closed (and resumes)."""


@dataclass(frozen=True)
class Message:
    """One encoded SSE message, ready to write to any stream that may see it."""

    id: int
    project_id: int | None
    text: str


def encode(event: EventRecord, job: dict[str, Any] | None) -> Message:
    data = json.dumps(json_ready({**event_json(event), "job": job}))
    text = f"id: {event.id}\nevent: job\ndata: {data}\n\n"
    return Message(event.id, event.project_id, text)


def reset_message(last_id: int) -> str:
    """Tells a page it missed too much to replay: fetch the list again."""
    return f"id: {last_id}\nevent: reset\ndata: {{}}\n\n"


@dataclass(eq=False)
class Subscriber:
    """One open event stream and the projects it may see (None: all)."""

    loop: asyncio.AbstractEventLoop
    project_ids: frozenset[int] | None
    queue: asyncio.Queue[list[Message] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )
    closed: bool = False

    def wants(self, message: Message) -> bool:
        if self.project_ids is None:
            return True
        return message.project_id in self.project_ids

    def offer(self, batch: list[Message] | None) -> None:
        """Runs on the subscriber's event loop."""
        if self.closed:
            return
        try:
            self.queue.put_nowait(batch)
        except asyncio.QueueFull:
            # Close it: the browser reconnects and replays from its last id.
            self.closed = True
            self.queue.get_nowait()
            self.queue.put_nowait(None)


class EventBroker:
    """Reads new job events once per wake-up and fans them out to streams."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.reads = 0
        """Database reads of new events so far; tests compare it across loads."""
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._position = 0
        self._seen_above: set[int] = set()
        self._gaps: dict[int, float] = {}
        self._next_reap = 0.0
        self._listen_conn: Any = None

    # Life cycle -------------------------------------------------------------

    def start(self) -> None:
        self._position = control.last_event_id(self.db)
        self._thread = threading.Thread(
            target=self._run, name="event-reader", daemon=True
        )
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """End every stream and the reader thread."""
        self._stopping.set()
        signals.events_recorded.notify()
        if self.db.is_postgres and self.running:
            self._wake_listener()
        self.close_streams()
        if self._thread is not None:
            self._thread.join(timeout=LISTEN_FALLBACK_SECONDS + 2)

    def _wake_listener(self) -> None:
        try:
            with self.db.read() as conn:
                conn.execute(sa.select(sa.func.pg_notify(EVENTS_CHANNEL, "")))
        except AutopilotError:
            pass

    def close_streams(self) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            self._call(sub, None)

    # Streams ----------------------------------------------------------------

    def subscribe(self, project_ids: Iterable[int] | None) -> Subscriber:
        sub = Subscriber(
            asyncio.get_running_loop(),
            None if project_ids is None else frozenset(project_ids),
        )
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def replay(
        self, after_id: int, project_ids: Sequence[int] | None
    ) -> list[Message] | None:
        """Events after ``after_id`` for one reconnecting stream, or None when
        there are too many to replay."""
        events = control.events_after(
            self.db, after_id, project_ids=project_ids, limit=REPLAY_LIMIT + 1
        )
        if len(events) > REPLAY_LIMIT:
            return None
        return self._encode(events)

    def _call(self, sub: Subscriber, batch: list[Message] | None) -> None:
        try:
            sub.loop.call_soon_threadsafe(sub.offer, batch)
        except RuntimeError:
            # Its event loop is closed: the server is gone.
            self.unsubscribe(sub)

    # The reader -------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.db.is_postgres:
                    self._listen()
                else:
                    self._poll()
            except Exception:
                log.exception(
                    "event reader failed; restarting in 1 s",
                    extra={"event": "event_reader_failed"},
                )
                self._stopping.wait(1.0)

    def _poll(self) -> None:
        """SQLite: woken by writes in this process, else every poll interval."""
        seen = signals.events_recorded.generation()
        while not self._stopping.is_set():
            self._read_all()
            self._reap_if_watched()
            seen = signals.events_recorded.wait(seen, self.settings.events_poll_seconds)

    def _listen(self) -> None:
        """PostgreSQL: woken by NOTIFY from any process, with a slow poll."""
        import psycopg

        url = self.db.engine.url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"LISTEN {EVENTS_CHANNEL}")
            self._listen_conn = conn
            while not self._stopping.is_set():
                self._read_all()
                self._reap_if_watched()
                timeout = min(LISTEN_FALLBACK_SECONDS, self._reap_wait())
                for _ in conn.notifies(timeout=timeout, stop_after=1):
                    pass

    def _reap_wait(self) -> float:
        if not self.subscriber_count:
            return LISTEN_FALLBACK_SECONDS
        return max(0.05, self._next_reap - time.monotonic())

    def _reap_if_watched(self) -> None:
        """While someone watches, recover lost jobs even if no worker runs."""
        now = time.monotonic()
        if not self.subscriber_count or now < self._next_reap:
            return
        self._next_reap = now + self.settings.reap_interval_seconds
        try:
            reaper.reap(
                self.db,
                retry_policy(self.settings),
                lease_seconds=self.settings.lease_seconds,
            )
        except AutopilotError as exc:
            log.warning("reap failed: %s", exc, extra={"event": "reap_failed"})

    def _read_all(self) -> None:
        while True:
            events = control.events_after(self.db, self._position, limit=READ_LIMIT)
            self.reads += 1
            fresh = [e for e in events if e.id not in self._seen_above]
            self._advance(events)
            if fresh:
                self._publish(self._encode(fresh))
            if len(events) < READ_LIMIT or not fresh:
                return

    def _advance(self, events: list[EventRecord]) -> None:
        """Move the read position past every id seen, waiting a while at gaps."""
        self._seen_above.update(e.id for e in events)
        if not self._seen_above:
            return
        now = time.monotonic()
        highest = max(self._seen_above)
        for missing in range(self._position + 1, highest):
            if missing not in self._seen_above:
                self._gaps.setdefault(missing, now)
        while self._position < highest:
            following = self._position + 1
            if following in self._seen_above:
                self._seen_above.discard(following)
            elif now - self._gaps.get(following, now) < GAP_WAIT_SECONDS:
                break
            self._gaps.pop(following, None)
            self._position = following

    def _encode(self, events: list[EventRecord]) -> list[Message]:
        """Each event with its job's current state, in two queries for all."""
        ids = sorted({e.job_id for e in events})
        with self.db.read() as conn:
            rows = (
                conn.execute(sa.select(jobs_table).where(jobs_table.c.id.in_(ids)))
                .mappings()
                .all()
            )
        records = [JobRecord.from_row(row) for row in rows]
        by_id = {job["id"]: job for job in jobs_json(self.db, records)}
        return [encode(e, by_id.get(e.job_id)) for e in events]

    def _publish(self, messages: list[Message]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            batch = [m for m in messages if sub.wants(m)]
            if batch:
                self._call(sub, batch)
