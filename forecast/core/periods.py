"""Calendar quarters as the canonical period ("2024Q3"), with the UK financial-year label for display."""

from __future__ import annotations

import re

import pandas as pd

from forecast.core.errors import DataError

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)


def parse_quarter(text: str, where: str = "") -> pd.Period:
    """Parse '2024Q3' (also '2024-Q3', '2024 q3') into a quarterly pandas Period."""
    m = _QUARTER.match(str(text))
    if not m:
        prefix = f"{where}: " if where else ""
        raise DataError(f"{prefix}{text!r} is not a calendar quarter: write it like 2024Q3")
    return pd.Period(year=int(m.group(1)), quarter=int(m.group(2)), freq="Q")


def quarter_range(start: str | pd.Period, n: int) -> pd.PeriodIndex:
    """`n` consecutive quarters starting at `start`."""
    first = start if isinstance(start, pd.Period) else parse_quarter(start)
    return pd.period_range(first, periods=n, freq="Q")


def to_labels(periods) -> list[str]:
    """Periods as the strings used in files: '2024Q3'."""
    return [str(p) for p in pd.PeriodIndex(periods, freq="Q")]


def financial_label(period: pd.Period) -> str:
    """Home Office financial-year label: calendar 2012Q2 (Apr-Jun 2012) is '2012/13 Q1'."""
    p = pd.Period(period, freq="Q")
    fy_start = p.year if p.quarter >= 2 else p.year - 1
    fq = (p.quarter - 2) % 4 + 1
    return f"{fy_start}/{str(fy_start + 1)[-2:]} Q{fq}"


def quarter_of_year(periods) -> list[int]:
    """Calendar quarter number (1-4) of each period."""
    return [int(p.quarter) for p in pd.PeriodIndex(periods, freq="Q")]
