"""Quarterly proxies of an outcome that is known only from sums (10D possession of a blade or point
for knife crime, whose force series end in 2020).

A proxy's rate is the outcome's rate times a ratio::

    log mu_p[f, t] = eta_k[f, t] + level_p + ratio_force_p[f] + season_p[q(t)] + drift_p[t]

A region-level proxy (dims gor, period: NHS admissions for assault by a sharp object; or a force
series summed over each region's forces with `by_region = true`) takes the log of the summed rates of
the region's forces in place of ``eta_k[f, t]`` and a region ratio. Summing a force series leaves its
forces' own swings in policing (stop and search behind 10D) out of the knife paths.
The force ratio takes each force's own policing of the proxy, the season the proxy's quarter-of-year
pattern, and the drift (a national random walk with small steps) a slow change in the ratio, such as
more stop and search. What is left is the outcome's own movement by force and quarter, which the
proxy carries after the outcome's series end; the drift's step sd is the price of that assumption.
A proxy never makes an outcome "seen" (its force levels are confounded with the force ratio), and
it is never forecast: it only informs the outcome's history. Its ratios sum to zero over the areas
with data only (dim ``proxy_area__<name>``): an area without data (Wales for 10D) would be a
prior-only ratio tied to the level, a ridge that slowed the real fit (level bulk ESS 427).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from forecast.core import dims
from forecast.core.errors import DataError, SpecError
from forecast.model.variables import are_counts, need, region_members


@dataclass(frozen=True)
class ProxyData:
    """One proxy series over the modelled quarters."""

    name: str
    outcome: int
    y: np.ndarray  # (area, period) counts, NaN where missing; every area has some
    members: np.ndarray | None  # (area, force) 0/1 for a region-level proxy, else None
    areas: tuple[str, ...]  # each row's force or region
    rows: np.ndarray  # each row's index among the source's rows (a force-level proxy: its force)
    level_guess: float  # log of the proxy's rate relative to the outcome's prior rate
    drift_sigma: float


def proxy_data(
    panel: xr.Dataset, obs, k: int, n_pre: int, log_pop: np.ndarray, outcome_rate: float
) -> ProxyData:
    """A proxy's counts aligned with the modelled quarters (`log_pop`: log(pop / 1e5) over them);
    a region-level one keeps the regions with at least one of the panel's forces."""
    da = need(panel, obs.variable, "observations")
    geo = next((g for g in (dims.FORCE, dims.GOR) if set(da.dims) == {g, dims.PERIOD}), None)
    if geo is None:
        raise SpecError(f"proxy variable {obs.variable!r} must have dims (force or gor, period)")
    y = da.transpose(geo, dims.PERIOD).values.astype(float)[:, n_pre:]
    members, areas = None, np.asarray(da[geo].values, str)
    if geo == dims.FORCE and obs.by_region:  # a region's quarter needs every member force's count
        region_of = panel[dims.REGION].values
        areas = np.unique(np.asarray(region_of, str))
        members = region_members(areas, region_of)
        y = np.where(members @ ~np.isfinite(y) > 0, np.nan, members @ np.nan_to_num(y))
    elif geo == dims.GOR:
        members = region_members(areas, panel[dims.REGION].values)
        keep = members.any(axis=1)
        y, members, areas = y[keep], members[keep], areas[keep]
    if members is not None:
        log_pop = np.log(members @ np.exp(log_pop))
    seen = np.isfinite(y)
    if not seen.any():
        raise DataError(f"proxy variable {obs.variable!r} has no values in the modelled quarters")
    if not are_counts(y[seen]):
        raise DataError(f"proxy variable {obs.variable!r} has negative or fractional counts")
    rate = y[seen].sum() / np.exp(log_pop[seen]).sum()
    guess = float(np.log(max(rate, 1e-3) / outcome_rate))
    rows = np.arange(len(y))
    p = ProxyData(obs.variable, k, y, members, tuple(areas), rows, guess, obs.drift_sigma)
    return _with_data(p, seen.any(axis=1))


def _with_data(p: ProxyData, keep: np.ndarray) -> ProxyData:
    """The proxy's rows where `keep` holds."""
    return replace(
        p,
        y=p.y[keep],
        members=None if p.members is None else p.members[keep],
        areas=tuple(np.asarray(p.areas)[keep]),
        rows=p.rows[keep],
    )


def proxy_likelihood(p: ProxyData, eta: pt.TensorVariable, quarter: np.ndarray) -> None:
    """The proxy's counts as negative binomials around the outcome's rate times its ratio."""
    f_i, t_i = np.nonzero(np.isfinite(p.y))
    n_t = p.y.shape[1]
    area = f"proxy_area__{p.name}"
    pm.modelcontext(None).add_coord(area, list(p.areas))
    level = pm.Normal(f"proxy_level__{p.name}", p.level_guess, 1.0)
    force_sd = pm.HalfNormal(f"proxy_force_sd__{p.name}", 1.0)
    force = pm.ZeroSumNormal(f"proxy_force__{p.name}", sigma=force_sd, dims=area)
    season = pm.ZeroSumNormal(f"proxy_season__{p.name}", sigma=0.2, dims=dims.QUARTER)
    step_sd = pm.Gamma(f"proxy_drift_sigma__{p.name}", alpha=2.0, beta=2.0 / p.drift_sigma)
    z = pm.Normal(f"proxy_drift_z__{p.name}", 0.0, 1.0, shape=n_t - 1)
    walk = pt.concatenate([pt.zeros(1), pt.cumsum(z * step_sd)])
    drift = pm.Deterministic(f"proxy_drift__{p.name}", walk - walk.mean(), dims=dims.PERIOD)
    if p.members is None:
        outcome = eta[p.rows[f_i], t_i, p.outcome]
    else:  # the region's summed rate
        outcome = pt.log(pt.dot(pt.as_tensor(p.members), pt.exp(eta[:, :, p.outcome])))[f_i, t_i]
    log_mu = outcome + level + force[f_i] + season[quarter[t_i]] + drift[t_i]
    inv = pm.HalfNormal(f"proxy_inv_sqrt_phi__{p.name}", 1.0)
    y = p.y[f_i, t_i].astype("int64")
    pm.NegativeBinomial(f"proxy__{p.name}", mu=pt.exp(log_mu), alpha=inv**-2, observed=y)


def on_seen(p: ProxyData, seen: np.ndarray, notes: list[str]) -> ProxyData:
    """Leave out the proxy's areas (forces, or regions with a force) that the outcome never observes:
    there the proxy's ratio and the outcome's level cannot be told apart, and the pair only slows
    the sampler."""
    seen_of = seen[p.rows] if p.members is None else ~(p.members[:, ~seen] > 0).any(axis=1)
    if seen_of.all():
        return p
    if not seen_of.any():
        raise DataError(
            f"proxy variable {p.name!r} has values only in areas its outcome never observes"
        )
    notes.append(
        f"{p.name}: {int(np.isfinite(p.y[~seen_of]).sum())} values in areas the outcome is never "
        "observed in are not used"
    )
    return _with_data(p, seen_of)
