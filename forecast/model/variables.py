"""The panel variables a spec names: looked up with an error naming the spec's table, their window
in quarters, and covariates standardised over the panel."""

from __future__ import annotations

import numpy as np
import xarray as xr

from forecast.core import dims
from forecast.core.errors import DataError, SpecError


def covariate(panel: xr.Dataset, cov, n_pre: int) -> np.ndarray:
    """A covariate over the modelled quarters, standardised over the panel (complete, numeric)."""
    da = need(panel, cov.variable, "covariates")
    if set(da.dims) != {dims.FORCE, dims.PERIOD}:
        raise SpecError(f"covariate {cov.variable!r} must have dims (force, period)")
    x = da.transpose(dims.FORCE, dims.PERIOD).values.astype(float)
    if cov.log:
        if (x <= 0).any():
            raise DataError(f"covariate {cov.variable!r} has values <= 0; log = true needs > 0")
        x = np.log(x)
    if not np.isfinite(x).all():
        f, t = np.argwhere(~np.isfinite(x))[0]
        raise DataError(
            f"covariate {cov.variable!r} is missing for force {str(panel[dims.FORCE].values[f])!r}, "
            f"period {panel.indexes[dims.PERIOD][t]}; covariates must be complete"
        )
    sd = x.std()
    return ((x - x.mean()) / (sd if sd > 0 else 1.0))[:, n_pre:]


def are_counts(y: np.ndarray) -> bool:
    """Whether every value is a non-negative whole number (NaN excluded by the caller)."""
    return not ((y < 0).any() or (np.abs(y - np.round(y)) > 1e-9).any())


def region_members(labels, region_of) -> np.ndarray:
    """(label, force) 0/1: the forces in each region (`region_of`: each force's region name)."""
    return (np.asarray(labels, str)[:, None] == np.asarray(region_of, str)[None, :]).astype(float)


def window_of(panel: xr.Dataset, variable: str, override: int | None) -> int:
    """The quarters a value of `variable` sums over: the spec's override, else the panel's attrs."""
    if override is not None:
        return override
    return int(panel[variable].attrs.get("window_quarters", 1))


def need(panel: xr.Dataset, variable: str, where: str) -> xr.DataArray:
    """The panel variable a spec names (`where`: the spec's table), or a SpecError listing those
    the panel has."""
    if variable not in panel:
        raise SpecError(
            f"{where} variable {variable!r} is not in the panel "
            f"(it has {sorted(map(str, panel.data_vars))})"
        )
    return panel[variable]


def observed_index(panel: xr.Dataset, av) -> np.ndarray:
    """(force, panel_period) the observed availability index (kind = "index"), which must be complete."""
    if av.variable not in panel:
        raise SpecError(
            f"availability.variable {av.variable!r} is not in the panel "
            f"(it has {sorted(map(str, panel.data_vars))})"
        )
    index = panel[av.variable].transpose(dims.FORCE, dims.PERIOD).values.astype(float)
    if not np.isfinite(index).all():
        raise DataError(
            f"panel variable {av.variable!r} has missing values; the index must be complete"
        )
    return index
