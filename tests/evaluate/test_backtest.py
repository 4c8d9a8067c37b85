"""Backtests: origins use only past data, a killed run resumes only the missing origins, and an
external dask.distributed scheduler gives the same scores as the default local cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.core.periods import parse_quarter
from forecast.evaluate.backtest import (
    FIT_TIME_COLUMNS,
    GATE_COLUMNS,
    BacktestError,
    backtest_config,
    choose_origins,
    load_scores,
    relative_crps,
    truncate,
    without_link,
)
from forecast.evaluate.backtest_run import local_layout, run_backtest
from forecast.ingest.panel import save_panel

FORECAST = str(Path(sys.executable).parent / "forecast")
TINY = dict(draws=30, tune=30, chains=1, horizon=1)


@pytest.fixture(scope="module")
def panel_file(small_sim, tmp_path_factory):
    return save_panel(small_sim, tmp_path_factory.mktemp("bt") / "panel.nc")


def test_origins_leave_the_horizon_inside_the_panel(small_panel):
    periods = small_panel.indexes["period"]  # 2012Q2-2016Q1
    assert choose_origins(periods, 3, 2) == ["2015Q1", "2015Q2", "2015Q3"]
    with pytest.raises(BacktestError, match="too short"):
        choose_origins(periods, 3, 2, min_train=14)
    with pytest.raises(BacktestError, match="needs 4 recorded quarters after it"):
        backtest_config(small_panel, origins=("2015Q4",), horizon=4)


def test_local_cluster_keeps_every_core_busy():
    # origins outnumber cores: one core per fit, one worker per core (2 cores, 8 origins: 2 x 1)
    assert local_layout(8, chains=4, cpus=2) == (2, 1)
    assert local_layout(8, chains=4, cpus=16) == (8, 2)
    # few origins: a fit's chains share the cores, never more cores than chains
    assert local_layout(1, chains=4, cpus=2) == (1, 2)
    assert local_layout(2, chains=4, cpus=16) == (2, 4)
    assert local_layout(3, chains=1, cpus=2) == (2, 1)
    assert local_layout(5, chains=4, cpus=1) == (1, 1)


def test_truncation_keeps_only_data_known_at_the_origin(small_panel):
    cut = truncate(small_panel, parse_quarter("2014Q4"))
    assert str(cut.indexes["period"][-1]) == "2014Q4"
    assert cut.attrs == small_panel.attrs  # the break register travels with it


def test_killed_backtest_resumes_only_the_missing_origins(panel_file, tmp_path):
    out = tmp_path / "bt"
    args = [FORECAST, "backtest", str(panel_file), "--out", str(out), "--origins", "3",
            "--horizon", "1", "--draws", "30", "--tune", "30", "--chains", "1",
            "--models", "model,seasonal_naive"]  # fmt: skip
    proc = subprocess.Popen(args, start_new_session=True, stdout=subprocess.PIPE, text=True)
    first = None
    deadline = time.time() + 600  # a hang guard, not a speed target (shared machines)
    while time.time() < deadline and proc.poll() is None:
        files = list((out / "origins").glob("*.parquet"))
        if files:
            first = files[0]
            break
        time.sleep(0.2)
    assert first is not None, "no origin finished before the deadline"
    os.killpg(proc.pid, signal.SIGKILL)  # kill the run and its Dask workers mid-way
    proc.wait()
    finished = {f.name: f.stat().st_mtime_ns for f in (out / "origins").glob("*.parquet")}
    assert 1 <= len(finished) < 3
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=1200)
    assert rerun.returncode == 0, rerun.stderr
    after = {f.name: f.stat().st_mtime_ns for f in (out / "origins").glob("*.parquet")}
    assert len(after) == 3
    assert all(after[name] == mtime for name, mtime in finished.items())  # not redone
    assert rerun.stdout.count("scored") == 3 - len(finished)
    scores = load_scores(out)
    assert set(scores["origin"]) == {"2015Q2", "2015Q3", "2015Q4"}
    assert set(scores["model"]) == {"default", "seasonal_naive"}
    assert (out / "scores_summary.csv").exists() and (out / "pit.png").exists()
    # each origin's fit is recorded with its gates; one chain of 30 draws has no R-hat: flagged
    gates = pd.read_csv(out / "origin_gates.csv")
    assert list(gates.columns) == ["model", "origin", *GATE_COLUMNS]
    assert gates["origin"].tolist() == ["2015Q2", "2015Q3", "2015Q4"]
    assert set(gates["model"]) == {"default"} and not gates["fit_gates_passed"].any()
    assert (gates["fit_min_ess_bulk"] > 0).all() and (gates["fit_divergences"] >= 0).all()
    # and how long it took: sampling is part of the fit's wall time (compile included)
    assert (gates["fit_sampling_seconds"] > 0).all()
    assert (gates["fit_wall_seconds"] >= gates["fit_sampling_seconds"]).all()
    assert rerun.stdout.count("fit failed its gates: default 2015Q") == 3
    # a rerun with other settings into the same directory is refused
    other = subprocess.run([*args[:-1], "model"], capture_output=True, text=True, timeout=60)
    assert other.returncode == 1 and "holds a backtest with other settings" in other.stderr


def test_external_scheduler_gives_the_same_scores(panel_file, small_panel, tmp_path):
    config = backtest_config(
        small_panel, origins=("2015Q4",), models=("model", "seasonal_naive"), **TINY
    )
    local = run_backtest(panel_file, config, tmp_path / "local")
    code = (
        "from distributed import LocalCluster; import time\n"
        'c = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0")\n'
        "print(c.scheduler_address, flush=True)\n"
        "time.sleep(600)\n"
    )
    cluster = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        address = cluster.stdout.readline().strip()
        assert address.startswith("tcp://")
        remote = run_backtest(panel_file, config, tmp_path / "remote", scheduler=address)
    finally:
        os.killpg(cluster.pid, signal.SIGKILL)
    key = ["model", "area", "outcome", "horizon"]
    a, b = (
        x.sort_values(key).reset_index(drop=True).drop(columns=list(FIT_TIME_COLUMNS))
        for x in (local, remote)
    )
    pd.testing.assert_frame_equal(a, b)
    assert np.isfinite(a["crps"]).all()


def test_no_link_comparison_is_the_same_spec_without_the_link():
    from forecast.spec import load_spec

    spec = load_spec("realdata")
    plain = without_link(spec)
    assert plain.availability.kind == "none" and plain.name == "no_link"
    same = ("trend", "observations", "force_effects", "seasonality", "likelihood", "intercept")
    for part in same:
        assert getattr(plain, part) == getattr(spec, part), part
    assert plain.trend.regional == spec.trend.regional


def test_scaled_crps_weighs_every_series_alike_where_the_ratio_of_means_follows_the_largest():
    rows = []
    for origin in ("2020Q1", "2020Q2"):
        for area, crps_model, crps_ref in (
            ("Metropolitan Police", 200.0, 100.0),
            ("Dyfed-Powys", 1.0, 4.0),
        ):
            for model, crps in (("m", crps_model), ("seasonal_naive", crps_ref)):
                rows.append(
                    {
                        "model": model,
                        "origin": origin,
                        "area": area,
                        "area_level": "force",
                        "outcome": "robbery",
                        "horizon": 1,
                        "crps": crps,
                    }
                )
    table = relative_crps(pd.DataFrame(rows), "seasonal_naive").set_index("model")
    assert table.loc["m", "relative_crps"] == pytest.approx(201.0 / 104.0)
    assert table.loc["m", "scaled_crps"] == pytest.approx((2.0 + 0.25) / 2)
    assert table.loc["seasonal_naive", "scaled_crps"] == pytest.approx(1.0)
