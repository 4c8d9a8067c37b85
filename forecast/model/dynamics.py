"""Persistent force x outcome deviations of the log rate, and their continuation in forecasts.

A force's rate can drift away from its long-run level for years (the Met's robbery in 2022-23 sat at
0.9 of its 2017-19 level, other forces between 0.6 and 1.75) and drift back. Constant force effects
read that drift as noise and forecast every force at its average; an adaptive level (AutoETS) uses it.
Here each named outcome gets AR(1) paths per force on knots every `dynamics_step` quarters,
interpolated linearly (`knot_interpolation`), summing to zero over each region's forces (the regional
trend, or the national one without regions, takes their mean) and over the modelled quarters (the
force effect keeps the level): the same constrained AR(1) as latent availability's force paths.
Forecasts start each force from its last deviation and let it decay at the fitted quarterly pace.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from forecast.core import dims
from forecast.model.availability import group_basis, group_of, knot_paths, quarterly_ar1
from forecast.model.data import ModelData
from forecast.spec import ForceEffectsSpec

DYNAMICS = "force_dynamics"
DYN_OUTCOME = "dynamics_outcome"
KNOTS = "force_dynamics_knot_basis"


def dynamic_outcomes(spec: ForceEffectsSpec, data: ModelData) -> list[str]:
    """The outcomes with persistent deviations that the panel holds (in the panel's order)."""
    return [k for k in data.outcomes if k in spec.dynamics]


def force_dynamics(
    spec: ForceEffectsSpec, data: ModelData, regional: bool
) -> pt.TensorVariable | None:
    """(force, period, outcome) persistent deviations (zero for outcomes without them); None when
    the spec names none. Records `force_dynamics` (dynamics_outcome, force, period) and the
    quarterly persistence and innovation sd that forecasts use."""
    names = dynamic_outcomes(spec, data)
    if not names:
        return None
    pm.modelcontext(None).add_coord(DYN_OUTCOME, names)
    rho = pm.Beta(f"{DYNAMICS}_rho", 2.0, 2.0, dims=DYN_OUTCOME)  # per knot step
    sigma = pm.HalfNormal(f"{DYNAMICS}_sigma", spec.dynamics_sigma, dims=DYN_OUTCOME)
    n_t, step = len(data.periods), spec.dynamics_step
    basis = group_basis(group_of(data, regional))
    paths = [
        knot_paths(k, sigma[i], rho[i], basis, n_t, step, not spec.centred_for(k), KNOTS, DYNAMICS)
        for i, k in enumerate(names)
    ]
    dev = pm.Deterministic(DYNAMICS, pt.stack(paths), dims=(DYN_OUTCOME, dims.FORCE, dims.PERIOD))
    rho_q, sigma_q = quarterly_ar1(rho, sigma, step)
    pm.Deterministic(f"{DYNAMICS}_quarterly_rho", rho_q, dims=DYN_OUTCOME)
    pm.Deterministic(f"{DYNAMICS}_quarterly_sigma", sigma_q, dims=DYN_OUTCOME)
    at = [data.outcomes.index(k) for k in names]
    out = pt.zeros((len(data.forces), n_t, len(data.outcomes)))
    return pt.set_subtensor(out[:, :, at], dev.transpose(1, 2, 0))


def group_centred_normals(
    rng: np.random.Generator, shape: tuple[int, ...], group: np.ndarray
) -> np.ndarray:
    """Standard normals over the last axis (force) minus their mean within each group, so that
    simulated innovations obey the same zero-sum constraint as the fitted paths."""
    eps = rng.normal(size=shape)
    n_g = group.max() + 1
    sums = np.stack([eps[..., group == g].sum(axis=-1) for g in range(n_g)], axis=-1)
    return eps - (sums / np.bincount(group, minlength=n_g))[..., group]


def continue_dynamics(
    hist: np.ndarray,
    rho_q: np.ndarray,
    sd_q: np.ndarray,
    group: np.ndarray,
    horizon: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fitted deviations `hist` (sample, outcome, force, period) continued `horizon` quarters as
    AR(1) with per-draw quarterly persistence and innovation sd (sample, outcome)."""
    last = hist[..., -1]
    future = []
    for _ in range(horizon):
        eps = group_centred_normals(rng, last.shape, group)
        last = rho_q[..., None] * last + sd_q[..., None] * eps
        future.append(last)
    return np.concatenate([hist, np.stack(future, axis=-1)], axis=-1) if future else hist


def dynamics_paths(
    post: xr.Dataset, data: ModelData, group: np.ndarray, horizon: int, rng: np.random.Generator
) -> np.ndarray | None:
    """(sample, outcome, force, period + horizon) fitted deviations continued (zero for outcomes
    without them), from a fit's posterior; None when the fit has none."""
    if DYNAMICS not in post:
        return None

    def draws(name: str, *order: str) -> np.ndarray:
        return post[name].stack(sample=("chain", "draw")).transpose("sample", *order).values

    hist = draws(DYNAMICS, DYN_OUTCOME, dims.FORCE, dims.PERIOD)
    rho, sd = (draws(f"{DYNAMICS}_quarterly_{v}", DYN_OUTCOME) for v in ("rho", "sigma"))
    dyn = continue_dynamics(hist, rho, sd, group, horizon, rng)
    out = np.zeros((dyn.shape[0], len(data.outcomes), len(data.forces), dyn.shape[-1]))
    out[:, [data.outcomes.index(k) for k in post[DYN_OUTCOME].values]] = dyn
    return out
