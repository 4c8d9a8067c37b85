"""Issue 19: no command loses a user's files, reports success on a partial result or mixes two runs;
odd inputs end with one line, never a traceback. Each test fails on the code before the fix."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from forecast.cli.app import app
from forecast.core.outlock import output_lock
from forecast.core.transaction import MARKER, output_folder
from forecast.ingest.panel import save_panel

runner = CliRunner()
FIT_MODULE = importlib.import_module("forecast.fit")  # `forecast.fit` is the function
FORECAST = str(Path(sys.executable).parent / "forecast")


def default_sigint() -> None:
    """In the child: Ctrl-C as a terminal would deliver it (a background shell job ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def one_error_line(result, text: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output + result.stderr
    assert result.stderr.strip().splitlines() == [f"error: {text}"], result.stderr
    assert "Traceback" not in result.output + result.stderr


def earlier_output(out: Path, command: str, files: dict[str, str]) -> dict[str, bytes]:
    with output_folder(out, command) as stage:
        for name, text in files.items():
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).write_text(text)
    return snapshot(out)


@pytest.fixture(scope="module")
def panel_file(small_sim, tmp_path_factory):
    return save_panel(small_sim, tmp_path_factory.mktemp("safety") / "panel.nc")


# --- publish deletes what DIR already holds; --out FILE; --out . ----------------------------------


def test_publish_into_a_folder_with_a_user_file_leaves_it_untouched(panel_file, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my own notes")
    res = run("publish", "--panel", panel_file, "--period", "2016Q1", "--out", out, "--spec",
              "default", "--draws", 20, "--tune", 20, "--chains", 1)  # fmt: skip
    one_error_line(
        res,
        f"{out} holds files forecast did not write (notes.txt): choose a new or empty --out, "
        "or pass --force to write beside them (they are kept)",
    )
    assert snapshot(out) == {"notes.txt": b"my own notes"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_publish_to_a_file_or_to_dot_fails_with_one_line(panel_file, tmp_path, monkeypatch):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    res = run("publish", "--panel", panel_file, "--period", "2016Q1", "--out", target)
    one_error_line(res, f"{target} is a file, not a folder: name a folder for the outputs")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.txt"]
    monkeypatch.chdir(tmp_path)
    res = run("publish", "--panel", panel_file, "--period", "2016Q1", "--out", ".")
    assert res.exit_code == 1 and "holds files forecast did not write" in res.stderr
    assert "Traceback" not in res.output + res.stderr
    assert target.read_text() == "keep me"


# --- Ctrl-C while sampling: exit 0, "fit written", NaN-padded chains ------------------------------


def _nan_padded(tree):
    """The tree nutpie returns when stopped: every chain padded with NaN after some draws."""
    bad = tree.copy(deep=True)
    post = bad["posterior"].to_dataset()
    for name in post.data_vars:
        values = post[name].values.astype(float)
        values[:, 20:] = np.nan
        post[name] = (post[name].dims, values)
    bad["posterior"] = post
    return bad


def test_ctrl_c_during_sampling_exits_non_zero_and_writes_nothing(
    panel_file, tiny_fit, tmp_path, monkeypatch
):
    out = tmp_path / "fit"
    before = earlier_output(out, "fit", {"fit.nc": "good fit", "effects.csv": "good"})

    def interrupted_sampler(model, sampler, progress, cores):
        try:  # nutpie catches the KeyboardInterrupt and returns what it has, padded with NaN
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            return _nan_padded(tiny_fit)
        raise AssertionError("SIGINT did not arrive")

    monkeypatch.setattr(FIT_MODULE, "_sample", interrupted_sampler)
    res = run("fit", panel_file, "--out", out, "--force", "--draws", 60, "--chains", 2)
    one_error_line(
        res, "sampling stopped by Ctrl-C: stopped; no output was written or changed", code=130
    )
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit"]


def test_a_nan_padded_trace_is_refused_even_without_a_signal(
    panel_file, tiny_fit, tmp_path, monkeypatch
):
    monkeypatch.setattr(FIT_MODULE, "_sample", lambda *a: _nan_padded(tiny_fit))
    res = run("fit", panel_file, "--out", tmp_path / "fit", "--draws", 60, "--chains", 2)
    assert res.exit_code == 1 and "NaN or infinite value(s)" in res.stderr
    assert not (tmp_path / "fit").exists()


def test_fits_compile_without_fastmath_and_leave_no_temp_files():
    import pytensor

    from forecast.fit import _generated_source_dir

    before = (pytensor.config.numba__fastmath, pytensor.config.generated_src_dir)
    with _generated_source_dir():
        assert pytensor.config.numba__fastmath is False
        assert "forecast-generated-src" in pytensor.config.generated_src_dir
    assert (pytensor.config.numba__fastmath, pytensor.config.generated_src_dir) == before


def test_the_fit_cache_stores_only_complete_fits_and_refits_a_bad_entry(
    tiny_fit, tmp_path, monkeypatch
):
    from forecast.core.errors import Interrupted
    from forecast.fit import fit_panel, fit_spec, save_fit
    from forecast.fit_cache import fit_key, fit_or_reuse
    from forecast.ingest.panel import panel_hash

    panel = fit_panel(tiny_fit)
    spec = fit_spec(tiny_fit)
    sampler = spec.sampler.model_copy(update={"draws": 60, "tune": 60, "chains": 2})
    spec = spec.model_copy(update={"sampler": sampler})

    def stopped(*args, **kwargs):
        raise Interrupted("sampling stopped by Ctrl-C")

    monkeypatch.setattr(FIT_MODULE, "fit", stopped)
    with pytest.raises(Interrupted):
        fit_or_reuse(panel, spec, tmp_path, progress=False)
    assert not list(tmp_path.rglob("*.nc"))  # nothing cached
    entry = tmp_path / "fits" / fit_key(spec, panel_hash(panel)) / "fit.nc"
    save_fit(_nan_padded(tiny_fit), entry)  # a partial fit cached by the old code
    monkeypatch.setattr(FIT_MODULE, "fit", lambda *a, **k: tiny_fit)
    tree, reused, notes = fit_or_reuse(panel, spec, tmp_path, progress=False)
    assert not reused and tree is tiny_fit
    assert len(notes) == 1 and notes[0].startswith("cached fit not reused, refitting: ")
    assert "NaN or infinite" in notes[0]
    tree, reused, notes = fit_or_reuse(panel, spec, tmp_path, progress=False)  # now valid
    assert reused and notes == []


# --- files atomic one by one, never as a set; two runs into one folder ----------------------------


def test_a_second_run_into_a_folder_being_written_fails_with_one_line(panel_file, tmp_path):
    out = tmp_path / "fit"
    before = earlier_output(out, "fit", {"fit.nc": "run A", "effects.csv": "run A"})
    with output_lock(out.resolve()):  # run A is still writing
        res = run("fit", panel_file, "--out", out, "--force", "--draws", 20, "--chains", 1)
    one_error_line(
        res,
        f"{out.resolve()} is being written by another forecast run (pid {os.getpid()}): wait "
        "for it to finish, or choose another --out",
    )
    assert snapshot(out) == before


def test_predict_force_replaces_the_whole_set_or_nothing(tiny_fit_path, tmp_path, monkeypatch):
    out = tmp_path / "fc"
    first = run("predict", tiny_fit_path, "--out", out, "--horizon", 1, "--charts", "national")
    assert first.exit_code == 0, first.stderr
    before = snapshot(out)
    assert set(before) == {MARKER, "forecast.csv", "forecast.parquet", "predictions.nc", "fan_chart.png"}  # fmt: skip

    def crash(*args, **kwargs):
        raise OSError("disk full")  # after forecast.csv and .parquet were written

    monkeypatch.setattr("forecast.outputs.pipeline.save_predictions", crash)
    res = run("predict", tiny_fit_path, "--out", out, "--horizon", 2, "--force")
    one_error_line(res, "disk full")
    assert snapshot(out) == before  # not a new forecast.csv beside the old draws


# --- destructive work before validation ----------------------------------------------------------


def test_backtest_force_with_a_bad_spec_deletes_nothing(panel_file, tmp_path):
    out = tmp_path / "bt"
    before = earlier_output(
        out, "backtest", {"backtest.json": "{}", "origins/2015Q4.parquet": "scores"}
    )
    res = run("backtest", panel_file, "--out", out, "--force", "--spec", "nonexistent_spec")
    assert res.exit_code == 1 and "nonexistent_spec" in res.stderr
    assert "Traceback" not in res.output + res.stderr
    assert snapshot(out) == before


def test_backtest_does_not_write_into_a_folder_it_does_not_own(panel_file, tmp_path):
    out = tmp_path / "bt"
    out.mkdir()
    (out / "scores_summary.csv").write_text("my own table")
    res = run("backtest", panel_file, "--out", out, "--origins", 1, "--horizon", 1)
    assert (
        res.exit_code == 1
        and "holds files forecast did not write (scores_summary.csv)" in res.stderr
    )
    assert snapshot(out) == {"scores_summary.csv": b"my own table"}


def test_predict_force_with_a_huge_horizon_changes_nothing(tiny_fit_path, tmp_path):
    out = tmp_path / "fc"
    before = earlier_output(out, "predict", {"forecast.csv": "earlier"})
    res = run("predict", tiny_fit_path, "--out", out, "--force", "--horizon", 10000)
    one_error_line(res, "--horizon 10000: choose 1 to 40 quarters ahead")
    assert snapshot(out) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--origins", "0"], "--origins 0: give at least 1 origin"),
        (["--horizon", "0"], "--horizon 0: choose 1 to 40 quarters ahead"),
        (["--models", "model,prophet"], "--models: unknown ['prophet']; choose from model, "
         "no_link, seasonal_naive, ets"),
        (["--scheduler", "nonsense://x"], "--scheduler 'nonsense://x': give the address of a "
         "running dask scheduler, tcp://HOST:PORT"),
    ],
)  # fmt: skip
def test_backtest_arguments_are_checked_first(panel_file, tmp_path, args, message):
    res = run("backtest", panel_file, "--out", tmp_path / "bt", *args)
    one_error_line(res, message)
    assert not (tmp_path / "bt").exists()


def test_simulate_periods_zero_fails_with_one_line(tmp_path):
    res = run("simulate", tmp_path / "p.nc", "--periods", 0)
    one_error_line(
        res, "--periods 0 --holdout 0: simulate 2 to 400 quarters, with 0 to 400 held out"
    )
    assert list(tmp_path.iterdir()) == []


# --- quietly wrong -------------------------------------------------------------------------------


def test_a_fit_whose_spec_text_no_longer_matches_its_hash_is_refused(tiny_fit, tmp_path):
    from forecast.fit import save_fit

    edited = tiny_fit.copy()
    edited.attrs = dict(tiny_fit.attrs)
    text = edited.attrs["spec_toml"]
    assert "log_sd = 1.0\n" in text
    edited.attrs["spec_toml"] = text.replace(
        "log_sd = 1.0\n", "log_sd = 9.0\n", 1
    )  # edited by hand
    path = save_fit(edited, tmp_path / "fit.nc")
    res = run("summary", path)
    assert res.exit_code == 1
    assert "the stored spec text does not match its hash" in res.stderr


def test_a_nan_or_inf_in_the_posterior_is_one_line(tiny_fit, tmp_path):
    from forecast.fit import save_fit

    bad = tiny_fit.copy(deep=True)
    post = bad["posterior"].to_dataset()
    values = post["availability_beta"].values.copy()
    values.flat[0] = np.inf
    post["availability_beta"] = (post["availability_beta"].dims, values)
    bad["posterior"] = post
    path = save_fit(bad, tmp_path / "fit.nc")
    res = run("predict", path, "--out", tmp_path / "fc")
    one_error_line(
        res,
        f"{path}: the posterior of availability_beta has 1 NaN or infinite value(s): the sampling "
        "was interrupted or failed; refit",
    )


# --- tracebacks for odd inputs -------------------------------------------------------------------


def test_odd_input_files_give_one_line(tmp_path, small_panel):
    from forecast.ingest.panel import panel_to_frame

    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    one_error_line(run("data", "ingest", deep, "--out", tmp_path / "p.nc"),
                   f"{deep}: not a usable TOML file (nested too deeply)")  # fmt: skip
    res = run("fit", tmp_path / "x.csv", "--out", tmp_path / "f", "--spec", deep)
    one_error_line(res, f"{deep}: not a usable TOML file (nested too deeply)")
    latin = tmp_path / "latin1.toml"
    latin.write_bytes('vintage = "caf\xe9"\n'.encode("latin-1"))
    one_error_line(run("data", "ingest", latin, "--out", tmp_path / "p.nc"),
                   f"{latin}: not UTF-8 text (byte 14): save it as UTF-8 TOML")  # fmt: skip
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    for pattern, text in (("loop1", "cannot be resolved"), ("/etc/*.conf", "is absolute")):
        manifest = tmp_path / "m.toml"
        manifest.write_text(
            f'vintage = "x"\n[[source]]\nkind = "ho_prc_offence_codes"\npath = "{pattern}"\n'
        )
        res = run("data", "ingest", manifest, "--out", tmp_path / "p.nc")
        assert res.exit_code == 1 and text in res.stderr and "Traceback" not in res.stderr
    lines = panel_to_frame(small_panel).to_csv(index=False).splitlines()
    lines[1] += ",99"
    extra = tmp_path / "extra.csv"
    extra.write_text("\n".join(lines) + "\n")
    n = len(lines[0].split(","))
    one_error_line(run("data", "check", extra),
                   f"{extra}, row 2: more fields than the {n} columns of the header: remove the "
                   "extra field (a stray comma?)")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "deep.toml", "extra.csv", "latin1.toml", "loop1", "loop2", "m.toml"
    ]  # fmt: skip


def test_a_zip_bomb_workbook_is_refused_at_once(tmp_path):
    from forecast.core.errors import DataError
    from forecast.ingest.ho_prc import read_ho_prc
    from forecast.ingest.ons_xlsx import read_ons_p1_xlsx

    bomb = tmp_path / "tables.xlsx"
    block = b" " * (1 << 20)
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z,
        z.open("xl/worksheets/sheet1.xml", "w") as f,
    ):
        for _ in range(300):
            f.write(block)
    assert bomb.stat().st_size < 2 << 20
    for reader in (read_ons_p1_xlsx, read_ho_prc):
        start = time.perf_counter()
        with pytest.raises(DataError, match="expands to 300 MB, over the 256 MB limit"):
            reader(bomb)
        assert time.perf_counter() - start < 2


def test_error_lines_cut_long_values(tiny_fit_path, tmp_path):
    huge = "x" * 1_000_000
    res = run("predict", tiny_fit_path, "--out", tmp_path / "fc", "--charts", huge)
    assert res.exit_code == 1 and "characters cut" in res.stderr
    assert len(res.stderr) < 600


def test_ctrl_c_during_imports_is_one_line(tmp_path):
    for delay in (0.3, 0.8):
        proc = subprocess.Popen(
            [FORECAST, "simulate", str(tmp_path / "p.nc")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,  # a shell's background job would ignore Ctrl-C otherwise
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0, (delay, err)
        assert "Traceback" not in err, (delay, err)
        assert len(err.strip().splitlines()) <= 1, (delay, err)
        assert not (tmp_path / "p.nc").exists()
