"""ONS mid-year population by force, interpolated to quarters.

Rule: log-linear interpolation in time between mid-year estimates (30 June), evaluated at each quarter's
midpoint; before the first or after the last estimate, the nearest year's growth rate continues. The
attrs of the result say so.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.core.errors import DataError, ForecastWarning
from forecast.core.forces import normalise_force
from forecast.ingest import consistency, limits
from forecast.ingest.schema import Column, cell, check_columns, check_key, read_text

COLUMNS = {"area_name": "force", "mid_year": "year", "population": "population"}
DECLARED = (
    Column("area_code", "code", nullable=True, required=False),
    Column("area_name"),
    Column("mid_year", "year"),
    Column("population", "count", minimum=None),
)


def read_ons_midyear(path: Path) -> pd.DataFrame:
    """force, year, population from an ONS-style mid-year table (area_code, area_name, mid_year, population).

    Checked: a positive whole number of persons for each force and year, each once, the code agreeing
    with the name, no year after this one, and at least two years per force; a year missing between
    two others is interpolated with a warning naming the force and year.
    """
    path = Path(path)
    raw = read_text(path)
    absent = [c for c in COLUMNS if c not in raw.columns]
    if absent:
        raise DataError(f"{path}: missing column(s) {', '.join(absent)}; expected {list(COLUMNS)}")
    values = check_columns(raw, DECLARED, path, {})
    first_row = pd.Series(raw.index, index=values["area_name"]).groupby(level=0).first()
    names = {
        n: normalise_force(n, f"{path}, row {i + 2}, column area_name")
        for n, i in first_row.items()
    }
    frame = pd.DataFrame(
        {
            "force": values["area_name"].map(names),
            "year": values["mid_year"].astype(int),
            "population": values["population"],
        }
    )
    _check_rows(frame, values, path)
    _warn_missing_years(frame, path)
    return frame.astype({"population": float, "year": int})


def _check_rows(frame: pd.DataFrame, values: dict, path: Path) -> None:
    """Positive populations naming the force, one row per force and year, codes matching names."""
    bad = ~(frame["population"] > 0)
    if bad.any():
        i = frame.index[bad.to_numpy()][0]
        raise DataError(
            f"{cell(path, i, 'population')}: {values['population'].at[i]:g} for "
            f"{frame.at[i, 'force']} mid-{frame.at[i, 'year']} is not a positive number of persons; "
            "fix the cell"
        )
    check_key(
        frame, ["force", "year"], "population", path, {"force": "area_name", "year": "mid_year"}
    )
    if "area_code" in values:
        consistency.code_matches_force(
            values["area_code"], frame["force"], path, "area_code", "area_name"
        )
    now = limits.current_quarter().year
    late = frame["year"] > now
    if late.any():
        i = frame.index[late.to_numpy()][0]
        raise DataError(
            f"{cell(path, i, 'mid_year')}: {values['mid_year'].at[i]!r} is after this year ({now}); "
            "a published estimate cannot be from the future: fix the year"
        )
    counts = frame.groupby("force")["year"].count()
    few = counts[counts < 2]
    if len(few):
        raise DataError(
            f"{path}, column mid_year: {few.index[0]} has {few.iloc[0]} mid-year estimate(s); "
            "the population needs at least two years per force"
        )


def _warn_missing_years(frame: pd.DataFrame, path: Path) -> None:
    """A year absent between a force's first and last is interpolated: one warning per force-year."""
    for force, years in frame.groupby("force", sort=False)["year"]:
        have = set(years)
        for year in range(min(have), max(have)):
            if year not in have:
                warnings.warn(
                    f"{path}, column mid_year: no row for {force} mid-{year}; its population is "
                    "interpolated between the years either side",
                    ForecastWarning,
                    stacklevel=2,
                )


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
