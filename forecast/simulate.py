"""Synthetic force x quarter panels with known truth, for demos, tests and recovery studies.

Generating process (all draws from one ``numpy.random.default_rng(seed)``):

- population[f, t]: the force's ONS mid-2020 population, back/forward-cast with a force growth rate
  drawn around 0.6% a year.
- latent Class A availability A[f, t] = national AR(1) (rho 0.85) with a rise over the middle of the
  panel (the 2014-2019 market expansion) + regional AR(1) deviations (rho 0.7) + force AR(1)
  deviations (rho 0.6), standardised to mean 0 and sd 1 over the panel.
- availability_index[f, t] = A[f, t] + N(0, index_noise): the composite index a statistician builds.
- indicators: supply_offences[f, t] (drug trafficking offences) ~ NB with mean
  population/1e4 x 1.2 x exp(0.5 A + force enforcement intensity), i.e. about 1.2 per 10,000 a quarter;
  price_index[t] (national purity-adjusted price, first quarter = 100) falls as national availability rises.
- counts y[f, t, k] ~ NegativeBinomial(mu, phi_k) with
  log mu = log(pop/1e5) + alpha_k + u[f,k] + beta_k A[f, t-lag] + season[k, quarter] + trend[k, t];
  alpha_k = log rate per 100,000 per quarter (homicide 0.3, robbery 30, knife 15), force effects
  u correlated across outcomes, a national random-walk trend per outcome, sum-to-zero seasonality.

The result is a DataTree: the panel in ``/panel``, parameters and latent paths in ``/truth`` and, when
``holdout > 0``, the next quarters' panel in ``/future`` (for forecast checks).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast import dims
from forecast.forces import force_register, normalise_forces
from forecast.panel import make_panel
from forecast.periods import quarter_range

DEFAULT_EFFECTS = {"homicide": 0.10, "robbery": 0.08, "knife": 0.12}
BASE_RATE_PER_100K = {"homicide": 0.3, "robbery": 30.0, "knife": 15.0}
FORCE_SD = {"homicide": 0.30, "robbery": 0.55, "knife": 0.40}
TREND_SD = {"homicide": 0.03, "robbery": 0.025, "knife": 0.03}
PHI = {"homicide": 20.0, "robbery": 40.0, "knife": 30.0}
SEASON = {
    "homicide": [0.03, -0.04, 0.05, -0.04],
    "robbery": [0.06, -0.02, -0.07, 0.03],
    "knife": [0.04, 0.05, -0.03, -0.06],
}
DEFAULT_SEED = 20240601


def _ar1(rng: np.random.Generator, n: int, t: int, rho: float, sd: float) -> np.ndarray:
    """`n` stationary AR(1) series of length `t` with marginal sd `sd`."""
    x = np.empty((n, t))
    x[:, 0] = rng.normal(0.0, sd, size=n)
    innov = sd * np.sqrt(1 - rho**2)
    for i in range(1, t):
        x[:, i] = rho * x[:, i - 1] + rng.normal(0.0, innov, size=n)
    return x


def _nb(rng: np.random.Generator, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Negative-binomial draws (mean mu, concentration phi) as a gamma-Poisson mixture."""
    return rng.poisson(rng.gamma(phi, mu / phi)).astype(float)


def simulate_panel(
    n_periods: int = 48,
    start: str = "2012Q2",
    forces: list[str] | None = None,
    seed: int = DEFAULT_SEED,
    effects: dict[str, float] | None = None,
    lag: int = 1,
    index_noise: float = 0.1,
    holdout: int = 0,
) -> xr.DataTree:
    """Simulate a quarterly panel (all 43 forces by default) with its truth; deterministic in `seed`."""
    rng = np.random.default_rng(seed)
    reg = force_register()
    forces = normalise_forces(forces) if forces else list(reg["force"])
    effects = {**DEFAULT_EFFECTS, **(effects or {})}
    outcomes = dims.OUTCOMES
    n_f, n_k = len(forces), len(outcomes)
    total = n_periods + holdout
    n_all = total + lag  # pre-sample quarters so A[t - lag] exists from the first quarter
    periods_all = quarter_range(start, total)

    # population
    pop2020 = reg.loc[forces, "population_mid2020"].to_numpy(dtype=float)
    growth = rng.normal(0.006, 0.003, size=n_f) / 4
    t2020 = (pd.Period("2020Q3", freq="Q") - periods_all[0]).n
    pop = pop2020[:, None] * np.exp(growth[:, None] * (np.arange(total)[None, :] - t2020))

    # latent availability
    regions = reg.loc[forces, "region"].to_numpy()
    uniq, r_idx = np.unique(regions, return_inverse=True)
    s = np.arange(n_all)
    rise = 1.2 / (1 + np.exp(-(s - n_all * 0.45) / (n_all * 0.08)))
    national = _ar1(rng, 1, n_all, 0.85, 0.5)[0] + rise
    regional = _ar1(rng, len(uniq), n_all, 0.7, 0.35)[r_idx]
    force_dev = _ar1(rng, n_f, n_all, 0.6, 0.5)
    a_raw = national[None, :] + regional + force_dev
    a_all = (a_raw - a_raw.mean()) / a_raw.std()
    a_obs = a_all[:, lag:]  # A at each panel quarter
    a_lag = a_all[:, :total]  # A at quarter t - lag
    index = a_obs + rng.normal(0.0, index_noise, size=a_obs.shape)

    # indicators
    enforcement = rng.normal(0.0, 0.25, size=n_f)[:, None] + _ar1(rng, n_f, total, 0.5, 0.1)
    supply = _nb(
        rng, pop / 1e4 * 1.2 * np.exp(0.5 * a_obs + enforcement), np.full((n_f, total), 30.0)
    )
    price = 100 * np.exp(
        -0.15 * (a_obs.mean(axis=0) - a_obs[:, 0].mean()) + rng.normal(0, 0.02, total)
    )

    # outcome model
    alpha = np.log([BASE_RATE_PER_100K[k] for k in outcomes])
    beta = np.array([effects[k] for k in outcomes])
    sd_u = np.array([FORCE_SD[k] for k in outcomes])
    shared = rng.normal(size=(n_f, 1))
    z = np.sqrt(0.6) * shared + np.sqrt(0.4) * rng.normal(size=(n_f, n_k))
    u = (z - z.mean(axis=0)) * sd_u  # (force, outcome), zero-sum over forces
    season = np.array([SEASON[k] for k in outcomes])  # (outcome, quarter)
    sd_rw = np.array([TREND_SD[k] for k in outcomes])
    steps = rng.normal(0.0, 1.0, size=(n_k, total - 1)) * sd_rw[:, None]
    trend = np.concatenate([np.zeros((n_k, 1)), np.cumsum(steps, axis=1)], axis=1)
    phi = np.array([PHI[k] for k in outcomes])
    qoy = np.array([p.quarter - 1 for p in periods_all])
    eta = (
        np.log(pop / 1e5)[:, :, None]
        + alpha[None, None, :]
        + u[:, None, :]
        + beta[None, None, :] * a_lag[:, :, None]
        + season[:, qoy].T[None, :, :]
        + trend.T[None, :, :]
    )
    counts = _nb(rng, np.exp(eta), np.broadcast_to(phi, eta.shape))

    def panel(sl: slice) -> xr.Dataset:
        fp = (dims.FORCE, dims.PERIOD)
        return make_panel(
            count=counts[:, sl],
            population=pop[:, sl],
            availability_index=index[:, sl],
            forces=forces,
            periods=periods_all[sl],
            extra={
                "supply_offences": xr.DataArray(
                    supply[:, sl],
                    dims=fp,
                    attrs={
                        "unit": "offences per quarter",
                        "description": "drug trafficking (supply) offences, enforcement-contaminated",
                    },
                ),
                "price_index": xr.DataArray(
                    price[sl],
                    dims=(dims.PERIOD,),
                    attrs={
                        "unit": "index, first quarter = 100",
                        "geography": "national",
                        "description": "purity-adjusted Class A price",
                    },
                ),
            },
            attrs={
                "source": "forecast.simulate",
                "vintage": f"simulated seed {seed}",
                "seed": seed,
            },
        )

    hist = slice(0, n_periods)
    # truth in the model's convention: the trend centred over the modelled quarters (the panel's from
    # `lag` on), its mean moved into the intercept
    level = trend[:, lag:n_periods].mean(axis=1)
    truth = xr.Dataset(
        {
            "availability": ((dims.FORCE, dims.PERIOD), a_obs[:, hist]),
            "availability_beta": ((dims.OUTCOME,), beta),
            "intercept": ((dims.OUTCOME,), alpha + level),
            "force_effect": ((dims.OUTCOME, dims.FORCE), u.T),
            "force_sigma": ((dims.OUTCOME,), sd_u),
            "season": ((dims.OUTCOME, dims.QUARTER), season),
            "trend": ((dims.OUTCOME, dims.PERIOD), trend[:, hist] - level[:, None]),
            "trend_sigma": ((dims.OUTCOME,), sd_rw),
            "phi": ((dims.OUTCOME,), phi),
        },
        coords={
            dims.FORCE: forces,
            dims.PERIOD: periods_all[hist],
            dims.OUTCOME: list(outcomes),
            dims.QUARTER: [1, 2, 3, 4],
        },
        attrs={
            "lag": lag,
            "index_noise": index_noise,
            "seed": seed,
            "effects_scale": "log rate per sd of latent availability",
        },
    )
    tree = {"/panel": panel(hist), "/truth": truth}
    if holdout:
        tree["/future"] = panel(slice(n_periods, total))
    return xr.DataTree.from_dict(tree)
