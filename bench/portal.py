"""How fast the portal shows a job's change: database commit to DOM update.

Runs ``autopilot serve --no-worker`` as a subprocess, opens the Autopilot page
in Chromium, and changes jobs from this process (enqueue, claim, complete),
each change committed to the database. The page records when each job's
``data-status`` changes; the difference with the commit time is the latency.
It is measured with 1 open event stream (the page) and with 200 (the page and
199 more streams held open by this process).

    python -m bench.portal [--changes 100] [--streams 1,200] [--database-url URL]

Not a test: it prints p50/p95/max and checks them against the 500 ms target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from autopilot import accounts
from autopilot.db import Database
from autopilot.jobs import attempts, queue
from autopilot.pipeline import projects
from autopilot.runtime import job_kinds
from autopilot.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
EMAIL = "bench@example.com"
PASSWORD = "bench-password-123"
TARGET_P95_MS = 500.0
SETTLE_SECONDS = 0.15
"""Pause between changes, so each is its own measurement, not a batch."""

RECORDER = """
window.__changes = [];
new MutationObserver((records) => {
  const now = Date.now();
  for (const r of records) {
    const nodes = r.type === 'attributes' ? [r.target] : [...r.addedNodes];
    for (const n of nodes) {
      if (n.nodeType === 1 && n.matches('li.job')) {
        window.__changes.push([Number(n.dataset.jobId), n.dataset.status, now]);
      }
    }
  }
}).observe(document.getElementById('job-list'),
           {childList: true, subtree: true, attributes: true,
            attributeFilter: ['data-status']});
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(db: Database, sites: int) -> tuple[list[int], str]:
    """A client, its user with an API token, and a project per measurement."""
    with db.session() as session:
        client = projects.add_client(session, "Bench client")
        ids = [
            projects.add_project(session, f"Bench site {n}", client).id
            for n in range(sites)
        ]
        accounts.create_user(session, EMAIL, PASSWORD, client=client)
        token, _ = accounts.create_token(session, EMAIL, "bench")
        return ids, token


@contextmanager
def server(env: dict[str, str], port: int) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autopilot",
            "serve",
            "--no-worker",
            "--port",
            f"{port}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("autopilot serve did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


class ExtraStreams:
    """Event streams held open (and read) by this process, as other pages."""

    def __init__(self, url: str, token: str, count: int) -> None:
        self.url, self.token, self.count = url, token, count
        self.open = 0
        self.received = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ExtraStreams:
        if self.count:
            self._thread.start()
            if not self._ready.wait(60):
                raise RuntimeError(f"only {self.open} of {self.count} streams opened")
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self.count:
            self._thread.join(timeout=20)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        limits = httpx.Limits(max_connections=self.count + 10)
        headers = {"Authorization": f"Bearer {self.token}"}
        timeout = httpx.Timeout(10, read=None)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            tasks = [
                asyncio.create_task(self._one(client, headers))
                for _ in range(self.count)
            ]
            while not self._stop.is_set():
                await asyncio.sleep(0.1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        url = f"{self.url}/api/client/autopilot/events"
        async with client.stream("GET", url, headers=headers) as response:
            response.raise_for_status()
            self.open += 1
            if self.open == self.count:
                self._ready.set()
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    self.received += 1


class Changer:
    """Makes job status changes in the database, one at a time, and times them."""

    def __init__(self, db: Database, settings: Settings, project_id: int) -> None:
        self.db, self.project_id = db, project_id
        self.kinds = list(job_kinds(settings))
        self.job_id: int | None = None
        self.step = 0

    def next_change(self) -> tuple[int, str, float]:
        """Advance the current job by one status; returns (job, status, committed)."""
        if self.step % 3 == 0:
            job = queue.enqueue(self.db, "autopilot.run", project_id=self.project_id)
            self.job_id, status = job.job.id, "pending"
        elif self.step % 3 == 1:
            claimed = queue.claim(
                self.db, "bench-worker", self.kinds, limit=1, lease_seconds=3600
            )
            assert claimed and claimed[0].id == self.job_id, "claim failed"
            status = claimed[0].shown_status
        else:
            assert self.job_id is not None
            assert attempts.complete(self.db, self.job_id, 1, "generating", {}), "lost"
            status = "completed"
        committed = time.time()
        self.step += 1
        assert self.job_id is not None
        return self.job_id, status, committed

    def finish(self) -> None:
        """Leave no active job behind for the next measurement."""
        while self.step % 3:
            self.next_change()


def wait_for_dom(page: Page, job_id: int, status: str, timeout: float = 10) -> float:
    """When (epoch seconds) the page first showed ``job_id`` as ``status``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = page.evaluate(
            "([id, s]) => { const c = window.__changes.find("
            "x => x[0] === id && x[1] === s); return c ? c[2] : null; }",
            [job_id, status],
        )
        if found is not None:
            return float(found) / 1000
        time.sleep(0.01)
    raise TimeoutError(f"job {job_id} never showed {status}")


def measure(page: Page, changer: Changer, changes: int) -> list[float]:
    latencies = []
    for _ in range(changes):
        job_id, status, committed = changer.next_change()
        shown = wait_for_dom(page, job_id, status)
        latencies.append((shown - committed) * 1000)
        time.sleep(SETTLE_SECONDS)
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]


def open_portal(page: Page, url: str, project_id: int) -> None:
    page.goto(f"{url}/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("form button.primary")
    page.wait_for_url("**/client-portal/autopilot**")
    page.goto(f"{url}/client-portal/autopilot?project={project_id}")
    page.wait_for_selector('#live-indicator[data-state="open"]')
    page.evaluate(RECORDER)


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="autopilot-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    settings = Settings(database_url=url, data_dir=workdir, secret_key="bench-key")
    db = Database(url)
    db.upgrade()
    counts = [int(n) for n in args.streams.split(",")]
    project_ids, token = seed(db, len(counts))
    env = {
        **os.environ,
        "AUTOPILOT_DATABASE_URL": url,
        "AUTOPILOT_DATA_DIR": str(workdir),
        "AUTOPILOT_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "AUTOPILOT_LOG_LEVEL": "WARNING",
    }
    results: list[tuple[int, list[float]]] = []
    with server(env, free_port()) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for count, project_id in zip(counts, project_ids, strict=True):
            page = browser.new_context(locale="nl-NL").new_page()
            open_portal(page, base, project_id)
            with ExtraStreams(base, token, count - 1):
                changer = Changer(db, settings, project_id)
                measure(page, changer, 6)  # warm up
                latencies = measure(page, changer, args.changes)
                changer.finish()
            results.append((count, latencies))
            page.context.close()
        browser.close()
    db.dispose()

    poll_ms = settings.events_poll_seconds * 1000
    backend = (
        "PostgreSQL (LISTEN/NOTIFY)"
        if db.is_postgres
        else f"SQLite (changes from another process: poll every {poll_ms:.0f} ms)"
    )
    print(f"Portal latency: database commit -> DOM update in Chromium, {backend}")
    print(f"{'streams':>8} {'changes':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    failed = False
    for count, latencies in results:
        p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
        failed |= p95 > TARGET_P95_MS
        print(
            f"{count:>8} {len(latencies):>8} {p50:>8.0f} {p95:>8.0f} "
            f"{max(latencies):>8.0f}"
        )
    verdict = "over" if failed else "under"
    print(f"target: p95 under {TARGET_P95_MS:.0f} ms -> {verdict} target")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--streams", default="1,200")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("AUTOPILOT_BENCH_DATABASE_URL", ""),
        help="Default: a new SQLite file. A PostgreSQL URL must name an empty, "
        "migratable database.",
    )
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
