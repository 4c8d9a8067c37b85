"""The national random-walk trend, national quarter noise and regional trend deviations, each
adding its variables to the active PyMC model and returning its part of the log rate."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast.core import dims
from forecast.model.components import seen_basis
from forecast.model.data import NOISE_OUTCOME
from forecast.spec import TrendSpec

STEP_OUTCOME = "step_outcome"  # outcomes with step variables beside level ones


def trend(
    spec: TrendSpec,
    outcomes: list[str],
    n_periods: int,
    shocks: list | None = None,
    exit_sigma: float = 0.0,
    season_change: pt.TensorVariable | None = None,
) -> pt.TensorVariable:
    """National random-walk trend per outcome, centred to mean 0 over the modelled quarters.

    Centring (rather than pinning the first quarter at 0) keeps the intercept the average level, so
    intercept and trend do not form a ridge. Steps are centred or non-centred per outcome: one raw
    variable whose prior sd is sigma where centred and 1 where not, times 1 or sigma. In national
    shock quarters (`shocks`, see :func:`shock_effects`) the trend holds still and the shock carries
    the deviation; the step out of a shock spans the whole window (sd sigma * sqrt(quarters)), so the
    walk is a random walk over the other quarters and shock and trend do not trade off. `exit_sigma`
    adds a level shift to that step (sd sqrt(sigma^2 quarters + exit_sigma^2)): the level after a
    shock need not be where the walk would have drifted (robbery stayed lower after 2020).
    `season_change` (outcome, period_step), the season's change into each quarter: a centred step's
    variable is the step plus that change (unit Jacobian, the same model), so the likelihood sees
    their sum, not season and trend apart (a ridge that mixed slowly for robbery, README).
    "level" outcomes take the path itself as the variable (:func:`_level_steps`): the same model.
    """
    n_outcomes = len(outcomes)
    if spec.sigma_prior == "gamma":
        sigma = pm.Gamma("trend_sigma", alpha=2.0, beta=2.0 / spec.sigma, dims=dims.OUTCOME)
    else:
        sigma = pm.HalfNormal("trend_sigma", sigma=spec.sigma, dims=dims.OUTCOME)
    step_dims = (dims.OUTCOME, "period_step")
    scale = _step_scale(shocks or [], n_outcomes, n_periods)  # (outcome, period_step)
    centred = np.array([spec.centred_for(k) for k in outcomes])
    sd_c, sd_nc = sigma[:, None] * np.maximum(scale, 1.0), sigma[:, None] * scale
    exit_sd = exit_sigma * (scale > 1.0)  # steps out of a shock window
    if exit_sd.any():  # sd * sqrt(1 + (exit / sd)^2): no square root of 0 in the gradient
        sd_c = sd_c * pt.sqrt(1.0 + (exit_sd / sd_c) ** 2)
        safe = sigma[:, None] * np.where(scale > 0, scale, 1.0)
        sd_nc = sd_nc * pt.sqrt(1.0 + (exit_sd / safe) ** 2)
    prior_sd = pt.where(centred[:, None], sd_c, 1.0)
    times = pt.where(centred[:, None], (scale > 0).astype(float), sd_nc)
    levels = [j for j, k in enumerate(outcomes) if spec.level_for(k)]
    if levels:  # level outcomes' steps from their paths, the others' from step variables
        walk = [j for j in range(n_outcomes) if j not in levels]
        steps = pt.zeros((n_outcomes, n_periods - 1))
        if walk:
            pm.modelcontext(None).add_coord(STEP_OUTCOME, [outcomes[j] for j in walk])
            shift = 0.0 if season_change is None else season_change[walk]
            shift = shift * (centred[walk, None] & (scale[walk] > 0))
            raw = pm.Normal(
                "trend_step_raw", shift, prior_sd[walk], dims=(STEP_OUTCOME, "period_step")
            )
            steps = pt.set_subtensor(steps[walk], (raw - shift) * times[walk])
        for j in levels:
            change = None if season_change is None else season_change[j]
            steps = pt.set_subtensor(steps[j], _level_steps(outcomes[j], sd_c[j], scale[j], change))
        steps = pm.Deterministic("trend_step", steps, dims=step_dims)
    elif centred.all() and (scale == 1).all() and season_change is None:
        steps = pm.Normal("trend_step", 0.0, sigma[:, None], dims=step_dims)
    elif not centred.any():
        z = pm.Normal("trend_step_z", 0.0, 1.0, dims=step_dims)
        steps = pm.Deterministic("trend_step", z * times, dims=step_dims)
    else:
        shift = 0.0
        if season_change is not None:  # moving centred steps: the variable carries the change
            shift = season_change * (centred[:, None] & (scale > 0))
        raw = pm.Normal("trend_step_raw", shift, prior_sd, dims=step_dims)
        steps = pm.Deterministic("trend_step", (raw - shift) * times, dims=step_dims)
    path = pt.concatenate([pt.zeros((n_outcomes, 1)), pt.cumsum(steps, axis=1)], axis=1)
    path = path - path.mean(axis=1, keepdims=True)
    return pm.Deterministic("trend", path, dims=(dims.OUTCOME, dims.PERIOD))


def _level_steps(
    outcome: str, sd: pt.TensorVariable, scale: np.ndarray, change: pt.TensorVariable | None
) -> pt.TensorVariable:
    """One outcome's trend steps (period_step,) from its path as the variable: the level of each
    quarter the walk moves into (plus the season's change since the first quarter, as for centred
    steps), zero-sum over those quarters (the centring takes the mean), with the random-walk prior
    on its differences. The same model as centred steps, but where counts pin each quarter's level
    down the levels are near independent, while steps moving together formed the tightest direction
    of the real posterior (robbery 2016-18; README "Trend as levels")."""
    free = np.r_[0, 1 + np.flatnonzero(scale > 0)]  # quarters with a level of their own
    model = pm.modelcontext(None)
    coord = f"trend_level_period__{outcome}"
    model.add_coord(coord, [model.coords[dims.PERIOD][t] for t in free])
    model.add_coord(f"{coord}_basis", list(range(len(free) - 1)))
    z = pm.Normal(f"trend_level_coord__{outcome}", 0.0, 1.0, dims=f"{coord}_basis")
    basis = pt.as_tensor(seen_basis(np.ones(len(free), bool)))  # orthonormal, zero-sum
    moved = pt.dot(basis, z)  # level plus the season's change at each free quarter
    level = moved
    if change is not None:  # the season's change from the first quarter to each free one
        level = moved - pt.concatenate([pt.zeros(1), pt.cumsum(change)])[free]
    prior = pm.logp(pm.Normal.dist(0.0, sd[free[1:] - 1]), level[1:] - level[:-1]).sum()
    pm.Potential(f"trend_level_walk__{outcome}", prior - pm.logp(pm.Normal.dist(0.0, 1.0), z).sum())
    path = level[np.searchsorted(free, np.arange(len(scale) + 1), side="right") - 1]  # held: last
    return path[1:] - path[:-1]


def national_noise(
    spec: TrendSpec, outcomes: list[str], n_periods: int, shocks: list | None = None
) -> pt.TensorVariable:
    """National quarter noise, (outcome, period): one iid effect per quarter shared by every force,
    for the outcomes in `spec.noise` (0 for the others, and in their shock quarters, which the shock
    carries). Non-centred, sd HalfNormal(noise_sigma) per outcome. A common swing (a quarter of many
    homicides) then widens national intervals instead of moving the trend the forecasts continue."""
    names = [k for k in outcomes if k in spec.noise]
    pm.modelcontext(None).add_coord(NOISE_OUTCOME, names)
    sd = pm.HalfNormal("trend_noise_sigma", spec.noise_sigma, dims=NOISE_OUTCOME)
    z = pm.Normal("trend_noise_z", 0.0, 1.0, dims=(NOISE_OUTCOME, dims.PERIOD))
    rows = [outcomes.index(k) for k in names]
    mask = ~_shock_quarters(shocks or [], len(outcomes), n_periods)[rows]
    noise = pt.zeros((len(outcomes), n_periods))
    noise = pt.set_subtensor(noise[rows], z * sd[:, None] * mask)
    return pm.Deterministic("trend_noise", noise, dims=(dims.OUTCOME, dims.PERIOD))


def _shock_quarters(shocks: list, n_outcomes: int, n_periods: int) -> np.ndarray:
    """(outcome, period) True where a national shock carries the outcome's quarter."""
    held = np.zeros((n_outcomes, n_periods), bool)
    for s in shocks:
        held[s.outcomes, s.t] = True
    return held


def _step_scale(shocks: list, n_outcomes: int, n_periods: int) -> np.ndarray:
    """Per outcome and step (into quarter t = 1..n-1): 0 into a shock quarter (the trend holds),
    sqrt(1 + quarters held) out of a shock window, 1 elsewhere."""
    held = _shock_quarters(shocks, n_outcomes, n_periods)
    scale = np.ones((n_outcomes, n_periods - 1))
    for k in range(n_outcomes):
        run = 0
        for t in range(1, n_periods):
            if held[k, t]:
                scale[k, t - 1], run = 0.0, run + 1
            else:
                scale[k, t - 1], run = np.sqrt(1.0 + run), 0
    return scale


def regional_trend(spec: TrendSpec, n_outcomes: int) -> pt.TensorVariable:
    """Regional deviations from the national trend, (outcome, region, period).

    Non-centred random walks with a Gamma(2, 2 / regional_sigma) step sd per outcome; steps sum to
    zero over regions at every quarter (so the national trend stays the regions' average and the two
    do not form a ridge) and each path is centred over the modelled quarters (the intercept and force
    effects keep the levels).
    """
    sigma = pm.Gamma(
        "trend_regional_sigma", alpha=2.0, beta=2.0 / spec.regional_sigma, dims=dims.OUTCOME
    )
    z = pm.ZeroSumNormal(
        "trend_regional_z", sigma=1.0, dims=(dims.OUTCOME, "period_step", dims.GOR)
    )
    steps = z * sigma[:, None, None]
    zeros = pt.zeros((n_outcomes, 1, steps.shape[2]))
    path = pt.concatenate([zeros, pt.cumsum(steps, axis=1)], axis=1)
    path = path - path.mean(axis=1, keepdims=True)
    return pm.Deterministic(
        "trend_regional", path.transpose(0, 2, 1), dims=(dims.OUTCOME, dims.GOR, dims.PERIOD)
    )
