"""Latent Class A availability and its measurement model.

A[f, t] = national[t] + regional[region(f), t] + force[f, t], three stationary AR(1) processes whose
marginal variances are shares of 1 (a Dirichlet split), so A has unit scale by construction, each
centred over the panel's quarters (levels are not identified: between-force differences in the
indicators are enforcement intensity, absorbed by each indicator's force levels); the
scale convention is what fixes the loadings' size, and the sign convention is each indicator's
loading sign, fixed by meaning (more trafficking offences, seizures, deaths: more availability; a
higher price: less). Every AR(1) is non-centred: A is a linear filter of standard-normal innovations.

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


def centre(path: pt.TensorVariable) -> pt.TensorVariable:
    """Remove each series' mean over time (the last axis)."""
    return path - path.mean(axis=-1, keepdims=True)


def latent_availability(spec: AvailabilitySpec, data: ModelData) -> pt.TensorVariable:
    """A (force, panel_period) with unit marginal variance; adds its variables to the model."""
    n_t = data.log_pop_full.shape[1]
    parts = ["national", "regional", "force"] if spec.regional else ["national", "force"]
    pm.modelcontext(None).add_coord("availability_component", parts)
    share = pm.Dirichlet(
        "availability_share", a=np.full(len(parts), 2.0), dims="availability_component"
    )
    rho = pm.Beta("availability_rho", 3.0, 1.5, dims="availability_component")
    sd = pt.sqrt(share)
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

    # each path is centred over the panel's quarters: a level shift of A is not identified (every
    # indicator's level and every force's enforcement level absorbs it), so it is removed
    national = centre(component("national", 0, ()))
    force = centre(component("force", len(parts) - 1, (dims.FORCE,)))
    a = national[None, :] + force
    if spec.regional:
        regional = centre(component("regional", 1, (dims.GOR,)))
        a = a + regional[data.region_of]
        pm.Deterministic("availability_regional_last", regional[:, -1], dims=dims.GOR)
    pm.Deterministic("availability_national_last", national[-1])
    pm.Deterministic("availability_force_last", force[:, -1], dims=dims.FORCE)
    return pm.Deterministic("availability", a, dims=(dims.FORCE, PANEL_PERIOD))


def _operator_sum(values: pt.TensorVariable, cells: Cells) -> pt.TensorVariable:
    """Sum (force, panel_period) `values` over each cell's forces (weights) and window quarters."""
    if cells.f_idx is not None:
        return values[cells.f_idx[:, None], cells.t_idx].sum(axis=1)
    per_quarter = values[:, cells.t_idx]  # (force, n, window)
    return (per_quarter.sum(axis=2) * pt.as_tensor(cells.members.T)).sum(axis=0)


def indicators(a: pt.TensorVariable, data: ModelData) -> None:
    """Likelihood of every indicator given A; loadings signed by meaning."""
    for ind in data.indicators:
        name, spec, cells = ind.name, ind.spec, ind.cells
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
