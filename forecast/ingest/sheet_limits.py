"""Size limits for published spreadsheets, checked before a reader opens one.

An xlsx or ODS file is a zip archive: its declared uncompressed size is read from the archive's
directory (no decompression), so a small file that would expand to gigabytes (a zip bomb, or a
sheet with a million blank styled rows) is refused at once instead of being parsed for minutes.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from forecast.core.errors import DataError

MAX_UNCOMPRESSED_MB = 256  # the largest published workbook we read expands to ~3 MB
MAX_ROWS = 200_000  # per sheet; a force x quarter x offence table has ~25,000


def check_spreadsheet(path: Path) -> None:
    """Refuse a workbook whose contents expand beyond MAX_UNCOMPRESSED_MB."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        return  # not xlsx/ODS: the reader reports it as unreadable
    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable spreadsheet ({type(exc).__name__})") from exc
    if size > MAX_UNCOMPRESSED_MB * 2**20:
        raise DataError(
            f"{path}: the workbook expands to {size / 2**20:,.0f} MB, over the "
            f"{MAX_UNCOMPRESSED_MB} MB limit for a published table: check it is the right file"
        )


def check_rows(frame: pd.DataFrame, path: Path, sheet: str = "") -> pd.DataFrame:
    """Refuse a sheet read with ``nrows=MAX_ROWS + 1`` that reached the limit."""
    if len(frame) > MAX_ROWS:
        where = f" sheet {sheet!r}" if sheet else ""
        raise DataError(
            f"{path}{where}: more than {MAX_ROWS:,} rows, over the limit for a published table: "
            "check it is the right file"
        )
    return frame
