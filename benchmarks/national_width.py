"""Where the width of the England and Wales forecast comes from, on calibration panels. For each
seeded panel (4 held-out quarters) it fits a spec and prints, per outcome, `trend_sigma` against
the simulator's truth and the sd over draws of the national log rate at h = 1..4 with every part
projected, with the future index known (the held-out index), with the trend held at its last fitted
value, and with both; then the sd of the projected national mean index beside an AR(1) least-squares
plug-in (the rule `national_projection.py` scores).

    python benchmarks/national_width.py --seeds 3038 3039
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
from national_projection import ar1  # the plug-in rule it scores (benchmarks/ is on the path)
from scipy.special import logsumexp

from forecast.fit import fit, sampler_settings
from forecast.predict import Projection, project
from forecast.simulate import simulate_panel
from forecast.spec import load_spec

HORIZON = 4


def national_sd(proj: Projection, future_index: np.ndarray) -> dict[str, np.ndarray]:
    """sd over draws of the national log rate (outcome, h) under the four projections."""
    n = proj.n_hist
    known = proj.availability.copy()
    known[:, :, -HORIZON:] = future_index[None]
    held = proj.trend.copy()
    held[..., n:] = held[..., n - 1 : n]
    still = replace(proj, trend=held)
    etas = {
        "full": proj.log_rate(),
        "index known": proj.log_rate(known),
        "trend held": still.log_rate(),
        "both": still.log_rate(known),
    }
    return {k: logsumexp(e[:, :, n:], axis=1).std(axis=0).T for k, e in etas.items()}


def one_panel(seed: int, spec) -> None:
    sim = simulate_panel(seed=seed, holdout=HORIZON)
    tree = fit(sim["panel"].to_dataset(), spec, sampler_settings(spec), progress=False)
    proj = project(tree, HORIZON, np.random.default_rng(seed))
    post, truth = tree["posterior"], sim["truth"]
    fmt = "/".join
    model_sd = proj.availability[:, :, -HORIZON:].mean(axis=1).std(axis=0)
    ols_sd = np.sqrt(ar1(sim["panel"]["availability_index"].values.mean(axis=0), HORIZON)[1])
    print(f"seed {seed} national mean index sd, steps 1..{HORIZON}: model "
          f"{fmt(f'{v:.3f}' for v in model_sd)} | AR(1) plug-in {fmt(f'{v:.3f}' for v in ols_sd)}"
          f" (posterior index_nat_rho {float(post['index_nat_rho'].mean()):.3f})")  # fmt: skip
    future = sim["future"]["availability_index"].transpose("force", "period").values
    sds = national_sd(proj, future)
    for k, outcome in enumerate(post["trend_sigma"]["outcome"].values):
        ts = post["trend_sigma"].sel(outcome=outcome).values.ravel()
        parts = " | ".join(f"{name} {fmt(f'{v:.3f}' for v in sd[k])}" for name, sd in sds.items())
        print(f"seed {seed} {outcome:8s} trend_sigma {ts.mean():.3f} "
              f"({np.quantile(ts, 0.05):.3f}-{np.quantile(ts, 0.95):.3f}; truth "
              f"{float(truth['trend_sigma'].sel(outcome=outcome)):.3f}) | {parts}", flush=True)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[3038, 3039])
    p.add_argument("--spec", default="default")
    a = p.parse_args()
    spec = load_spec(a.spec)
    for seed in a.seeds:
        one_panel(seed, spec)


if __name__ == "__main__":
    main()
