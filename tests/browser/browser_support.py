"""A real ``autopilot serve`` (and, when asked, a separate worker) on SQLite for
browser tests, with a demo-like project whose runs take a few seconds."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from autopilot import accounts
from autopilot.db import Database
from autopilot.pipeline import keywords, projects

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
EMAIL = "klant@example.com"
PASSWORD = "browser-test-password"
SECTION_DELAY_SECONDS = 0.8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    """A running server, its database and the seeded project."""

    url: str
    database_url: str
    project_id: int
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]]

    def start_worker(self) -> subprocess.Popen[bytes]:
        process = _spawn(["worker"], self.env, "worker")
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def seed(database_url: str) -> int:
    """A client, its user and a project whose runs take several seconds."""
    db = Database(database_url)
    db.upgrade()
    with db.session() as session:
        client = projects.add_client(session, "Bakkerij Browser")
        projects.add_project(session, "Andere site", client)
        project = projects.add_project(session, "Demo bakkerij", client)
        project.writer_settings = {"section_delay_seconds": SECTION_DELAY_SECONDS}
        project.target_words = 600
        keywords.add_keywords(
            session,
            project.id,
            [keywords.PlannedKeyword(f"zuurdesem tip {i}", 10 - i) for i in range(8)],
        )
        accounts.create_user(session, EMAIL, PASSWORD, client=client)
        project_id = project.id
    db.dispose()
    return project_id


def _spawn(args: list[str], env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "autopilot", *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def start_site(tmp: Path, *, embedded_worker: bool) -> Site:
    database_url = f"sqlite:///{tmp / 'autopilot.db'}"
    project_id = seed(database_url)
    port = free_port()
    env = {
        **os.environ,
        "AUTOPILOT_DATABASE_URL": database_url,
        "AUTOPILOT_DATA_DIR": str(tmp),
        "AUTOPILOT_SECRET_KEY": "browser-tests-secret-key-0123456789abcdef",
        "AUTOPILOT_HEARTBEAT_SECONDS": "0.5",
        "AUTOPILOT_LEASE_SECONDS": "3",
        "AUTOPILOT_REAP_INTERVAL_SECONDS": "0.5",
        "AUTOPILOT_POLL_SECONDS": "0.2",
        "AUTOPILOT_RETRY_BASE_SECONDS": "60",
        "AUTOPILOT_SHUTDOWN_GRACE_SECONDS": "1",
    }
    args = ["serve", "--port", str(port)]
    if not embedded_worker:
        args.append("--no-worker")
    site = Site(
        f"http://127.0.0.1:{port}",
        database_url,
        project_id,
        env,
        [_spawn(args, env, "serve")],
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{site.url}/healthz", timeout=1).status_code == 200:
                return site
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or site.processes[0].poll() is not None:
            site.stop()
            raise RuntimeError("autopilot serve did not come up; see serve.log")
        time.sleep(0.2)
