"""Ctrl-C and SIGTERM that cannot be lost: the console script records every signal, so that an
interrupt Python swallowed (one raised inside a garbage-collector callback during an import is only
printed as "Exception ignored") still stops the run before it writes or replaces any output."""

from __future__ import annotations

import signal
import sys

_SEEN: list[int] = []
_WHY = {signal.SIGINT: "interrupted", signal.SIGTERM: "stopped by SIGTERM"}


def _record(signum, frame):
    _SEEN.append(signum)
    raise KeyboardInterrupt(_WHY.get(signum, "interrupted"))


def _quiet_unraisable(unraisable) -> None:
    """Keep a swallowed interrupt silent (it is recorded and acted on); report anything else as usual."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _SEEN:
        return
    sys.__unraisablehook__(unraisable)


def install() -> None:
    """Record SIGINT and SIGTERM and raise KeyboardInterrupt for both (the command line's setting);
    an interrupt swallowed in a callback is not printed as "Exception ignored" but still stops the run."""
    for s in _WHY:
        signal.signal(s, _record)
    sys.unraisablehook = _quiet_unraisable


def pending() -> str | None:
    """Why the run was stopped, if a signal arrived since :func:`install`; else None."""
    return _WHY.get(_SEEN[0], "interrupted") if _SEEN else None


def stop_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a signal arrived, even one whose exception was swallowed: called
    just before an output is put in place."""
    why = pending()
    if why is not None:
        raise KeyboardInterrupt(why)
