"""Recovery study: seeded simulated panels with known effects, and null panels, fitted with a spec.

Prints, per outcome: share of fits with the sign recovered (90% interval on the right side of 0), 90%
interval coverage of the true effect per sd of availability, and for null panels the share whose
interval keeps 0; with a latent spec, the correlation of the posterior-mean availability path with the
truth (within-force variation, the identified part). One row per fit is written to --out (CSV).

    python benchmarks/recovery_study.py --panels 20 --nulls 20 --spec default --out recovery.csv
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.fit import fit, sampler_settings
from forecast.simulate import simulate_panel
from forecast.spec import load_spec


def one_fit(seed: int, null: bool, spec, draws: int, tune: int, chains: int) -> list[dict]:
    effects = {"homicide": 0.0, "robbery": 0.0, "knife": 0.0} if null else None
    sim = simulate_panel(seed=seed, effects=effects)
    start = time.perf_counter()
    tree = fit(
        sim["panel"].to_dataset(),
        spec,
        sampler_settings(spec, draws=draws, tune=tune, chains=chains),
        progress=False,
    )
    seconds = time.perf_counter() - start
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
    a = p.parse_args()
    spec = load_spec(a.spec)
    draws, tune = a.draws or spec.sampler.draws, a.tune or spec.sampler.tune
    # resume: fits already in --out are kept; effect and null panels alternate, so an interrupted
    # study still has both
    out = Path(a.out)
    rows = pd.read_csv(out).to_dict("records") if out.exists() else []
    done = {(int(r["seed"]), bool(r["null"])) for r in rows}
    plan = [(1000 + i, False) for i in range(a.panels)]
    nulls = [(2000 + i, True) for i in range(a.nulls)]
    pairs = zip(plan, nulls, strict=False)
    plan = [x for pair in pairs for x in pair] + plan[len(nulls) :] + nulls[len(plan) :]
    for seed, null in plan:
        if (seed, null) in done:
            continue
        rows += one_fit(seed, null, spec, draws, tune, a.chains or spec.sampler.chains)
        tmp = out.with_suffix(".tmp")
        pd.DataFrame(rows).to_csv(tmp, index=False)
        tmp.replace(out)
    frame = pd.DataFrame(rows)
    real, null = frame[~frame["null"]], frame[frame["null"]]
    table = pd.DataFrame(
        {
            "sign_recovered": real.groupby("outcome")["sign_recovered"].mean(),
            "coverage_90": real.groupby("outcome")["covered"].mean(),
            "null_zero_inside": null.groupby("outcome")["zero_inside"].mean(),
        }
    )
    print(table.round(3).to_string())
    if frame["availability_corr"].notna().any():
        print(f"availability path correlation: min {frame['availability_corr'].min():.3f}")
    print(f"fits: {a.panels} + {a.nulls} null; mean {frame['seconds'].mean():.0f} s per fit")


if __name__ == "__main__":
    main()
