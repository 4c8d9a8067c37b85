"""National availability-index projection: is the fitted AR(1), which reverts to the panel mean, the
right rule, or should the national level persist (random walk, ARIMA(1,1,0))? Scores each rule's
Gaussian forecast of the national mean index at h = 1..4 by its CRPS and the mean and sd of the
probit PIT (0 and 1 when calibrated), on simulated panels (held-out quarters) and on the real panel
(8 rolling origins). Least squares stand in for the MCMC fit of `index_dynamics`.

    python benchmarks/national_projection.py --panels 200
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from forecast.simulate import simulate_panel

HORIZON = 4
MANIFEST = Path(__file__).resolve().parents[1] / "data" / "manifests" / "realdata.toml"
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
Forecast = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]  # (mean, variance) by h


def ar1(y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Stationary AR(1) with intercept (as `index_dynamics` fits): reverts to the panel mean."""
    x = np.c_[np.ones(len(y) - 1), y[:-1]]
    (c, rho), *_ = np.linalg.lstsq(x, y[1:], rcond=None)
    s2 = np.mean((y[1:] - x @ (c, rho)) ** 2)
    j = np.arange(1, h + 1)
    mean = c * (1 - rho**j) / (1 - rho) + rho**j * y[-1]
    return mean, s2 * (1 - rho ** (2 * j)) / (1 - rho**2)


def ari110(y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """AR(1) in first differences, no drift: the level persists, momentum decays."""
    d = np.diff(y)
    phi = float(d[:-1] @ d[1:] / (d[:-1] @ d[:-1]))
    s2 = np.mean((d[1:] - phi * d[:-1]) ** 2)
    j = np.arange(1, h + 1)
    psi = (1 - phi**j) / (1 - phi)  # the level's response to an innovation j - 1 quarters back
    return y[-1] + d[-1] * phi * psi, s2 * np.cumsum(psi**2)


def random_walk(y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """The last value, with variance growing by the mean squared step each quarter."""
    return np.full(h, y[-1]), np.mean(np.diff(y) ** 2) * np.arange(1, h + 1)


RULES: dict[str, Forecast] = {
    "ar1 (shipped)": ar1,
    "arima(1,1,0)": ari110,
    "random walk": random_walk,
}


def scores(rule: Forecast, history: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, ...]:
    """Probit PIT and Gaussian CRPS of the held-out values, by horizon."""
    mean, var = rule(history, len(truth))
    sd = np.sqrt(var)
    z = (truth - mean) / sd
    crps = sd * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))
    return z, crps


def table(cases: list[tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Mean CRPS and the probit PIT's mean and sd, by rule and horizon, over the cases."""
    parts = {}
    for name, rule in RULES.items():
        z, crps = (np.array(x) for x in zip(*(scores(rule, h, t) for h, t in cases), strict=True))
        parts[name] = pd.DataFrame(
            {"crps": crps.mean(0), "probit_mean": z.mean(0), "probit_sd": z.std(0, ddof=1)},
            index=pd.Index(np.arange(1, z.shape[1] + 1), name="h"),
        )
    return pd.concat(parts, names=["rule"]).round(3)


def simulated(panels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    cases = []
    for seed in range(5000, 5000 + panels):
        sim = simulate_panel(seed=seed, holdout=HORIZON)
        cases.append(
            tuple(sim[g]["availability_index"].values.mean(axis=0) for g in ("panel", "future"))
        )
    return cases


def real(origins: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    from forecast.ingest.build import ingest

    if not REALDATA.exists():
        print(f"real panel skipped: real statistics not found at {REALDATA}")
        return None
    panel = ingest(MANIFEST).panel
    y = panel["availability_index"].mean("force").values
    last = len(y) - HORIZON
    return [(y[:o], y[o : o + HORIZON]) for o in range(last - origins + 1, last + 1)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--panels", type=int, default=200)
    p.add_argument("--origins", type=int, default=8)
    a = p.parse_args()
    print(f"simulated ({a.panels} panels, seeds 5000..):\n{table(simulated(a.panels)).to_string()}")
    cases = real(a.origins)
    if cases:
        print(f"\nreal panel ({a.origins} origins):\n{table(cases).to_string()}")


if __name__ == "__main__":
    main()
