"""Latent Class A availability and its measurement model.

A[f, t] = national[t] + regional[region(f), t] + force[f, t]: AR(1) components (the regional one
optional, `regional = false`), each parameterised by its persistence rho and innovation sd sigma
(not its marginal sd, which correlates with rho) and living on the subspace that the data identify:
every path sums to zero over the panel's quarters (a force's level of A is not identified: each
indicator's force levels take it), regional paths sum to zero over regions, and force paths over
the forces of their region. The prior there is the AR(1) density conditioned on those constraints,
normalising constant included (it depends on rho and sigma). No direction of the paths is left to
the prior alone. The paths are the variables ("centred") or, with `parameterisation =
"non_centred"`, unit-innovation paths times sigma (non-centred in scale only).

Scale: the first indicator's loading is its sign x 1 ("first_loading") or A is divided by its sd
("unit_sd"); effects are reported per sd of A either way. Signs are fixed by each indicator's meaning.

Each indicator j is observed through its operator (see :mod:`forecast.model.data`), with A centred
over the quarters the indicator sees in each force:
counts ~ NegBin(sum over the cell's forces and quarters of exp(log pop + a_j + g_j[f] + l_j A_j[f, t]
+ sum_e b_e E_e[f, t])), where g_j sums to zero over the forces the indicator observes (a force's
enforcement intensity: it cannot pass for availability) and b_e is one elasticity per enforcement
series E_e (officers, drug arrests; within-force effort), shared by every indicator it acts on;
log-normal values (prices): log y ~ Normal(a_j + l_j * mean A_j, s_j).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast.core import dims
from forecast.model.components import seen_basis
from forecast.model.data import PANEL_PERIOD, Cells, ModelData
from forecast.model.prior_draws import drawing, path_coordinates
from forecast.model.variables import region_members
from forecast.spec import AvailabilitySpec

TIME_BASIS = "availability_time_basis"


def group_basis(group_of: np.ndarray) -> np.ndarray:
    """(member, member - groups) orthonormal columns spanning the vectors that sum to zero within
    every group (Helmert columns per group, so the same on every machine)."""
    cols = []
    for g in np.unique(group_of):
        inside = group_of == g
        cols.append(seen_basis(inside)[:, : inside.sum() - 1])
    return np.concatenate(cols, axis=1)


def ar1_logp(x: pt.TensorVariable, sigma, rho) -> pt.TensorVariable:
    """Log density of independent stationary AR(1) rows of x (row, time), innovation sd sigma."""
    first = pm.logp(pm.Normal.dist(0.0, sigma / pt.sqrt(1 - rho**2)), x[:, 0]).sum()
    return first + pm.logp(pm.Normal.dist(rho * x[:, :-1], sigma), x[:, 1:]).sum()


def subspace_correction(sigma, rho, n_t: int, n_rows: int, n_groups: int) -> pt.TensorVariable:
    """log det(V' S V) / 2 for the constrained directions V: what turns the AR(1) density of a path
    constrained to the subspace into the density of its coordinates there (it depends on rho and
    sigma, so leaving it out would bend their prior). Rows are iid AR(1) with covariance S_t; the
    constraints are `n_groups` cross-row sums (each removes one whole path: det S_t) and each
    remaining path's mean over time (removes v' S_t v, v = 1 / sqrt(T))."""
    log_det = n_t * pt.log(sigma**2) - pt.log(1 - rho**2)
    k = np.arange(1, n_t)
    mean_var = sigma**2 / (1 - rho**2) * (1 + 2 * pt.sum((n_t - k) * rho**k) / n_t)
    return 0.5 * n_groups * log_det + 0.5 * (n_rows - n_groups) * pt.log(mean_var)


def constrained_ar1(
    name: str,
    sigma,
    rho,
    row_basis: np.ndarray,
    n_t: int,
    scaled: bool = False,
    time_dim: str = TIME_BASIS,
    prefix: str = "availability",
    shift: pt.TensorVariable | None = None,
) -> pt.TensorVariable:
    """AR(1) paths (rows, time) on the subspace spanned by `row_basis` across rows and the zero-sum
    vectors over time: coordinates z, paths row_basis @ z @ time_basis', prior the AR(1) density
    conditioned on the subspace. Centred (the path is the variable) or, with `scaled`, non-centred in
    its scale only: unit-innovation paths times sigma (the persistence stays in their prior), which
    decouples sigma from many weakly informed coordinates. Variables are named `{prefix}_{name}_*`.
    With `shift` (rows, time; free of z), z are the coordinates of path + shift (projected on the
    subspace): the same model (a unit Jacobian), sampled along what the data see (:func:`a_shift`)."""
    model = pm.modelcontext(None)
    if time_dim not in model.coords:
        model.add_coord(time_dim, list(range(n_t - 1)))
    model.add_coord(f"{prefix}_{name}_basis", list(range(row_basis.shape[1])))
    var, var_dims = f"{prefix}_{name}_coord", (f"{prefix}_{name}_basis", time_dim)
    time_basis = seen_basis(np.ones(n_t, bool))  # (T, T - 1) zero-sum over the quarters
    s = pt.ones(()) if scaled else sigma
    if drawing():  # for prior predictive draws: the same prior as a distribution (no shift)
        coords = path_coordinates(var, s, rho, row_basis.shape[1], time_basis, var_dims)
        x = pt.dot(pt.dot(pt.as_tensor(row_basis), coords), pt.as_tensor(time_basis.T))
        return x * sigma if scaled else x
    coords = z = pm.Normal(var, 0.0, 1.0, dims=var_dims)
    if shift is not None:
        c = pt.dot(pt.dot(pt.as_tensor(row_basis.T), shift), pt.as_tensor(time_basis))
        coords = z - (c / sigma if scaled else c)
    x = pt.dot(pt.dot(pt.as_tensor(row_basis), coords), pt.as_tensor(time_basis.T))
    n_rows, n_free = row_basis.shape
    prior = ar1_logp(x, s, rho) + subspace_correction(s, rho, n_t, n_rows, n_rows - n_free)
    pm.Potential(f"{prefix}_{name}_ar1", prior - pm.logp(pm.Normal.dist(0.0, 1.0), z).sum())
    return x * sigma if scaled else x


def knot_interpolation(n_t: int, step: int) -> np.ndarray:
    """(n_t, knots) linear interpolation from knots every `step` quarters (the last at or after the
    panel's last quarter), centred over the quarters so every interpolated path sums to zero."""
    n_k = -(-(n_t - 1) // step) + 1
    t = np.arange(n_t) / step
    w = np.maximum(0.0, 1.0 - np.abs(t[:, None] - np.arange(n_k)[None, :]))
    return w - w.mean(axis=0, keepdims=True)


def group_of(data: ModelData, regional: bool) -> np.ndarray:
    """Each force's group for zero-sum constraints: its region, or one group of all forces."""
    return data.region_of if regional else np.zeros(len(data.forces), int)


def knot_paths(
    name: str,
    sigma,
    rho,
    basis: np.ndarray,
    n_t: int,
    step: int,
    scaled: bool,
    time_dim: str,
    prefix: str = "availability",
    shift: pt.TensorVariable | None = None,
) -> pt.TensorVariable:
    """Constrained AR(1) paths (rows, n_t): quarterly when `step` is 1, else on knots every `step`
    quarters interpolated linearly (their persistence and sd are then per step); a (rows, n_t)
    `shift` is taken to the knots by least squares."""
    if step == 1:
        return constrained_ar1(name, sigma, rho, basis, n_t, scaled, time_dim, prefix, shift)
    w = knot_interpolation(n_t, step)
    if shift is not None:
        shift = pt.dot(shift, pt.as_tensor(np.linalg.pinv(w.T)))
    knots = constrained_ar1(name, sigma, rho, basis, w.shape[1], scaled, time_dim, prefix, shift)
    return pt.dot(knots, pt.as_tensor(w.T))


def quarterly_ar1(rho, sigma, step: int):
    """Quarterly persistence and innovation sd of AR(1) paths on knots `step` quarters apart (the
    same marginal sd), which forecasts step forward quarter by quarter."""
    rho_q = rho ** (1.0 / step)
    return rho_q, sigma / pt.sqrt(1 - rho**2) * pt.sqrt(1 - rho_q**2)


def _force_paths(spec: AvailabilitySpec, sigma, rho, basis: np.ndarray, n_t: int, shift=None):
    """The force component (force, quarter): quarterly AR(1) paths, or with `force_step` > 1 AR(1)
    paths on knots every `force_step` quarters (`availability_quarterly_rho`/`_sigma` give the
    quarterly equivalents forecasts use)."""
    scaled = spec.parameterisation == "non_centred"
    step = spec.force_step
    time_dim = TIME_BASIS if step == 1 else "availability_knot_basis"
    paths = knot_paths("force", sigma[-1], rho[-1], basis, n_t, step, scaled, time_dim, shift=shift)
    if step > 1:
        rho_f, sigma_f = quarterly_ar1(rho[-1], sigma[-1], step)
        rho_q, sigma_q = pt.set_subtensor(rho[-1], rho_f), pt.set_subtensor(sigma[-1], sigma_f)
        pm.Deterministic("availability_quarterly_rho", rho_q, dims="availability_component")
        pm.Deterministic("availability_quarterly_sigma", sigma_q, dims="availability_component")
    return paths


def a_shift(spec: AvailabilitySpec, data: ModelData, gamma) -> pt.TensorVariable | None:
    """With `enforcement_shift`, the first indicator's enforcement term over its loading's sign
    (force, panel_period): it reads sign x (A + shift), so A's paths are sampled as A + shift and
    the enforcement effects no longer trade off with them along that ridge (README). Else None."""
    if not spec.enforcement_shift or not data.indicators:
        return None
    first = data.indicators[0]
    term = _enforcement_term(first.name, spec, data, gamma)
    return None if isinstance(term, float) else first.spec.sign * term


def _component_shifts(shift, data: ModelData, regional: bool):
    """A (force, period) shift split by component: national (1, period), regional (region, period:
    region means) and force (force, period); each path's projection removes what is not its own."""
    if shift is None:
        return None, None, None
    if not regional:
        return shift.mean(axis=0, keepdims=True), None, shift
    members = region_members(data.regions, np.asarray(data.regions)[data.region_of])
    by_region = pt.dot(pt.as_tensor(members / members.sum(axis=1, keepdims=True)), shift)
    return by_region.mean(axis=0, keepdims=True), by_region, shift


INFO_PHI = 20.0  # a typical indicator overdispersion (the weights steer sampling, not the model)


def force_information(data: ModelData) -> np.ndarray:
    """(force,) rough information per quarter about each force's A from its own indicator counts:
    y / (1 + y / phi) per cell (a negative binomial's), spread over the cell's quarters."""
    info = np.zeros(len(data.forces))
    for ind in data.indicators:
        cells = ind.cells
        if cells.f_idx is None or ind.spec.family != "negative_binomial":
            continue
        y = np.nan_to_num(cells.y)
        np.add.at(info, cells.f_idx, y / (1 + y / INFO_PHI) / cells.window)
    return info / data.log_pop_full.shape[1]


def regional_weights(info: np.ndarray, region_of: np.ndarray) -> np.ndarray:
    """(force,) h, zero-sum within each region: with `regional_shift` force paths are sampled as
    force + h x regional path, where h is what a region's force coordinates regress on its path
    under the forces' information (0 where they are equally informed). So a thin force beside a
    rich one (City of London beside the Met) no longer leaves the region's path and the rich
    force's on a ridge; the same model (a shift by other variables: unit Jacobian)."""
    basis = group_basis(region_of)
    p = info + 1e-6 * max(float(info.max()), 1.0)
    return basis @ np.linalg.solve(basis.T @ (p[:, None] * basis), basis.T @ p)


def latent_availability(
    spec: AvailabilitySpec, data: ModelData, gamma=None
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """A (force, panel_period) and the part of it that enters the outcomes' link (A without its
    national component unless `national_in_link`); adds their variables to the model. `gamma`: the
    enforcement effects, for `enforcement_shift`."""
    n_t = data.log_pop_full.shape[1]
    s_nat, s_reg, s_force = _component_shifts(a_shift(spec, data, gamma), data, spec.regional)
    parts = ["national", "regional", "force"] if spec.regional else ["national", "force"]
    pm.modelcontext(None).add_coord("availability_component", parts)
    rho = pm.Beta("availability_rho", 3.0, 1.5, dims="availability_component")
    unit = spec.scale == "unit_sd"
    if unit:  # components' marginal variances are shares of 1 (A is rescaled to sd 1 anyway)
        share = pm.Dirichlet(
            "availability_share", a=np.full(len(parts), 2.0), dims="availability_component"
        )
        sigma = pm.Deterministic(
            "availability_sigma", pt.sqrt(share * (1 - rho**2)), dims="availability_component"
        )
    else:
        sigma = pm.HalfNormal("availability_sigma", 0.5, dims="availability_component")
    pm.Deterministic("availability_sd", sigma / pt.sqrt(1 - rho**2), dims="availability_component")
    national = constrained_ar1("national", sigma[0], rho[0], np.ones((1, 1)), n_t, shift=s_nat)[0]
    regional = None
    first = spec.regional and spec.regional_shift  # its paths shift the force paths'

    def regional_paths():
        basis = seen_basis(np.ones(len(data.regions), bool))
        return constrained_ar1("regional", sigma[1], rho[1], basis, n_t, shift=s_reg)

    if first:
        regional = regional_paths()
        seen = (regional if s_reg is None else regional + s_reg)[data.region_of]
        h = regional_weights(force_information(data), data.region_of)
        s_force = pt.as_tensor(h[:, None]) * seen + (0.0 if s_force is None else s_force)
    basis = group_basis(group_of(data, spec.regional))
    force = _force_paths(spec, sigma, rho, basis, n_t, s_force)
    a_raw = national[None, :] + force
    if spec.regional:
        regional = (regional if first else regional_paths())[data.region_of]
        a_raw = a_raw + regional
    scale = pm.Deterministic(
        "availability_scale", pt.sqrt(a_raw.var() + 1e-12) if unit else pt.ones(())
    )
    # last values of each component: forecasts continue them, then scale alike
    pm.Deterministic("availability_national_last", national[-1])
    pm.Deterministic("availability_force_last", force[:, -1], dims=dims.FORCE)
    if regional is not None:
        pm.Deterministic("availability_regional_last", regional[:, -1], dims=dims.FORCE)
    pm.Deterministic("availability_national", national / scale, dims=PANEL_PERIOD)
    a = pm.Deterministic("availability", a_raw / scale, dims=(dims.FORCE, PANEL_PERIOD))
    if spec.national_in_link:
        return a, a
    link = (a_raw - national[None, :]) / scale
    return a, pm.Deterministic("availability_link", link, dims=(dims.FORCE, PANEL_PERIOD))


def _operator_sum(values: pt.TensorVariable, cells: Cells) -> pt.TensorVariable:
    """Sum (force, panel_period) `values` over each cell's forces (weights) and window quarters."""
    if cells.f_idx is not None:
        return values[cells.f_idx[:, None], cells.t_idx].sum(axis=1)
    per_quarter = values[:, cells.t_idx]  # (force, n, window)
    return (per_quarter.sum(axis=2) * pt.as_tensor(cells.members.T)).sum(axis=0)


def _force_levels(name: str, seen: np.ndarray) -> pt.TensorVariable:
    """Centred force levels of an indicator summing to zero over the forces it observes; 0 for the
    others (they never enter its likelihood, so they get no parameter at all)."""
    m = int(seen.sum())
    if m < 2:  # one force: its level is the indicator's level
        return pt.zeros(seen.size)
    basis = seen_basis(seen)[:, : m - 1]
    pm.modelcontext(None).add_coord(f"force_level_basis__{name}", list(range(m - 1)))
    sd = pm.HalfNormal(f"force_level_sd__{name}", 0.5)
    raw = pm.Normal(f"force_level_raw__{name}", 0.0, sd, dims=f"force_level_basis__{name}")
    return pm.Deterministic(f"force_level__{name}", pt.dot(basis, raw), dims=dims.FORCE)


def enforcement_effects(spec: AvailabilitySpec, data: ModelData) -> pt.TensorVariable | None:
    """One coefficient per enforcement series (`enforcement_effect`, dim `enforcement`), shared by the
    indicators it acts on: effort raises every enforcement-led count by the same elasticity, which
    the indicators that effort does not drive (deaths, admissions) separate from availability; one
    coefficient per indicator traded off with A's force paths (real panel: R-hat 1.05)."""
    acting = [e for e in spec.enforcement if e.variable in data.enforcement]
    if not acting:
        return None
    pm.modelcontext(None).add_coord("enforcement", [e.variable for e in acting])
    sigma = np.array([e.effect_sigma for e in acting])
    return pm.Normal("enforcement_effect", 0.0, sigma, dims="enforcement")


def _enforcement_term(name: str, spec: AvailabilitySpec, data: ModelData, gamma):
    """Sum over the enforcement series acting on indicator `name` of coefficient x series; 0 if none."""
    if gamma is None:
        return 0.0
    acting = [e for e in spec.enforcement if e.variable in data.enforcement]
    on = np.array([not e.indicators or name in e.indicators for e in acting], float)
    if not on.any():
        return 0.0
    series = np.stack([data.enforcement[e.variable] * w for e, w in zip(acting, on, strict=True)])
    return pt.tensordot(gamma, pt.as_tensor(series), axes=1)  # (force, period)


def _like_a_paths(spec: AvailabilitySpec, data: ModelData, prefix: str, keep: bool = True):
    """Force AR(1) paths like A's (same knots, constraints and parameterisation) with their own
    persistence `{prefix}_rho` and innovation sd `{prefix}_sigma`; kept in the posterior as
    `{prefix}` (force, period) when `keep`."""
    n_t, step = data.log_pop_full.shape[1], spec.force_step
    rho = pm.Beta(f"{prefix}_rho", 3.0, 1.5)
    sigma = pm.HalfNormal(f"{prefix}_sigma", 0.5)
    basis = group_basis(group_of(data, spec.regional))
    scaled = spec.parameterisation == "non_centred"
    time_dim = f"{prefix}_time"
    path = knot_paths("force", sigma, rho, basis, n_t, step, scaled, time_dim, prefix)
    return pm.Deterministic(prefix, path, dims=(dims.FORCE, PANEL_PERIOD)) if keep else path


def activity_factor(spec: AvailabilitySpec, data: ModelData) -> pt.TensorVariable | None:
    """(force, panel_period) latent policing activity shared by the `activity_factor` indicators,
    so operations that raise trafficking and possession counts together are not read as
    availability. A is then identified by what these indicators share with the others (seizures,
    deaths, admissions); where only they are seen, A rests on its dynamics. None without such
    indicators."""
    present = {ind.name for ind in data.indicators}
    if not present & set(spec.activity_factor):
        return None
    return _like_a_paths(spec, data, "activity")


def _centred(path: pt.TensorVariable, centre: np.ndarray) -> pt.TensorVariable:
    """A (force, period) path minus its mean over the quarters each force is seen in."""
    return path - (path * pt.as_tensor(centre)).sum(axis=1, keepdims=True)


def indicators(a: pt.TensorVariable, data: ModelData, spec: AvailabilitySpec, gamma=None) -> None:
    """Likelihood of every indicator given A, centred over the quarters each force is seen in;
    loadings signed by meaning (the first fixed at its sign under the "first_loading" scale); the
    `activity_factor` indicators also load on latent policing activity (the first with loading 1),
    and each `idiosyncratic` indicator has its own force AR(1) deviations."""
    gamma = enforcement_effects(spec, data) if gamma is None else gamma
    activity = activity_factor(spec, data)
    on_activity = [ind.name for ind in data.indicators if ind.name in spec.activity_factor]
    for i, ind in enumerate(data.indicators):
        name, ispec, cells = ind.name, ind.spec, ind.cells
        if spec.scale == "first_loading" and i == 0:
            loading = pt.as_tensor(float(ispec.sign))
        else:
            loading = ispec.sign * pm.HalfNormal(f"loading_abs__{name}", ispec.loading_sigma)
        pm.Deterministic(f"loading__{name}", loading)
        level = pm.Normal(f"level__{name}", ind.level_guess, 1.0)
        shifted = level + loading * _centred(a, ind.centre)
        if name in spec.idiosyncratic:  # its own persistent force deviations
            own = _like_a_paths(spec, data, f"own__{name}", keep=False)
            shifted = shifted + _centred(own, ind.centre)
        if name in on_activity:
            p_j = _centred(activity, ind.centre)
            weight = 1.0  # the first named indicator sets the scale of activity
            if name != on_activity[0]:
                weight = pm.HalfNormal(f"activity_loading__{name}", 1.0)
            shifted = shifted + weight * p_j
        if cells.f_idx is not None:  # force cells: force levels over the forces observed
            shifted = shifted + _force_levels(name, ind.seen)[:, None]
        if ispec.family == "negative_binomial":
            m = pt.exp(data.log_pop_full + shifted + _enforcement_term(name, spec, data, gamma))
            mean = _operator_sum(m, cells)
            inv = pm.HalfNormal(f"inv_sqrt_phi__{name}", 1.0)
            alpha = 1.0 / inv**2
            if cells.window > 1 or cells.f_idx is None:  # a sum of cells: variance-matched
                alpha = alpha * mean**2 / _operator_sum(m**2, cells)
            pm.NegativeBinomial(f"obs__{name}", mu=mean, alpha=alpha, observed=cells.y)
        else:
            sigma = pm.HalfNormal(f"noise_sd__{name}", 0.5)
            mean = _operator_sum(shifted, cells) / cells.window  # members' weights sum to 1
            pm.Normal(f"obs__{name}", mu=mean, sigma=sigma, observed=np.log(cells.y))
