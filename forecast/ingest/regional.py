"""Readers for regional series (English regions), stored as (``gor``, ``period``) variables.

The panel's force dim carries each force's region as a coordinate named ``region``, so region-level
series use their own dim, ``gor`` (Government Office Region, the publishers' term), whose labels are the
register's region names. Attributes say ``geography = "region"``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecast.core import dims
from forecast.core.errors import DataError
from forecast.core.forces import force_register
from forecast.ingest import consistency, limits
from forecast.ingest.annual import keep_rows, read_table
from forecast.ingest.schema import Column, check_columns, check_key

HES_SERIES = "hes_sharp_object_admissions"
# publishers' spellings of the register's region names
REGION_ALIASES = {"East of England": "East", "Yorkshire and the Humber": "Yorkshire and The Humber"}


HES_COLUMNS = (
    Column("month", "month"),
    Column("region"),
    Column("measure"),
    Column("value", "count", nullable=True),
    Column("financial_year", "fy", required=False, sep="-"),
)


def read_hes_x99(path: Path) -> tuple[pd.DataFrame, dict, list[str]]:
    """NHS HES admissions (finished admission episodes) for assault by a sharp object, region x month,
    summed to calendar quarters. A quarter with a suppressed (``*``) or absent month stays missing."""
    path = Path(path)
    f = keep_rows(
        read_table(path, ["month", "region", "measure", "value"]), {"measure": "FAEs"}, path
    )
    f = f.assign(region=lambda d: d["region"].str.strip().replace(REGION_ALIASES))
    regions = set(force_register()["region"])
    dropped = sorted(set(f["region"]) - regions)
    f = f[f["region"].isin(regions)].copy()
    if f.empty:
        raise DataError(f"{path}: no rows with measure FAEs for a region of England and Wales")
    values = check_columns(f, HES_COLUMNS, path, {})
    check_key(pd.DataFrame(values), ["month", "region"], "value", path, {})
    if "financial_year" in values:
        consistency.month_in_fy(
            values["month"], values["financial_year"], path, "month", "financial_year"
        )
    f["value"] = values["value"]
    month = pd.PeriodIndex(values["month"], freq="M")
    f["period"] = month.asfreq("Q")
    limits.not_future(f["period"], values["month"], path, "month")
    limits.within_region_population(f["value"], f["region"], path, "value")
    grouped = f.groupby(["region", "period"])["value"]
    quarters = pd.DataFrame({"value": grouped.sum(min_count=3), "months": grouped.count()})
    quarters.loc[quarters["months"] < 3, "value"] = float("nan")
    long = quarters.reset_index()[["region", "period", "value"]].assign(series=HES_SERIES)
    long = long.rename(columns={"region": dims.GOR})
    meta = {
        HES_SERIES: {
            "aggregation": "quarter sum",
            "window_quarters": 1,
            "frequency": "quarterly",
            "unit": "finished admission episodes per quarter",
            "geography": "region",
            "source": path.name,
            "note": "NHS Digital HES, ICD-10 X99, region of residence; sub-national values rounded to "
            "the nearest 5; quarters with a suppressed month are missing; England only",
        }
    }
    notes = [f"{path.name}: rows for {', '.join(dropped)} are not a region of the panel; dropped"]
    return long, meta, notes if dropped else []
