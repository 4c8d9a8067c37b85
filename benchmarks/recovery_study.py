"""Recovery study: seeded simulated panels with known effects, and null panels, fitted with a spec.

Prints, per outcome: share of fits with the sign recovered (90% interval on the right side of 0), 90%
interval coverage of the true effect per sd of availability, and for null panels the share whose
interval keeps 0; with a latent spec, the correlation of the posterior-mean availability path with the
truth (within-force variation, the identified part). Beside each coverage it prints the share of panels
whose own noise leaves the truth inside a 90% band even for an oracle that knows every other parameter
(`oracle_z`): with 20 panels, a few misses are the data's, not the model's. For null panels it prints the mean
z-score (estimate - truth) / posterior sd beside the oracle's mean: a lean both share is the seeds'
noise. Over all fits (effect and null) it prints the coverage, the sd of the z-scores (1 when the
intervals are as wide as the errors, a sharper check than 20 coverage counts) and the mean of z minus
the oracle's z (the model's own lean). Each count (k of n
covered) comes with a 90% Clopper-Pearson interval for the rate and the chance of at least k at
exactly 90%. One row per fit is written to --out (CSV).

    python benchmarks/recovery_study.py --panels 20 --nulls 20 --spec default --out recovery.csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import binom, binomtest

from forecast.fit import fit, sampler_settings
from forecast.simulate import oracle_z, simulate_panel
from forecast.spec import load_spec

NULL_EFFECTS = {"homicide": 0.0, "robbery": 0.0, "knife": 0.0}


def coverage_counts(frame: pd.DataFrame, column: str, what: str) -> str:
    """Per outcome: k of n, a 90% Clopper-Pearson interval for the rate, and the probability of a
    count at least that far above 90% (upper tail) for a model whose intervals cover exactly 90%:
    what a count of 20 can and cannot say about a 90% rate."""
    lines = [f"{what}:"]
    for outcome, hits in frame.groupby("outcome", sort=False)[column]:
        k, n = int(hits.sum()), len(hits)
        lo, hi = binomtest(k, n).proportion_ci(confidence_level=0.9, method="exact")
        tail = binom.sf(k - 1, n, 0.9)  # P(count >= k) at exactly 90%
        lines.append(
            f"  {outcome}: {k} of {n} ({k / n:.1%}; 90% interval {lo:.1%}-{hi:.1%}); "
            f"P(>= {k} of {n}) at exactly 90%: {tail:.2f}"
        )
    return "\n".join(lines)


def one_fit(seed: int, null: bool, spec, draws: int, tune: int, chains: int) -> list[dict]:
    sim = simulate_panel(seed=seed, effects=NULL_EFFECTS if null else None)
    start = time.perf_counter()
    tree = fit(
        sim["panel"].to_dataset(),
        spec,
        sampler_settings(spec, draws=draws, tune=tune, chains=chains),
        progress=False,
    )
    seconds = time.perf_counter() - start
    oracle = oracle_z(sim)
    post = tree["posterior"]
    x = post["availability_effect_per_sd"].transpose("chain", "draw", "outcome").values
    x = x.reshape(-1, x.shape[-1])
    lo, hi = np.quantile(x, [0.05, 0.95], axis=0)
    truth = sim["truth"]["availability_effect_per_sd"].values
    corr = np.nan
    if "availability" in post:
        a = post["availability"].mean(("chain", "draw")).values
        t = sim["truth"]["availability"].values
        a, t = a - a.mean(axis=1, keepdims=True), t - t.mean(axis=1, keepdims=True)
        corr = float(np.corrcoef(a.ravel(), t.ravel())[0, 1])
    return [
        {
            "seed": seed,
            "null": null,
            "outcome": k,
            "truth": truth[i],
            "mean": x[:, i].mean(),
            "q5": lo[i],
            "q95": hi[i],
            "covered": lo[i] <= truth[i] <= hi[i],
            "sign_recovered": lo[i] > 0 if truth[i] > 0 else hi[i] < 0,
            "zero_inside": lo[i] <= 0 <= hi[i],
            "availability_corr": corr,
            "oracle_z": oracle[i],
            "seconds": seconds,
        }
        for i, k in enumerate(post["outcome"].values)
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--panels", type=int, default=20)
    p.add_argument("--nulls", type=int, default=20)
    p.add_argument("--spec", default="default")
    p.add_argument("--draws", type=int, default=None)
    p.add_argument("--tune", type=int, default=None)
    p.add_argument("--chains", type=int, default=None)
    p.add_argument("--out", default="recovery.csv")
    p.add_argument(
        "--shard",
        default="0/1",
        help="i/n: fit only every n-th panel of the plan, from the i-th, so n processes with their "
        "own --out share the work (a fit's compile runs on one core); --merge prints their table",
    )
    p.add_argument("--merge", nargs="*", default=[], help="other shards' CSVs to add to the table")
    a = p.parse_args()
    spec = load_spec(a.spec)
    draws, tune = a.draws or spec.sampler.draws, a.tune or spec.sampler.tune
    # resume: fits already in --out are kept; effect and null panels alternate, so an interrupted
    # study still has both
    out = Path(a.out)
    rows = pd.read_csv(out).to_dict("records") if out.exists() else []
    others = [r for other in a.merge for r in pd.read_csv(other).to_dict("records")]
    done = {(int(r["seed"]), bool(r["null"])) for r in rows + others}
    plan = [(1000 + i, False) for i in range(a.panels)]
    nulls = [(2000 + i, True) for i in range(a.nulls)]
    pairs = zip(plan, nulls, strict=False)
    plan = [x for pair in pairs for x in pair] + plan[len(nulls) :] + nulls[len(plan) :]
    shard, n_shards = (int(x) for x in a.shard.split("/"))
    plan = plan[shard::n_shards]
    for seed, null in plan:
        if (seed, null) in done:
            continue
        rows += one_fit(seed, null, spec, draws, tune, a.chains or spec.sampler.chains)
        tmp = out.with_suffix(".tmp")
        pd.DataFrame(rows).to_csv(tmp, index=False)
        tmp.replace(out)
    frame = pd.DataFrame(rows + others).drop_duplicates(["seed", "null", "outcome"])
    if "oracle_z" not in frame or frame["oracle_z"].isna().any():  # rows from before the column
        z = {
            (s, n): oracle_z(simulate_panel(seed=s, effects=NULL_EFFECTS if n else None))
            for s, n in {(int(r.seed), bool(r.null)) for r in frame.itertuples()}
        }
        order = {k: i for i, k in enumerate(frame["outcome"].drop_duplicates())}
        frame["oracle_z"] = [
            z[(int(r.seed), bool(r.null))][order[r.outcome]] for r in frame.itertuples()
        ]
    frame["oracle_inside"] = frame["oracle_z"].abs() <= 1.645
    # (estimate - truth) / posterior sd, the sd from the 90% interval
    frame["z"] = (frame["mean"] - frame["truth"]) / ((frame["q95"] - frame["q5"]) / 3.29)
    real, null = frame[~frame["null"]], frame[frame["null"]]
    table = pd.DataFrame(
        {
            "sign_recovered": real.groupby("outcome")["sign_recovered"].mean(),
            "coverage_90": real.groupby("outcome")["covered"].mean(),
            "oracle_inside_90": real.groupby("outcome")["oracle_inside"].mean(),
            "null_zero_inside": null.groupby("outcome")["zero_inside"].mean(),
            "null_oracle_inside_90": null.groupby("outcome")["oracle_inside"].mean(),
            # a lean of the null estimates, beside the oracle's: shared, it is the panels' noise
            "null_mean_z": null.groupby("outcome")["z"].mean(),
            "null_mean_oracle_z": null.groupby("outcome")["oracle_z"].mean(),
            # over effect and null fits: coverage; the sd of z, 1 when the intervals are as wide as
            # the errors; and the mean of z - oracle z, the model's own lean beyond the panels' noise
            "coverage_90_all": frame.groupby("outcome")["covered"].mean(),
            "sd_z_all": frame.groupby("outcome")["z"].std(),
            "mean_z_minus_oracle_all": (frame["z"] - frame["oracle_z"])
            .groupby(frame["outcome"])
            .mean(),
        }
    )
    print(table.round(3).to_string())
    print(coverage_counts(real, "covered", "effect panels, truth inside the 90% interval"))
    print(coverage_counts(null, "zero_inside", "null panels, 0 inside the 90% interval"))
    if frame["availability_corr"].notna().any():
        print(f"availability path correlation: min {frame['availability_corr'].min():.3f}")
    n_real, n_null = real["seed"].nunique(), null["seed"].nunique()
    print(f"fits: {n_real} + {n_null} null; mean {frame['seconds'].mean():.0f} s per fit")


if __name__ == "__main__":
    main()
