"""Readers for annual and rolling-year force series, stored on the quarterly grid at their end quarter.

A value covering several quarters (a financial-year sum, a rolling 12 months, a 3-year pooled calendar
sum) is indexed by the calendar quarter in which its window ends; its attributes give the window in
quarters and the aggregation, so observation operators can sum latent quarters. Missing stays missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from forecast.core.errors import DataError
from forecast.core.forces import force_register, normalise_force
from forecast.ingest import consistency, limits
from forecast.ingest.schema import Column, check_column, check_columns, check_key, read_text

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
    """Column `col` as counts (official markers missing); anything else is an error naming the cell."""
    return check_column(frame, Column(col, "count", nullable=True), path, col)


def read_table(path: Path, needed: list[str]) -> pd.DataFrame:
    """A CSV as text with the `needed` columns (official not-available markers are checked later)."""
    path = Path(path)
    frame = read_text(path)
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise DataError(f"{path}: missing column(s) {', '.join(absent)}; expected {needed}")
    return frame


def keep_rows(frame: pd.DataFrame, where: dict, path: Path) -> pd.DataFrame:
    """The rows whose columns hold the kept values; none left is an error saying which were sought."""
    for col, keep in where.items():
        frame = frame[frame[col].str.strip().isin(keep if isinstance(keep, tuple) else [keep])]
    if frame.empty:
        wanted = "; ".join(
            f"{c} in {list(k) if isinstance(k, tuple) else [k]}" for c, k in where.items()
        )
        raise DataError(f"{path}: no rows with {wanted}; is this the right table for this kind?")
    return frame


def _forces(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Canonical names; non-territorial bodies and totals ('' here) are dropped by the caller."""
    known = set(force_register()["force"])
    names = {}
    for name, i in pd.Series(frame.index, index=frame[column]).groupby(level=0).first().items():
        try:
            names[name] = normalise_force(str(name), f"{path}, row {i + 2}, column {column}")
        except DataError:
            non_territorial = ("Transport", "Border", "Central Service", "Total", "England")
            if any(w in str(name) for w in (*non_territorial, "ENGLAND")):
                names[name] = ""
                continue
            raise
    series = frame[column].map(names)
    return series.where(series.isin(known), "")


@dataclass(frozen=True)
class Table:
    """How one publisher table maps onto series: its columns, the rows to keep, the end quarter."""

    columns: tuple[str, ...]  # required, in the order error messages list them
    force: str
    value: str
    date: str
    date_is: str  # "date" (a day in the end quarter), "fy_end_year" (year ending March), "year_q4"
    series: str | tuple[str, dict[str, str]]  # a fixed name, or (column, value -> name)
    attrs: dict
    where: dict = field(default_factory=dict)  # column -> kept value(s)
    latest_by: str | None = None  # keep the row with the largest value of this column per cell
    value_kind: str = "count"  # "count" (whole, at most the force's population) or "number"
    maximum: float | None = None  # the largest possible value of a "number" (an index, a score)


# Columns some tables repeat; checked against the others when present.
REDUNDANT = (
    Column("ons_code", "code", nullable=True, required=False),
    Column("area_code", "code", nullable=True, required=False),
    Column("financial_year", "fy", nullable=True, required=False),
    Column("period_start_year", "year", nullable=True, required=False),
)


def _declared(table: Table) -> tuple[Column, ...]:
    """The table's columns as the validation layer declares them."""
    date_kind = "date" if table.date_is == "date" else "year"
    kinds = {table.force: "text", table.date: date_kind, table.latest_by: "date"}
    value = Column(table.value, table.value_kind, nullable=True, maximum=table.maximum)
    named = tuple(Column(c, kinds.get(c, "text")) for c in table.columns if c != table.value)
    return (*named, value, *REDUNDANT)


def _period(table: Table, dates: pd.Series) -> pd.Series:
    """The end quarter of each row's window."""
    if table.date_is == "date":
        lookup = {d: pd.Period(d, freq="Q") for d in dates.unique()}
    else:
        quarter = 1 if table.date_is == "fy_end_year" else 4
        lookup = {y: pd.Period(year=int(y), quarter=quarter, freq="Q") for y in dates.unique()}
    return dates.map(lookup)


def _check_redundant(values: dict, table: Table, forces: pd.Series, path: Path) -> None:
    """ONS code vs force name, year end vs financial year, pooled start year vs end year."""
    for code in ("ons_code", "area_code"):
        if code in values:
            consistency.code_matches_force(values[code], forces, path, code, table.force)
    if "financial_year" in values and table.date_is == "date":
        consistency.year_end_matches_fy(
            values[table.date], values["financial_year"], path, table.date, "financial_year"
        )
    if "period_start_year" in values and table.date_is == "year_q4":
        span = table.attrs["window_quarters"] // 4
        consistency.pooled_start_matches(
            values["period_start_year"],
            values[table.date],
            span,
            path,
            "period_start_year",
            table.date,
        )


def _check_unique(values: dict, forces: pd.Series, table: Table, path: Path) -> None:
    """One row per force, date (edition) and series column value, among the rows of a force."""
    key = [table.force, *([table.latest_by] if table.latest_by else []), table.date]
    if not isinstance(table.series, str):
        key.append(table.series[0])
    cells = pd.DataFrame({c: values[c] for c in (*key, table.value)}).assign(
        **{table.force: forces}
    )
    check_key(cells[forces != ""], key, table.value, path, {})


def _latest(values: dict, forces: pd.Series, table: Table) -> tuple[dict, pd.Series]:
    """Where editions overlap (the same force and date), keep the latest edition's row."""
    order = values[table.latest_by].sort_values(ascending=False, kind="stable").index
    cells = pd.DataFrame({"force": forces, "date": values[table.date]}).loc[order]
    kept = cells.index[~cells.duplicated().to_numpy()]
    return {k: v.loc[kept] for k, v in values.items()}, forces.loc[kept]


def read_series_table(path: Path, table: Table):
    """Read `table` from `path` into the long form (force, period, series, count) and its attributes."""
    path = Path(path)
    f = keep_rows(read_table(path, list(table.columns)), table.where, path)
    values = check_columns(f, _declared(table), path, {})
    forces = _forces(f, table.force, path)
    _check_unique(values, forces, table, path)
    if table.latest_by:
        values, forces = _latest(values, forces, table)
    period = _period(table, values[table.date])
    series = (
        pd.Series(table.series, index=forces.index)
        if isinstance(table.series, str)
        else values[table.series[0]].map(table.series[1])
    )
    _check_redundant(values, table, forces, path)
    limits.not_future(period, values[table.date], path, table.date)
    if table.value_kind == "count":
        limits.within_force_population(values[table.value], forces, path, table.value)
    long = pd.DataFrame(
        {"force": forces, "period": period, "series": series, "count": values[table.value]}
    )
    long = long[long["force"] != ""]
    attrs = {**table.attrs, "source": path.name, "geography": "force"}
    return long, {s: dict(attrs) for s in long["series"].unique()}


ENGLAND = {"coverage": "England"}
CSS_GROUPS = {
    "Total recorded crime": "css_total_fy",
    "Violence against the person": "css_violence_fy",
    "Robbery": "css_robbery_fy",
}
TABLES = {
    # Knife or sharp instrument offences by force and financial year (year = the year ending March)
    "bdd_knife_fy": Table(
        ("year", "force_name", "knife_offences"),
        "force_name",
        "knife_offences",
        "year",
        "fy_end_year",
        "knife_fy",
        {**FY_SUM, "unit": "offences per financial year", **ENGLAND},
    ),
    # Police seizures of cocaine, crack and heroin (number of seizures) by force and financial year
    "bdd_seizures_fy": Table(
        ("year_ending", "force_name", "drug", "measure", "value"),
        "force_name",
        "value",
        "year_ending",
        "date",
        ("drug", SEIZURE_DRUGS),
        {**FY_SUM, "unit": "seizures per financial year", **ENGLAND},
        where={"measure": "n_seizures", "drug": tuple(SEIZURE_DRUGS)},
    ),
    # Drug-poisoning deaths, 3-year pooled registrations ending in `year` (indexed at its Q4)
    "bdd_drug_deaths_3y": Table(
        ("year", "force_name", "deaths", "measure"),
        "force_name",
        "deaths",
        "year",
        "year_q4",
        "drug_deaths_3y",
        {**POOLED_3Y, "unit": "deaths registered in 3 years", **ENGLAND},
        where={"measure": "drug_poisoning_deaths"},
    ),
    # NHS admissions with a primary diagnosis of poisoning by drugs, by force and financial year
    "bdd_drug_admissions_fy": Table(
        ("year", "force_name", "admissions", "measure"),
        "force_name",
        "admissions",
        "year",
        "fy_end_year",
        "drug_admissions_fy",
        {**FY_SUM, "unit": "admissions per financial year", **ENGLAND},
        where={"measure": "primary_dx_poisoning_by_drugs"},
    ),
    # Home Office arrests for drug offences by force and financial year (enforcement intensity)
    "ho_arrests_fy": Table(
        ("year_ending", "force_name", "offence_group", "arrests"),
        "force_name",
        "arrests",
        "year_ending",
        "date",
        "drug_arrests_fy",
        {**FY_SUM, "unit": "arrests per financial year"},
        where={"offence_group": "Drug offences"},
    ),
    # Police officers by force and financial year (mean of start- and end-of-year counts): the
    # policing effort that drives enforcement-led indicators (a level, not a sum)
    "bdd_officers_fy": Table(
        ("year", "force_name", "officers_mean"),
        "force_name",
        "officers_mean",
        "year",
        "fy_end_year",
        "police_officers_fy",
        {**FY_SUM, "aggregation": "financial-year mean", "unit": "police officers", **ENGLAND},
        value_kind="number",  # a mean of two head counts (fractional)
        maximum=100000.0,  # the largest force (the Met) has about 35,000 officers
    ),
    # ONS PFA Table P1 rolling-year homicide counts ('..' = not supplied, kept missing)
    "ons_p1_rolling_year": Table(
        ("year_ending", "area_name", "level", "offence", "count"),
        "area_name",
        "count",
        "year_ending",
        "date",
        "homicide_rolling_year",
        {**ROLLING, "unit": "offences in 12 months"},
        where={"level": "pfa", "offence": "Homicide"},
    ),
    # ONS PFA Table P4: rolling-year offences involving a knife or sharp instrument
    "ons_p4_knife_rolling_year": Table(
        ("year_ending", "area_name", "level", "offence", "knife_count"),
        "area_name",
        "knife_count",
        "year_ending",
        "date",
        "knife_rolling_year",
        {**ROLLING, "unit": "offences involving a knife in 12 months"},
        where={"level": "pfa", "offence": "Total of selected serious offences"},
    ),
    # ONS PFA Table P5: 12-month knife offences by force (England and Wales), every edition;
    # where editions overlap, the latest edition's figure is kept
    "ons_p5_knife": Table(
        (
            "edition_year_ending",
            "area_name",
            "level",
            "period_end",
            "knife_count_selected_offences",
        ),
        "area_name",
        "knife_count_selected_offences",
        "period_end",
        "date",
        "knife_p5",
        {
            **ROLLING,
            "aggregation": "12-month sum (latest edition)",
            "unit": "offences involving a knife in 12 months",
        },
        where={"level": "pfa"},
        latest_by="edition_year_ending",
    ),
    # ONS Crime Severity Score by force and financial year (a harm-weighted covariate, not a count)
    "ons_css_fy": Table(
        ("year_ending", "area_name", "level", "offence_group", "severity_score"),
        "area_name",
        "severity_score",
        "year_ending",
        "date",
        ("offence_group", CSS_GROUPS),
        {
            **FY_SUM,
            "aggregation": "financial-year index",
            "unit": "severity score per 1,000 population",
        },
        where={"level": "pfa", "offence_group": tuple(CSS_GROUPS)},
        value_kind="number",
        maximum=1000.0,  # a score per 1,000 population is tens at most; 1,000 is impossible
    ),
}

read_bdd_knife_fy = partial(read_series_table, table=TABLES["bdd_knife_fy"])
read_bdd_seizures_fy = partial(read_series_table, table=TABLES["bdd_seizures_fy"])
read_bdd_deaths_3y = partial(read_series_table, table=TABLES["bdd_drug_deaths_3y"])
read_bdd_admissions_fy = partial(read_series_table, table=TABLES["bdd_drug_admissions_fy"])
read_ho_arrests_fy = partial(read_series_table, table=TABLES["ho_arrests_fy"])
read_ons_p1_homicide = partial(read_series_table, table=TABLES["ons_p1_rolling_year"])
read_ons_p4_knife = partial(read_series_table, table=TABLES["ons_p4_knife_rolling_year"])
read_ons_p5_knife = partial(read_series_table, table=TABLES["ons_p5_knife"])
read_ons_css_fy = partial(read_series_table, table=TABLES["ons_css_fy"])
