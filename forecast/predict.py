"""Posterior prediction: replicated history and forecasts h quarters ahead, per draw.

Forecasts propagate every component forward rather than holding the last value: the national trend
continues as a random walk with the posterior step sd, the availability index follows its fitted AR(1)
dynamics (national mean + force deviations), seasonality follows the calendar, and population is
extrapolated log-linearly from each force's growth over the last four quarters. Region and national
figures are sums of force draws, so every level agrees draw by draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast import dims
from forecast.areas import NATIONAL, PANEL_TOTAL, to_areas  # noqa: F401 (re-exported)
from forecast.errors import ForecastError
from forecast.fit import fit_panel, fit_spec
from forecast.model.data import BREAK_STEP, PANEL_PERIOD, ModelData, prepare_data
from forecast.spec import ModelSpec

BREAK_STEP_VAR = "break_step"


def _draws(post: xr.Dataset, name: str, *dim_order: str) -> np.ndarray:
    """Posterior variable as (sample, *dim_order) with chain and draw stacked."""
    da = post[name].transpose("chain", "draw", *dim_order)
    return da.values.reshape(-1, *da.shape[2:])


def _future_index(
    post: xr.Dataset, index_full: np.ndarray, steps: int, rng: np.random.Generator
) -> np.ndarray:
    """Simulate (sample, force, steps) future index values from the fitted AR(1) dynamics."""
    n_s = post.sizes["chain"] * post.sizes["draw"]
    nat_mean = _draws(post, "index_nat_mean")[:, None]
    rho_n, sig_n = _draws(post, "index_nat_rho")[:, None], _draws(post, "index_nat_sigma")[:, None]
    rho_d, sig_d = _draws(post, "index_dev_rho")[:, None], _draws(post, "index_dev_sigma")[:, None]
    nat = np.full((n_s, 1), index_full[:, -1].mean())
    dev = np.broadcast_to(index_full[:, -1] - index_full[:, -1].mean(), (n_s, index_full.shape[0]))
    out = np.empty((n_s, index_full.shape[0], steps))
    for j in range(steps):
        nat = nat_mean + rho_n * (nat - nat_mean) + sig_n * rng.normal(size=(n_s, 1))
        dev = rho_d * dev + sig_d * rng.normal(size=dev.shape)
        out[:, :, j] = nat + dev
    return out


def _future_latent(
    post: xr.Dataset, data: ModelData, steps: int, rng: np.random.Generator
) -> np.ndarray:
    """Simulate (sample, force, steps) future latent availability: each AR(1) component continues
    from its last (raw) value with its own persistence and innovation sd, then is centred and scaled
    as in the fit."""
    rho = _draws(post, "availability_rho", "availability_component")
    if "availability_share" in post:
        marginal = np.sqrt(_draws(post, "availability_share", "availability_component"))
    else:
        marginal = _draws(post, "availability_sd", "availability_component")
    sd = marginal * np.sqrt(1 - rho**2)  # innovation sd of each component
    nat = _draws(post, "availability_national_last")[:, None]
    force = _draws(post, "availability_force_last", dims.FORCE)
    regional = "availability_regional_last" in post
    reg = _draws(post, "availability_regional_last", dims.FORCE) if regional else None
    offset = _draws(post, "availability_offset", dims.FORCE)
    scale = _draws(post, "availability_scale")[:, None]
    out = np.empty((rho.shape[0], len(data.forces), steps))
    # innovations obey the fit's constraints: regional ones sum to zero over regions, force ones
    # over the forces of their region (the constraints are linear, so the paths keep obeying them)
    group_of = data.region_of if regional else np.zeros(len(data.forces), int)
    n_groups = group_of.max() + 1
    counts = np.bincount(group_of, minlength=n_groups)
    for j in range(steps):
        nat = rho[:, :1] * nat + sd[:, :1] * rng.normal(size=nat.shape)
        eps = rng.normal(size=force.shape)
        sums = np.stack([eps[:, group_of == g].sum(axis=1) for g in range(n_groups)], axis=1)
        eps = eps - (sums / counts)[:, group_of]
        force = rho[:, -1:] * force + sd[:, -1:] * eps
        raw = nat + force
        if regional:
            shock = rng.normal(size=(reg.shape[0], len(data.regions)))
            shock = (shock - shock.mean(axis=1, keepdims=True))[:, data.region_of]
            reg = rho[:, 1:2] * reg + sd[:, 1:2] * shock
            raw = raw + reg
        out[:, :, j] = (raw - offset) / scale
    return out


def availability_paths(
    post: xr.Dataset, data: ModelData, horizon: int, rng: np.random.Generator
) -> np.ndarray:
    """(sample, force, panel quarters + horizon): fitted or observed availability, then projected."""
    n_s = post.sizes["chain"] * post.sizes["draw"]
    if data.index_full is None:
        hist = _draws(post, "availability", dims.FORCE, PANEL_PERIOD)
        future = _future_latent(post, data, horizon, rng)
    else:
        hist = np.broadcast_to(data.index_full, (n_s, *data.index_full.shape))
        future = _future_index(post, data.index_full, horizon, rng)
    return np.concatenate([hist, future], axis=2)


def _log_rate(
    post: xr.Dataset,
    spec: ModelSpec,
    data: ModelData,
    t_model: np.ndarray,
    log_offset: np.ndarray,
    a_path: np.ndarray,
    quarter: np.ndarray,
    trend: np.ndarray | None,
) -> np.ndarray:
    """log mu per (sample, force, period, outcome) at modelled-time indices `t_model` (history is
    0..n-1, the future continues), the same formula as the PyMC model."""
    eta = log_offset[None, :, :, None] + _draws(post, "intercept", dims.OUTCOME)[:, None, None, :]
    if spec.force_effects.enabled:
        u = _draws(post, "force_effect", dims.OUTCOME, dims.FORCE)
        eta = eta + np.swapaxes(u, 1, 2)[:, :, None, :]
    one = np.ones((eta.shape[0], 1))
    weights = _draws(post, "lag_weight", "lag") if len(data.lags) > 1 else one
    a_eff = sum(
        weights[:, i, None, None] * a_path[:, :, data.n_pre + t_model - lag]
        for i, lag in enumerate(data.lags)
    )
    if spec.availability.force_varying:
        beta = _draws(post, "availability_beta_force", dims.FORCE, dims.OUTCOME)[:, :, None, :]
    else:
        beta = _draws(post, "availability_beta", dims.OUTCOME)[:, None, None, :]
    eta = eta + beta * a_eff[..., None]
    if spec.seasonality.enabled:
        season = _draws(post, "season", dims.OUTCOME, dims.QUARTER)
        eta = eta + np.swapaxes(season[:, :, quarter], 1, 2)[:, None, :, :]
    if trend is not None:
        eta = eta + np.swapaxes(trend, 1, 2)[:, None, :, :]
    for name, x in data.covariates.items():
        gamma = _draws(post, f"covariate__{name}", dims.OUTCOME)
        held = x[:, np.minimum(t_model, x.shape[1] - 1)]  # held at the last value in forecasts
        eta = eta + gamma[:, None, None, :] * held[None, :, :, None]
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
    phi = _draws(post, "phi", dims.OUTCOME)[:, None, None, :]
    return rng.poisson(rng.gamma(phi, mu / phi))


def predict(tree: xr.DataTree, horizon: int = 4, seed: int | None = None) -> xr.Dataset:
    """Draws of counts for the modelled history and `horizon` future quarters, per force.

    Returns a Dataset with ``count`` (chain, draw, force, period, outcome; non-negative integers),
    ``population`` and ``observed`` (NaN in the future), and a ``horizon`` coord (0 = history).
    """
    if horizon < 0:
        raise ForecastError(f"horizon must be >= 0 quarters, got {horizon}")
    spec = fit_spec(tree)
    panel = fit_panel(tree)
    data = prepare_data(panel, spec)
    post = tree["posterior"].to_dataset()
    rng = np.random.default_rng(int(tree.attrs.get("seed", 0)) + 1 if seed is None else seed)
    n_s = post.sizes["chain"] * post.sizes["draw"]
    has_trend = spec.trend.kind == "random_walk"
    trend_hist = _draws(post, "trend", dims.OUTCOME, dims.PERIOD) if has_trend else None

    a_path = availability_paths(post, data, horizon, rng)
    n_hist = len(data.periods)

    # history
    eta_hist = _log_rate(
        post, spec, data, np.arange(n_hist), data.log_offset, a_path, data.quarter, trend_hist
    )
    counts = [_sample_counts(post, spec, eta_hist, rng)]
    pops = [np.exp(data.log_offset) * 1e5]
    periods = list(data.periods)

    if horizon:
        last = data.periods[-1]
        future = pd.period_range(last + 1, periods=horizon, freq="Q")
        pop_last = np.exp(data.log_offset[:, -1]) * 1e5
        k = min(4, data.log_offset.shape[1] - 1)
        growth = (data.log_offset[:, -1] - data.log_offset[:, -1 - k]) / k
        steps = np.arange(1, horizon + 1)
        pop_future = pop_last[:, None] * np.exp(growth[:, None] * steps[None, :])
        trend_future = None
        if has_trend:
            sd = _draws(post, "trend_sigma", dims.OUTCOME)
            walk = np.cumsum(rng.normal(size=(n_s, sd.shape[1], horizon)) * sd[:, :, None], axis=2)
            trend_future = trend_hist[:, :, -1:] + walk
        quarter = np.array([p.quarter - 1 for p in future])
        t_future = n_hist + np.arange(horizon)
        eta_f = _log_rate(
            post, spec, data, t_future, np.log(pop_future / 1e5), a_path, quarter, trend_future
        )
        counts.append(_sample_counts(post, spec, eta_f, rng))
        pops.append(pop_future)
        periods += list(future)

    count = np.concatenate(counts, axis=2).astype(np.int64)
    n_c, n_d = post.sizes["chain"], post.sizes["draw"]
    count = count.reshape(n_c, n_d, *count.shape[1:])
    observed = np.full(count.shape[2:], np.nan)
    observed[:, :n_hist, :] = data.count
    coords = {
        "chain": post["chain"].values,
        "draw": post["draw"].values,
        dims.FORCE: data.forces,
        dims.PERIOD: pd.PeriodIndex(periods, freq="Q"),
        dims.OUTCOME: data.outcomes,
        dims.HORIZON: (dims.PERIOD, np.r_[np.zeros(n_hist, int), np.arange(1, horizon + 1)]),
        dims.FORCE_CODE: (dims.FORCE, panel[dims.FORCE_CODE].values),
        dims.REGION: (dims.FORCE, panel[dims.REGION].values),
    }
    fpo = (dims.FORCE, dims.PERIOD, dims.OUTCOME)
    out = xr.Dataset(
        {
            dims.COUNT: (("chain", "draw", *fpo), count),
            dims.POPULATION: ((dims.FORCE, dims.PERIOD), np.concatenate(pops, axis=1)),
            "observed": (fpo, observed),
        },
        coords=coords,
        attrs={
            "model": spec.name,
            "spec_hash": spec.model_hash(),
            "vintage": str(tree.attrs.get("panel_vintage", "")),
            "horizon": horizon,
        },
    )
    out[dims.COUNT].attrs["unit"] = "offences per quarter"
    return out


def aggregate_areas(pred: xr.Dataset) -> xr.Dataset:
    """Forces, their regions and England and Wales along one ``area`` dim; sums of force draws."""
    return to_areas(pred[[dims.COUNT, dims.POPULATION, "observed"]], strict=["observed"])
