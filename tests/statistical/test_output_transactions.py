"""Issue 19 with real sampling in separate processes (slow): Ctrl-C during a long fit, two fits into
one folder at once, and byte-identical reruns whatever the compile cache holds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from forecast.core.transaction import MARKER, output_folder, read_marker
from forecast.ingest.panel import save_panel

pytestmark = pytest.mark.slow
FORECAST = str(Path(sys.executable).parent / "forecast")
QUIET = [FORECAST, "--quiet"]
SHORT = ["--draws", "40", "--tune", "40", "--chains", "2"]


def default_sigint() -> None:
    """In the child: Ctrl-C as a terminal would deliver it (a background shell job ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def panel_file(small_sim, tmp_path_factory):
    return save_panel(small_sim, tmp_path_factory.mktemp("tx") / "panel.nc")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_sigint_during_a_long_fit_exits_non_zero_and_keeps_the_earlier_output(panel_file, tmp_path):
    out = tmp_path / "fit"
    with output_folder(out, "fit") as stage:
        for name in ("fit.nc", "diagnostics.csv", "effects.csv"):
            (stage / name).write_text(f"the earlier {name}")
    before = snapshot(out)
    args = [*QUIET, "fit", str(panel_file), "--out", str(out), "--force", "--draws", "200000",
            "--tune", "200", "--chains", "2"]  # fmt: skip
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,  # a shell's background job would ignore Ctrl-C otherwise
    )
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob(".fit.tmp-*")):
        time.sleep(0.2)
    time.sleep(30)  # past the compilation, well inside 200,000 draws
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    lines = stderr.strip().splitlines()  # PyMC's own "NUTS[nutpie]: [...]" line comes first
    assert (
        lines[-1] == "error: sampling stopped by Ctrl-C: stopped; no output was written or changed"
    )
    assert "Traceback" not in stderr
    assert "fit written" not in stdout
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit"]


def test_two_fits_into_one_folder_at_once_end_with_one_consistent_set(panel_file, tmp_path):
    from forecast.fit import load_fit
    from forecast.posterior import effects_table

    out = tmp_path / "fit"
    procs = {
        seed: subprocess.Popen(
            [*QUIET, "fit", str(panel_file), "--out", str(out), "--seed", str(seed), *SHORT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    }
    results = {seed: (p.wait(timeout=600), p.stderr.read()) for seed, p in procs.items()}
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, 1], results
    winner = next(seed for seed, (code, _) in results.items() if code == 0)
    loser_err = next(err for code, err in results.values() if code == 1)
    assert "is being written by another forecast run" in loser_err
    assert set(snapshot(out)) == {MARKER, "fit.nc", "diagnostics.csv", "effects.csv"}
    assert read_marker(out) == dict.fromkeys(("diagnostics.csv", "effects.csv", "fit.nc"), "fit")
    tree = load_fit(out / "fit.nc")
    assert int(tree.attrs["seed"]) == winner
    written = pd.read_csv(out / "effects.csv")
    pd.testing.assert_frame_equal(written, effects_table(tree), check_exact=False, rtol=1e-12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit"]


POPULATE = """
import importlib, sys
import nutpie
from forecast.model import build_model
from forecast.ingest.panel import load_panel
from forecast.spec import load_spec
model, _ = build_model(load_panel(sys.argv[1]), load_spec("default"))
with importlib.import_module("forecast.fit")._generated_source_dir():  # as a fit compiles
    nutpie.compile_pymc_model(model, backend="numba")  # fills pytensor's numba cache
"""


def test_same_seed_gives_byte_identical_tables_whatever_the_compile_cache_holds(
    panel_file, tmp_path
):
    full, empty = tmp_path / "full-cache", tmp_path / "empty-cache"
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={full}")
    subprocess.run([sys.executable, "-c", POPULATE, str(panel_file)], env=env, check=True)
    assert list((full / "numba").glob("*.nbc"))  # compiled kernels are cached there
    outs = {}
    for name, cache in (("full", full), ("empty", empty)):
        env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={cache}")
        outs[name] = tmp_path / name
        args = [*QUIET, "fit", str(panel_file), "--out", str(outs[name]), "--seed", "5", *SHORT]
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    for table in ("effects.csv", "diagnostics.csv"):
        assert (outs["full"] / table).read_bytes() == (outs["empty"] / table).read_bytes(), table
