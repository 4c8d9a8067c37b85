"""Enforcement effort by force and quarter (officers, drug arrests), the covariates that let the
indicator model tell a force that polices harder from one whose drug market grew.

Each series is spread over the quarters of its window (a financial-year value over its four
quarters), taken per 100,000 population and logged when asked, gaps filled from the nearest
observed quarter of the same force, then centred within each force and scaled to sd 1: only its
movement within a force is used, since each indicator's force levels already take the differences
between forces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.errors import DataError, SpecError


def enforcement_covariates(panel: xr.Dataset, av, pop: np.ndarray) -> dict[str, np.ndarray]:
    """{variable: (force, panel_period) standardised within-force enforcement}."""
    out = {}
    for e in av.enforcement:
        if e.variable not in panel:
            if e.optional:
                continue
            raise SpecError(
                f"availability.enforcement variable {e.variable!r} is not in the panel; "
                "ingest it or mark it optional = true"
            )
        out[e.variable] = _standardised(panel[e.variable], e, pop)
    return out


def _standardised(da: xr.DataArray, e, pop: np.ndarray) -> np.ndarray:
    if set(da.dims) != {dims.FORCE, dims.PERIOD}:
        raise SpecError(f"enforcement variable {e.variable!r} must have dims (force, period)")
    values = da.transpose(dims.FORCE, dims.PERIOD).values.astype(float)
    window = int(da.attrs.get("window_quarters", 1))
    per_quarter = np.full(values.shape, np.nan)
    for f, t in zip(*np.nonzero(np.isfinite(values)), strict=True):
        lo = max(t - window + 1, 0)
        per_quarter[f, lo : t + 1] = values[f, t] / (window if e.sum_over_window else 1)
    if e.per_100k:
        per_quarter = per_quarter / (pop / 1e5)
    if e.log:
        if (per_quarter[np.isfinite(per_quarter)] <= 0).any():
            raise DataError(f"enforcement variable {e.variable!r} has values <= 0; log needs > 0")
        per_quarter = np.log(per_quarter)
    filled = pd.DataFrame(per_quarter.T).ffill().bfill().to_numpy().T  # nearest in time
    ok = np.isfinite(filled)  # a force with no value at all stays at 0
    means = np.where(ok, filled, 0.0).sum(axis=1, keepdims=True) / np.maximum(ok.sum(1)[:, None], 1)
    dev = np.where(ok, filled - means, 0.0)
    sd = dev[ok].std() if ok.any() else 0.0
    return dev / sd if sd > 0 else dev
