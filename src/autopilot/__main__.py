"""``python -m autopilot``: the same command line as the ``autopilot`` script."""

from __future__ import annotations

from autopilot.cli import main

if __name__ == "__main__":
    main()
