"""Readers for national (England and Wales) series, stored as ``period``-only variables at the quarter
their window ends, with ``geography = "national"`` in their attributes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecast.ingest import limits
from forecast.ingest.annual import FY_SUM, keep_rows, read_table
from forecast.ingest.schema import Column, check_columns, check_key

BORDER_FORCE_DRUGS = {
    "Cocaine": "border_seizures_cocaine",
    "Crack": "border_seizures_crack",
    "Heroin": "border_seizures_heroin",
    "All Class A": "border_seizures_class_a",
}
BORDER_FORCE = (Column("year_ending", "date"), Column("drug"), Column("seizures", "count", True))
HOMICIDE_METHOD = (
    Column("method"),
    Column("sex"),
    Column("count", "count", nullable=True),
    Column("date", "date"),
)


def _quarters(dates: pd.Series, back: int = 0) -> pd.Series:
    """The quarter of each date, `back` quarters earlier."""
    return dates.map({d: pd.Period(d, freq="Q") - back for d in dates.unique()})


def read_border_force(path: Path):
    """Border Force seizures of cocaine, crack, heroin and all Class A, by financial year."""
    path = Path(path)
    f = read_table(path, ["year_ending", "drug", "seizures"])
    f = keep_rows(f, {"drug": tuple(BORDER_FORCE_DRUGS)}, path)
    values = check_columns(f, BORDER_FORCE, path, {})
    check_key(pd.DataFrame(values), ["year_ending", "drug"], "seizures", path, {})
    period = _quarters(values["year_ending"])
    limits.not_future(period, values["year_ending"], path, "year_ending")
    long = pd.DataFrame(
        {
            "period": period.to_numpy(),
            "series": values["drug"].map(BORDER_FORCE_DRUGS).to_numpy(),
            "value": values["seizures"].to_numpy(),
        }
    )
    meta = {
        s: {
            **FY_SUM,
            "unit": "seizures per financial year",
            "geography": "national",
            "source": path.name,
        }
        for s in long["series"].unique()
    }
    return long, meta


def read_homicide_by_method(path: Path):
    """Homicide Index victims killed with a sharp instrument (both sexes), by financial year."""
    path = Path(path)
    f = read_table(path, ["method", "sex", "count", "date"])
    f = keep_rows(f, {"method": "Sharp instrument"}, path)
    values = check_columns(f, HOMICIDE_METHOD, path, {})
    check_key(pd.DataFrame(values), ["method", "sex", "date"], "count", path, {})
    # `date` is 1 April after the financial year: the year ends in the quarter before it
    period = _quarters(values["date"], back=1)
    limits.not_future(period, values["date"], path, "date")
    both = pd.DataFrame({"period": period, "count": values["count"]})
    totals = both.groupby("period", as_index=False)["count"].sum(min_count=1)
    long = pd.DataFrame(
        {
            "period": pd.PeriodIndex(totals["period"], freq="Q"),
            "series": "homicide_sharp_instrument_fy",
            "value": totals["count"],
        }
    )
    meta = {
        "homicide_sharp_instrument_fy": {
            **FY_SUM,
            "unit": "homicide victims per financial year",
            "geography": "national",
            "source": path.name,
        }
    }
    return long, meta
