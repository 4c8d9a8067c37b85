"""Posterior prediction: replicated history and forecasts h quarters ahead, per draw.

Forecasts propagate every component forward rather than holding the last value: the national trend
continues as a random walk with the posterior step sd, the availability index follows its fitted AR(1)
dynamics (national mean + force deviations), seasonality follows the calendar, and population is
extrapolated log-linearly from each force's growth over the last four quarters. Region and national
figures are sums of force draws, so every level agrees draw by draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.areas import NATIONAL, PANEL_TOTAL, to_areas  # noqa: F401 (re-exported)
from forecast.core.errors import ForecastError
from forecast.fit import fit_panel, fit_spec
from forecast.model.availability import group_of
from forecast.model.breaks import shock_terms
from forecast.model.conditioning import condition_on_windows
from forecast.model.data import (
    BREAK_STEP,
    NOISE_OUTCOME,
    PANEL_PERIOD,
    SHOCK,
    ModelData,
    prepare_data,
)
from forecast.model.dynamics import dynamics_paths, group_centred_normals
from forecast.spec import ModelSpec

BREAK_STEP_VAR = "break_step"
MAX_HORIZON = 40  # quarters (ten years): far beyond any useful forecast, and bounds the memory used
AVAILABILITY = "availability"
SEED_ATTR = "projection_seed"
EXCLUDED = "excluded_events"  # victims taken out of `observed` (forecast.ingest.events)


def _draws(post: xr.Dataset, name: str, *dim_order: str) -> np.ndarray:
    """Posterior variable as (sample, *dim_order) with chain and draw stacked."""
    da = post[name].transpose("chain", "draw", *dim_order)
    return da.values.reshape(-1, *da.shape[2:])


def _future_index(
    post: xr.Dataset, index_full: np.ndarray, steps: int, rng: np.random.Generator
) -> np.ndarray:
    """Simulate (sample, force, steps) future index values from the fitted AR(1) dynamics."""
    n_s = post.sizes["chain"] * post.sizes["draw"]
    rho_n, sig_n = _draws(post, "index_nat_rho")[:, None], _draws(post, "index_nat_sigma")[:, None]
    name = "index_nat_intercept" if "index_nat_intercept" in post else "index_nat_mean"  # old fits
    intercept = _draws(post, name)[:, None] * (1 if name.endswith("intercept") else 1 - rho_n)
    rho_d, sig_d = _draws(post, "index_dev_rho")[:, None], _draws(post, "index_dev_sigma")[:, None]
    c_d = _draws(post, "index_dev_intercept", dims.FORCE) if "index_dev_intercept" in post else 0.0
    nat = np.full((n_s, 1), index_full[:, -1].mean())
    dev = np.broadcast_to(index_full[:, -1] - index_full[:, -1].mean(), (n_s, index_full.shape[0]))
    out = np.empty((n_s, index_full.shape[0], steps))
    for j in range(steps):
        nat = intercept + rho_n * nat + sig_n * rng.normal(size=(n_s, 1))
        dev = c_d + rho_d * dev + sig_d * rng.normal(size=dev.shape)  # to each force's own level
        out[:, :, j] = nat + dev
    return out


def _future_latent(
    post: xr.Dataset, data: ModelData, steps: int, rng: np.random.Generator
) -> np.ndarray:
    """Simulate (sample, force, steps) future latent availability: each AR(1) component continues
    from its last value with its own persistence and innovation sd (so each force's availability
    reverts to its own level, A's zero), then is scaled as in the fit; also returns the national
    component's (sample, steps) path."""
    q = "_quarterly" if "availability_quarterly_rho" in post else ""  # force paths on knots
    rho = _draws(post, f"availability{q}_rho", "availability_component")
    if "availability_sigma" in post:
        sd = _draws(post, f"availability{q}_sigma", "availability_component")
    else:  # fits saved before the innovation-sd parameterisation
        if "availability_share" in post:
            marginal = np.sqrt(_draws(post, "availability_share", "availability_component"))
        else:
            marginal = _draws(post, "availability_sd", "availability_component")
        sd = marginal * np.sqrt(1 - rho**2)
    nat = _draws(post, "availability_national_last")[:, None]
    force = _draws(post, "availability_force_last", dims.FORCE)
    regional = "availability_regional_last" in post
    reg = _draws(post, "availability_regional_last", dims.FORCE) if regional else None
    offset = (
        _draws(post, "availability_offset", dims.FORCE) if "availability_offset" in post else 0.0
    )
    scale = _draws(post, "availability_scale")[:, None]
    out = np.empty((rho.shape[0], len(data.forces), steps))
    out_nat = np.empty((rho.shape[0], steps))
    # innovations obey the fit's constraints: regional ones sum to zero over regions, force ones
    # over the forces of their region (the constraints are linear, so the paths keep obeying them)
    group = group_of(data, regional)
    for j in range(steps):
        nat = rho[:, :1] * nat + sd[:, :1] * rng.normal(size=nat.shape)
        eps = group_centred_normals(rng, force.shape, group)
        force = rho[:, -1:] * force + sd[:, -1:] * eps
        raw = nat + force
        if regional:
            shock = rng.normal(size=(reg.shape[0], len(data.regions)))
            shock = (shock - shock.mean(axis=1, keepdims=True))[:, data.region_of]
            reg = rho[:, 1:2] * reg + sd[:, 1:2] * shock
            raw = raw + reg
        out[:, :, j] = (raw - offset) / scale
        out_nat[:, j] = nat[:, 0] / scale[:, 0]
    return out, out_nat


def availability_paths(
    post: xr.Dataset, data: ModelData, horizon: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None]:
    """(sample, force, panel quarters + horizon): fitted or observed availability, then projected;
    and (sample, panel quarters + horizon) its national component where the fit's link leaves that
    out (`availability_link`), else None."""
    n_s = post.sizes["chain"] * post.sizes["draw"]
    if "availability_beta" not in post:  # kind = "none": no availability link
        return np.zeros((n_s, len(data.forces), len(data.panel_periods) + horizon)), None
    if data.index_full is not None:
        hist = np.broadcast_to(data.index_full, (n_s, *data.index_full.shape))
        future = _future_index(post, data.index_full, horizon, rng)
        return np.concatenate([hist, future], axis=2), None
    hist = _draws(post, "availability", dims.FORCE, PANEL_PERIOD)
    future, future_nat = _future_latent(post, data, horizon, rng)
    national = None
    if "availability_link" in post:
        hist_nat = _draws(post, "availability_national", PANEL_PERIOD)
        national = np.concatenate([hist_nat, future_nat], axis=1)
    return np.concatenate([hist, future], axis=2), national


def _log_rate(
    post: xr.Dataset,
    spec: ModelSpec,
    data: ModelData,
    t_model: np.ndarray,
    log_offset: np.ndarray,
    a_path: np.ndarray,
    quarter: np.ndarray,
    trend: np.ndarray | None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """log mu per (sample, force, period, outcome) at modelled-time indices `t_model` (history is
    0..n-1, the future continues), the same formula as the PyMC model; `rng` draws the forecast
    quarters' shocks when the data end inside one (`shock_terms`)."""
    eta = log_offset[None, :, :, None] + _draws(post, "intercept", dims.OUTCOME)[:, None, None, :]
    if spec.force_effects.enabled:
        u = _draws(post, "force_effect", dims.OUTCOME, dims.FORCE)
        eta = eta + np.swapaxes(u, 1, 2)[:, :, None, :]
    if spec.availability.kind != "none":
        one = np.ones((eta.shape[0], 1))
        weights = _draws(post, "lag_weight", "lag") if len(data.lags) > 1 else one
        a_eff = sum(
            weights[:, i, None, None] * a_path[:, :, data.n_pre + t_model - lag]
            for i, lag in enumerate(data.lags)
        )
        if spec.availability.force_varying:
            beta = _draws(post, "availability_beta_force", dims.FORCE, dims.OUTCOME)
            beta = beta[:, :, None, :]
        else:
            beta = _draws(post, "availability_beta", dims.OUTCOME)[:, None, None, :]
        eta = eta + beta * a_eff[..., None]
    if spec.seasonality.enabled:
        season = _draws(post, "season", dims.OUTCOME, dims.QUARTER)
        eta = eta + np.swapaxes(season[:, :, quarter], 1, 2)[:, None, :, :]
    if trend is not None:  # (sample, outcome, period) or, with regional trends, per force
        national = trend.ndim == 3
        eta = eta + (np.swapaxes(trend, 1, 2)[:, None] if national else trend.transpose(0, 2, 3, 1))
    for name, x in data.covariates.items():
        gamma = _draws(post, f"covariate__{name}", dims.OUTCOME)
        held = x[:, np.minimum(t_model, x.shape[1] - 1)]  # held at the last value in forecasts
        eta = eta + gamma[:, None, None, :] * held[None, :, :, None]
    if data.shocks:
        delta = _draws(post, "shock", SHOCK, dims.OUTCOME)[..., None]  # (sample, shock, outcome, 1)
        # regions' deviations, per force: (sample, shock, outcome, force)
        if "shock_regional" in post:
            reg = _draws(post, "shock_regional", SHOCK, dims.OUTCOME, dims.GOR)
            delta = delta + reg[..., data.region_of]
        terms = shock_terms(delta, data.shocks, t_model, len(data.periods), rng)
        eta = eta + terms.transpose(0, 3, 1, 2)
    if data.steps:
        delta = _draws(post, BREAK_STEP_VAR, BREAK_STEP)
        n_hist = len(data.periods)
        for i, step in enumerate(data.steps):
            # a break with no end carries on into the future
            active = np.array([step.active[t] if t < n_hist else step.active[-1] for t in t_model])
            for k in step.outcomes:
                eta[:, step.force, active, k] += delta[:, i, None]
    return eta


def _sample_counts(post: xr.Dataset, spec: ModelSpec, eta: np.ndarray, rng) -> np.ndarray:
    mu = np.exp(eta)
    if spec.likelihood.family == "poisson":
        return rng.poisson(mu)
    if "phi_force" in post:  # (sample, force, 1, outcome)
        phi = _draws(post, "phi_force", dims.FORCE, dims.OUTCOME)[:, :, None, :]
    else:
        phi = _draws(post, "phi", dims.OUTCOME)[:, None, None, :]
    return rng.poisson(rng.gamma(phi, mu / phi))


def _walk_on(
    post: xr.Dataset, name: str, var_dims: tuple[str, ...], horizon: int, rng
) -> np.ndarray:
    """Draws of a random-walk path `name` (sample, *var_dims), continued `horizon` quarters with
    the steps' sd `{name}_sigma` (per outcome); steps of regional paths sum to zero over regions."""
    path = _draws(post, name, *var_dims)
    if not horizon:
        return path
    sd = _draws(post, f"{name}_sigma", dims.OUTCOME)
    shape = (*path.shape[:-1], horizon)
    steps = rng.normal(size=shape)
    if dims.GOR in var_dims:  # as ZeroSumNormal: iid normals minus their mean over regions
        steps = steps - steps.mean(axis=2, keepdims=True)
    steps = steps * sd.reshape(sd.shape + (1,) * (len(shape) - 2))
    return np.concatenate([path, path[..., -1:] + np.cumsum(steps, axis=-1)], axis=-1)


def _noise_on(post: xr.Dataset, data: ModelData, horizon: int, rng) -> np.ndarray:
    """National quarter noise (sample, outcome, period): the fit's, then fresh iid draws."""
    hist = _draws(post, "trend_noise", dims.OUTCOME, dims.PERIOD)
    sd = _draws(post, "trend_noise_sigma", NOISE_OUTCOME)
    future = np.zeros((hist.shape[0], hist.shape[1], horizon))
    rows = [data.outcomes.index(k) for k in post[NOISE_OUTCOME].values]
    future[:, rows] = rng.normal(size=(sd.shape[0], len(rows), horizon)) * sd[:, :, None]
    return np.concatenate([hist, future], axis=2)


@dataclass
class Projection:
    """A fit carried over history + `horizon` quarters, per draw, before count noise: the inputs of
    the log rate (population, trend, availability) so that scenarios can change availability and
    recompute the rate with the very same draws."""

    tree: xr.DataTree
    post: xr.Dataset
    spec: ModelSpec
    data: ModelData
    periods: pd.PeriodIndex
    n_hist: int
    log_offset: np.ndarray  # (force, period): log(population / 1e5)
    trend: np.ndarray | None  # (sample, outcome, period), or (sample, outcome, force, period)
    availability: np.ndarray  # (sample, force, lead quarters + period)
    national: np.ndarray | None = None  # (sample, lead quarters + period): left out of the link
    shock_seed: int = 0  # the forecast quarters' shock draws: the same for every log_rate call

    @property
    def horizon(self) -> int:
        return len(self.periods) - self.n_hist

    def log_rate(self, availability: np.ndarray | None = None) -> np.ndarray:
        """log mu per (sample, force, period, outcome), with `availability` in place of the fit's."""
        quarter = np.array([p.quarter - 1 for p in self.periods])
        a_path = self.availability if availability is None else availability
        if self.national is not None:  # the fit's link holds A without its national component
            a_path = a_path - self.national[:, None, :]
        t = np.arange(len(self.periods))
        rng = np.random.default_rng(self.shock_seed)
        return _log_rate(
            self.post, self.spec, self.data, t, self.log_offset, a_path, quarter, self.trend, rng
        )

    def period_slice(self, start: pd.Period, end: pd.Period | None = None) -> np.ndarray:
        """Boolean mask over the availability path's quarters (lead quarters first) from `start`."""
        lead = self.availability.shape[2] - len(self.periods)
        first = self.periods[0] - lead
        quarters = pd.period_range(first, periods=self.availability.shape[2], freq="Q")
        return (quarters >= start) & ((quarters <= end) if end is not None else True)


def check_horizon(horizon: int, minimum: int = 1) -> None:
    """Refuse a horizon outside `minimum`..MAX_HORIZON quarters (before any work is done)."""
    if not minimum <= horizon <= MAX_HORIZON:
        raise ForecastError(
            f"--horizon {horizon}: choose {minimum} to {MAX_HORIZON} quarters ahead"
        )


def project(tree: xr.DataTree, horizon: int, rng: np.random.Generator) -> Projection:
    """Carry every component of a fit `horizon` quarters forward (see the module docstring)."""
    check_horizon(horizon, minimum=0)
    spec = fit_spec(tree)
    data = prepare_data(fit_panel(tree), spec)
    post = tree["posterior"].to_dataset()
    n_hist = len(data.periods)
    a_path, national = availability_paths(post, data, horizon, rng)
    trend = None
    if spec.trend.kind == "random_walk":
        trend = _walk_on(post, "trend", (dims.OUTCOME, dims.PERIOD), horizon, rng)
        if "trend_noise" in post:
            trend = trend + _noise_on(post, data, horizon, rng)
        if spec.trend.regional:
            regional = _walk_on(
                post, "trend_regional", (dims.OUTCOME, dims.GOR, dims.PERIOD), horizon, rng
            )
            trend = trend[:, :, None, :] + regional[:, :, data.region_of, :]
    by_region = spec.trend.kind == "random_walk" and spec.trend.regional
    dyn = dynamics_paths(post, data, group_of(data, by_region), horizon, rng)
    if dyn is not None:  # persistent force deviations: per force, so they join the trend
        trend = dyn if trend is None else dyn + (trend[:, :, None] if trend.ndim == 3 else trend)
    # population: extrapolated log-linearly from each force's growth over the last four quarters
    k = min(4, data.log_offset.shape[1] - 1)
    growth = (data.log_offset[:, -1] - data.log_offset[:, -1 - k]) / max(k, 1)
    future = data.log_offset[:, -1:] + growth[:, None] * np.arange(1, horizon + 1)[None, :]
    periods = pd.period_range(data.periods[0], periods=n_hist + horizon, freq="Q")
    log_offset = np.concatenate([data.log_offset, future], axis=1)
    seed = int(rng.integers(2**32))
    return Projection(
        tree, post, spec, data, periods, n_hist, log_offset, trend, a_path, national, seed
    )


def predict(tree: xr.DataTree, horizon: int = 4, seed: int | None = None) -> xr.Dataset:
    """Draws of counts for the modelled history and `horizon` future quarters, per force; history
    quarters known only through window sums add up to those sums (`condition_on_windows`).

    Returns a Dataset with ``count`` (chain, draw, force, period, outcome; non-negative integers),
    ``availability`` (chain, draw, force, period: fitted or observed, then projected),
    ``population`` and ``observed`` (NaN in the future), and a ``horizon`` coord (0 = history).
    """
    proj = project(tree, horizon, _rng(tree, seed))
    eta = proj.log_rate()
    count = _sample_counts(proj.post, proj.spec, eta, _rng(tree, seed, 1))
    count = condition_on_windows(count, eta, proj.data, _rng(tree, seed, 2))
    out = _as_dataset(proj, count.astype(np.int64))
    out.attrs[SEED_ATTR] = _base_seed(tree, seed)  # re-projects the same draws (attributable harm)
    return out


def _rng(tree: xr.DataTree, seed: int | None, stream: int = 0) -> np.random.Generator:
    """Predictive random numbers: the fit's seed + 1 by default; `stream` separates independent
    uses (the projection and the count noise) so a scenario can reuse the projection's draws."""
    return np.random.default_rng([_base_seed(tree, seed), stream])


def _base_seed(tree: xr.DataTree, seed: int | None) -> int:
    return int(tree.attrs.get("seed", 0)) + 1 if seed is None else int(seed)


def _as_dataset(proj: Projection, count: np.ndarray) -> xr.Dataset:
    """Draws (sample, force, period, outcome) as the predictive Dataset, with named dims."""
    data, post, n_hist = proj.data, proj.post, proj.n_hist
    panel = fit_panel(proj.tree)
    n_c, n_d = post.sizes["chain"], post.sizes["draw"]
    count = count.reshape(n_c, n_d, *count.shape[1:])
    observed = np.full(count.shape[2:], np.nan)
    observed[:, :n_hist, :] = data.count
    lead = proj.availability.shape[2] - len(proj.periods)
    avail = proj.availability[:, :, lead:].reshape(n_c, n_d, len(data.forces), -1)
    coords = {
        "chain": post["chain"].values,
        "draw": post["draw"].values,
        dims.FORCE: data.forces,
        dims.PERIOD: proj.periods,
        dims.OUTCOME: data.outcomes,
        dims.HORIZON: (dims.PERIOD, np.r_[np.zeros(n_hist, int), np.arange(1, proj.horizon + 1)]),
        dims.FORCE_CODE: (dims.FORCE, panel[dims.FORCE_CODE].values),
        dims.REGION: (dims.FORCE, panel[dims.REGION].values),
    }
    fpo = (dims.FORCE, dims.PERIOD, dims.OUTCOME)
    out = xr.Dataset(
        {
            dims.COUNT: (("chain", "draw", *fpo), count),
            AVAILABILITY: (("chain", "draw", dims.FORCE, dims.PERIOD), avail),
            dims.POPULATION: ((dims.FORCE, dims.PERIOD), np.exp(proj.log_offset) * 1e5),
            "observed": (fpo, observed),
        },
        coords=coords,
        attrs={
            "model": proj.spec.name,
            "spec_hash": proj.spec.model_hash(),
            "vintage": str(proj.tree.attrs.get("panel_vintage", "")),
            "horizon": proj.horizon,
        },
    )
    if data.excluded is not None:  # exceptional events: out of `observed`, kept to put back
        excluded = np.zeros(count.shape[2:])
        excluded[:, :n_hist, :] = data.excluded
        out[EXCLUDED] = (fpo, excluded)
        out[EXCLUDED].attrs["description"] = "victims of registered exceptional events"
    out[dims.COUNT].attrs["unit"] = "offences per quarter"
    out[AVAILABILITY].attrs["description"] = (
        "Class A availability (latent: per the fit's scale convention; index: the observed index), "
        "projected beyond the panel"
    )
    return out


def aggregate_areas(pred: xr.Dataset) -> xr.Dataset:
    """Forces, their regions and England and Wales along one ``area`` dim; sums of force draws."""
    return to_areas(pred[[dims.COUNT, dims.POPULATION, "observed"]], strict=["observed"])
