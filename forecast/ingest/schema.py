"""The validation layer every reader goes through: a table is read as text, then each column is checked
against its declaration (type, range, the official "not available" markers it may hold) before any value
is used. Errors name the file, the row (file line, header = 1), the column and the value, and say what
to do; nothing is guessed and pandas' own NA spellings (``n/a``, ``NULL``, ``nan``...) are not missing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecast.core.errors import DataError
from forecast.core.forces import force_register
from forecast.ingest.panel import NOT_AVAILABLE

# The official "not available" markers of the ONS and the Home Office (forecast.ingest.panel.NOT_AVAILABLE)
# and an empty cell. Nothing else is read as missing: a cell holding any other text is an error.
MARKERS = frozenset((*NOT_AVAILABLE, ""))
MARKER_HINT = (
    "leave the cell empty or use an official not-available marker (.., :, x, [x], [z], [c], -)"
)
KINDS = ("text", "count", "number", "year", "fy", "fy_quarter", "date", "quarter", "month", "code")


@dataclass(frozen=True)
class Column:
    """One column of a publisher table: what it holds and which values are allowed.

    kind: text, count (whole numbers of events), number, year, fy (financial year like 2012/13; `sep`
    '-' for 2012-13), fy_quarter (1-4), date (YYYY-MM-DD), quarter (2019Q4), month (YYYY-MM) or code
    (an ONS area code). `nullable`: the official markers (and an empty cell) are allowed and missing.
    `minimum`/`maximum`: the range allowed (minimum None: the reader applies its own rule; a count's
    maximum is the population of England and Wales, and the reader checks the force's).
    `required`: the table must have the column (optional ones are checked only when present).
    """

    name: str
    kind: str = "text"
    nullable: bool = False
    minimum: float | None = 0.0
    maximum: float | None = None
    required: bool = True
    sep: str = "/"


def population_cap() -> float:
    """The largest count possible anywhere: the resident population of England and Wales."""
    return float(force_register()["population_mid2020"].sum())


def line(i: int) -> int:
    """File line of data row `i` (0 = the first row under the header, which is line 1)."""
    return int(i) + 2


def cell(path: Path, i: int, column: str) -> str:
    """'file, row N, column C': where an error points."""
    return f"{path}, row {line(i)}, column {column}"


def fail(path: Path, i: int, column: str, value: object, problem: str, fix: str) -> DataError:
    """The one-line error for a bad cell: where, the value as written, what is wrong, what to do."""
    return DataError(f"{cell(path, i, column)}: {value!r} {problem}; {fix}")


def decode(path: Path) -> str:
    """The file as text; a byte that is not UTF-8 is reported by its row, not its byte offset."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise DataError(
            f"{path}, row {row}: byte 0x{bad} is not UTF-8 text; save the file as UTF-8 "
            "(in Excel: CSV UTF-8) and ingest it again"
        ) from exc


def read_text(path: Path) -> pd.DataFrame:
    """A CSV as published, every cell as text exactly as written (no NA guessing by pandas)."""
    text = decode(path)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable CSV table ({exc})") from exc
    if frame.empty:
        raise DataError(
            f"{path}: the table has a header but no rows; export it again with its data"
        )
    return frame


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells of a spreadsheet read by pandas as the text a CSV would hold (missing -> '')."""
    out = frame.astype(object).where(frame.notna(), "")
    return out.map(_spreadsheet_text)


def _spreadsheet_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if isinstance(value, str) else str(value)


def _numbers(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.str.strip(), errors="coerce")


def _first(bad: pd.Series) -> int | None:
    """Index label of the first True of `bad`, or None."""
    hits = bad.to_numpy(dtype=bool)
    return bad.index[hits.argmax()] if hits.any() else None


_PATTERNS = {
    "year": (r"\d{4}", "is not a year like 2019", "write a four-digit year"),
    "date": (r"\d{4}-\d{2}-\d{2}", "is not a date like 2019-03-31", "write the date as YYYY-MM-DD"),
    "quarter": (r"\d{4}Q[1-4]", "is not a calendar quarter like 2019Q4", "write it like 2019Q4"),
    "month": (r"\d{4}-(0[1-9]|1[0-2])", "is not a YYYY-MM month", "write the month like 2019-04"),
    "code": (r"[EWKNS]\d{8}", "is not an ONS area code like E23000032", "copy the code from ONS"),
    "fy_quarter": (r"[1-4](\.0)?", "is not a financial quarter 1-4", "write 1, 2, 3 or 4"),
}


def _check_pattern(text: pd.Series, column: Column, shown: str, path: Path) -> None:
    pattern, problem, fix = _PATTERNS[column.kind]
    ok = text.str.fullmatch(pattern)
    if (
        column.kind == "fy_quarter" and not ok.all()
    ):  # an annual row (no quarter) in a quarterly table
        i = _first(~ok)
        if text.at[i].strip() in MARKERS:
            fix = "this looks like an annual row in a quarterly table: remove it"
    elif column.kind == "date" and ok.all():
        ok = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce").notna()
    i = _first(~ok)
    if i is not None:
        raise fail(path, i, shown, text.at[i], problem, fix)


def _check_fy(text: pd.Series, column: Column, shown: str, path: Path) -> None:
    sep = re.escape(column.sep)
    parts = text.str.extract(rf"^\s*(\d{{4}})\s*{sep}\s*(\d{{2}})\s*$")
    start = pd.to_numeric(parts[0], errors="coerce")
    end = pd.to_numeric(parts[1], errors="coerce")
    i = _first(~((start + 1) % 100 == end))
    if i is not None:
        example = f"2012{column.sep}13"
        raise fail(
            path,
            i,
            shown,
            text.at[i],
            f"is not a financial year like {example}",
            f"write the two consecutive years like {example}",
        )


def _check_values(
    text: pd.Series, column: Column, shown: str, path: Path, marker_ok: pd.Series
) -> pd.Series:
    """A count or number column as floats (markers as NaN); text, fractions and out-of-range values
    are errors."""
    values = _numbers(text)
    i = _first(values.isna() & ~marker_ok)
    if i is not None:
        fix = MARKER_HINT if column.nullable else "every row needs the published figure here"
        raise fail(path, i, shown, text.at[i], "is not a number", fix)
    finite = values.notna()
    i = _first(finite & ~np.isfinite(values.where(finite, 0)))
    if i is not None:
        raise fail(
            path, i, shown, text.at[i], "is not a finite number", "write the published figure"
        )
    if column.kind == "count":
        i = _first(finite & (values != values.round()))
        if i is not None:
            raise fail(
                path,
                i,
                shown,
                text.at[i],
                "is not a whole number",
                "a count is whole: fix the cell",
            )
        cap = population_cap()
        i = _first(finite & (values > cap))
        if i is not None:
            raise fail(
                path,
                i,
                shown,
                text.at[i],
                f"is more than the population of England and Wales ({cap:,.0f})",
                "fix the cell",
            )
    if column.maximum is not None:
        i = _first(finite & (values > column.maximum))
        if i is not None:
            raise fail(
                path,
                i,
                shown,
                text.at[i],
                f"is above {column.maximum:g}, which is impossible here",
                "fix the cell",
            )
    if column.minimum is not None:
        i = _first(finite & (values < column.minimum))
        if i is not None:
            raise fail(
                path,
                i,
                shown,
                text.at[i],
                f"is below {column.minimum:g}, which is impossible here",
                "fix the cell",
            )
    return values


def check_column(frame: pd.DataFrame, column: Column, path: Path, shown: str) -> pd.Series:
    """Check one declared column of `frame` (text cells, index = data row) and return its values:
    floats (NaN for markers) for counts and numbers, the stripped text otherwise."""
    text = frame[column.name].astype(str)
    stripped = text.str.strip()
    marker_ok = stripped.isin(MARKERS) if column.nullable else pd.Series(False, index=text.index)
    if column.kind in ("count", "number"):
        return _check_values(text, column, shown, path, marker_ok)
    present = ~marker_ok
    if column.kind == "text":
        i = _first(present & stripped.eq(""))
        if i is not None:
            raise fail(path, i, shown, text.at[i], "is empty", "every row needs this column")
    elif column.kind == "fy":
        _check_fy(stripped[present], column, shown, path)
    else:
        _check_pattern(stripped[present], column, shown, path)
    return stripped.where(present, "")


def check_columns(
    frame: pd.DataFrame, columns: tuple[Column, ...], path: Path, shown: dict[str, str]
) -> dict[str, pd.Series]:
    """Check every declared column present in `frame`; `shown` maps our names to the file's own."""
    return {
        c.name: check_column(frame, c, path, shown.get(c.name, c.name))
        for c in columns
        if c.name in frame.columns
    }


def check_key(
    frame: pd.DataFrame, key: list[str], value: str, path: Path, shown: dict[str, str]
) -> None:
    """Each key (e.g. force, quarter and offence code) appears once: a repeated row or the same key
    with two different values is an error naming both rows."""
    dup = frame.duplicated(key, keep="first")
    i = _first(dup)
    if i is None:
        return
    same = frame[key].eq(frame.loc[i, key]).all(axis=1)
    first = frame.index[same.to_numpy()][0]
    names = ", ".join(shown.get(k, k) for k in key)
    a, b = frame.at[first, value], frame.at[i, value]
    col = shown.get(value, value)
    if a == b or (pd.isna(a) and pd.isna(b)):
        raise DataError(
            f"{path}, row {line(i)}: repeats row {line(first)} (same {names}); delete one of them"
        )
    raise DataError(
        f"{path}, row {line(i)}, column {col}: {_shown(b)} for the same {names} as row "
        f"{line(first)}, which has {_shown(a)}; keep the right one and delete the other"
    )


def _shown(value: object) -> str:
    """A cell value as a message shows it: numbers plainly (12, not np.float64(12.0)), missing as
    'not available'."""
    if isinstance(value, int | float | np.number) and not isinstance(value, bool):
        return "not available" if np.isnan(value) else f"{float(value):.10g}"
    return repr(value)
