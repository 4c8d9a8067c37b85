"""Latent Class A availability and its measurement model.

A[f, t] = (national[t] + regional[region(f), t] + force[f, t] - force mean) / scale: three stationary
AR(1) processes whose marginal variances are Dirichlet shares of 1, centred per force over the panel's
quarters (levels are not identified: between-force differences in the indicators are enforcement
intensity, absorbed by each indicator's force levels) and scaled so A's within-force variation has sd
exactly 1 (the scale convention; effects are then per sd). The sign convention is each indicator's
loading sign, fixed by meaning (more trafficking offences, seizures, deaths: more availability; a
higher price: less). The AR(1) paths are non-centred: linear filters of standard-normal innovations.

Each indicator j is observed through its operator (see :mod:`forecast.model.data`):
counts ~ NegBin(sum over the cell's forces and quarters of exp(log pop + a_j + g_j[f] + l_j A[f, t])),
where g_j is a sum-to-zero force level (a force's enforcement intensity, which so cannot pass for
availability); log-normal values (prices): log y ~ Normal(a_j + l_j * mean A, s_j).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast import dims
from forecast.model.data import PANEL_PERIOD, Cells, ModelData
from forecast.spec import AvailabilitySpec


def ar1_filter(z: pt.TensorVariable, rho: pt.TensorVariable, n_t: int) -> pt.TensorVariable:
    """Stationary unit-variance AR(1) paths from innovations z (series, time): z @ L(rho)^T with
    L[t, s] = rho^(t-s) * (1 if s == 0 else sqrt(1 - rho^2)) for s <= t (no scan: one matmul)."""
    t = np.arange(n_t)
    gap = t[:, None] - t[None, :]
    lower = (gap >= 0).astype(float)
    power = pt.power(rho, pt.as_tensor(np.maximum(gap, 0).astype(float)))
    scale = np.where(t == 0, 1.0, 0.0)[None, :] + np.where(t == 0, 0.0, 1.0)[None, :] * pt.sqrt(
        1 - rho**2
    )
    return pt.dot(z, (power * lower * scale).T)


def member_means(data: ModelData) -> np.ndarray:
    """(region, force) matrix averaging the forces of each region."""
    m = (data.region_of[None, :] == np.arange(len(data.regions))[:, None]).astype(float)
    return m / m.sum(axis=1, keepdims=True)


def national_component(
    sd: pt.TensorVariable, rho: pt.TensorVariable, n_t: int
) -> pt.TensorVariable:
    """The national path, centred parameterisation on the zero-mean subspace.

    The data pin the national path down (every force informs it), so a non-centred path would tie
    its innovations to the AR(1)'s persistence and sd; a centred AR(1) path would keep a prior-only
    level whose scale grows with the persistence (a funnel). So the path lives on the zero-sum
    subspace (its level is not identified anyway) with the AR(1) density as its prior there: a
    ZeroSumNormal(1) variable re-weighted by a Potential to the AR(1) density.
    """
    x = pm.ZeroSumNormal("availability_national", sigma=1.0, dims=PANEL_PERIOD)
    innov = sd * pt.sqrt(1 - rho**2)
    ar1 = (
        pm.logp(pm.Normal.dist(0.0, sd), x[0])
        + pm.logp(pm.Normal.dist(rho * x[:-1], innov), x[1:]).sum()
    )
    pm.Potential("availability_national_ar1", ar1 - pm.logp(pm.Normal.dist(0.0, 1.0), x).sum())
    return x


def latent_availability(spec: AvailabilitySpec, data: ModelData) -> pt.TensorVariable:
    """A (force, panel_period), within-force sd 1; adds its variables to the model."""
    n_t = data.log_pop_full.shape[1]
    parts = ["national", "regional", "force"] if spec.regional else ["national", "force"]
    pm.modelcontext(None).add_coord("availability_component", parts)
    unit = spec.scale == "unit_sd"
    if unit:
        share = pm.Dirichlet(
            "availability_share", a=np.full(len(parts), 2.0), dims="availability_component"
        )
        sd = pt.sqrt(share)
    else:
        sd = pm.HalfNormal("availability_sd", 1.0, dims="availability_component")
    rho = pm.Beta("availability_rho", 3.0, 1.5, dims="availability_component")
    centred = spec.parameterisation == "centred"

    def component(name: str, i: int, dim: tuple[str, ...]) -> pt.TensorVariable:
        """One AR(1) component with marginal sd `sd[i]`: centred (the path is the variable: the force
        component, which the data pin down) or non-centred (a filter of standard-normal innovations:
        always for the national and regional components, whose persistence and level are weakly
        informed and would form a funnel with their sd)."""
        if centred and dim == (dims.FORCE,):
            return pm.AR(
                f"availability_{name}",
                rho=rho[i][None],
                sigma=sd[i] * pt.sqrt(1 - rho[i] ** 2),
                init_dist=pm.Normal.dist(0.0, sd[i]),
                ar_order=1,
                dims=(*dim, PANEL_PERIOD),
            )
        z = pm.Normal(f"availability_z_{name}", 0.0, 1.0, dims=(*dim, PANEL_PERIOD))
        path = sd[i] * ar1_filter(z if dim else z[None, :], rho[i], n_t)
        return path if dim else path[0]

    # Each path is centred over the panel's quarters: a level shift of A is not identified (every
    # indicator's level and every force's enforcement level absorbs it). A is then divided by the sd
    # of its within-force variation, so its scale is fixed exactly (loadings x scale would otherwise
    # be a ridge that the sampler crawls along) and effects are per sd by construction.
    # Regional paths sum to zero over regions and force paths over the forces of their region (over
    # all forces without regions), at every quarter: otherwise national + regional + force is not a
    # unique decomposition, and the sampler wanders along the ridges between them.
    group = (
        member_means(data)
        if spec.regional
        else np.full((1, len(data.forces)), 1 / len(data.forces))
    )
    group_of = data.region_of if spec.regional else np.zeros(len(data.forces), int)
    raw = {"national": national_component(sd[0], rho[0], n_t)[None, :]}
    force = component("force", len(parts) - 1, (dims.FORCE,))
    raw["force"] = force - pt.dot(pt.as_tensor(group), force)[group_of]
    if spec.regional:
        regional = component("regional", 1, (dims.GOR,))
        raw["regional"] = (regional - regional.mean(axis=0, keepdims=True))[data.region_of]
    offset = sum(x.mean(axis=-1, keepdims=True) for x in raw.values())  # (force, 1)
    a_raw = sum(raw.values()) - offset
    within = pt.sqrt(a_raw.var() + 1e-12)  # > 0 even when every path is 0
    scale = pm.Deterministic("availability_scale", within if unit else pt.ones(()))
    pm.Deterministic("availability_offset", offset[:, 0], dims=dims.FORCE)
    # raw last values of each component: forecasts continue them, then centre and scale alike
    pm.Deterministic("availability_national_last", raw["national"][0, -1])
    pm.Deterministic("availability_force_last", raw["force"][:, -1], dims=dims.FORCE)
    if spec.regional:
        pm.Deterministic("availability_regional_last", raw["regional"][:, -1], dims=dims.FORCE)
    return pm.Deterministic("availability", a_raw / scale, dims=(dims.FORCE, PANEL_PERIOD))


def _operator_sum(values: pt.TensorVariable, cells: Cells) -> pt.TensorVariable:
    """Sum (force, panel_period) `values` over each cell's forces (weights) and window quarters."""
    if cells.f_idx is not None:
        return values[cells.f_idx[:, None], cells.t_idx].sum(axis=1)
    per_quarter = values[:, cells.t_idx]  # (force, n, window)
    return (per_quarter.sum(axis=2) * pt.as_tensor(cells.members.T)).sum(axis=0)


def indicators(a: pt.TensorVariable, data: ModelData, fix_first: bool = False) -> None:
    """Likelihood of every indicator given A; loadings signed by meaning (the first one fixed at its
    sign when `fix_first`, the scale convention "first_loading")."""
    for i, ind in enumerate(data.indicators):
        name, spec, cells = ind.name, ind.spec, ind.cells
        if fix_first and i == 0:
            loading = pt.as_tensor(float(spec.sign))
        else:
            loading = spec.sign * pm.HalfNormal(f"loading_abs__{name}", spec.loading_sigma)
        pm.Deterministic(f"loading__{name}", loading)
        level = pm.Normal(f"level__{name}", ind.level_guess, 1.0)
        by_force = cells.f_idx is not None
        if spec.family == "negative_binomial":
            g_sd = pm.HalfNormal(f"force_level_sd__{name}", 0.5)
            g = pm.ZeroSumNormal(f"force_level__{name}", sigma=g_sd, dims=dims.FORCE)
            log_m = data.log_pop_full + level + g[:, None] + loading * a
            m = pt.exp(log_m)
            mean = _operator_sum(m, cells)
            inv = pm.HalfNormal(f"inv_sqrt_phi__{name}", 1.0)
            alpha = 1.0 / inv**2
            if cells.window > 1 or cells.f_idx is None:  # a sum of cells: variance-matched
                alpha = alpha * mean**2 / _operator_sum(m**2, cells)
            pm.NegativeBinomial(f"obs__{name}", mu=mean, alpha=alpha, observed=cells.y)
        else:
            sigma = pm.HalfNormal(f"noise_sd__{name}", 0.5)
            shifted = level + loading * a
            if by_force:
                g_sd = pm.HalfNormal(f"force_level_sd__{name}", 0.5)
                g = pm.ZeroSumNormal(f"force_level__{name}", sigma=g_sd, dims=dims.FORCE)
                shifted = shifted + g[:, None]
            mean = _operator_sum(shifted, cells) / cells.window  # members' weights sum to 1
            pm.Normal(f"obs__{name}", mu=mean, sigma=sigma, observed=np.log(cells.y))
