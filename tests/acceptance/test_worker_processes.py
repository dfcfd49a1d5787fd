"""Real ``autopilot worker`` processes: killed, drained, stopped, and refused.

Every worker is the installed command in a subprocess of its own, pointed at
the test's own database (SQLite and PostgreSQL) with no other AUTOPILOT_*
variables; the test reads the database directly as a witness. Processes log
to files in the test's directory, quoted when an assertion fails, and are all
killed when the test ends, whatever happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
import sqlalchemy as sa

from autopilot.db import Database
from autopilot.jobs import control, liveness, queue
from autopilot.jobs.builtin import sleep_payload
from autopilot.jobs.records import EventRecord, JobRecord, events_table, jobs_table

pytestmark = pytest.mark.slow

CLI = Path(sys.executable).parent / "autopilot"
RECOVERY_BOUND_SECONDS = 5.0
"""How soon after a worker dies its job must be recovered."""

T = TypeVar("T")


def cli(*args: str) -> list[str]:
    """The command line of the installed ``autopilot`` (or ``python -m``)."""
    if CLI.exists():
        return [str(CLI), *args]
    return [sys.executable, "-m", "autopilot", *args]


class Processes:
    """The ``autopilot`` subprocesses of one test, each logging to a file."""

    def __init__(self, workdir: Path, database_url: str) -> None:
        self.workdir = workdir
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AUTOPILOT_")
        }
        self.env |= {
            "AUTOPILOT_DATABASE_URL": database_url,
            "AUTOPILOT_DATA_DIR": str(workdir / "autopilot-data"),
        }
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        """Start ``autopilot ARGS`` with extra ``AUTOPILOT_*`` settings."""
        log_path = self.workdir / f"process-{len(self.started) + 1}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                cli(*args),
                cwd=self.workdir,
                env=self.env | env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started.append((process, log_path))
        return process

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``autopilot ARGS`` to its end and capture what it printed."""
        return subprocess.run(
            cli(*args),
            cwd=self.workdir,
            env=self.env | env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def logs(self) -> str:
        """The last lines every process wrote, for assertion messages."""
        parts = []
        for process, path in self.started:
            lines = path.read_text(errors="replace").splitlines()[-25:]
            parts.append(f"--- pid {process.pid} ({path.name}):\n" + "\n".join(lines))
        return "\n".join(parts)

    def kill_all(self) -> None:
        for process, _ in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@pytest.fixture
def processes(database_url: str, tmp_path: Path) -> Iterator[Processes]:
    """Starts ``autopilot`` processes on the test's database; kills them after."""
    started = Processes(tmp_path, database_url)
    try:
        yield started
    finally:
        started.kill_all()


def wait_until(
    check: Callable[[], T | None],
    what: str,
    processes: Processes,
    *,
    timeout: float = 60.0,
    every: float = 0.02,
) -> T:
    """Poll ``check`` until it returns something other than None or False."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            pytest.fail(
                f"gave up after {timeout:g} s waiting for {what}\n" + (processes.logs())
            )
        time.sleep(every)


def exit_code(process: subprocess.Popen[bytes], processes: Processes) -> int:
    """Wait (generously) for a process to end on its own."""
    try:
        return process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"pid {process.pid} did not exit\n{processes.logs()}")


def job(db: Database, job_id: int) -> JobRecord:
    return control.get_job(db, job_id)


def events(db: Database, job_id: int) -> list[EventRecord]:
    return control.job_events(db, job_id)


def running_job(db: Database, job_id: int) -> JobRecord | None:
    found = job(db, job_id)
    return found if found.status == "running" else None


def live_worker_ids(db: Database) -> set[str]:
    return {worker.id for worker in liveness.list_workers(db)}


# A worker killed mid-job ---------------------------------------------------


def test_job_of_a_killed_worker_is_recovered_by_another_worker_within_5_s(
    db: Database, processes: Processes
) -> None:
    """SIGKILL mid-job: a live worker recovers the job in under 5 s and reruns it."""
    settings = {"AUTOPILOT_RETRY_BASE_SECONDS": "0"}
    first = processes.start("worker", **settings)
    second = processes.start("worker", **settings)
    wait_until(lambda: len(live_worker_ids(db)) == 2, "two workers", processes)
    job_id = queue.enqueue(db, "sleep", payload=sleep_payload(5)).job.id

    taken = wait_until(lambda: running_job(db, job_id), "the job to run", processes)
    victim_id = taken.worker_id
    assert victim_id is not None
    pid_of = {worker.id: worker.pid for worker in liveness.list_workers(db)}
    victim, rescuer = (
        (first, second) if pid_of[victim_id] == first.pid else (second, first)
    )
    assert pid_of[victim_id] == victim.pid

    victim.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    victim.wait(timeout=30)
    recovered = wait_until(
        lambda: _no_longer_under(db, job_id, victim_id),
        "the job to be recovered",
        processes,
        every=0.01,
    )
    took = time.monotonic() - killed
    print(f"recovered by a live worker {took:.2f} s after the kill")

    assert took < RECOVERY_BOUND_SECONDS, (
        f"recovered {took:.2f} s after the kill; the bound is "
        f"{RECOVERY_BOUND_SECONDS:g} s\n{processes.logs()}"
    )
    assert recovered.status in ("pending", "running"), recovered
    _assert_worker_lost(db, job_id, victim_id)

    done = wait_until(lambda: _finished(db, job_id), "the rerun to finish", processes)
    assert (done.status, done.attempt) == ("completed", 2), processes.logs()
    assert done.worker_id is not None and pid_of[done.worker_id] == rescuer.pid


def test_explicit_reap_recovers_the_job_of_a_killed_worker_within_5_s(
    db: Database, processes: Processes
) -> None:
    """With no worker left, `autopilot jobs reap` recovers the job at once."""
    settings = {"AUTOPILOT_RETRY_BASE_SECONDS": "0"}
    victim = processes.start("worker", **settings)
    job_id = queue.enqueue(db, "sleep", payload=sleep_payload(5)).job.id
    taken = wait_until(lambda: running_job(db, job_id), "the job to run", processes)
    assert taken.worker_id is not None

    victim.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    victim.wait(timeout=30)
    reaped = processes.run("jobs", "reap", "--json", **settings)
    took = time.monotonic() - killed
    print(f"recovered by `autopilot jobs reap` {took:.2f} s after the kill")

    assert reaped.returncode == 0, reaped.stderr
    assert '"code": "worker_lost"' in reaped.stdout, reaped.stdout
    assert took < RECOVERY_BOUND_SECONDS, (
        f"recovered {took:.2f} s after the kill (including the reap command's "
        f"start-up); the bound is {RECOVERY_BOUND_SECONDS:g} s"
    )
    recovered = job(db, job_id)
    assert (recovered.status, recovered.error_code) == ("pending", "worker_lost")
    _assert_worker_lost(db, job_id, taken.worker_id)

    fresh = processes.start("worker", "--burst", **settings)
    assert exit_code(fresh, processes) == 0, processes.logs()
    done = job(db, job_id)
    assert (done.status, done.attempt) == ("completed", 2), processes.logs()


def _no_longer_under(db: Database, job_id: int, worker_id: str) -> JobRecord | None:
    found = job(db, job_id)
    if found.status == "running" and found.worker_id == worker_id:
        return None
    return found


def _finished(db: Database, job_id: int) -> JobRecord | None:
    found = job(db, job_id)
    return found if found.is_finished else None


def _assert_worker_lost(db: Database, job_id: int, worker_id: str) -> None:
    history = events(db, job_id)
    lost = [e for e in history if e.code == "worker_lost"]
    assert len(lost) == 1, history
    assert (lost[0].event, lost[0].from_status, lost[0].attempt) == (
        "retry_scheduled",
        "sleeping",
        1,
    )
    assert lost[0].reason is not None and worker_id in lost[0].reason, lost[0]


# Many workers, many jobs -----------------------------------------------------


def test_four_burst_workers_complete_2000_jobs_exactly_once(
    db: Database, processes: Processes
) -> None:
    """Four draining processes: every job claimed once, completed once, attempt 1."""
    count = 2000
    ids = {queue.enqueue(db, "noop").job.id for _ in range(count)}

    workers = [
        processes.start("worker", "--burst", "--concurrency", "4") for _ in range(4)
    ]
    codes = [exit_code(worker, processes) for worker in workers]

    assert codes == [0, 0, 0, 0], processes.logs()
    rows = _job_rows(db)
    assert {row["id"] for row in rows} == ids
    assert Counter((row["status"], row["attempt"]) for row in rows) == {
        ("completed", 1): count
    }
    per_job = _events_per_job(db)
    expected = {"enqueued": 1, "claimed": 1, "completed": 1}
    wrong = {job_id: n for job_id, n in per_job.items() if n != expected}
    assert not wrong, f"{len(wrong)} jobs with other events, e.g. {_some(wrong)}"
    assert set(per_job) == ids
    shares = Counter(row["worker_id"] for row in rows)
    assert len(shares) >= 2, f"only one worker ran jobs: {shares}"


def _job_rows(db: Database) -> list[Any]:
    columns = (jobs_table.c.id, jobs_table.c.status, jobs_table.c.attempt)
    query = sa.select(*columns, jobs_table.c.worker_id)
    with db.read() as conn:
        return list(conn.execute(query).mappings())


def _events_per_job(db: Database) -> dict[int, dict[str, int]]:
    query = sa.select(
        events_table.c.job_id, events_table.c.event, sa.func.count()
    ).group_by(events_table.c.job_id, events_table.c.event)
    per_job: dict[int, dict[str, int]] = {}
    with db.read() as conn:
        for job_id, event, n in conn.execute(query):
            per_job.setdefault(job_id, {})[event] = n
    return per_job


def _some(mapping: dict[int, Any]) -> dict[int, Any]:
    return dict(list(mapping.items())[:3])


# SIGTERM -------------------------------------------------------------------


def test_sigterm_releases_a_long_job_and_the_worker_exits_0(
    db: Database, processes: Processes
) -> None:
    """SIGTERM past the grace period: the job goes back to pending, released."""
    worker = processes.start("worker", AUTOPILOT_SHUTDOWN_GRACE_SECONDS="1")
    job_id = queue.enqueue(db, "sleep", payload=sleep_payload(60)).job.id
    taken = wait_until(lambda: running_job(db, job_id), "the job to run", processes)

    worker.send_signal(signal.SIGTERM)

    assert exit_code(worker, processes) == 0, processes.logs()
    released = job(db, job_id)
    assert (released.status, released.worker_id) == ("pending", None)
    last = events(db, job_id)[-1]
    assert (last.event, last.from_status, last.to_status, last.code) == (
        "released",
        "sleeping",
        "pending",
        "worker_shutdown",
    )
    assert last.reason is not None
    assert f"Worker {taken.worker_id} shut down" in last.reason, last.reason
    assert not live_worker_ids(db)


def test_sigterm_lets_a_job_shorter_than_the_grace_period_complete(
    db: Database, processes: Processes
) -> None:
    """SIGTERM during a short job: it completes, then the worker exits 0."""
    worker = processes.start("worker", AUTOPILOT_SHUTDOWN_GRACE_SECONDS="30")
    job_id = queue.enqueue(db, "sleep", payload=sleep_payload(2)).job.id
    wait_until(lambda: running_job(db, job_id), "the job to run", processes)

    worker.send_signal(signal.SIGTERM)

    assert exit_code(worker, processes) == 0, processes.logs()
    done = job(db, job_id)
    assert (done.status, done.attempt) == ("completed", 1), processes.logs()
    names = [event.event for event in events(db, job_id)]
    assert "released" not in names
    assert names[-1] == "completed"


# The schema guard -----------------------------------------------------------


@pytest.fixture
def unmigrated_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as ``database_url``, never migrated."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty' / 'autopilot.db'}"
        return
    name = f"{url.database}_empty"
    conninfo = url.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_worker_on_an_unmigrated_database_says_to_run_db_upgrade(
    unmigrated_url: str, processes: Processes
) -> None:
    """No schema: one line naming `autopilot db upgrade`, no traceback, exit 1."""
    result = processes.run("worker", "--burst", AUTOPILOT_DATABASE_URL=unmigrated_url)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "autopilot db upgrade" in lines[0]
    assert lines[0].startswith("error:")
