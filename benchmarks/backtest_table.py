"""One table from one or more finished backtests (e.g. the latent publication spec with no_link and
the baselines, and the observed-index spec): mean CRPS by level and outcome, scaled CRPS (each
series' CRPS over its seasonal-naive CRPS, averaged), force-level PIT coverage and bias, and the
robbery bias per origin. Baselines that appear in several folders are scored on the same data and
kept once.

    python benchmarks/backtest_table.py backtest/latent backtest/index
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from forecast.evaluate.backtest import load_scores, origin_gates, relative_crps, summarise

LEVELS = ("force", "region", "national")


def combined_scores(folders: list[Path], models: list[str] | None = None) -> pd.DataFrame:
    """Every folder's scores (of `models`, default all), each model and origin once (from the first
    folder that has it), so a backtest resumed in another folder for its remaining origins joins
    the first."""
    frames, seen = [], set()
    for folder in folders:
        scores = load_scores(folder)
        if models:
            scores = scores[scores["model"].isin(models)]
        pairs = pd.MultiIndex.from_frame(scores[["model", "origin"]].astype(str))
        frames.append(scores[~pairs.isin(list(seen))])
        seen.update(pairs.unique())
    out = pd.concat(frames, ignore_index=True)
    per_model = out.groupby("model")["origin"].unique()
    common = set.intersection(*(set(o) for o in per_model))
    if len(common) < out["origin"].nunique():  # an unfinished backtest: compare like with like
        print(f"note: only the {len(common)} origins every model has are compared")
    return out[out["origin"].isin(common)]


def level_table(scores: pd.DataFrame, value: str) -> pd.DataFrame:
    """(outcome, level) x model: mean CRPS (`crps`) or scaled CRPS (`scaled_crps`)."""
    rel = relative_crps(scores, "seasonal_naive")
    rel = rel[rel["area_level"].isin(LEVELS)]
    return rel.pivot_table(index=["outcome", "area_level"], columns="model", values=value)


def calibration_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Force-level 80/95% PIT coverage (%) and bias per model and outcome."""
    force = scores[scores["area_level"] == "force"]
    s = summarise(force, ("model", "outcome"))
    return s.set_index(["model", "outcome"])[["coverage_80", "coverage_95", "bias"]]


def origin_bias(scores: pd.DataFrame, outcome: str = "robbery") -> pd.DataFrame:
    """Mean forecast error per force-quarter, by origin (rows) and model (columns)."""
    part = scores[(scores["area_level"] == "force") & (scores["outcome"] == outcome)]
    return part.pivot_table(index="origin", columns="model", values="error", aggfunc="mean")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path)
    p.add_argument("--models", help="comma-separated models to keep (default: all)")
    a = p.parse_args()
    scores = combined_scores(a.folders, a.models.split(",") if a.models else None)
    origins = sorted(scores["origin"].unique())
    print(
        f"origins: {len(origins)} ({origins[0]}-{origins[-1]}); models: {sorted(scores['model'].unique())}"
    )
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print("\nmean CRPS")
        print(level_table(scores, "crps").round(3).to_string())
        print("\nscaled CRPS (each series over its seasonal naive, averaged; < 1 is better)")
        print(level_table(scores, "scaled_crps").round(3).to_string())
        print(
            "\nforce level: PIT coverage of the central 80/95% intervals (%), bias per force-quarter"
        )
        print(calibration_table(scores).round(2).to_string())
        print("\nrobbery bias per force-quarter, by origin")
        print(origin_bias(scores).round(2).to_string())
        print("\nfits per origin: convergence figures and whether they passed the spec's gates")
        print(origin_gates(scores).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
