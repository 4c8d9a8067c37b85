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

from forecast.errors import DataError
from forecast.forces import normalise_force
from forecast.ingest.annual import ROLLING
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
    rows = []
    for i in range(header_rows[0] + 1, len(raw)):
        code = str(raw.iat[i, 0]).strip()
        if not _FORCE_CODE.match(code):
            continue
        force = normalise_force(code, f"{path}, sheet {sheet}, row {i + 1}, column A")
        for offence, series in P1_SERIES.items():
            cell = raw.iat[i, header.index(offence)]
            value = pd.to_numeric(pd.Series([cell]), errors="coerce").iat[0]
            if pd.isna(value) and not (
                pd.isna(cell) or str(cell).strip() in ("", "..", ":", "x", "[x]")
            ):
                col = chr(ord("A") + header.index(offence))
                raise DataError(
                    f"{path}, sheet {sheet}, row {i + 1}, column {col}: {cell!r} is not a number"
                )
            rows.append({"force": force, "period": period, "series": series, "count": float(value)})
    if not rows:
        raise DataError(f"{path}, sheet {sheet}: no police force area rows (codes E23…/W15…)")
    long = pd.DataFrame(rows)
    meta = {
        s: {**ROLLING, "unit": "offences in 12 months", "source": path.name, "geography": "force"}
        for s in P1_SERIES.values()
    }
    return long, meta
