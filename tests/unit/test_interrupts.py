"""A Ctrl-C whose KeyboardInterrupt Python swallowed still stops every output from being put in place."""

from __future__ import annotations

import os
import signal
import time

import pytest

from forecast.core import interrupts
from forecast.core.io import write_atomic
from forecast.core.transaction import output_folder


@pytest.fixture
def installed():
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    interrupts.install()
    yield
    for s, h in old.items():
        signal.signal(s, h)
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
