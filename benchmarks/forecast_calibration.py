"""Forecast calibration: seeded simulated panels with held-out quarters, fitted with a spec, then
forecast `horizon` quarters; prints how often the 50/80/95% central intervals of the forecast draws
cover the held-out counts (judged on the randomised PIT, which is calibrated for counts, and with
inclusive integer bounds, which over-cover small counts), per horizon (pooled over forces,
outcomes and panels) and per outcome, for forces and for England and Wales. It also scores the
forecast's expected counts against the simulator's true expected counts (`latent_pit`): that check
has no count noise in it, so it judges the width of the forecast's mean sharply where few forecasts
back a figure. One row per panel x area x outcome x horizon x level goes to --out (CSV, resumable).

    python benchmarks/forecast_calibration.py --panels 10 --out calibration.csv
    python benchmarks/forecast_calibration.py --panels 10 --shard 1/2 --out cal_1.csv  # in parallel
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import norm

from forecast.evaluate.scores import coverage, pit_coverage, randomised_pit
from forecast.fit import fit, sampler_settings
from forecast.predict import aggregate_areas, predict, project
from forecast.simulate import simulate_panel
from forecast.spec import load_spec

LEVELS = (0.5, 0.8, 0.95)


def one_panel(seed: int, spec, horizon: int, draws: int, tune: int) -> pd.DataFrame:
    sim = simulate_panel(seed=seed, holdout=horizon)
    start = time.perf_counter()
    tree = fit(
        sim["panel"].to_dataset(),
        spec,
        sampler_settings(spec, draws=draws, tune=tune),
        progress=False,
    )
    pred = predict(tree, horizon=horizon, seed=seed)
    seconds = time.perf_counter() - start
    future = sim["future"].to_dataset()
    pred = pred.isel(period=slice(-horizon, None))
    pred["observed"] = future["count"].transpose(*pred["observed"].dims)
    areas = aggregate_areas(pred)
    draws_, truth = area_draws(areas)  # (area, period, outcome, sample), (area, period, outcome)
    pit = randomised_pit(truth, draws_, np.random.default_rng(seed))
    latent = latent_pit(tree, pred, future["expected_count"], horizon, seed)
    rows = []
    for level in LEVELS:
        covered = pit_coverage(pit, level)  # calibrated for counts (randomised PIT)
        inclusive = coverage(truth, draws_, level)  # inclusive integer bounds, as charts show
        for a, area in enumerate(areas["area"].values):
            for t in range(horizon):
                for k, outcome in enumerate(areas["outcome"].values):
                    rows.append(
                        {
                            "seed": seed,
                            "area": area,
                            "area_level": str(areas["area_level"].values[a]),
                            "horizon": t + 1,
                            "outcome": outcome,
                            "level": level,
                            "covered": bool(covered[a, t, k]),
                            "covered_inclusive": bool(inclusive[a, t, k]),
                            "pit": float(pit[a, t, k]),
                            "latent_pit": float(latent[a, t, k]),
                            "seconds": seconds,
                        }
                    )
    return pd.DataFrame(rows)


def latent_pit(
    tree, pred: xr.Dataset, expected: xr.DataArray, horizon: int, seed: int
) -> np.ndarray:
    """(area, horizon, outcome) share of the forecast's expected-count draws below the true
    expected count, summed over forces into regions and England and Wales like the counts."""
    proj = project(tree, horizon, np.random.default_rng([seed, 1]))
    mean = np.exp(proj.log_rate()[:, :, -horizon:, :])  # (sample, force, horizon, outcome)
    ds = pred[["count", "population", "observed"]]
    ds["count"] = (ds["count"].dims, mean.reshape(ds["count"].shape))
    ds["observed"] = expected.transpose(*ds["observed"].dims).assign_coords(ds["observed"].coords)
    draws_, truth = area_draws(aggregate_areas(ds))
    # continuous values: no ties to randomise; (k + 0.5) / (n + 1) keeps the PIT inside (0, 1)
    return ((draws_ < truth[..., None]).sum(-1) + 0.5) / (draws_.shape[-1] + 1)


def area_draws(areas: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The areas' count draws as (area, period, outcome, sample) and their observed values."""
    draws_ = areas["count"].stack(sample=("chain", "draw")).transpose(..., "sample").values
    return draws_, areas["observed"].values


def print_width_check(level_name: str, part: pd.DataFrame) -> None:
    """The sd of the probit of the PIT by horizon: 1 for calibrated intervals, below 1 when they
    are too wide, above 1 when too narrow. It uses every forecast rather than three coverage counts,
    so it is the sharper check where few forecasts back each cell (England and Wales)."""
    what = {
        "pit": "probit-PIT sd (1 = calibrated, < 1 too wide) and mean (0 = unbiased)",
        "latent_pit": "the same for the expected counts against the true ones (no count noise)",
    }
    for col, label in what.items():
        if col not in part or part[col].isna().all():
            continue  # rows written before the column existed
        one = part[(part["level"] == LEVELS[0]) & part[col].notna()]
        z = norm.ppf(one[col].clip(1e-6, 1 - 1e-6))
        by_h = pd.Series(z).groupby(one["horizon"].values).agg(["std", "mean", "size"])
        # the sd of a sample sd of n normal values is about 1 / sqrt(2 (n - 1))
        by_h["se_of_sd"] = 1 / np.sqrt(2 * (by_h["size"] - 1))
        print(f"{level_name}: {label}")
        print(by_h.rename(columns={"size": "n"}).round(3).to_string())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--panels", type=int, default=10)
    p.add_argument("--spec", default="default")
    p.add_argument("--horizon", type=int, default=4)
    p.add_argument("--draws", type=int, default=None)
    p.add_argument("--tune", type=int, default=None)
    p.add_argument("--out", default="calibration.csv")
    p.add_argument("--first-seed", type=int, default=3000, help="seeds first .. first + panels - 1")
    p.add_argument("--shard", default="0/1", help="i/n: fit every n-th seed from the i-th")
    p.add_argument("--merge", nargs="*", default=[], help="other shards' CSVs to add to the table")
    a = p.parse_args()
    spec = load_spec(a.spec)
    draws, tune = a.draws or spec.sampler.draws, a.tune or spec.sampler.tune
    out = Path(a.out)
    frame = pd.read_csv(out) if out.exists() else pd.DataFrame()
    done = set(frame["seed"]) if len(frame) else set()
    shard, n_shards = (int(x) for x in a.shard.split("/"))
    for seed in range(a.first_seed, a.first_seed + a.panels)[shard::n_shards]:
        if seed in done:
            continue
        frame = pd.concat([frame, one_panel(seed, spec, a.horizon, draws, tune)], ignore_index=True)
        tmp = out.with_suffix(".tmp")
        frame.to_csv(tmp, index=False)
        tmp.replace(out)
    frame = pd.concat([frame, *(pd.read_csv(m) for m in a.merge)], ignore_index=True)
    for level_name, part in frame.groupby("area_level"):
        n_cells = len(part) // (len(LEVELS) * part["horizon"].nunique())
        print(f"\n{level_name}: {n_cells} forecasts per horizon and level")
        for col, label in (("covered", "randomised-PIT"), ("covered_inclusive", "inclusive")):
            table = part.pivot_table(index="horizon", columns="level", values=col, aggfunc="mean")
            print(f"\n{level_name}: {label} coverage by horizon (nominal {list(LEVELS)})")
            print((100 * table).round(1).to_string())
        by_outcome = part.pivot_table(
            index="outcome", columns="level", values="covered", aggfunc="mean"
        )
        print(f"{level_name}: coverage by outcome")
        print((100 * by_outcome).round(1).to_string())
        print_width_check(level_name, part)
    n = frame["seed"].nunique()
    print(f"\npanels: {n}; mean {frame.groupby('seed')['seconds'].first().mean():.0f} s per fit")


if __name__ == "__main__":
    main()
