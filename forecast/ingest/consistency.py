"""Redundant columns must agree: a publisher table often says the same thing twice (an ONS code beside
the force name, a start date beside the financial quarter, a year-end date beside the financial year).
When they disagree the file is wrong somewhere, so the reader stops and names both columns."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from forecast.core.errors import DataError
from forecast.core.forces import force_register
from forecast.ingest.schema import cell


def _first(bad: pd.Series):
    hits = bad.to_numpy(dtype=bool)
    return bad.index[hits.argmax()] if hits.any() else None


@cache
def _owner() -> dict[str, str]:
    """ONS code -> force name, from the register."""
    reg = force_register()
    return dict(zip(reg["force_code"], reg["force"], strict=True))


def code_matches_force(
    codes: pd.Series, forces: pd.Series, path: Path, code_col: str, name_col: str
) -> None:
    """Each row's ONS code is its force's code (`forces`: canonical names, '' where not a force)."""
    expected = forces.map(force_register()["force_code"])
    bad = forces.ne("") & codes.ne("") & expected.notna() & codes.ne(expected)
    i = _first(bad)
    if i is not None:
        owner = _owner().get(codes.at[i], "no police force")
        raise DataError(
            f"{cell(path, i, code_col)}: {codes.at[i]!r} is the ONS code of {owner}, but column "
            f"{name_col} names {forces.at[i]} ({expected.at[i]}); correct one of them"
        )


def _label(period: pd.Period) -> str:
    fy = period.year if period.quarter >= 2 else period.year - 1
    return f"{fy}/{str(fy + 1)[-2:]} Q{(period.quarter - 2) % 4 + 1}"


def _matches_quarter(given, periods, expected_of, path, col, fy_cols, what) -> None:
    """`given` is `expected_of` each row's period (what the message calls `what`)."""
    expected = periods.map({p: expected_of(p) for p in periods.unique()})
    i = _first(given.ne("") & given.ne(expected))
    if i is not None:
        raise DataError(
            f"{cell(path, i, col)}: {given.at[i]!r} is not {what}{_label(periods.at[i])} "
            f"({expected.at[i]}) given in columns {fy_cols}; correct one of them"
        )


def start_matches_quarter(
    starts: pd.Series, periods: pd.Series, path: Path, col: str, fy_cols: str
) -> None:
    """`quarter_start` is the first day of the financial quarter given by the year and quarter."""
    first_day = lambda p: p.start_time.strftime("%Y-%m-%d")  # noqa: E731
    _matches_quarter(starts, periods, first_day, path, col, fy_cols, "the first day of ")


def calendar_matches_quarter(
    labels: pd.Series, periods: pd.Series, path: Path, col: str, fy_cols: str
) -> None:
    """`calendar_quarter` (2019Q4) is the calendar quarter of the financial year and quarter."""
    _matches_quarter(labels, periods, str, path, col, fy_cols, "")


def year_end_matches_fy(
    year_ending: pd.Series, fy: pd.Series, path: Path, col: str, fy_col: str
) -> None:
    """`year_ending` of a financial-year row is 31 March of the year the financial year ends."""
    expected = (pd.to_numeric(fy.str[:4], errors="coerce") + 1).map(lambda y: f"{y:.0f}-03-31")
    i = _first(fy.ne("") & year_ending.ne("") & year_ending.ne(expected))
    if i is not None:
        raise DataError(
            f"{cell(path, i, col)}: {year_ending.at[i]!r} is not the end of financial year "
            f"{fy.at[i]} ({expected.at[i]}) in column {fy_col}; correct one of them"
        )


def month_in_fy(months: pd.Series, fy: pd.Series, path: Path, col: str, fy_col: str) -> None:
    """A month (2012-04) lies inside its financial year (2012-13: April 2012 to March 2013)."""
    start = pd.to_numeric(fy.str[:4], errors="coerce")
    year = pd.to_numeric(months.str[:4], errors="coerce")
    month = pd.to_numeric(months.str[5:7], errors="coerce")
    inside = ((year == start) & (month >= 4)) | ((year == start + 1) & (month <= 3))
    i = _first(fy.ne("") & ~inside)
    if i is not None:
        raise DataError(
            f"{cell(path, i, col)}: {months.at[i]!r} is not in financial year {fy.at[i]} "
            f"(column {fy_col}); correct one of them"
        )


def pooled_start_matches(
    starts: pd.Series, years: pd.Series, span: int, path: Path, col: str, year_col: str
) -> None:
    """A pooled `span`-year value ending in `year` starts in `year - span + 1`."""
    expected = pd.to_numeric(years, errors="coerce") - span + 1
    i = _first(starts.ne("") & (pd.to_numeric(starts, errors="coerce") != expected))
    if i is not None:
        raise DataError(
            f"{cell(path, i, col)}: {starts.at[i]!r} is not the first year of the {span} years "
            f"ending {years.at[i]} (column {year_col}), {expected.at[i]:.0f}; correct one of them"
        )
