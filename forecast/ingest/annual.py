"""Readers for annual and rolling-year force series, stored on the quarterly grid at their end quarter.

A value covering several quarters (a financial-year sum, a rolling 12 months, a 3-year pooled calendar
sum) is indexed by the calendar quarter in which its window ends; its attributes give the window in
quarters and the aggregation, so observation operators can sum latent quarters. Missing stays missing.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecast.errors import DataError
from forecast.forces import force_register, normalise_force
from forecast.panel import NOT_AVAILABLE

FY_SUM = {"aggregation": "financial-year sum", "window_quarters": 4, "frequency": "annual"}
ROLLING = {"aggregation": "rolling 4-quarter sum", "window_quarters": 4, "frequency": "quarterly"}
POOLED_3Y = {
    "aggregation": "3-year pooled calendar-year sum",
    "window_quarters": 12,
    "frequency": "annual",
}
SEIZURE_DRUGS = {
    "Cocaine": "seizures_cocaine",
    "Crack": "seizures_crack",
    "Heroin": "seizures_heroin",
}


def numbers(frame: pd.DataFrame, col: str, path: Path) -> pd.Series:
    """Column `col` as numbers; text that is not a number is an error naming the row and column."""
    values = pd.to_numeric(frame[col], errors="coerce")
    bad = values.isna() & frame[col].notna()
    if bad.any():
        i = frame.index[bad.to_numpy()][0]
        raise DataError(f"{path}, row {i + 2}, column {col}: {frame.at[i, col]!r} is not a number")
    return values


def read_table(path: Path, needed: list[str]) -> pd.DataFrame:
    """A CSV with the `needed` columns; official not-available markers read as missing."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, na_values=NOT_AVAILABLE)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV table ({exc})") from exc
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise DataError(f"{path}: missing column(s) {', '.join(absent)}; expected {needed}")
    return frame


def _forces(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Canonical names; non-territorial bodies (BTP, Border Force) are dropped by the caller."""
    known = set(force_register()["force"])
    out = []
    for i, name in frame[column].items():
        try:
            out.append(normalise_force(str(name), f"{path}, row {i + 2}, column {column}"))
        except DataError:
            if any(w in str(name) for w in ("Transport", "Border", "Total", "ENGLAND", "England")):
                out.append("")
                continue
            raise
    series = pd.Series(out, index=frame.index)
    return series.where(series.isin(known), "")


def _long(frame, path, force_col, period, series, value_col, attrs, source):
    forces = _forces(frame, force_col, path)
    values = numbers(frame, value_col, path)
    long = pd.DataFrame({"force": forces, "period": period, "series": series, "count": values})
    long = long[long["force"] != ""]
    meta = {s: {**attrs, "source": source, "geography": "force"} for s in long["series"].unique()}
    return long, meta


def read_bdd_knife_fy(path: Path):
    """Knife or sharp instrument offences by force and financial year (year = the year ending March)."""
    f = read_table(path, ["year", "force_name", "knife_offences"])
    period = [pd.Period(year=int(y), quarter=1, freq="Q") for y in f["year"]]
    return _long(
        f,
        Path(path),
        "force_name",
        period,
        "knife_fy",
        "knife_offences",
        {**FY_SUM, "unit": "offences per financial year", "coverage": "England"},
        Path(path).name,
    )


def read_bdd_seizures_fy(path: Path):
    """Police seizures of cocaine, crack and heroin (number of seizures) by force and financial year."""
    f = read_table(path, ["year_ending", "force_name", "drug", "measure", "value"])
    f = f[(f["measure"] == "n_seizures") & f["drug"].isin(SEIZURE_DRUGS)]
    period = [pd.Period(str(d), freq="Q") for d in f["year_ending"]]
    return _long(
        f,
        Path(path),
        "force_name",
        period,
        f["drug"].map(SEIZURE_DRUGS),
        "value",
        {**FY_SUM, "unit": "seizures per financial year", "coverage": "England"},
        Path(path).name,
    )


def read_bdd_deaths_3y(path: Path):
    """Drug-poisoning deaths, 3-year pooled registrations ending in `year` (indexed at its Q4)."""
    f = read_table(path, ["year", "force_name", "deaths", "measure"])
    f = f[f["measure"] == "drug_poisoning_deaths"]
    period = [pd.Period(year=int(y), quarter=4, freq="Q") for y in f["year"]]
    return _long(
        f,
        Path(path),
        "force_name",
        period,
        "drug_deaths_3y",
        "deaths",
        {**POOLED_3Y, "unit": "deaths registered in 3 years", "coverage": "England"},
        Path(path).name,
    )


def read_ons_p1_homicide(path: Path):
    """ONS PFA Table P1 rolling-year homicide counts ('..' = not supplied, kept missing)."""
    f = read_table(path, ["year_ending", "area_name", "level", "offence", "count"])
    f = f[(f["level"] == "pfa") & (f["offence"] == "Homicide")]
    period = [pd.Period(str(d), freq="Q") for d in f["year_ending"]]
    return _long(
        f,
        Path(path),
        "area_name",
        period,
        "homicide_rolling_year",
        "count",
        {**ROLLING, "unit": "offences in 12 months"},
        Path(path).name,
    )


def read_bdd_admissions_fy(path: Path):
    """NHS admissions with a primary diagnosis of poisoning by drugs, by force and financial year."""
    f = read_table(path, ["year", "force_name", "admissions", "measure"])
    f = f[f["measure"] == "primary_dx_poisoning_by_drugs"]
    period = [pd.Period(year=int(y), quarter=1, freq="Q") for y in f["year"]]
    return _long(
        f,
        Path(path),
        "force_name",
        period,
        "drug_admissions_fy",
        "admissions",
        {**FY_SUM, "unit": "admissions per financial year", "coverage": "England"},
        Path(path).name,
    )


def read_ho_arrests_fy(path: Path):
    """Home Office arrests for drug offences by force and financial year (enforcement intensity)."""
    f = read_table(path, ["year_ending", "force_name", "offence_group", "arrests"])
    f = f[f["offence_group"] == "Drug offences"]
    period = [pd.Period(str(d), freq="Q") for d in f["year_ending"]]
    return _long(
        f,
        Path(path),
        "force_name",
        period,
        "drug_arrests_fy",
        "arrests",
        {**FY_SUM, "unit": "arrests per financial year"},
        Path(path).name,
    )


def read_ons_p4_knife(path: Path):
    """ONS PFA Table P4: rolling-year offences involving a knife or sharp instrument (selected offences)."""
    f = read_table(path, ["year_ending", "area_name", "level", "offence", "knife_count"])
    f = f[(f["level"] == "pfa") & (f["offence"] == "Total of selected serious offences")]
    period = [pd.Period(str(d), freq="Q") for d in f["year_ending"]]
    return _long(
        f,
        Path(path),
        "area_name",
        period,
        "knife_rolling_year",
        "knife_count",
        {**ROLLING, "unit": "offences involving a knife in 12 months"},
        Path(path).name,
    )


def read_ons_p5_knife(path: Path):
    """ONS PFA Table P5: 12-month knife or sharp instrument offences by force (England and Wales),
    from every edition; where editions overlap, the latest edition's figure is kept."""
    f = read_table(
        path,
        [
            "edition_year_ending",
            "area_name",
            "level",
            "period_end",
            "knife_count_selected_offences",
        ],
    )
    f = f[f["level"] == "pfa"].sort_values("edition_year_ending", ascending=False, kind="stable")
    f = f.drop_duplicates(["area_name", "period_end"], keep="first")
    period = [pd.Period(str(d), freq="Q") for d in f["period_end"]]
    return _long(
        f,
        Path(path),
        "area_name",
        period,
        "knife_p5",
        "knife_count_selected_offences",
        {
            **ROLLING,
            "aggregation": "12-month sum (latest edition)",
            "unit": "offences involving a knife in 12 months",
        },
        Path(path).name,
    )


CSS_GROUPS = {
    "Total recorded crime": "css_total_fy",
    "Violence against the person": "css_violence_fy",
    "Robbery": "css_robbery_fy",
}


def read_ons_css_fy(path: Path):
    """ONS Crime Severity Score by force and financial year (a harm-weighted covariate, not a count)."""
    f = read_table(path, ["year_ending", "area_name", "level", "offence_group", "severity_score"])
    f = f[(f["level"] == "pfa") & f["offence_group"].isin(CSS_GROUPS)]
    period = [pd.Period(str(d), freq="Q") for d in f["year_ending"]]
    return _long(
        f,
        Path(path),
        "area_name",
        period,
        f["offence_group"].map(CSS_GROUPS),
        "severity_score",
        {
            **FY_SUM,
            "aggregation": "financial-year index",
            "unit": "severity score per 1,000 population",
        },
        Path(path).name,
    )
