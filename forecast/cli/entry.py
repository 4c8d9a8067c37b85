"""The `forecast` console script: imports the command line lazily so that Ctrl-C or SIGTERM at
any moment, imports included, ends with one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import signal
import sys


def _terminate(signum, frame):
    raise KeyboardInterrupt("stopped by SIGTERM")


def main() -> int:
    """Run the command line with SIGTERM handled like Ctrl-C (clean-up runs, nothing is half-done)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        from forecast.cli.app import main as cli_main

        cli_main()
    except KeyboardInterrupt as exc:
        why = str(exc) or "interrupted"
        sys.stderr.write(f"error: {why}: stopped; no output was written or changed\n")
        return 130
    return 0
