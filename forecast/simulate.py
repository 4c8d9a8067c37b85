"""Synthetic force x quarter panels with known truth, for demos, tests and recovery studies.

Generating process (all draws from one ``numpy.random.default_rng(seed)``):

- population[f, t]: the force's ONS mid-2020 population, back/forward-cast with a force growth rate
  drawn around 0.6% a year.
- latent Class A availability A[f, t] = national AR(1) (rho 0.85) with a rise over the middle of the
  panel (the 2014-2019 market expansion) + regional AR(1) deviations (rho 0.7) + force AR(1)
  deviations (rho 0.6), standardised to mean 0 and sd 1 over the panel.
- availability_index[f, t] = A[f, t] + N(0, index_noise): the composite index a statistician builds.
- indicators (see INDICATORS): counts ~ NB with mean pop/1e5 x rate x exp(loading A + force level +
  small AR(1) enforcement noise): trafficking and possession (quarterly), Class A seizures (published
  as financial-year sums) and drug deaths (3-year pooled calendar sums); price_index[t], national,
  log-linear in population-weighted mean availability with a negative loading.
- counts y[f, t, k] ~ NegativeBinomial(mu, phi_k) with
  log mu = log(pop/1e5) + alpha_k + u[f,k] + beta_k A[f, t-lag] + season[k, quarter] + trend[k, t];
  alpha_k = log rate per 100,000 per quarter (homicide 0.3, robbery 30, knife 15), force effects
  u correlated across outcomes, a national random-walk trend per outcome, sum-to-zero seasonality.

The result is a DataTree: the panel in ``/panel``, parameters and latent paths in ``/truth`` and, when
``holdout > 0``, the next quarters' panel in ``/future`` (for forecast checks), with their true
expected counts (``expected_count``), so calibration can be judged without the counts' own noise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.errors import ForecastError
from forecast.core.forces import force_register, normalise_forces
from forecast.core.periods import quarter_range
from forecast.core.scale import within_sd
from forecast.ingest.panel import make_panel
from forecast.simulate_drift import ar1, slow_movements
from forecast.simulate_shapes import published

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
# indicator: (rate per 100,000 per quarter, loading on A, sd of force levels, loading on enforcement)
INDICATORS = {
    "trafficking": (12.0, 0.5, 0.25, 0.8),
    "possession_excl_cannabis": (20.0, 0.4, 0.3, 0.8),
    "seizures_class_a": (30.0, 0.6, 0.3, 0.5),
    "drug_deaths": (1.2, 0.3, 0.2, 0.0),
}
OFFICERS_PER_100K = 220.0
# published for English forces only, as in the real data (no Welsh seizure or death series)
ENGLAND_ONLY = ("seizures_class_a", "drug_deaths")
PRICE_LOADING = -0.15  # log price per unit of population-weighted mean availability
# how each indicator is published: (panel variable, window in quarters, quarter of year it ends)
PUBLISHED = {
    "trafficking": ("trafficking", 1, None),
    "possession_excl_cannabis": ("possession_excl_cannabis", 1, None),
    "seizures_class_a": ("seizures_class_a_fy", 4, 1),  # financial year, ends Jan-Mar
    "drug_deaths": ("drug_deaths_3y", 12, 4),  # 3 calendar years pooled, ends Oct-Dec
}


def _enforcement(rng: np.random.Generator, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log enforcement effort per force and quarter (a slow AR(1) plus a force trend) and the
    police officers it implies (about 220 per 100,000 around each force's own level)."""
    n_f, total = pop.shape
    effort = ar1(rng, n_f, total, 0.9, 0.1)
    effort = effort + rng.normal(0, 0.02, size=(n_f, 1)) * (np.arange(total)[None, :] - total / 2)
    officers = pop / 1e5 * OFFICERS_PER_100K * np.exp(rng.normal(0, 0.15, (n_f, 1)) + effort)
    return effort, officers


def _nb(rng: np.random.Generator, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """Negative-binomial draws (mean mu, concentration phi) as a gamma-Poisson mixture."""
    return rng.poisson(rng.gamma(phi, mu / phi)).astype(float)


MAX_PERIODS = 400  # quarters: a century, far beyond any published series


def simulate_panel(
    n_periods: int = 48,
    start: str = "2012Q2",
    forces: list[str] | None = None,
    seed: int = DEFAULT_SEED,
    effects: dict[str, float] | None = None,
    lag: int = 1,
    index_noise: float = 0.1,
    holdout: int = 0,
    breaks: list[dict] | None = None,
    regional_trend_sd: dict[str, float] | None = None,
    force_drift_sd: dict[str, float] | None = None,
    national_noise_sd: dict[str, float] | None = None,
) -> xr.DataTree:
    """Simulate a quarterly panel (all 43 forces by default) with its truth; deterministic in `seed`.

    `breaks` lists recording breaks to simulate, e.g. ``{"force": "Kent", "outcome": "robbery",
    "start": "2016Q1", "factor": 1.3}`` (optional "end"); they are recorded in the panel's break
    register (attribute ``breaks``) so the model can give them step effects. `regional_trend_sd` adds
    regional random-walk deviations from the national trend (step sd per outcome, steps summing to zero
    over regions), drawn from their own stream so availability and the indicators are unchanged.
    `force_drift_sd` adds persistent force deviations of the log rate (quarterly AR(1), persistence
    0.9, marginal sd per outcome; own stream), as a force's rate drifts from its average for
    years; the truth holds them as `force_drift` (outcome, force, period). `national_noise_sd` adds
    an iid effect per quarter shared by every force (sd per outcome; truth `national_noise`).
    """
    if not 2 <= n_periods <= MAX_PERIODS or not 0 <= holdout <= MAX_PERIODS:
        raise ForecastError(
            f"--periods {n_periods} --holdout {holdout}: simulate 2 to {MAX_PERIODS} quarters, "
            f"with 0 to {MAX_PERIODS} held out"
        )
    rng = np.random.default_rng(seed)
    reg = force_register()
    forces = normalise_forces(forces) if forces else list(reg["force"])
    effects = {**DEFAULT_EFFECTS, **(effects or {})}
    outcomes = dims.OUTCOMES
    total = n_periods + holdout
    periods_all = quarter_range(start, total)
    pop = _population(rng, reg, forces, periods_all)
    regions = reg.loc[forces, "region"].to_numpy()
    uniq, r_idx = np.unique(regions, return_inverse=True)
    a_obs, a_lag, index = _availability(rng, r_idx, len(uniq), total, lag, index_noise)
    indicator_counts, officers, price = _indicators(rng, seed, reg, forces, pop, a_obs)
    params, eta = _outcome_model(rng, outcomes, effects, pop, a_lag, periods_all)
    slow, slow_truth = slow_movements(
        seed, outcomes, r_idx, list(uniq), total, lag, n_periods, regional_trend_sd, force_drift_sd,
        national_noise_sd,
    )  # fmt: skip
    eta = eta + slow
    break_rows = _apply_breaks(eta, breaks, forces, outcomes, periods_all)
    counts = _nb(rng, np.exp(eta), np.broadcast_to(params.phi, eta.shape))

    def panel(sl: slice) -> xr.Dataset:
        return make_panel(
            count=counts[:, sl],
            population=pop[:, sl],
            availability_index=index[:, sl],
            forces=forces,
            periods=periods_all[sl],
            extra=published(indicator_counts, officers, price, periods_all, sl, PUBLISHED),
            attrs={
                "source": "forecast.simulate",
                "vintage": f"simulated seed {seed}",
                "seed": seed,
                "breaks": json.dumps(break_rows),
            },
        )

    hist = slice(0, n_periods)
    attrs = {"lag": lag, "index_noise": index_noise, "seed": seed}
    truth = _truth(params, a_obs, forces, periods_all, hist, attrs)
    truth = truth.assign({k: v.isel({dims.PERIOD: hist}) for k, v in slow_truth.items()})
    tree = {"/panel": panel(hist), "/truth": truth}
    if holdout:
        held_out = slice(n_periods, total)
        tree["/future"] = _with_expected(panel(held_out), eta[:, held_out, :])
    return xr.DataTree.from_dict(tree)


def _with_expected(future: xr.Dataset, eta: np.ndarray) -> xr.Dataset:
    """The held-out panel with the true mean of each count (before the negative-binomial noise)."""
    expected = xr.DataArray(
        np.exp(eta),
        dims=(dims.FORCE, dims.PERIOD, dims.OUTCOME),
        attrs={"description": "true mean of each held-out count (before negative-binomial noise)"},
    )
    return future.assign(expected_count=expected)


def _population(
    rng: np.random.Generator, reg: pd.DataFrame, forces: list[str], periods_all: pd.PeriodIndex
) -> np.ndarray:
    """(force, quarter) population: the mid-2020 figure back/forward-cast at a drawn growth rate."""
    n_f, total = len(forces), len(periods_all)
    pop2020 = reg.loc[forces, "population_mid2020"].to_numpy(dtype=float)
    growth = rng.normal(0.006, 0.003, size=n_f) / 4
    t2020 = (pd.Period("2020Q3", freq="Q") - periods_all[0]).n
    return pop2020[:, None] * np.exp(growth[:, None] * (np.arange(total)[None, :] - t2020))


def _availability(
    rng: np.random.Generator,
    r_idx: np.ndarray,
    n_regions: int,
    total: int,
    lag: int,
    index_noise: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latent availability at each panel quarter and at t - lag (force, quarter), and the observed
    index: national + regional + force AR(1) paths, standardised over the panel."""
    n_f = len(r_idx)
    n_all = total + lag  # pre-sample quarters so A[t - lag] exists from the first quarter
    s = np.arange(n_all)
    rise = 1.2 / (1 + np.exp(-(s - n_all * 0.45) / (n_all * 0.08)))
    national = ar1(rng, 1, n_all, 0.85, 0.5)[0] + rise
    regional = ar1(rng, n_regions, n_all, 0.7, 0.35)[r_idx]
    force_dev = ar1(rng, n_f, n_all, 0.6, 0.5)
    a_raw = national[None, :] + regional + force_dev
    a_all = (a_raw - a_raw.mean()) / a_raw.std()
    a_obs = a_all[:, lag:]  # A at each panel quarter
    a_lag = a_all[:, :total]  # A at quarter t - lag
    index = a_obs + rng.normal(0.0, index_noise, size=a_obs.shape)
    return a_obs, a_lag, index


def _indicators(
    rng: np.random.Generator,
    seed: int,
    reg: pd.DataFrame,
    forces: list[str],
    pop: np.ndarray,
    a_obs: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Indicator counts per force and quarter, police officers, and the national price index."""
    n_f, total = pop.shape
    # indicators of availability (loadings > 0 except price), each with its own force levels
    # (enforcement intensity), a load on enforcement effort that varies by force and over time
    # (officers per 100,000: slow AR(1) plus a force trend; published as financial-year means) and
    # a little time-varying noise the model does not have
    effort, officers = _enforcement(np.random.default_rng([seed, 11]), pop)
    a_pop = (a_obs * pop).sum(axis=0) / pop.sum(axis=0)
    indicator_counts = {}
    for name, (rate, loading, level_sd, enforce) in INDICATORS.items():
        level = rng.normal(0.0, level_sd, size=n_f)[:, None] + ar1(rng, n_f, total, 0.5, 0.05)
        mu_ind = pop / 1e5 * rate * np.exp(loading * a_obs + level + enforce * effort)
        indicator_counts[name] = _nb(rng, mu_ind, np.full((n_f, total), 30.0))
    welsh = reg.loc[forces, "force_code"].str.startswith("W").to_numpy()
    for name in ENGLAND_ONLY:
        indicator_counts[name][welsh] = np.nan
    price = 100 * np.exp(PRICE_LOADING * a_pop + rng.normal(0, 0.03, total))
    return indicator_counts, officers, price


@dataclass(frozen=True)
class _Truth:
    """The outcome model's parameters (arrays over outcomes; `u` is (force, outcome))."""

    alpha: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    sd_u: np.ndarray
    season: np.ndarray  # (outcome, quarter)
    trend: np.ndarray  # (outcome, quarter of the whole simulation)
    sd_rw: np.ndarray
    phi: np.ndarray


def _outcome_model(
    rng: np.random.Generator,
    outcomes: tuple[str, ...],
    effects: dict[str, float],
    pop: np.ndarray,
    a_lag: np.ndarray,
    periods_all: pd.PeriodIndex,
) -> tuple[_Truth, np.ndarray]:
    """The outcome parameters and the (force, quarter, outcome) log mean of the counts."""
    n_f, total = pop.shape
    n_k = len(outcomes)
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
    return _Truth(alpha, beta, u, sd_u, season, trend, sd_rw, phi), eta


def _apply_breaks(
    eta: np.ndarray,
    breaks: list[dict] | None,
    forces: list[str],
    outcomes: tuple[str, ...],
    periods_all: pd.PeriodIndex,
) -> list[dict]:
    """Multiply the means by each recording break's factor (in place, on `eta`); the break register
    rows that record them."""
    break_rows = []
    for b in breaks or ():
        f = forces.index(normalise_forces([b["force"]])[0])
        k = list(outcomes).index(b["outcome"])
        on = np.array([b["start"] <= str(p) <= b.get("end", "9999Q4") for p in periods_all])
        eta[f, on, k] += np.log(b["factor"])
        break_rows.append(
            {
                "force": forces[f],
                "series": b["outcome"],
                "start": b["start"],
                "end": b.get("end", ""),
                "kind": "recording",
                "reason": f"simulated step x{b['factor']}",
            }
        )
    return break_rows


def _truth(
    t: _Truth,
    a_obs: np.ndarray,
    forces: list[str],
    periods_all: pd.PeriodIndex,
    hist: slice,
    attrs: dict,
) -> xr.Dataset:
    """The truth in the model's convention: the trend centred over the modelled quarters (the
    panel's from `lag` on), its mean moved into the intercept."""
    lag, outcomes = attrs["lag"], dims.OUTCOMES
    level = t.trend[:, lag : hist.stop].mean(axis=1)
    return xr.Dataset(
        {
            "availability": ((dims.FORCE, dims.PERIOD), a_obs[:, hist]),
            "availability_beta": ((dims.OUTCOME,), t.beta),
            "availability_effect_per_sd": ((dims.OUTCOME,), t.beta * within_sd(a_obs[:, hist])),
            "intercept": ((dims.OUTCOME,), t.alpha + level),
            "force_effect": ((dims.OUTCOME, dims.FORCE), t.u.T),
            "force_sigma": ((dims.OUTCOME,), t.sd_u),
            "season": ((dims.OUTCOME, dims.QUARTER), t.season),
            "trend": ((dims.OUTCOME, dims.PERIOD), t.trend[:, hist] - level[:, None]),
            "trend_sigma": ((dims.OUTCOME,), t.sd_rw),
            "phi": ((dims.OUTCOME,), t.phi),
        },
        coords={
            dims.FORCE: forces,
            dims.PERIOD: periods_all[hist],
            dims.OUTCOME: list(outcomes),
            dims.QUARTER: [1, 2, 3, 4],
        },
        attrs={**attrs, "effects_scale": "log rate per sd of latent availability"},
    )


def oracle_z(sim: xr.DataTree) -> np.ndarray:
    """Per outcome, the score statistic for the effect given the TRUE means (negative binomial,
    within-quarter variation of the true lagged availability, force levels known).

    It measures how far the panel's own noise pushes any estimate: |z| > 1.645 means that even a
    model knowing every other parameter would find the truth outside a 90% interval. Quarters
    whose lagged availability lies before the panel are left out.
    """
    truth, panel = sim["truth"].to_dataset(), sim["panel"].to_dataset()
    lag = int(truth.attrs["lag"])
    a = truth["availability"].values[:, :-lag]  # A[t - lag] for the quarters t >= lag
    a_dev = a - a.mean(axis=0, keepdims=True)
    quarter = np.array([p.quarter - 1 for p in panel.indexes["period"]])[lag:]
    log_pop = np.log(panel["population"].values[:, lag:] / 1e5)
    out = []
    for i, k in enumerate(truth["outcome"].values):
        eta = (
            log_pop
            + float(truth["intercept"][i])
            + truth["force_effect"].values[i][:, None]
            + float(truth["availability_beta"][i]) * a
            + truth["season"].values[i][quarter][None, :]
            + truth["trend"].values[i][lag:][None, :]
        )
        mu, phi = np.exp(eta), float(truth["phi"][i])
        y = panel["count"].sel(outcome=k).values[:, lag:]
        var = mu + mu**2 / phi
        w = mu / var  # the NB score weight under a log link
        out.append((w * (y - mu) * a_dev).sum() / np.sqrt((w**2 * var * a_dev**2).sum()))
    return np.array(out)
