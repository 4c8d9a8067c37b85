"""Readers for regional series (English regions), stored as (``gor``, ``period``) variables.

The panel's force dim carries each force's region as a coordinate named ``region``, so region-level
series use their own dim, ``gor`` (Government Office Region, the publishers' term), whose labels are the
register's region names. Attributes say ``geography = "region"``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecast import dims
from forecast.errors import DataError
from forecast.forces import force_register
from forecast.ingest.annual import numbers, read_table

HES_SERIES = "hes_sharp_object_admissions"
# publishers' spellings of the register's region names
REGION_ALIASES = {"East of England": "East", "Yorkshire and the Humber": "Yorkshire and The Humber"}


def read_hes_x99(path: Path) -> tuple[pd.DataFrame, dict, list[str]]:
    """NHS HES admissions (finished admission episodes) for assault by a sharp object, region x month,
    summed to calendar quarters. A quarter with a suppressed (``*``) or absent month stays missing."""
    path = Path(path)
    f = read_table(path, ["month", "region", "measure", "value"])
    f = f[f["measure"] == "FAEs"].assign(region=lambda d: d["region"].replace(REGION_ALIASES))
    regions = set(force_register()["region"])
    dropped = sorted(set(f["region"]) - regions)
    f = f[f["region"].isin(regions)].copy()
    if f.empty:
        raise DataError(f"{path}: no rows with measure FAEs for a region of England and Wales")
    f["value"] = numbers(f, "value", path)
    text = f["month"].astype(str)
    bad = ~text.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])")
    if bad.any():
        i = f.index[bad.to_numpy()][0]
        raise DataError(f"{path}, row {i + 2}, column month: {text.at[i]!r} is not a YYYY-MM month")
    month = pd.PeriodIndex(text, freq="M")
    f["period"] = month.asfreq("Q")
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
