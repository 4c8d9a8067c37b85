"""What keeps a stopped or broken sampler run from passing for a fit.

nutpie answers Ctrl-C by returning the draws it has, padded with NaN; :func:`watch_interrupts`
notes the signal so the caller can refuse that result, and :func:`check_complete` refuses any
posterior with missing draws or non-finite values (the same check guards fits read from disk).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import xarray as xr

from forecast.core.errors import DataError, Interrupted

_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
RESEND_SECONDS = 2.0  # how often a recorded signal is sent again while the block runs


@contextmanager
def watch_interrupts() -> Iterator[list[int]]:
    """Record SIGINT/SIGTERM (and raise KeyboardInterrupt, as Python does) while sampling; after the
    block, raise :class:`Interrupted` if one arrived, even when the sampler swallowed it. Until the
    block ends the signal is sent again every RESEND_SECONDS: one raised inside a callback that
    drops exceptions (numba compiling the model) would otherwise leave the whole run going."""
    hits: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield hits  # signals reach only the main thread (e.g. on a Dask worker)
        return
    done = threading.Event()
    resender = threading.Thread(target=_resend, args=(hits, done), daemon=True)

    def handler(signum, frame):
        hits.append(signum)
        if done.is_set():  # a re-sent signal arriving as the block ends: recorded, not raised
            return
        if len(hits) == 1:  # the first signal starts the re-sending
            resender.start()
        raise KeyboardInterrupt

    old = {s: signal.signal(s, handler) for s in _NAMES}
    try:
        yield hits
    except KeyboardInterrupt:
        if not hits:
            hits.append(signal.SIGINT)
    finally:
        done.set()
        if resender.is_alive():
            resender.join()
        for s, h in old.items():
            signal.signal(s, h)
    if hits:
        raise Interrupted(f"sampling stopped by {_NAMES.get(hits[0], 'a signal')}")


def _resend(hits: list[int], done: threading.Event) -> None:
    """Send the first recorded signal to this process again until `done` is set."""
    while not done.wait(RESEND_SECONDS):
        os.kill(os.getpid(), hits[0])


def check_complete(
    tree: xr.DataTree, where: str, chains: int | None = None, draws: int | None = None
) -> None:
    """Refuse a posterior with fewer chains or draws than asked, or with NaN or infinite values."""
    post = tree["posterior"].to_dataset() if "posterior" in tree.children else None
    if post is None or not post.data_vars:
        raise DataError(f"{where}: the fit has no posterior draws; refit")
    got_c, got_d = post.sizes.get("chain", 0), post.sizes.get("draw", 0)
    if (chains and got_c != chains) or (draws and got_d != draws):
        raise DataError(
            f"{where}: incomplete fit ({got_c} chains x {got_d} draws, asked for "
            f"{chains or got_c} x {draws or got_d}); refit"
        )
    for name, var in post.data_vars.items():
        values = np.asarray(var.values)
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            bad = int(values.size - np.isfinite(values).sum())
            raise DataError(
                f"{where}: the posterior of {name} has {bad} NaN or infinite value(s): the "
                "sampling was interrupted or failed; refit"
            )
