"""The `forecast` console script: imports the command line lazily so that Ctrl-C or SIGTERM at
any moment, imports included, ends with one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import signal
import sys

from forecast.core import interrupts


def main() -> int:
    """Run the command line with SIGTERM handled like Ctrl-C (clean-up runs, nothing is half-done)."""
    interrupts.install()
    try:
        from forecast.cli.app import main as cli_main

        cli_main()
    except KeyboardInterrupt as exc:
        why = str(exc) or "interrupted"
        sys.stderr.write(f"error: {why}: stopped; no output was written or changed\n")
        return 130
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    why = interrupts.pending()
    if why is not None:  # swallowed on the way (e.g. in a callback): never report success
        sys.stderr.write(f"error: {why}: stopped before the command finished\n")
        return 130
    for s in (signal.SIGINT, signal.SIGTERM):  # the work is done and in place: a late Ctrl-C during
        signal.signal(s, signal.SIG_IGN)  # interpreter shutdown must not turn it into a failure
    return 0
