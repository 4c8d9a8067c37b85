"""Readers for national (England and Wales) series, stored as ``period``-only variables at the quarter
their window ends, with ``geography = "national"`` in their attributes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecast.ingest.annual import FY_SUM, numbers, read_table

BORDER_FORCE_DRUGS = {
    "Cocaine": "border_seizures_cocaine",
    "Crack": "border_seizures_crack",
    "Heroin": "border_seizures_heroin",
    "All Class A": "border_seizures_class_a",
}


def read_border_force(path: Path):
    """Border Force seizures of cocaine, crack, heroin and all Class A, by financial year."""
    path = Path(path)
    f = read_table(path, ["year_ending", "drug", "seizures"])
    f = f[f["drug"].isin(BORDER_FORCE_DRUGS)]
    long = pd.DataFrame(
        {
            "period": [pd.Period(str(d), freq="Q") for d in f["year_ending"]],
            "series": f["drug"].map(BORDER_FORCE_DRUGS).to_numpy(),
            "value": numbers(f, "seizures", path).to_numpy(),
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
    f = f[f["method"] == "Sharp instrument"].assign(count=lambda d: numbers(d, "count", path))
    # `date` is 1 April after the financial year: the year ends in the quarter before it
    period = pd.PeriodIndex([pd.Period(str(d), freq="Q") - 1 for d in f["date"]], freq="Q")
    totals = f.assign(period=period).groupby("period", as_index=False)["count"].sum(min_count=1)
    long = pd.DataFrame(
        {
            "period": totals["period"],
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
