"""Limits that catch impossible values once a reader knows what a row means: a count above the
population it is counted in, a period after the current quarter, and a negative count beyond the
documented Home Office reclassification adjustments (-1 or -2 anywhere, or a cell listed in
data/reclassification_adjustments.csv), which become missing with a one-line warning."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import pandas as pd

from forecast.core.errors import DataError, ForecastWarning
from forecast.core.forces import force_register
from forecast.ingest.schema import cell

SMALL_ADJUSTMENT = -2  # reclassification adjustments of -1 or -2 appear in any quarter
ADJUSTMENTS_FILE = "reclassification_adjustments.csv"


def _first(bad: pd.Series):
    hits = bad.to_numpy(dtype=bool)
    return bad.index[hits.argmax()] if hits.any() else None


def current_quarter() -> pd.Period:
    """The calendar quarter of today: no published figure can be from a later one."""
    return pd.Period(pd.Timestamp.now(), freq="Q")


def not_future(periods: pd.Series, text: pd.Series, path: Path, col: str) -> None:
    """Every period (a quarter, or the end quarter of a window) is at most the current quarter."""
    now = current_quarter()
    i = _first(periods.map(lambda p: p > now, na_action="ignore").fillna(False).astype(bool))
    if i is not None:
        raise DataError(
            f"{cell(path, i, col)}: {text.at[i]!r} is after the current quarter {now}; a published "
            "figure cannot be from the future: fix the date"
        )


def within_force_population(values: pd.Series, forces: pd.Series, path: Path, col: str) -> None:
    """A count is at most the resident population of its force (the register's mid-2020 figure)."""
    pop = forces.map(force_register()["population_mid2020"]).astype(float)
    i = _first(pop.notna() & (values > pop))
    if i is not None:
        raise DataError(
            f"{cell(path, i, col)}: {values.at[i]:.10g} is more than the population of "
            f"{forces.at[i]} ({pop.at[i]:,.0f}, data/forces.csv); fix the cell"
        )


def within_region_population(values: pd.Series, regions: pd.Series, path: Path, col: str) -> None:
    """A regional count is at most the region's population (its forces' mid-2020 sum)."""
    reg = force_register()
    pop = regions.map(reg.groupby("region")["population_mid2020"].sum()).astype(float)
    i = _first(pop.notna() & (values > pop))
    if i is not None:
        raise DataError(
            f"{cell(path, i, col)}: {values.at[i]:.10g} is more than the population of "
            f"{regions.at[i]} ({pop.at[i]:,.0f}, data/forces.csv); fix the cell"
        )


@cache
def documented_adjustments() -> frozenset[tuple[str, str, int, str, float]]:
    """(force, financial year, quarter, offence code, count) of the larger documented adjustments."""
    from forecast.core.resources import shipped_dir

    table = pd.read_csv(shipped_dir("data") / ADJUSTMENTS_FILE, dtype=str, keep_default_na=False)
    return frozenset(
        (r.force, r.financial_year, int(r.fy_quarter), r.offence_code, float(r.count))
        for r in table.itertuples(index=False)
    )


def reclassification_adjustments(rows: pd.DataFrame, path: Path, col: str) -> None:
    """Negative code-level counts: -1/-2 or a documented cell is a warning (the caller makes the
    series-quarter missing); any other negative count is an error.

    `rows` has force, financial_year, fy_quarter, code, series, period and count, indexed by data row.
    """
    negative = rows[rows["count"] < 0]
    known = documented_adjustments()
    for i, r in negative.iterrows():
        key = (r["force"], r["financial_year"], int(float(r["fy_quarter"])), r["code"], r["count"])
        what = f"offence code {r['code']} ({r['series']}), {r['force']} {r['period']}"
        if r["count"] < SMALL_ADJUSTMENT and key not in known:
            raise DataError(
                f"{cell(path, i, col)}: {r['count']:g} for {what} is negative beyond a "
                f"reclassification adjustment (-1 or -2, or one listed in data/{ADJUSTMENTS_FILE}); "
                "fix the cell, or document the adjustment in that file with its source"
            )
        warnings.warn(
            f"{cell(path, i, col)}: {r['count']:g} for {what} is a reclassification adjustment; "
            "the series is missing that quarter",
            ForecastWarning,
            stacklevel=2,
        )
