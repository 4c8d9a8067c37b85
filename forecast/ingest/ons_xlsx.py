"""ONS 'Police force area data tables' as published (xlsx): Table P1, rolling-year counts by offence.

The sheet has a title row ('... year ending December 2019¹'), a header row starting 'Area Code', a
'Numbers' row, national/regional/force rows, then numbered notes. Footnote markers glued to names
('Homicide4', 'Greater Manchester8,9') are removed; '..' (not available) is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.core.errors import DataError
from forecast.core.forces import normalise_force
from forecast.ingest import consistency, limits
from forecast.ingest.annual import ROLLING
from forecast.ingest.schema import Column, as_text, check_column, check_key
from forecast.ingest.sheet_limits import MAX_ROWS, check_rows, check_spreadsheet

P1_SERIES = {"Homicide": "homicide_rolling_year", "Robbery": "robbery_rolling_year"}
_YEAR_ENDING = re.compile(r"year ending (\w+) (\d+)", re.IGNORECASE)
_FOOTNOTE = re.compile(r"(?<=[A-Za-z)])\s?\d+(?:,\d+)*(?=\)|$)")
_FORCE_CODE = re.compile(r"^(E23|W15)\d{6}$")


def clean_label(text) -> str:
    """'Violence against the person4' -> 'Violence against the person'; '(excluding fraud3)' -> '(excluding fraud)'."""
    return _FOOTNOTE.sub("", str(text)).strip()


def title_period(title: str) -> pd.Period | None:
    """The quarter a title's 'year ending <Month> <year>' ends in; footnote digits after the year are
    dropped ('December 20191,2' -> 2019Q4, 'June 181,2' -> 2018Q2)."""
    m = _YEAR_ENDING.search(str(title))
    if not m:
        return None
    digits = m.group(2)
    year = (
        int(digits[:4]) if digits.startswith("20") and len(digits) >= 4 else 2000 + int(digits[:2])
    )
    try:
        return pd.Period(pd.Timestamp(f"1 {m.group(1)} {year}"), freq="Q")
    except ValueError:
        return None


def read_ons_p1_xlsx(path: Path, sheet: str = "Table P1"):
    """Long rolling-year homicide and robbery counts per force from an ONS PFA xlsx workbook."""
    path = Path(path)
    check_spreadsheet(path)
    try:
        sheets = pd.ExcelFile(path).sheet_names
    except Exception as exc:  # openpyxl raises several kinds for a non-xlsx file
        raise DataError(f"{path}: not a readable xlsx workbook ({type(exc).__name__})") from exc
    name = next((s for s in sheets if s.strip() == sheet), None)
    if name is None:
        raise DataError(
            f"{path}: no sheet {sheet!r} (sheets: {', '.join(s.strip() for s in sheets)})"
        )
    raw = pd.read_excel(
        path,
        sheet_name=name,
        header=None,
        dtype=object,
        keep_default_na=False,
        nrows=MAX_ROWS + 1,
    )
    check_rows(raw, path, name)
    title = str(raw.iat[0, 0])
    period = title_period(title)
    if period is None:
        raise DataError(
            f"{path}, sheet {sheet}, row 1: no 'year ending <month> <year>' in the title {title!r}"
        )
    header_rows = np.flatnonzero(raw[0].astype(str).str.strip() == "Area Code")
    if not header_rows.size:
        raise DataError(f"{path}, sheet {sheet}: no header row starting 'Area Code'")
    header = [clean_label(v) if isinstance(v, str) else "" for v in raw.iloc[header_rows[0]]]
    missing = [k for k in P1_SERIES if k not in header]
    if missing:
        raise DataError(
            f"{path}, sheet {sheet}, row {header_rows[0] + 1}: no column {missing[0]!r}"
        )
    long = _force_rows(raw, header, header_rows[0], period, f"{path}, sheet {sheet}")
    meta = {
        s: {**ROLLING, "unit": "offences in 12 months", "source": path.name, "geography": "force"}
        for s in P1_SERIES.values()
    }
    return long, meta


def _force_rows(
    raw: pd.DataFrame, header: list[str], top: int, period: pd.Period, where: str
) -> pd.DataFrame:
    """The police force area rows under the header, checked like any other table: counts (or '..'),
    the force name in column B agreeing with the code in column A, each force once."""
    codes = raw[0].astype(str).str.strip()
    body = raw.iloc[top + 1 :][codes.iloc[top + 1 :].str.match(_FORCE_CODE.pattern)]
    if body.empty:
        raise DataError(f"{where}: no police force area rows (codes E23…/W15…)")
    body = as_text(body)
    body.index = body.index - 1  # so that line() gives the sheet's own row number
    forces = pd.Series(
        [normalise_force(c, f"{where}, row {i + 2}, column A") for i, c in body[0].items()],
        index=body.index,
    )
    names = body[1].map(clean_label)
    check_key(
        pd.DataFrame({"force": forces, "x": 0}), ["force"], "x", where, {"force": "Area Code"}
    )
    consistency.code_matches_force(body[0], _names(names), where, "A", "B")
    if period > limits.current_quarter():
        raise DataError(
            f"{where}, row 1: the title's year ending ({period}) is after the current quarter; "
            "fix the title"
        )
    rows = []
    for offence, series in P1_SERIES.items():
        col = header.index(offence)
        letter = chr(ord("A") + col)
        values = check_column(
            body.rename(columns={col: letter}), Column(letter, "count", True), where, letter
        )
        limits.within_force_population(values, forces, where, letter)
        rows.append(
            pd.DataFrame({"force": forces, "period": period, "series": series, "count": values})
        )
    long = pd.concat(rows, ignore_index=True)
    long["count"] = long["count"].astype(float)
    return long


def _names(names: pd.Series) -> pd.Series:
    """Column B's force names as register names; a name that is not a force is left to the code check
    (shown as written)."""
    out = {}
    for name in names.unique():
        try:
            out[name] = normalise_force(name)
        except DataError:
            out[name] = name
    return names.map(out)
