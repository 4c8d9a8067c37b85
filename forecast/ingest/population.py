"""ONS mid-year population by force, interpolated to quarters.

Rule: log-linear interpolation in time between mid-year estimates (30 June), evaluated at each quarter's
midpoint; before the first or after the last estimate, the nearest year's growth rate continues. The
attrs of the result say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forecast.errors import DataError
from forecast.forces import normalise_force

COLUMNS = {"area_name": "force", "mid_year": "year", "population": "population"}


def read_ons_midyear(path: Path) -> pd.DataFrame:
    """force, year, population from an ONS-style mid-year table (area_code, area_name, mid_year, population)."""
    path = Path(path)
    try:
        raw = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable CSV table ({exc})") from exc
    absent = [c for c in COLUMNS if c not in raw.columns]
    if absent:
        raise DataError(f"{path}: missing column(s) {', '.join(absent)}; expected {list(COLUMNS)}")
    frame = raw.rename(columns=COLUMNS)[list(COLUMNS.values())]
    frame["force"] = [
        normalise_force(n, f"{path}, row {i + 2}, column area_name")
        for i, n in frame["force"].items()
    ]
    bad = ~(pd.to_numeric(frame["population"], errors="coerce") > 0)
    if bad.any():
        i = frame.index[bad.to_numpy()][0]
        raise DataError(
            f"{path}, row {i + 2}, column population: {str(raw.at[i, 'population'])!r} is not a "
            "positive number"
        )
    return frame.astype({"population": float, "year": int})


def quarterly_population(
    midyear: pd.DataFrame, forces: list[str], periods: pd.PeriodIndex
) -> np.ndarray:
    """(force, period) population by log-linear interpolation between mid-year estimates."""
    t_q = np.array([p.year + (p.quarter - 1) / 4 + 0.125 for p in periods])  # quarter midpoints
    out = np.empty((len(forces), len(periods)))
    for i, f in enumerate(forces):
        rows = midyear[midyear["force"] == f].sort_values("year")
        if len(rows) < 2:
            raise DataError(
                f"population: {f!r} needs at least two mid-year estimates, has {len(rows)}"
            )
        t = rows["year"].to_numpy() + 0.5
        y = np.log(rows["population"].to_numpy())
        inner = np.interp(t_q, t, y)
        lo_slope = (y[1] - y[0]) / (t[1] - t[0])
        hi_slope = (y[-1] - y[-2]) / (t[-1] - t[-2])
        inner = np.where(t_q < t[0], y[0] + lo_slope * (t_q - t[0]), inner)
        inner = np.where(t_q > t[-1], y[-1] + hi_slope * (t_q - t[-1]), inner)
        out[i] = np.exp(inner)
    return out
