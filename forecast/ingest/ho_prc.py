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

from forecast.errors import DataError
from forecast.forces import normalise_force
from forecast.ingest.mapping import series_of_codes
from forecast.ingest.sheet_limits import MAX_ROWS, check_rows, check_spreadsheet
from forecast.panel import NOT_AVAILABLE

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


def _read_text(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path, dtype={"Offence Code": str, "offence_code": str}, na_values=NOT_AVAILABLE
        )
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable CSV table ({exc})") from exc


def _read_workbook(path: Path) -> pd.DataFrame:
    """The ODS/xlsx as published: one sheet per financial year with the open data columns; sheets
    without them (notes, contents) are skipped. Row numbers in errors count across the sheets read."""
    check_spreadsheet(path)
    try:
        sheets = pd.read_excel(
            path,
            sheet_name=None,
            dtype={"Offence Code": str},
            na_values=NOT_AVAILABLE,
            nrows=MAX_ROWS + 1,
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
    return pd.concat(data, ignore_index=True)


def read_ho_prc_groups(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The offence-group table (force x financial quarter x offence group), mapped via 'group:' rows."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, na_values=NOT_AVAILABLE)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable CSV table ({exc})") from exc
    needed = ["financial_year", "fy_quarter", "force_name", "offence_group", "count"]
    absent = [c for c in needed if c not in raw.columns]
    if absent:
        raise DataError(f"{path}: missing column(s) {', '.join(absent)}; expected {needed}")
    frame = raw.assign(offence_code="group:" + raw["offence_group"].astype(str))
    return _to_long(frame, path)


def read_ho_prc(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Long table (force, period, series, count) of the mapped offence codes, and the notes to report.

    Negative cells (Home Office reclassification adjustments) become missing and are reported; forces
    that are not territorial (BTP, fraud bodies) are dropped. Errors name the file's own column names.
    """
    path = Path(path)
    raw = _read_workbook(path) if path.suffix in (".ods", ".xlsx") else _read_text(path)
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


def _to_long(
    frame: pd.DataFrame, path: Path, shown: dict[str, str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Map codes to series, forces to ONS names, financial to calendar quarters.

    Rules (each application is listed in the notes): a duplicated row (same force, quarter and code,
    after name normalisation) is kept once; the combined homicide code is dropped where the separate
    codes exist for the same force and quarter; a series-quarter with a negative code-level cell (a
    reclassification adjustment) or a missing code is missing, never a partial sum.
    """
    frame = frame[~frame["force_name"].isin(NOT_TERRITORIAL)]
    codes = series_of_codes()
    frame = frame[frame["offence_code"].isin(codes)]
    notes: list[str] = []
    col = {
        c: (shown or {}).get(c, c) for c in ("force_name", "financial_year", "fy_quarter", "count")
    }
    first_row = frame.reset_index().drop_duplicates("force_name").set_index("force_name")["index"]
    forces = {
        n: normalise_force(n, f"{path}, row {first_row[n] + 2}, column {col['force_name']}")
        for n in frame["force_name"].unique()
    }
    periods = {
        (fy, q): fy_to_calendar(
            fy, q, f"{path}, columns {col['financial_year']}/{col['fy_quarter']}"
        )
        for fy, q in frame[["financial_year", "fy_quarter"]]
        .drop_duplicates()
        .itertuples(index=False)
    }
    count = pd.to_numeric(frame["count"], errors="coerce")
    bad = count.isna() & frame["count"].notna()
    if bad.any():
        i = frame.index[bad.to_numpy()][0]
        raise DataError(
            f"{path}, row {i + 2}, column {col['count']}: {frame.at[i, 'count']!r} is not a number"
        )
    rows = pd.DataFrame(
        {
            "force": frame["force_name"].map(forces),
            "period": [
                periods[k] for k in zip(frame["financial_year"], frame["fy_quarter"], strict=True)
            ],
            "code": frame["offence_code"],
            "series": frame["offence_code"].map(codes),
            "count": count,
        },
        index=frame.index,
    )
    dup = rows.duplicated(["force", "period", "code"])
    if dup.any():
        i = rows.index[dup.to_numpy()][0]
        notes.append(
            f"{path.name}: {int(dup.sum())} duplicated rows (same force, quarter and offence code), "
            f"first at row {i + 2}; the first of each is kept"
        )
        rows = rows[~dup]
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
    negative = rows[rows["count"] < 0]
    for r in negative.itertuples(index=False):
        notes.append(
            f"{path.name}: offence code {r.code} ({r.series}) for {r.force} {r.period} is {r.count:g} "
            "(a reclassification adjustment); the series is missing that quarter"
        )
    long = rows.groupby(key, as_index=False)["count"].sum(min_count=1)
    spoiled = (rows["count"].isna() | (rows["count"] < 0)).groupby([rows[k] for k in key]).any()
    long.loc[spoiled.reindex(pd.MultiIndex.from_frame(long[key])).to_numpy(), "count"] = np.nan
    return long, notes
