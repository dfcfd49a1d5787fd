"""The ``autopilot`` command, but the process dies right after its first publish.

Usage: ``python tests/crash_after_publish.py worker ...``. The publisher of
every run is wrapped so that, once the real publish call has returned (the
file written, the webhook delivered, the post created), the process kills
itself with SIGKILL: before the run's checkpoint records the publication.
That is the worst moment for a worker to die; the crash tests check that the
retry still leaves exactly one post.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import autopilot.pipeline.run as run_module
from autopilot.cli import main
from autopilot.pipeline.publishers import make_publisher
from autopilot.pipeline.types import ArticleToPublish, Published, Publisher

CRASH_MARKER = "crash_after_publish: published, now killing myself"


class DieAfterPublish:
    """A publisher that publishes for real, then kills its own process."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.name = inner.name

    def publish(self, article: ArticleToPublish) -> Published:
        published = self.inner.publish(article)
        print(f"{CRASH_MARKER} ({published.remote_id})", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        return published


def make_dying_publisher(*args: Any, **kwargs: Any) -> Publisher:
    return DieAfterPublish(make_publisher(*args, **kwargs))


if __name__ == "__main__":
    setattr(run_module, "make_publisher", make_dying_publisher)  # noqa: B010
    sys.argv[0] = "autopilot"
    main()
