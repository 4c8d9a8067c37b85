"""Forces, regions and England and Wales along one ``area`` dim, as sums of force values.

Used for forecast draws (so every level agrees draw by draw) and for panels (regional and national
counts, populations and rates). A region only partly present is labelled as such, and the top level is
'England and Wales' only when all 43 forces are there.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.forces import force_register

NATIONAL = "England and Wales"
NATIONAL_CODE = "K04000001"
PANEL_TOTAL = "All forces in panel"  # the top level when the panel is not all 43 forces
PARTIAL_REGION = "forces in panel"  # suffix of a region only partly in the panel


def to_areas(ds: xr.Dataset, strict: Iterable[str] = ()) -> xr.Dataset:
    """Sum `ds` over forces into regions and the national total, beside the forces themselves.

    Variables named in `strict` are missing in an aggregate when any member force is missing (observed
    totals); the others skip missing values.
    """
    strict = list(strict)
    regions = ds[dims.REGION].values
    base = ds.drop_vars([dims.FORCE_CODE, dims.REGION])
    register = force_register()
    parts = [base.rename({dims.FORCE: dims.AREA})]
    names = [str(f) for f in ds[dims.FORCE].values]
    levels = ["force"] * ds.sizes[dims.FORCE]
    codes = [str(c) for c in ds[dims.FORCE_CODE].values]
    for r in pd.unique(regions):
        members = np.flatnonzero(regions == r)
        parts.append(_sum(base.isel({dims.FORCE: members}), strict).expand_dims({dims.AREA: [r]}))
        whole = len(members) == int((register["region"] == r).sum())
        label = f"{r} (region)" if r in set(register["force"]) else str(r)  # West Midlands is both
        names.append(label if whole else f"{label} ({PARTIAL_REGION})")
        levels.append("region")
        codes.append("")
    complete = ds.sizes[dims.FORCE] == len(register)
    parts.append(_sum(base, strict).expand_dims({dims.AREA: ["total"]}))
    names.append(top_level_name(ds))
    levels.append("national")
    codes.append(NATIONAL_CODE if complete else "")
    out = xr.concat([p.drop_vars(dims.AREA, errors="ignore") for p in parts], dim=dims.AREA)
    out = out.assign_coords(
        {dims.AREA: names, dims.AREA_LEVEL: (dims.AREA, levels), "area_code": (dims.AREA, codes)}
    )
    out.attrs = dict(ds.attrs)
    return out


def top_level_name(ds: xr.Dataset) -> str:
    """'England and Wales' when `ds` holds all 43 forces, else the panel's total."""
    return NATIONAL if ds.sizes[dims.FORCE] == len(force_register()) else PANEL_TOTAL


def _sum(ds: xr.Dataset, strict: list[str]) -> xr.Dataset:
    total = ds.drop_vars(strict).sum(dims.FORCE)
    for name in strict:
        total[name] = ds[name].sum(dims.FORCE, skipna=False)
    return total


def panel_rates(panel: xr.Dataset) -> pd.DataFrame:
    """Observed counts, population and rates per 100,000 by area (force, region, national), period
    and outcome; an aggregate is missing where any member force's count is missing."""
    areas = to_areas(panel[[dims.COUNT, dims.POPULATION]], strict=[dims.COUNT])
    frame = areas[dims.COUNT].to_dataframe().reset_index()
    pop = (
        areas[dims.POPULATION]
        .to_dataframe()
        .reset_index()[[dims.AREA, dims.PERIOD, dims.POPULATION]]
    )
    frame = frame.merge(pop, on=[dims.AREA, dims.PERIOD])
    frame["rate_per_100k"] = frame[dims.COUNT] / frame[dims.POPULATION] * 1e5
    frame[dims.PERIOD] = frame[dims.PERIOD].astype(str)
    cols = [
        dims.AREA,
        dims.AREA_LEVEL,
        "area_code",
        dims.PERIOD,
        dims.OUTCOME,
        dims.COUNT,
        dims.POPULATION,
        "rate_per_100k",
    ]
    return frame[cols]


def window_rates(panel: xr.Dataset, variable: str, outcome: str) -> pd.DataFrame:
    """Observed window sums of a force series (a financial-year total, recorded at the quarter its
    window ends) by area, with the quarterly average rate per 100,000 over the window's quarters, so
    a chart of quarterly rates can show what was published. An aggregate appears only where every
    member force has the window (knife: no Welsh force, so no England and Wales total)."""
    da = panel[variable]
    window = int(da.attrs.get("window_quarters", 1))
    ds = xr.Dataset({"total": da, dims.POPULATION: panel[dims.POPULATION]})
    ds = ds.assign_coords({c: panel[c] for c in (dims.FORCE_CODE, dims.REGION)})
    areas = to_areas(ds, strict=["total"])
    pop = areas[dims.POPULATION].rolling({dims.PERIOD: window}, min_periods=1).mean()
    frame = (areas["total"] / window / pop * 1e5).rename("rate_per_100k").to_dataframe()
    frame["total"] = areas["total"].to_dataframe()["total"]
    frame = frame.reset_index().dropna(subset=["total"])
    end = pd.PeriodIndex(frame[dims.PERIOD], freq="Q")
    return pd.DataFrame(
        {
            dims.AREA: frame[dims.AREA].values,
            dims.OUTCOME: outcome,
            "variable": variable,
            "start": (end - (window - 1)).astype(str),
            "end": end.astype(str),
            "total": frame["total"].values,
            "rate_per_100k": frame["rate_per_100k"].values,
        }
    )
