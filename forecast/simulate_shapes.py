"""The shapes simulated series are published in: indicators as sums over windows ending in a given
quarter, officers as financial-year means, and (`mixed_frequency`) the awkward shapes real outcome
series come in, made from a simulated panel."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims


def fy_means(x: np.ndarray, periods: pd.PeriodIndex) -> np.ndarray:
    """Financial-year means of quarterly values, at each year's last quarter (Jan-Mar); NaN else."""
    out = np.full_like(x, np.nan)
    for t, p in enumerate(periods):
        if p.quarter == 1 and t >= 3:
            out[:, t] = x[:, t - 3 : t + 1].mean(axis=1)
    return out


def published(
    indicator_counts: dict[str, np.ndarray],
    officers: np.ndarray,
    price: np.ndarray,
    periods_all: pd.PeriodIndex,
    sl: slice,
    layout: dict[str, tuple[str, int, int | None]],
) -> dict[str, xr.DataArray]:
    """Indicators as published (`layout`: indicator -> panel variable, window in quarters, quarter of
    the year it ends): quarterly, financial-year or pooled sums at their end quarter; officers as
    financial-year means; the national price index."""
    total = len(periods_all)
    out = {}
    for name, (var, window, end_q) in layout.items():
        x = indicator_counts[name]
        if window > 1:
            sums = np.full_like(x, np.nan)
            csum = np.cumsum(x, axis=1)
            ends = [t for t in range(window - 1, total) if periods_all[t].quarter == end_q]
            for t in ends:
                before = csum[:, t - window] if t >= window else 0.0
                sums[:, t] = csum[:, t] - before
            x = sums
        out[var] = xr.DataArray(
            x[:, sl],
            dims=(dims.FORCE, dims.PERIOD),
            attrs={
                "unit": "count",
                "window_quarters": window,
                "aggregation": "quarter sum" if window == 1 else f"{window}-quarter sum",
                "geography": "force",
            },
        )
    out["police_officers_fy"] = xr.DataArray(
        fy_means(officers, periods_all)[:, sl],
        dims=(dims.FORCE, dims.PERIOD),
        attrs={
            "unit": "officers (financial-year mean)",
            "window_quarters": 4,
            "aggregation": "financial-year mean",
            "geography": "force",
        },
    )
    out["price_index"] = xr.DataArray(
        price[sl],
        dims=(dims.PERIOD,),
        attrs={
            "unit": "index",
            "geography": "national",
            "window_quarters": 1,
            "description": "purity-adjusted Class A price (falls as availability rises)",
        },
    )
    return out


def mixed_frequency(
    panel: xr.Dataset,
    rolling_forces: int = 10,
    fy_outcome: str = "knife",
    gap_force: str = "Greater Manchester",
    gap: tuple[str, str] = ("2019Q3", "2019Q4"),
) -> xr.Dataset:
    """The awkward shapes real series come in, made from a simulated panel (for tests and studies):

    - `fy_outcome` observed only as financial-year sums (``{outcome}_fy``, at Jan-Mar quarters);
    - robbery of the first `rolling_forces` forces only as rolling 4-quarter sums
      (``robbery_rolling_year``, every quarter);
    - `gap_force` missing for the `gap` quarters in every series (registered as a 'missing' break).
    Quarterly cells that are only seen through sums become NaN.
    """
    out = panel.copy(deep=True)
    periods = out.indexes[dims.PERIOD]
    count = out[dims.COUNT]

    def window_sums(x: np.ndarray, window: int, ends: np.ndarray) -> np.ndarray:
        sums = np.full_like(x, np.nan)
        for t in np.flatnonzero(ends):
            if t >= window - 1:
                sums[:, t] = x[:, t - window + 1 : t + 1].sum(axis=1)  # NaN if any quarter is
        return sums

    fp = (dims.FORCE, dims.PERIOD)
    k = count.sel({dims.OUTCOME: fy_outcome}).transpose(*fp).values
    fy_end = np.array([p.quarter == 1 for p in periods])
    on = np.array([gap[0] <= str(p) <= gap[1] for p in periods])
    g = list(map(str, out[dims.FORCE].values)).index(gap_force)
    k_gap = k.copy()
    k_gap[g, on] = np.nan
    attrs_fy = {"window_quarters": 4, "aggregation": "financial-year sum", "unit": "offences"}
    out[f"{fy_outcome}_fy"] = xr.DataArray(window_sums(k_gap, 4, fy_end), dims=fp, attrs=attrs_fy)
    r = count.sel({dims.OUTCOME: "robbery"}).transpose(*fp).values.copy()
    r[g, on] = np.nan
    rolling = np.full_like(r, np.nan)
    rolling[:rolling_forces] = window_sums(r, 4, np.ones(len(periods), bool))[:rolling_forces]
    out["robbery_rolling_year"] = xr.DataArray(
        rolling,
        dims=fp,
        attrs={"window_quarters": 4, "aggregation": "rolling 4-quarter sum", "unit": "offences"},
    )
    values = out[dims.COUNT].values  # (force, period, outcome)
    ki = list(map(str, out[dims.OUTCOME].values))
    values[:, :, ki.index(fy_outcome)] = np.nan
    values[:rolling_forces, :, ki.index("robbery")] = np.nan
    values[g, on, :] = np.nan
    out[dims.COUNT].values = values
    rows = json.loads(out.attrs.get("breaks", "[]"))
    rows.append(
        {
            "force": gap_force,
            "series": "all",
            "start": gap[0],
            "end": gap[1],
            "kind": "missing",
            "reason": "simulated missing half-year",
        }
    )
    out.attrs["breaks"] = json.dumps(rows)
    return out


def with_proxy(
    panel: xr.Dataset,
    outcome: str = "knife",
    seed: int = 0,
    ratio_sd: float = 0.3,
    drift_sd: float = 0.02,
    phi: float = 30.0,
) -> xr.Dataset:
    """Add ``{outcome}_proxy``: a quarterly force series that follows the outcome's recorded counts
    (not its model rate) times a force ratio, a season and a random-walk drift, with its own negative
    binomial noise, as 10D possession of a blade follows knife crime (own stream)."""
    rng = np.random.default_rng([seed, 10])
    fp = (dims.FORCE, dims.PERIOD)
    k = panel[dims.COUNT].sel({dims.OUTCOME: outcome}).transpose(*fp).values
    n_f, n_t = k.shape
    season = rng.normal(0.0, 0.1, 4)
    quarter = np.array([p.quarter - 1 for p in panel.indexes[dims.PERIOD]])
    log_ratio = (
        np.log(0.5)
        + rng.normal(0.0, ratio_sd, n_f)[:, None]
        + (season - season.mean())[quarter][None, :]
        + np.cumsum(rng.normal(0.0, drift_sd, n_t))[None, :]
    )
    mu = np.nan_to_num(k) * np.exp(log_ratio)
    y = rng.poisson(rng.gamma(phi, mu / phi)).astype(float)
    y[np.isnan(k)] = np.nan
    attrs = {"window_quarters": 1, "aggregation": "quarter sum", "unit": "offences"}
    return panel.assign({f"{outcome}_proxy": xr.DataArray(y, dims=fp, attrs=attrs)})
