"""Home Office police recorded crime by force, financial quarter and offence code.

Reads the open data table as published (columns 'Financial Year', 'Financial Quarter', 'Force Name',
'Offence Description', 'Offence Group', 'Offence Subgroup', 'Offence Code', 'Number of Offences'), saved
as CSV, and the tidy derivative in ../shared/realdata (financial_year, fy_quarter, force_name,
offence_code, count, ...). Financial quarters become calendar quarters here, once (2012/13 Q1 = 2012Q2).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.core.errors import DataError
from forecast.core.forces import normalise_force
from forecast.ingest import consistency, limits
from forecast.ingest.mapping import series_of_codes
from forecast.ingest.schema import Column, as_text, cell, check_columns, check_key, read_text
from forecast.ingest.sheet_limits import MAX_ROWS, check_rows, check_spreadsheet

PUBLISHED = {
    "Financial Year": "financial_year",
    "Financial Quarter": "fy_quarter",
    "Force Name": "force_name",
    "Offence Code": "offence_code",
    "Number of Offences": "count",
}
NEEDED = ("financial_year", "fy_quarter", "force_name", "offence_code", "count")
NOT_TERRITORIAL = (
    "British Transport Police",
    "Action Fraud",
    "CIFAS",
    "UK Finance",
    "Financial Fraud Action UK",
)
_FY = re.compile(r"^\s*(\d{4})\s*/\s*(\d{2})\s*$")


def fy_to_calendar(financial_year: str, fy_quarter: int, where: str) -> pd.Period:
    """'2012/13', 1 -> Period('2012Q2'); Q4 of 2012/13 is 2013Q1."""
    m = _FY.match(str(financial_year))
    consecutive = bool(m) and (int(m.group(1)) + 1) % 100 == int(m.group(2))
    if not consecutive or int(fy_quarter) not in (1, 2, 3, 4):
        raise DataError(
            f"{where}: financial year {financial_year!r} quarter {fy_quarter!r} is not like 2012/13 and 1-4"
        )
    start = int(m.group(1))
    return pd.Period(year=start, quarter=1, freq="Q") + int(fy_quarter)


def _clean_code(code) -> str:
    """Undo spreadsheet float artefacts ('4.4000000000000004' -> '4.4'); keep '4.10' as written."""
    c = str(code).strip()
    if re.fullmatch(r"\d+\.\d{6,}", c):
        return f"{float(c):.2f}".rstrip("0").rstrip(".")
    return c


def _read_workbook(path: Path) -> pd.DataFrame:
    """The ODS/xlsx as published: one sheet per financial year with the open data columns; sheets
    without them (notes, contents) are skipped. Row numbers in errors count across the sheets read."""
    check_spreadsheet(path)
    try:
        sheets = pd.read_excel(
            path, sheet_name=None, dtype=object, keep_default_na=False, nrows=MAX_ROWS + 1
        )
    except Exception as exc:  # odfpy/openpyxl raise many kinds for a damaged file
        raise DataError(f"{path}: not a readable spreadsheet ({type(exc).__name__})") from exc
    sheets = {name: check_rows(df, path, str(name)) for name, df in sheets.items()}
    data = [
        df for df in sheets.values() if {"Force Name", "Offence Code"} <= set(map(str, df.columns))
    ]
    if not data:
        raise DataError(
            f"{path}: no sheet has the Home Office open data columns ({', '.join(PUBLISHED)})"
        )
    frame = as_text(pd.concat(data, ignore_index=True))
    if frame.empty:
        raise DataError(
            f"{path}: the table has a header but no rows; export it again with its data"
        )
    return frame


def read_ho_prc_groups(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The offence-group table (force x financial quarter x offence group), mapped via 'group:' rows."""
    path = Path(path)
    raw = read_text(path)
    needed = ["financial_year", "fy_quarter", "force_name", "offence_group", "count"]
    absent = [c for c in needed if c not in raw.columns]
    if absent:
        raise DataError(f"{path}: missing column(s) {', '.join(absent)}; expected {needed}")
    frame = raw.assign(offence_code="group:" + raw["offence_group"].str.strip())
    return _to_long(frame, path, {"offence_code": "offence_group"})


def read_ho_prc(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Long table (force, period, series, count) of the mapped offence codes, and the notes to report.

    Negative cells (Home Office reclassification adjustments) become missing with a warning; forces
    that are not territorial (BTP, fraud bodies) are dropped. Errors name the file's own column names.
    """
    path = Path(path)
    raw = _read_workbook(path) if path.suffix in (".ods", ".xlsx") else read_text(path)
    frame = raw.rename(columns=PUBLISHED)
    shown = {ours: theirs for theirs, ours in PUBLISHED.items() if theirs in raw.columns}
    absent = [c for c in NEEDED if c not in frame.columns]
    if absent:
        raise DataError(
            f"{path}: missing column(s) {', '.join(absent)}; expected the Home Office open data layout "
            f"({', '.join(PUBLISHED)})"
        )
    return _to_long(frame.assign(offence_code=frame["offence_code"].map(_clean_code)), path, shown)


COMBINED_HOMICIDE = "1/4.1/4.10/4.2"  # 2012/13 tables give homicide only as this combined code
# The columns of both quarterly layouts (published and tidy; the group table has offence_group),
# in our names; the last three repeat what the others say and must agree with them.
COLUMNS = (
    Column("financial_year", "fy"),
    Column("fy_quarter", "fy_quarter"),
    Column("force_name"),
    Column("offence_code"),
    Column("count", "count", nullable=True, minimum=None),
    Column("ons_code", "code", nullable=True, required=False),
    Column("quarter_start", "date", required=False),
    Column("calendar_quarter", "quarter", required=False),
)


def _to_long(
    frame: pd.DataFrame, path: Path, shown: dict[str, str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Map codes to series, forces to ONS names, financial to calendar quarters, after the checks.

    Rules: each force, quarter and code appears once; the combined homicide code is dropped where the
    separate codes exist for the same force and quarter (noted); a series-quarter with a negative
    code-level cell (a reclassification adjustment, warned) or a missing code is missing, never a
    partial sum.
    """
    shown = shown or {}
    codes = series_of_codes()
    frame = frame[~frame["force_name"].str.strip().isin(NOT_TERRITORIAL)]
    frame = frame[frame["offence_code"].isin(codes)]
    rows = _checked_rows(frame, path, shown, codes)
    notes: list[str] = []
    separate = rows[rows["series"].eq("homicide") & rows["code"].ne(COMBINED_HOMICIDE)]
    both = rows["code"].eq(COMBINED_HOMICIDE) & pd.MultiIndex.from_frame(
        rows[["force", "period"]]
    ).isin(pd.MultiIndex.from_frame(separate[["force", "period"]]))
    if both.any():
        notes.append(
            f"{path.name}: {int(both.sum())} force-quarters give homicide both combined and by code; "
            "the separate codes are used"
        )
        rows = rows[~both]
    key = ["force", "period", "series"]
    long = rows.groupby(key, as_index=False)["count"].sum(min_count=1)
    spoiled = (rows["count"].isna() | (rows["count"] < 0)).groupby([rows[k] for k in key]).any()
    long.loc[spoiled.reindex(pd.MultiIndex.from_frame(long[key])).to_numpy(), "count"] = np.nan
    return long, notes


def _checked_rows(
    frame: pd.DataFrame, path: Path, shown: dict[str, str], codes: dict[str, str]
) -> pd.DataFrame:
    """One row per kept table row (force, period, code, series, count), after every check."""
    if frame.empty:
        raise DataError(
            f"{path}: no rows for a territorial force with an offence code of data/offence_map.csv"
        )
    values = check_columns(frame, COLUMNS, path, shown)
    col = {c.name: shown.get(c.name, c.name) for c in COLUMNS}
    first_row = pd.Series(frame.index, index=frame["force_name"]).groupby(level=0).first()
    forces = {
        n: normalise_force(n, cell(path, first_row[n], col["force_name"]))
        for n in values["force_name"].unique()
    }
    fy, quarter = values["financial_year"], values["fy_quarter"].str[0].astype(int)
    periods = {
        k: fy_to_calendar(*k, path)
        for k in pd.unique(pd.Series(list(zip(fy, quarter, strict=True))))
    }
    rows = pd.DataFrame(
        {
            "force": values["force_name"].map(forces),
            "period": [periods[k] for k in zip(fy, quarter, strict=True)],
            "code": values["offence_code"],
            "series": values["offence_code"].map(codes),
            "count": values["count"],
            "financial_year": fy,
            "fy_quarter": quarter,
        },
        index=frame.index,
    )
    check_key(rows, ["force", "period", "code"], "count", path, _key_names(col))
    _redundant_columns(values, rows, path, col)
    limits.not_future(rows["period"], fy + " Q" + quarter.astype(str), path, col["financial_year"])
    limits.within_force_population(rows["count"], rows["force"], path, col["count"])
    limits.reclassification_adjustments(rows, path, col["count"])
    return rows


def _key_names(col: dict[str, str]) -> dict[str, str]:
    return {
        "force": col["force_name"],
        "period": f"{col['financial_year']}/{col['fy_quarter']}",
        "code": col["offence_code"],
        "count": col["count"],
    }


def _redundant_columns(
    values: dict[str, pd.Series], rows: pd.DataFrame, path: Path, col: dict[str, str]
) -> None:
    """ONS code, quarter start date and calendar quarter agree with the force and financial quarter."""
    fy_cols = f"{col['financial_year']}/{col['fy_quarter']}"
    if "ons_code" in values:
        consistency.code_matches_force(
            values["ons_code"], rows["force"], path, col["ons_code"], col["force_name"]
        )
    if "quarter_start" in values:
        consistency.start_matches_quarter(
            values["quarter_start"], rows["period"], path, col["quarter_start"], fy_cols
        )
    if "calendar_quarter" in values:
        consistency.calendar_matches_quarter(
            values["calendar_quarter"], rows["period"], path, col["calendar_quarter"], fy_cols
        )
