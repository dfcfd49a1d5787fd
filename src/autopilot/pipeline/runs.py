"""Starting autopilot runs: what the portal's button and ``autopilot run`` do."""

from __future__ import annotations

from autopilot.db import Database
from autopilot.jobs import queue
from autopilot.settings import Settings

RUN_KIND = "autopilot.run"


def request_run(db: Database, settings: Settings, project_id: int) -> queue.Enqueued:
    """Start a project's run now ("Nu uitvoeren").

    Creates the run, or moves the project's pending run to now. Raises
    :class:`autopilot.jobs.queue.ActiveJobConflict` while one is running.
    """
    return queue.run_now(db, RUN_KIND, project_id, max_attempts=settings.max_attempts)
