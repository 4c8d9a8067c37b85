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
``holdout > 0``, the next quarters' panel in ``/future`` (for forecast checks).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.errors import ForecastError
from forecast.core.forces import force_register, normalise_forces
from forecast.core.periods import quarter_range
from forecast.core.scale import within_sd
from forecast.ingest.panel import make_panel

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


def _ar1(rng: np.random.Generator, n: int, t: int, rho: float, sd: float) -> np.ndarray:
    """`n` stationary AR(1) series of length `t` with marginal sd `sd`."""
    x = np.empty((n, t))
    x[:, 0] = rng.normal(0.0, sd, size=n)
    innov = sd * np.sqrt(1 - rho**2)
    for i in range(1, t):
        x[:, i] = rho * x[:, i - 1] + rng.normal(0.0, innov, size=n)
    return x


def _enforcement(rng: np.random.Generator, pop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log enforcement effort per force and quarter (a slow AR(1) plus a force trend) and the
    police officers it implies (about 220 per 100,000 around each force's own level)."""
    n_f, total = pop.shape
    effort = _ar1(rng, n_f, total, 0.9, 0.1)
    effort = effort + rng.normal(0, 0.02, size=(n_f, 1)) * (np.arange(total)[None, :] - total / 2)
    officers = pop / 1e5 * OFFICERS_PER_100K * np.exp(rng.normal(0, 0.15, (n_f, 1)) + effort)
    return effort, officers


def _fy_means(x: np.ndarray, periods: pd.PeriodIndex) -> np.ndarray:
    """Financial-year means of quarterly values, at each year's last quarter (Jan-Mar); NaN else."""
    out = np.full_like(x, np.nan)
    for t, p in enumerate(periods):
        if p.quarter == 1 and t >= 3:
            out[:, t] = x[:, t - 3 : t + 1].mean(axis=1)
    return out


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
) -> xr.DataTree:
    """Simulate a quarterly panel (all 43 forces by default) with its truth; deterministic in `seed`.

    `breaks` lists recording breaks to simulate, e.g. ``{"force": "Kent", "outcome": "robbery",
    "start": "2016Q1", "factor": 1.3}`` (optional "end"); they are recorded in the panel's break
    register (attribute ``breaks``) so the model can give them step effects. `regional_trend_sd` adds
    regional random-walk deviations from the national trend (step sd per outcome, steps summing to zero
    over regions), drawn from their own stream so availability and the indicators are unchanged.
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

    # indicators of availability (loadings > 0 except price), each with its own force levels
    # (enforcement intensity), a load on enforcement effort that varies by force and over time
    # (officers per 100,000: slow AR(1) plus a force trend; published as financial-year means) and
    # a little time-varying noise the model does not have
    effort, officers = _enforcement(np.random.default_rng([seed, 11]), pop)
    a_pop = (a_obs * pop).sum(axis=0) / pop.sum(axis=0)
    indicator_counts = {}
    for name, (rate, loading, level_sd, enforce) in INDICATORS.items():
        level = rng.normal(0.0, level_sd, size=n_f)[:, None] + _ar1(rng, n_f, total, 0.5, 0.05)
        mu_ind = pop / 1e5 * rate * np.exp(loading * a_obs + level + enforce * effort)
        indicator_counts[name] = _nb(rng, mu_ind, np.full((n_f, total), 30.0))
    welsh = reg.loc[forces, "force_code"].str.startswith("W").to_numpy()
    for name in ENGLAND_ONLY:
        indicator_counts[name][welsh] = np.nan
    price = 100 * np.exp(PRICE_LOADING * a_pop + rng.normal(0, 0.03, total))

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
    regional_trend = None
    if regional_trend_sd:
        sd_g = np.array([regional_trend_sd.get(k, 0.0) for k in outcomes])
        g_rng = np.random.default_rng([seed, 7])
        z = g_rng.normal(size=(n_k, len(uniq), total - 1))
        g_steps = (z - z.mean(axis=1, keepdims=True)) * sd_g[:, None, None]
        g_path = np.concatenate([np.zeros((n_k, len(uniq), 1)), np.cumsum(g_steps, axis=2)], axis=2)
        regional_trend = g_path - g_path[:, :, lag:n_periods].mean(axis=2, keepdims=True)
        eta = eta + regional_trend[:, r_idx, :].transpose(1, 2, 0)
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
    counts = _nb(rng, np.exp(eta), np.broadcast_to(phi, eta.shape))

    def published(sl: slice) -> dict[str, xr.DataArray]:
        """Indicators as published: quarterly, financial-year or pooled sums at their end quarter."""
        out = {}
        for name, (var, window, end_q) in PUBLISHED.items():
            x = indicator_counts[name]
            if window > 1:
                sums = np.full_like(x, np.nan)
                csum = np.cumsum(x, axis=1)
                ends = [t for t in range(window - 1, total) if periods_all[t].quarter == end_q]
                for t in ends:
                    before = csum[:, t - window] if t >= window else 0.0
                    sums[:, t] = csum[:, t] - before
                x = sums
            out[var] = xr.DataArray(
                x[:, sl],
                dims=(dims.FORCE, dims.PERIOD),
                attrs={
                    "unit": "count",
                    "window_quarters": window,
                    "aggregation": "quarter sum" if window == 1 else f"{window}-quarter sum",
                    "geography": "force",
                },
            )
        out["police_officers_fy"] = xr.DataArray(
            _fy_means(officers, periods_all)[:, sl],
            dims=(dims.FORCE, dims.PERIOD),
            attrs={
                "unit": "officers (financial-year mean)",
                "window_quarters": 4,
                "aggregation": "financial-year mean",
                "geography": "force",
            },
        )
        out["price_index"] = xr.DataArray(
            price[sl],
            dims=(dims.PERIOD,),
            attrs={
                "unit": "index",
                "geography": "national",
                "window_quarters": 1,
                "description": "purity-adjusted Class A price (falls as availability rises)",
            },
        )
        return out

    def panel(sl: slice) -> xr.Dataset:
        return make_panel(
            count=counts[:, sl],
            population=pop[:, sl],
            availability_index=index[:, sl],
            forces=forces,
            periods=periods_all[sl],
            extra=published(sl),
            attrs={
                "source": "forecast.simulate",
                "vintage": f"simulated seed {seed}",
                "seed": seed,
                "breaks": json.dumps(break_rows),
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
            "availability_effect_per_sd": ((dims.OUTCOME,), beta * within_sd(a_obs[:, hist])),
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
    if regional_trend is not None:
        truth["trend_regional"] = xr.DataArray(
            regional_trend[:, :, hist],
            dims=(dims.OUTCOME, dims.GOR, dims.PERIOD),
            coords={dims.GOR: list(uniq)},
        )
    tree = {"/panel": panel(hist), "/truth": truth}
    if holdout:
        tree["/future"] = panel(slice(n_periods, total))
    return xr.DataTree.from_dict(tree)


def mixed_frequency(
    panel: xr.Dataset,
    rolling_forces: int = 10,
    fy_outcome: str = "knife",
    gap_force: str = "Greater Manchester",
    gap: tuple[str, str] = ("2019Q3", "2019Q4"),
) -> xr.Dataset:
    """The awkward shapes real series come in, made from a simulated panel (for tests and studies):

    - `fy_outcome` observed only as financial-year sums (``{outcome}_fy``, at Jan-Mar quarters);
    - robbery of the first `rolling_forces` forces only as rolling 4-quarter sums
      (``robbery_rolling_year``, every quarter);
    - `gap_force` missing for the `gap` quarters in every series (registered as a 'missing' break).
    Quarterly cells that are only seen through sums become NaN.
    """
    out = panel.copy(deep=True)
    periods = out.indexes[dims.PERIOD]
    count = out[dims.COUNT]

    def window_sums(x: np.ndarray, window: int, ends: np.ndarray) -> np.ndarray:
        sums = np.full_like(x, np.nan)
        for t in np.flatnonzero(ends):
            if t >= window - 1:
                sums[:, t] = x[:, t - window + 1 : t + 1].sum(axis=1)  # NaN if any quarter is
        return sums

    fp = (dims.FORCE, dims.PERIOD)
    k = count.sel({dims.OUTCOME: fy_outcome}).transpose(*fp).values
    fy_end = np.array([p.quarter == 1 for p in periods])
    on = np.array([gap[0] <= str(p) <= gap[1] for p in periods])
    g = list(map(str, out[dims.FORCE].values)).index(gap_force)
    k_gap = k.copy()
    k_gap[g, on] = np.nan
    attrs_fy = {"window_quarters": 4, "aggregation": "financial-year sum", "unit": "offences"}
    out[f"{fy_outcome}_fy"] = xr.DataArray(window_sums(k_gap, 4, fy_end), dims=fp, attrs=attrs_fy)
    r = count.sel({dims.OUTCOME: "robbery"}).transpose(*fp).values.copy()
    r[g, on] = np.nan
    rolling = np.full_like(r, np.nan)
    rolling[:rolling_forces] = window_sums(r, 4, np.ones(len(periods), bool))[:rolling_forces]
    out["robbery_rolling_year"] = xr.DataArray(
        rolling,
        dims=fp,
        attrs={"window_quarters": 4, "aggregation": "rolling 4-quarter sum", "unit": "offences"},
    )
    values = out[dims.COUNT].values  # (force, period, outcome)
    ki = list(map(str, out[dims.OUTCOME].values))
    values[:, :, ki.index(fy_outcome)] = np.nan
    values[:rolling_forces, :, ki.index("robbery")] = np.nan
    values[g, on, :] = np.nan
    out[dims.COUNT].values = values
    rows = json.loads(out.attrs.get("breaks", "[]"))
    rows.append(
        {
            "force": gap_force,
            "series": "all",
            "start": gap[0],
            "end": gap[1],
            "kind": "missing",
            "reason": "simulated missing half-year",
        }
    )
    out.attrs["breaks"] = json.dumps(rows)
    return out
