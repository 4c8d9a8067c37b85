"""A Ctrl-C whose KeyboardInterrupt Python swallowed still stops every output from being put in place."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from forecast.core import interrupts
from forecast.core.io import write_atomic
from forecast.core.transaction import output_folder


@pytest.fixture
def installed():
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    old_hook = sys.unraisablehook
    interrupts.install()
    yield
    for s, h in old.items():
        signal.signal(s, h)
    sys.unraisablehook = old_hook
    interrupts._SEEN.clear()


def _swallowed(sig):
    try:
        os.kill(os.getpid(), sig)
        time.sleep(1)  # the handler runs here
        raise AssertionError("the signal did not arrive")
    except KeyboardInterrupt:
        pass  # what "Exception ignored in ..." amounts to


def test_no_file_is_written_after_a_swallowed_ctrl_c(installed, tmp_path):
    assert interrupts.pending() is None
    _swallowed(signal.SIGINT)
    assert interrupts.pending() == "interrupted"
    with pytest.raises(KeyboardInterrupt, match="interrupted"):
        write_atomic(tmp_path / "a.txt", lambda p: p.write_text("x"))
    assert list(tmp_path.iterdir()) == []


def test_no_folder_is_committed_after_a_swallowed_sigterm(installed, tmp_path):
    target = tmp_path / "out"
    _swallowed(signal.SIGTERM)
    with (
        pytest.raises(KeyboardInterrupt, match="stopped by SIGTERM"),
        output_folder(target, "test") as staging,
    ):
        (staging / "a.csv").write_text("x\n")
    assert not target.exists()


_CALLBACK = """
import gc, os, signal, sys, time
from forecast.core import interrupts
interrupts.install()
class Finaliser:
    def __del__(self):
        {body}
obj = Finaliser()
del obj
gc.collect()
print(interrupts.pending())
"""
_INTERRUPT = "os.kill(os.getpid(), signal.SIGINT); time.sleep(1)"  # raises inside __del__


def _run_finaliser(body: str) -> subprocess.CompletedProcess:
    code = _CALLBACK.format(body=body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_an_interrupt_swallowed_in_a_callback_is_not_printed_but_is_kept():
    out = _run_finaliser(_INTERRUPT)
    assert out.stderr == ""
    assert out.stdout.strip() == "interrupted"


def test_other_swallowed_errors_are_still_reported():
    out = _run_finaliser("raise ValueError('broken finaliser')")
    assert "Exception ignored" in out.stderr and "broken finaliser" in out.stderr
    assert out.stdout.strip() == "None"


_LONG_RUN = """
import os, signal, time
from forecast.core.errors import Interrupted
from forecast.sampling_guard import watch_interrupts
class Finaliser:  # like numba's compile callbacks: an exception raised inside is dropped
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT); time.sleep(1)
start = time.monotonic()
try:
    with watch_interrupts():
        obj = Finaliser()
        del obj
        while time.monotonic() - start < 30:  # the long sampling run that follows
            time.sleep(0.05)
    print("finished")
except Interrupted as exc:
    print(f"{exc} after {time.monotonic() - start:.0f} s")
"""


def test_a_ctrl_c_dropped_while_the_model_compiles_still_stops_the_sampling_promptly():
    out = subprocess.run(
        [sys.executable, "-c", _LONG_RUN], capture_output=True, text=True, timeout=60
    )
    message, _, seconds = out.stdout.strip().rpartition(" after ")
    assert message == "sampling stopped by Ctrl-C", out
    assert int(seconds.removesuffix(" s")) < 10  # not the 30 s the run would take
