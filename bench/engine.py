"""Benchmark of the job engine with real ``autopilot worker`` processes.

Run from the repository root with the project's virtualenv::

    .venv/bin/python -m bench.engine
    .venv/bin/python -m bench.engine --jobs 5000 --databases postgres --workers 2
    .venv/bin/python -m bench.engine --concurrency 4,16,32 --latency-jobs 50

For every database (SQLite in a temporary directory; PostgreSQL in a scratch
database that the benchmark creates and drops itself), every number of worker
processes (``--workers``) and every ``--concurrency`` K of each process, it
measures on a fresh, migrated database:

throughput
    ``--jobs`` no-op jobs are enqueued first; then the worker processes
    (``autopilot worker --burst --concurrency K``) start and drain them.
    ``jobs/s`` is the number of jobs over the span from the first claim to the
    last completion, both read from the jobs table (the database clock), so
    interpreter start-up is left out; ``wall jobs/s`` counts from the moment
    the processes were started until the last job was seen completed.
    ``once`` says whether every job has exactly one ``claimed`` and one
    ``completed`` event and ended at attempt 1.
enqueue-to-start latency
    With the workers running and idle, ``--latency-jobs`` no-op jobs are
    enqueued one by one, ``--latency-interval-ms`` apart; the latency of a
    job is ``started_at - created_at``, both database clock times.
kill-to-recovered
    A worker process claims a long ``sleep`` job; the measured number of
    worker processes is started beside it; the first is killed with SIGKILL
    and the benchmark polls until the job no longer runs under it.

K bounds how many jobs one claim statement takes (a worker claims as many as
it has free slots), and so how many completions it records in one
transaction; the per-transaction cost is what limits no-op throughput.

At the top it prints the machine (CPUs, CPU model, Python, date, load
average); at the end, each target and whether the measured rows meet it.
Settings are the defaults, except the ones given on the command line. The
PostgreSQL server is taken from ``AUTOPILOT_BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); its user must be allowed
to create databases. The targets the engine is held to: recovery under 5 s,
enqueue-to-start p99 under 50 ms on PostgreSQL, and at least 1,000 no-op
jobs/s on PostgreSQL and on SQLite with two worker processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from autopilot.db import Database
from autopilot.jobs import queue
from autopilot.jobs.records import events_table, jobs_table
from autopilot.models import Worker

workers_table: sa.Table = Worker.__table__  # type: ignore[assignment]

POSTGRES_ADMIN_URL = os.environ.get(
    "AUTOPILOT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


# Machine and databases --------------------------------------------------------


def machine_info() -> list[str]:
    """Lines that say what the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return [
        f"date:    {now}",
        f"cpus:    {os.cpu_count()} ({model})",
        f"python:  {platform.python_version()} ({sys.executable})",
        f"system:  {platform.platform()}",
        f"load:    {_load()} (1, 5, 15 min) at the start",
    ]


@contextmanager
def scratch_database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database of ``kind``; dropped afterwards."""
    if kind == "sqlite":
        path = workdir / f"bench-{secrets.token_hex(4)}.db"
        url = f"sqlite:///{path}"
        _migrate(url)
        yield url
        return

    import psycopg

    name = f"autopilot_bench_{secrets.token_hex(5)}"
    admin = sa.make_url(POSTGRES_ADMIN_URL)
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _migrate(url: str) -> None:
    db = Database(url)
    try:
        db.upgrade()
    finally:
        db.dispose()


# Worker processes ---------------------------------------------------------------


class BenchError(Exception):
    """A measurement could not finish."""


@dataclass
class Workers:
    """Real ``autopilot worker`` processes, all writing to one log file."""

    url: str
    workdir: Path
    env: dict[str, str]

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.workdir / "workers.log").open("ab")
        with log:
            return subprocess.Popen(
                [sys.executable, "-m", "autopilot", "worker", *args],
                cwd=self.workdir,
                env={**self.env, "AUTOPILOT_DATABASE_URL": self.url},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )


def stop_all(processes: list[subprocess.Popen[bytes]], timeout: float = 30) -> None:
    """SIGTERM every process still running, then SIGKILL the ones that linger."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, every: float = 0.02
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise BenchError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(every)


def scalar(db: Database, query: sa.Select[tuple[int]]) -> int:
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())


def count_jobs(db: Database, *where: sa.ColumnElement[bool]) -> int:
    query = sa.select(sa.func.count()).select_from(jobs_table).where(*where)
    return scalar(db, query)


def live_workers(db: Database) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(workers_table)
        .where(workers_table.c.stopped_at.is_(None))
    )
    return scalar(db, query)


# Measurements -------------------------------------------------------------------


@dataclass
class Throughput:
    engine_rate: float
    wall_rate: float
    exactly_once: bool


def measure_throughput(
    db: Database, workers: Workers, jobs: int, processes: int, concurrency: int
) -> Throughput:
    """Enqueue ``jobs`` no-ops, then time ``processes`` burst workers draining them."""
    for _ in range(jobs):
        queue.enqueue(db, "noop")

    started = time.monotonic()
    running = [
        workers.start("--burst", "--concurrency", str(concurrency))
        for _ in range(processes)
    ]
    try:
        wait_for(
            f"{jobs} jobs to complete",
            lambda: count_jobs(db, jobs_table.c.status == "completed") == jobs,
            timeout=max(120.0, jobs / 20),
        )
        wall = time.monotonic() - started
        for process in running:
            process.wait(60)
    finally:
        stop_all(running)

    with db.read() as conn:
        first, last = conn.execute(
            sa.select(
                sa.func.min(jobs_table.c.started_at),
                sa.func.max(jobs_table.c.finished_at),
            )
        ).one()
    span = (_aware(last) - _aware(first)).total_seconds()
    return Throughput(jobs / span, jobs / wall, exactly_once(db, jobs))


def _aware(value: dt.datetime | str) -> dt.datetime:
    # Aggregates lose the column type on SQLite and come back as text.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def exactly_once(db: Database, jobs: int) -> bool:
    """Every job claimed once, completed once, at attempt 1."""
    per_event = (
        sa.select(events_table.c.event, sa.func.count())
        .where(events_table.c.event.in_(["claimed", "completed"]))
        .group_by(events_table.c.event)
    )
    distinct = sa.select(sa.func.count(sa.distinct(events_table.c.job_id))).where(
        events_table.c.event == "completed"
    )
    with db.read() as conn:
        counts = {row[0]: row[1] for row in conn.execute(per_event)}
        completed_jobs = conn.execute(distinct).scalar_one()
    first_attempt = count_jobs(
        db, jobs_table.c.status == "completed", jobs_table.c.attempt == 1
    )
    return (
        counts.get("claimed") == jobs
        and counts.get("completed") == jobs
        and completed_jobs == jobs
        and first_attempt == jobs
    )


def measure_latency(
    db: Database,
    workers: Workers,
    processes: int,
    concurrency: int,
    count: int,
    interval: float,
) -> tuple[float, float]:
    """p50 and p99 of enqueue-to-start, in ms, with idle workers waiting."""
    running = [
        workers.start("--concurrency", str(concurrency)) for _ in range(processes)
    ]
    try:
        wait_for("workers to register", lambda: live_workers(db) == processes, 60)
        time.sleep(1.0)  # past their start-up reap, idle and waiting
        ids = []
        for _ in range(count):
            ids.append(queue.enqueue(db, "noop").job.id)
            time.sleep(interval)
        wait_for(
            "latency jobs to complete",
            lambda: (
                count_jobs(
                    db, jobs_table.c.id.in_(ids), jobs_table.c.status == "completed"
                )
                == count
            ),
            timeout=60,
        )
    finally:
        stop_all(running)

    with db.read() as conn:
        rows = conn.execute(
            sa.select(jobs_table.c.created_at, jobs_table.c.started_at).where(
                jobs_table.c.id.in_(ids)
            )
        ).all()
    latencies = sorted(
        (started - created).total_seconds() * 1000 for created, started in rows
    )
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[98]


def measure_recovery(db: Database, workers: Workers, survivors: int) -> float:
    """Seconds from SIGKILL of a busy worker until its job is recovered."""
    victim = workers.start("--concurrency", "1")
    running = [victim]
    try:
        job_id = queue.enqueue(db, "sleep", payload={"seconds": 600}).job.id
        wait_for(
            "the sleep job to start",
            lambda: (
                count_jobs(
                    db, jobs_table.c.id == job_id, jobs_table.c.status == "running"
                )
                == 1
            ),
            timeout=60,
        )
        with db.read() as conn:
            victim_id = conn.execute(
                sa.select(jobs_table.c.worker_id).where(jobs_table.c.id == job_id)
            ).scalar_one()
        running += [workers.start() for _ in range(survivors)]
        wait_for("survivors to register", lambda: live_workers(db) == survivors + 1, 60)
        time.sleep(1.0)

        victim.kill()
        killed = time.monotonic()
        wait_for(
            "the job to be recovered",
            lambda: (
                count_jobs(
                    db,
                    jobs_table.c.id == job_id,
                    jobs_table.c.status == "running",
                    jobs_table.c.worker_id == victim_id,
                )
                == 0
            ),
            timeout=120,
            every=0.01,
        )
        return time.monotonic() - killed
    finally:
        stop_all(running)


# The run ------------------------------------------------------------------------


@dataclass
class Row:
    database: str
    processes: int
    concurrency: int
    throughput: Throughput
    p50: float
    p99: float
    recovery: float


def run_one(
    kind: str, processes: int, concurrency: int, args: argparse.Namespace
) -> Row:
    with tempfile.TemporaryDirectory(prefix="autopilot-bench-") as tmp:
        workdir = Path(tmp)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AUTOPILOT_")
        }
        env["AUTOPILOT_DATA_DIR"] = str(workdir)
        with scratch_database(kind, workdir) as url:
            workers = Workers(url, workdir, env)
            db = Database(url)
            try:
                throughput = measure_throughput(
                    db, workers, args.jobs, processes, concurrency
                )
                p50, p99 = measure_latency(
                    db,
                    workers,
                    processes,
                    concurrency,
                    args.latency_jobs,
                    args.latency_interval_ms / 1000,
                )
                recovery = measure_recovery(db, workers, processes)
            except BenchError as exc:
                log = (workdir / "workers.log").read_text(errors="replace")
                tail = "\n".join(log.splitlines()[-30:])
                raise BenchError(f"{kind}, {processes} workers: {exc}\n{tail}") from exc
            finally:
                db.dispose()
    return Row(kind, processes, concurrency, throughput, p50, p99, recovery)


HEADER = (
    f"{'database':<10} {'workers':>7} {'conc':>4} {'jobs/s':>8} {'wall jobs/s':>11} "
    f"{'once':>5} {'p50 ms':>8} {'p99 ms':>8} {'recovery s':>10}"
)


def format_row(row: Row) -> str:
    t = row.throughput
    return (
        f"{row.database:<10} {row.processes:>7} {row.concurrency:>4} "
        f"{t.engine_rate:>8.0f} "
        f"{t.wall_rate:>11.0f} {'yes' if t.exactly_once else 'NO':>5} "
        f"{row.p50:>8.1f} {row.p99:>8.1f} {row.recovery:>10.2f}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine",
        description="Throughput, latency and recovery of the job engine.",
    )
    parser.add_argument("--jobs", type=int, default=2000, help="no-op jobs to drain")
    parser.add_argument(
        "--databases", default="sqlite,postgres", help="sqlite,postgres"
    )
    parser.add_argument(
        "--workers", default="1,2", help="worker process counts, e.g. 1,2"
    )
    parser.add_argument(
        "--concurrency",
        default="4,32",
        help="--concurrency of each worker, e.g. 4,32 (it bounds a claim's batch)",
    )
    parser.add_argument("--latency-jobs", type=int, default=200)
    parser.add_argument("--latency-interval-ms", type=float, default=20.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    slots = [int(n) for n in args.concurrency.split(",") if n.strip()]
    for line in machine_info():
        print(line)
    print(
        f"jobs:    {args.jobs} no-op per throughput run; latency "
        f"{args.latency_jobs} jobs {args.latency_interval_ms:g} ms apart"
    )
    print()
    print(HEADER, flush=True)
    rows = []
    try:
        for kind in databases:
            for processes in counts:
                for concurrency in slots:
                    row = run_one(kind, processes, concurrency, args)
                    rows.append(row)
                    print(format_row(row), flush=True)
    except BenchError as exc:
        sys.exit(f"bench: {exc}")
    print()
    for line in verdicts(rows):
        print(line)
    print(f"load:    {_load()} at the end")


def verdicts(rows: list[Row]) -> list[str]:
    """Each target and whether the measured rows meet it."""
    postgres = [row for row in rows if row.database == "postgres"]
    two = [row for row in rows if row.processes == 2]
    lines = [
        _verdict("recovery < 5 s", rows, lambda row: row.recovery < 5.0),
        _verdict("PostgreSQL p99 < 50 ms", postgres, lambda row: row.p99 < 50.0),
    ]
    for kind in ("postgres", "sqlite"):
        mine = [row for row in two if row.database == kind]
        met = [row.concurrency for row in mine if row.throughput.engine_rate >= 1000]
        if mine:
            where = f"met at concurrency {met}" if met else "NOT met"
            lines.append(f"target:  {kind}, 2 workers, >= 1000 jobs/s: {where}")
    return lines


def _verdict(name: str, rows: list[Row], check: Callable[[Row], bool]) -> str:
    if not rows:
        return f"target:  {name}: not measured"
    failed = [
        f"{r.database}/{r.processes}/{r.concurrency}" for r in rows if not check(r)
    ]
    return f"target:  {name}: " + (f"NOT met by {failed}" if failed else "met")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


if __name__ == "__main__":
    main()
