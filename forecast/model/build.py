"""Assemble the PyMC model from the spec's components and the panel's arrays."""

from __future__ import annotations

import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from forecast.model import components as c
from forecast.model.data import ModelData, prepare_data
from forecast.spec import ModelSpec


def build_model(panel: xr.Dataset, spec: ModelSpec) -> tuple[pm.Model, ModelData]:
    """Return the PyMC model for `panel` under `spec`, and the aligned data it uses.

    log mu[f,t,k] = log(pop/1e5) + intercept_k + force_effect[k,f]
                    + availability_beta_k * index[f, t - lag] + season[k, q(t)] + trend[k,t]
    """
    data = prepare_data(panel, spec)
    _, n_t, n_k = data.count.shape
    with pm.Model(coords=data.coords()) as model:
        eta = pt.as_tensor(data.log_offset)[:, :, None] + c.intercept(spec.intercept, data.outcomes)
        if spec.force_effects.enabled:
            eta = eta + c.force_effects(spec.force_effects).T[:, None, :]
        beta = c.availability_effect(spec.availability)
        eta = eta + beta[None, None, :] * pt.as_tensor(data.index_lagged)[:, :, None]
        if spec.seasonality.enabled:
            season = c.seasonality(spec.seasonality)
            eta = eta + season[:, data.quarter].T[None, :, :]
        if spec.trend.kind == "random_walk":
            eta = eta + c.trend(spec.trend, n_k, n_t).T[None, :, :]
        c.index_dynamics(data)
        c.likelihood(spec.likelihood, eta, data)
    return model, data
