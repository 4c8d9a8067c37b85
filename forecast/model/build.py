"""Assemble the PyMC model from the spec's components and the panel's arrays."""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from forecast.model import availability as av
from forecast.model import components as c
from forecast.model import trend as tr
from forecast.model.data import ModelData, prepare_data
from forecast.model.dynamics import force_dynamics
from forecast.model.proxies import proxy_likelihood
from forecast.spec import ModelSpec


def build_model(panel: xr.Dataset, spec: ModelSpec) -> tuple[pm.Model, ModelData]:
    """Return the PyMC model for `panel` under `spec`, and the aligned data it uses.

    log mu[f,t,k] = log(pop/1e5) + intercept_k + force_effect[k,f] (+ force_dynamics[k,f,t])
                    + sum_l beta_k[f] w_l A[f, t - l] + season[k, q(t)] + trend[k,t]
                    (+ trend_noise[k,t] + trend_regional[k, region(f), t]) + steps

    A is the observed index (kind "index") or latent availability measured by indicators ("latent";
    without its national component in the link unless `national_in_link`).
    """
    data = prepare_data(panel, spec)
    with pm.Model(coords=data.coords()) as model:
        eta = pt.as_tensor(data.log_offset)[:, :, None] + c.intercept(spec.intercept, data.outcomes)
        if spec.force_effects.enabled:
            eta = eta + c.force_effects(spec.force_effects, data.outcomes, data.seen).T[:, None, :]
            regional = spec.trend.kind == "random_walk" and spec.trend.regional
            persistent = force_dynamics(spec.force_effects, data, regional)
            if persistent is not None:
                eta = eta + persistent
        if spec.availability.kind == "latent":
            # enforcement effects first where A's paths are sampled shifted by them
            gamma = (
                av.enforcement_effects(spec.availability, data)
                if spec.availability.enforcement_shift
                else None
            )
            a_full, a_link = av.latent_availability(spec.availability, data, gamma)
            av.indicators(a_full, data, spec.availability, gamma)
        elif spec.availability.kind == "index":
            a_full = a_link = pt.as_tensor(data.index_full)
            c.index_dynamics(data)
        if spec.availability.kind != "none":
            eta = eta + c.availability_term(spec.availability, a_link, data, unit=a_full)
        change = None
        if spec.seasonality.enabled:
            season = c.seasonality(spec.seasonality, data.outcomes)
            eta = eta + season[:, data.quarter].T[None, :, :]
            if spec.seasonality.with_trend:  # the season's change into each modelled quarter
                change = season[:, data.quarter[1:]] - season[:, data.quarter[:-1]]
        if spec.trend.kind == "random_walk":
            exit_sigma = spec.breaks.shock_exit_sigma
            trend = tr.trend(
                spec.trend, data.outcomes, len(data.periods), data.shocks, exit_sigma, change
            )
            eta = eta + trend.T[None, :, :]
            if spec.trend.noise:
                noise = tr.national_noise(spec.trend, data.outcomes, len(data.periods), data.shocks)
                eta = eta + noise.T[None, :, :]
            if spec.trend.regional:
                regional = tr.regional_trend(spec.trend, len(data.outcomes))
                eta = eta + regional[:, data.region_of, :].transpose(1, 2, 0)
        covariates = c.covariate_terms(spec.covariates, data)
        if covariates is not None:
            eta = eta + covariates
        shocks = c.shock_effects(data, spec.breaks.shock_sigma, spec.breaks.shock_regional_sigma)
        if shocks is not None:
            eta = eta + shocks
        steps = c.break_steps(data, spec.breaks.sigma)
        if steps is not None:
            eta = eta + steps
        c.likelihood(spec.likelihood, eta, data)
        for proxy in data.proxies:
            proxy_likelihood(proxy, eta, data.quarter)
    return model, data
