"""Model ingredients, one function each: they add their variables to the active PyMC model and
return their contribution to the log rate, with dims (outcome, ...) named on every variable."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast import dims
from forecast.model.data import ModelData
from forecast.spec import (
    AvailabilitySpec,
    ForceEffectsSpec,
    InterceptSpec,
    LikelihoodSpec,
    SeasonalitySpec,
    TrendSpec,
)


def intercept(spec: InterceptSpec, outcomes: list[str]) -> pt.TensorVariable:
    """Baseline log rate per 100,000 per quarter, one per outcome (prior stated as a rate)."""
    mu = np.log([spec.rate_per_100k[k] for k in outcomes])
    return pm.Normal("intercept", mu=mu, sigma=spec.log_sd, dims=dims.OUTCOME)


def force_effects(spec: ForceEffectsSpec) -> pt.TensorVariable:
    """Sum-to-zero force x outcome effects, so the intercept is the mean and no ridge forms."""
    sigma = pm.HalfNormal("force_sigma", sigma=spec.sigma, dims=dims.OUTCOME)
    shape = (dims.OUTCOME, dims.FORCE)
    if spec.parameterisation == "centred":
        return pm.ZeroSumNormal("force_effect", sigma=sigma[:, None], dims=shape)
    z = pm.ZeroSumNormal("force_effect_z", sigma=1.0, dims=shape)
    return pm.Deterministic("force_effect", z * sigma[:, None], dims=shape)


def seasonality(spec: SeasonalitySpec) -> pt.TensorVariable:
    """Quarter-of-year effects per outcome, summing to zero over the year."""
    return pm.ZeroSumNormal("season", sigma=spec.sigma, dims=(dims.OUTCOME, dims.QUARTER))


def trend(spec: TrendSpec, n_outcomes: int, n_periods: int) -> pt.TensorVariable:
    """National random-walk trend per outcome, centred to mean 0 over the modelled quarters.

    Centring (rather than pinning the first quarter at 0) keeps the intercept the average level, so
    intercept and trend do not form a ridge.
    """
    sigma = pm.HalfNormal("trend_sigma", sigma=spec.sigma, dims=dims.OUTCOME)
    step_dims = (dims.OUTCOME, "period_step")
    if spec.parameterisation == "centred":
        steps = pm.Normal("trend_step", 0.0, sigma[:, None], dims=step_dims)
    else:
        z = pm.Normal("trend_step_z", 0.0, 1.0, dims=step_dims)
        steps = pm.Deterministic("trend_step", z * sigma[:, None], dims=step_dims)
    path = pt.concatenate([pt.zeros((n_outcomes, 1)), pt.cumsum(steps, axis=1)], axis=1)
    path = path - path.mean(axis=1, keepdims=True)
    return pm.Deterministic("trend", path, dims=(dims.OUTCOME, dims.PERIOD))


def availability_effect(spec: AvailabilitySpec) -> pt.TensorVariable:
    """Effect of the lagged availability index on each outcome's log rate."""
    return pm.Normal("availability_beta", 0.0, spec.effect_sigma, dims=dims.OUTCOME)


def index_dynamics(data: ModelData) -> None:
    """AR(1) models of the observed index (national mean + force deviations), used to project it.

    Both are likelihoods of observed data with their own parameters, so they leave the outcome
    model's posterior unchanged; forecasts draw future index paths from them.
    """
    idx = data.index_full
    nat = idx.mean(axis=0)
    dev = idx - nat[None, :]
    mean = pm.Normal("index_nat_mean", 0.0, 2.0)
    rho_n = pm.Uniform("index_nat_rho", -1.0, 1.0)
    sig_n = pm.HalfNormal("index_nat_sigma", 1.0)
    pm.Normal("index_nat_obs", mean + rho_n * (nat[:-1] - mean), sig_n, observed=nat[1:])
    rho_d = pm.Uniform("index_dev_rho", -1.0, 1.0)
    sig_d = pm.HalfNormal("index_dev_sigma", 1.0)
    pm.Normal("index_dev_obs", rho_d * dev[:, :-1], sig_d, observed=dev[:, 1:])


def likelihood(spec: LikelihoodSpec, eta: pt.TensorVariable, data: ModelData) -> None:
    """Counts of the observed cells only (missing cells are masked, never zero)."""
    mask = data.observed
    f_i, t_i, k_i = np.nonzero(mask)
    mu = pt.exp(eta[f_i, t_i, k_i])
    y = data.count[mask].astype("int64")
    if spec.family == "poisson":
        pm.Poisson("count", mu=mu, observed=y)
        return
    inv = pm.HalfNormal("inv_sqrt_phi", sigma=spec.overdispersion_sigma, dims=dims.OUTCOME)
    phi = pm.Deterministic("phi", 1.0 / inv**2, dims=dims.OUTCOME)
    pm.NegativeBinomial("count", mu=mu, alpha=phi[k_i], observed=y)
