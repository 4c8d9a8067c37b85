"""Model ingredients, one function each: they add their variables to the active PyMC model and
return their contribution to the log rate, with dims (outcome, ...) named on every variable."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from forecast.core import dims
from forecast.core.scale import within_sd
from forecast.model.data import BREAK_STEP, SHOCK, ModelData
from forecast.spec import (
    AvailabilitySpec,
    ForceEffectsSpec,
    InterceptSpec,
    LikelihoodSpec,
    SeasonalitySpec,
)


def intercept(spec: InterceptSpec, outcomes: list[str]) -> pt.TensorVariable:
    """Baseline log rate per 100,000 per quarter, one per outcome (prior stated as a rate)."""
    mu = np.log([spec.rate_per_100k[k] for k in outcomes])
    return pm.Normal("intercept", mu=mu, sigma=spec.log_sd, dims=dims.OUTCOME)


def force_effects(
    spec: ForceEffectsSpec, outcomes: list[str], seen: np.ndarray | None = None
) -> pt.TensorVariable:
    """Sum-to-zero force x outcome effects, so the intercept is the mean and no ridge forms.

    Correlated across outcomes (LKJ) when asked: zero-sum standard normals times the Cholesky factor,
    which keeps each outcome's effects summing to zero over forces. `seen` (outcome, force) marks the
    forces with data on each outcome; where some have none (knife in Dyfed-Powys), see
    :func:`_force_effects_on_seen`.
    """
    shape = (dims.OUTCOME, dims.FORCE)
    if spec.correlated:
        model = pm.modelcontext(None)
        n_k = len(model.coords[dims.OUTCOME])
        model.add_coord("outcome_b", list(model.coords[dims.OUTCOME]))
        chol, corr, sds = pm.LKJCholeskyCov(
            "force_cov", n=n_k, eta=2.0, sd_dist=pm.HalfNormal.dist(spec.sigma, size=n_k)
        )
        pm.Deterministic("force_sigma", sds, dims=dims.OUTCOME)
        pm.Deterministic("force_corr", corr, dims=(dims.OUTCOME, "outcome_b"))
        z = pm.ZeroSumNormal("force_effect_z", sigma=1.0, dims=(dims.FORCE, dims.OUTCOME))
        return pm.Deterministic("force_effect", pt.dot(z, chol.T).T, dims=shape)
    sigma = pm.HalfNormal("force_sigma", sigma=spec.sigma, dims=dims.OUTCOME)
    centred = np.array([spec.centred_for(k) for k in outcomes])
    if seen is not None and not seen.all():
        return _force_effects_on_seen(sigma, centred, seen)
    if centred.all():
        return pm.ZeroSumNormal("force_effect", sigma=sigma[:, None], dims=shape)
    if not centred.any():
        z = pm.ZeroSumNormal("force_effect_z", sigma=1.0, dims=shape)
        return pm.Deterministic("force_effect", z * sigma[:, None], dims=shape)
    # mixed: one zero-sum variable, prior sd sigma where centred and 1 where not, times 1 or sigma
    raw = pm.ZeroSumNormal(
        "force_effect_raw", sigma=pt.where(centred, sigma, 1.0)[:, None], dims=shape
    )
    return pm.Deterministic(
        "force_effect", raw * pt.where(centred, 1.0, sigma)[:, None], dims=shape
    )


def _force_effects_on_seen(
    sigma: pt.TensorVariable, centred: np.ndarray, seen: np.ndarray
) -> pt.TensorVariable:
    """Force effects summing to zero over the forces that have data on each outcome; a force with
    none gets an independent Normal(0, sigma) effect (its prior predictive).

    Summing to zero over all forces would tie the intercept to the unseen force's effect, a ridge
    only the prior bounds (knife in Dyfed-Powys held the real fit's R-hat at 1.011). Each outcome's
    n_force - 1 free coordinates map through a fixed orthonormal basis, so with iid raw values the
    effects have exactly that distribution.
    """
    basis = np.stack([seen_basis(row) for row in seen])  # (outcome, force, force - 1)
    model = pm.modelcontext(None)
    model.add_coord("force_basis", list(range(seen.shape[1] - 1)))
    raw = pm.Normal(
        "force_effect_raw",
        sigma=pt.where(centred, sigma, 1.0)[:, None],
        dims=(dims.OUTCOME, "force_basis"),
    )
    effect = pt.matmul(pt.as_tensor(basis), raw[:, :, None])[:, :, 0]  # per outcome: basis @ raw
    effect = effect * pt.where(centred, 1.0, sigma)[:, None]
    return pm.Deterministic("force_effect", effect, dims=(dims.OUTCOME, dims.FORCE))


def seen_basis(seen: np.ndarray) -> np.ndarray:
    """(force, force - 1) orthonormal columns: the zero-sum subspace over the seen forces, then one
    unit vector per unseen force."""
    idx = np.flatnonzero(seen)
    n, m = seen.size, idx.size
    out = np.zeros((n, n - 1))
    for j in range(1, m):  # Helmert columns: an orthonormal basis of {x : sum x = 0} in R^m
        col = np.zeros(m)  # closed form, so the same on every machine (eigh's is not unique)
        col[:j], col[j] = 1.0, -float(j)
        out[idx, j - 1] = col / np.sqrt(j * (j + 1))
    for j, f in enumerate(np.flatnonzero(~seen)):
        out[f, max(m - 1, 0) + j] = 1.0
    return out


def seasonality(spec: SeasonalitySpec, outcomes: list[str]) -> pt.TensorVariable:
    """Quarter-of-year effects per outcome, summing to zero over the year (zero for `flat` ones)."""
    free = [j for j, k in enumerate(outcomes) if k not in spec.flat]
    if len(free) == len(outcomes):
        return pm.ZeroSumNormal("season", sigma=spec.sigma, dims=(dims.OUTCOME, dims.QUARTER))
    season = pt.zeros((len(outcomes), 4))
    if free:
        z = pm.ZeroSumNormal("season_free", sigma=spec.sigma, shape=(len(free), 4))
        season = pt.set_subtensor(season[free], z)
    return pm.Deterministic("season", season, dims=(dims.OUTCOME, dims.QUARTER))


def availability_term(
    spec: AvailabilitySpec,
    a_full: pt.TensorVariable,
    data: ModelData,
    unit: pt.TensorVariable | None = None,
) -> pt.TensorVariable:
    """Distributed-lag effect of availability on each outcome's log rate, (force, period, outcome).

    beta_k is the total effect per unit of A; lag weights (Dirichlet, shared across outcomes) spread
    it over lags; force-varying effects are sum-to-zero deviations, so beta_k stays the mean effect.
    The effect per sd of A over the panel (per draw; of `unit`, the whole of A, when `a_full` is
    only the part of A in the link) is recorded as `availability_effect_per_sd`.
    """
    beta = pm.Normal("availability_beta", 0.0, spec.effect_sigma, dims=dims.OUTCOME)
    n_lag, n_t = len(data.lags), len(data.periods)
    if n_lag > 1:
        weights = pm.Dirichlet("lag_weight", a=np.full(n_lag, spec.lag_concentration), dims="lag")
    else:
        weights = pt.ones(1)
    lagged = pt.stack(
        [a_full[:, data.n_pre - lag : data.n_pre - lag + n_t] for lag in data.lags]
    )  # (lag, force, period)
    a_eff = pt.tensordot(weights, lagged, axes=1)  # (force, period)
    effect = beta[None, :]
    if spec.force_varying:
        sd = pm.HalfNormal("availability_beta_force_sd", spec.force_sigma, dims=dims.OUTCOME)
        z = pm.ZeroSumNormal(
            "availability_beta_force_z", sigma=1.0, dims=(dims.FORCE, dims.OUTCOME)
        )
        effect = pm.Deterministic(
            "availability_beta_force",
            beta[None, :] + z * sd[None, :],
            dims=(dims.FORCE, dims.OUTCOME),
        )
    sd = within_sd(a_full if unit is None else unit)
    pm.Deterministic("availability_effect_per_sd", beta * sd, dims=dims.OUTCOME)
    return a_eff[:, :, None] * effect[:, None, :]


def shock_effects(
    data: ModelData, sigma: float, regional_sigma: float = 0.0
) -> pt.TensorVariable | None:
    """Shock effects, one per shock quarter and outcome, as (1, period, outcome), or per force
    (force, period, outcome) with regional deviations; None without shocks. Outcomes a shock row
    does not name stay at 0 in that quarter.

    With `regional_sigma` > 0 each region's effect in a shock quarter deviates from the national one
    (`shock_regional`, non-centred, summing to zero over regions, sd partially pooled per outcome
    with a HalfNormal(regional_sigma) prior): London's robbery fell further than the rest in 2020.
    """
    if not data.shocks:
        return None
    design = np.zeros((len(data.shocks), len(data.periods), len(data.outcomes)))
    for i, s in enumerate(data.shocks):
        design[i, s.t, s.outcomes] = 1.0
    delta = pm.Normal("shock", 0.0, sigma, dims=(SHOCK, dims.OUTCOME))
    national = (delta[:, None, :] * design).sum(axis=0)[None, :, :]
    if regional_sigma <= 0:
        return national
    sd = pm.HalfNormal("shock_regional_sigma", sigma=regional_sigma, dims=dims.OUTCOME)
    z = pm.ZeroSumNormal("shock_regional_z", sigma=1.0, dims=(SHOCK, dims.OUTCOME, dims.GOR))
    dev = pm.Deterministic(
        "shock_regional", z * sd[None, :, None], dims=(SHOCK, dims.OUTCOME, dims.GOR)
    )
    by_force = dev[:, :, data.region_of].transpose(0, 2, 1)  # (shock, force, outcome)
    return national + (by_force[:, :, None, :] * design[:, None, :, :]).sum(axis=0)


def covariate_terms(spec_covariates, data: ModelData) -> pt.TensorVariable | None:
    """Effects of optional covariates per outcome, (force, period, outcome); None without any."""
    if not spec_covariates:
        return None
    total = 0.0
    for cov in spec_covariates:
        gamma = pm.Normal(f"covariate__{cov.variable}", 0.0, cov.effect_sigma, dims=dims.OUTCOME)
        total = total + pt.as_tensor(data.covariates[cov.variable])[:, :, None] * gamma
    return total


def break_steps(data: ModelData, sigma: float) -> pt.TensorVariable | None:
    """Step effects of recording breaks, (force, period, outcome); None when there are none."""
    if not data.steps:
        return None
    design = np.zeros((len(data.steps), *data.count.shape))
    for i, s in enumerate(data.steps):
        for k in s.outcomes:
            design[i, s.force, s.active, k] = 1.0
    delta = pm.Normal("break_step", 0.0, sigma, dims=BREAK_STEP)
    return pt.tensordot(delta, design, axes=1)


def index_dynamics(data: ModelData) -> None:
    """AR(1) models of the observed index (national mean + force deviations), used to project it.

    Both are likelihoods of observed data with their own parameters, so they leave the outcome
    model's posterior unchanged; forecasts draw future index paths from them.
    """
    idx = data.index_full
    nat = idx.mean(axis=0)
    dev = idx - nat[None, :]
    # intercept form (nat[t] = c + rho nat[t-1]): a linear regression, which mixes well; the mean
    # form c = mean (1 - rho) leaves the mean barely identified when rho is near 1 (a funnel)
    intercept = pm.Normal("index_nat_intercept", 0.0, 1.0)
    rho_n = pm.Uniform("index_nat_rho", -1.0, 1.0)
    sig_n = pm.HalfNormal("index_nat_sigma", 1.0)
    pm.Normal("index_nat_obs", intercept + rho_n * nat[:-1], sig_n, observed=nat[1:])
    # each force's deviation reverts to its own level (c_f / (1 - rho)), not to the national mean:
    # around 0 the pooled persistence reads a force's lasting level as slow reversion and forecasts
    # pulled every force towards the mean. Intercepts partially pooled, in the same linear form, and
    # non-centred: centred, a panel whose forces share one level (sd near 0, as simulated) made a
    # funnel (default fit: E-BFMI 0.12, chains in two modes, R-hat 1.28; non-centred 0.82, 1.008)
    c_sd = pm.HalfNormal("index_dev_intercept_sd", 0.5)
    c_z = pm.Normal("index_dev_intercept_z", 0.0, 1.0, dims=dims.FORCE)
    c_f = pm.Deterministic("index_dev_intercept", c_z * c_sd, dims=dims.FORCE)
    rho_d = pm.Uniform("index_dev_rho", -1.0, 1.0)
    sig_d = pm.HalfNormal("index_dev_sigma", 1.0)
    pm.Normal("index_dev_obs", c_f[:, None] + rho_d * dev[:, :-1], sig_d, observed=dev[:, 1:])


def likelihood(spec: LikelihoodSpec, eta: pt.TensorVariable, data: ModelData) -> None:
    """Counts of the observed quarterly cells (missing cells are masked, never zero), and windowed
    sums (rolling year, financial year, pooled) through their operators: the sum of quarterly means,
    as a negative binomial whose variance matches that of the sum of independent quarters."""
    mask = data.observed
    f_i, t_i, k_i = np.nonzero(mask)
    mu = pt.exp(eta[f_i, t_i, k_i])
    y = data.count[mask].astype("int64")
    phi = None
    if spec.family == "negative_binomial":
        inv = pm.HalfNormal("inv_sqrt_phi", sigma=spec.overdispersion_sigma, dims=dims.OUTCOME)
        phi = pm.Deterministic("phi", 1.0 / inv**2, dims=dims.OUTCOME)
        # (force, outcome), or (1, outcome) shared by every force
        phi = force_overdispersion(phi) if spec.force_varying else phi[None, :]
    if y.size:
        if phi is None:
            pm.Poisson("count", mu=mu, observed=y)
        else:
            f_phi = f_i if spec.force_varying else np.zeros_like(f_i)
            pm.NegativeBinomial("count", mu=mu, alpha=phi[f_phi, k_i], observed=y)
    for w in data.windowed:
        c = w.cells
        quarterly = pt.exp(eta[c.f_idx[:, None], c.t_idx, w.outcome])
        mean = quarterly.sum(axis=1)
        yw = c.y.astype("int64")
        if phi is None:
            pm.Poisson(f"window__{w.name}", mu=mean, observed=yw)
        else:
            phi_w = phi[c.f_idx if spec.force_varying else 0, w.outcome]
            alpha = phi_w * mean**2 / (quarterly**2).sum(axis=1)  # moment-matched
            pm.NegativeBinomial(f"window__{w.name}", mu=mean, alpha=alpha, observed=yw)


def force_overdispersion(phi: pt.TensorVariable) -> pt.TensorVariable:
    """(force, outcome) NB concentrations: log phi partially pooled around each outcome's `phi`
    (non-centred, sd `phi_force_sd`), so a force whose counts scatter more gets wider intervals."""
    sd = pm.HalfNormal("phi_force_sd", 0.5, dims=dims.OUTCOME)
    z = pm.Normal("phi_force_z", 0.0, 1.0, dims=(dims.FORCE, dims.OUTCOME))
    return pm.Deterministic(
        "phi_force", phi[None, :] * pt.exp(z * sd[None, :]), dims=(dims.FORCE, dims.OUTCOME)
    )
