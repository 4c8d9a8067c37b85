"""The stable tidy export: one row per area x period x outcome x quantity, as CSV and Parquet.

Columns (in this order, documented in the README; tests fail if they change):
area, area_level, area_code, period, outcome, quantity, horizon, is_forecast, mean, median,
q2.5, q10, q25, q75, q90, q97.5, observed, unit, model, vintage
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast import dims
from forecast.errors import ExportError
from forecast.io import write_atomic
from forecast.panel import periods_to_str
from forecast.predict import aggregate_areas

PROBS = (0.025, 0.10, 0.25, 0.75, 0.90, 0.975)  # 95%, 80% and 50% central intervals
QUANTILE_COLUMNS = tuple(f"q{100 * p:g}" for p in PROBS)
COLUMNS = (
    "area",
    "area_level",
    "area_code",
    "period",
    "outcome",
    "quantity",
    "horizon",
    "is_forecast",
    "mean",
    "median",
    *QUANTILE_COLUMNS,
    "observed",
    "unit",
    "model",
    "vintage",
)
UNITS = {
    "count": "offences per quarter",
    "rate_per_100k": "offences per 100,000 population per quarter",
}


def summary_table(pred: xr.Dataset) -> pd.DataFrame:
    """Summarise prediction draws (from :func:`forecast.predict.predict`) into the tidy table."""
    areas = aggregate_areas(pred)
    n_a, n_t, n_k = (areas.sizes[d] for d in (dims.AREA, dims.PERIOD, dims.OUTCOME))
    counts = areas[dims.COUNT].transpose("chain", "draw", dims.AREA, dims.PERIOD, dims.OUTCOME)
    samples = counts.values.reshape(-1, n_a * n_t * n_k).astype(float)
    pop = np.broadcast_to(areas[dims.POPULATION].values[:, :, None], (n_a, n_t, n_k)).reshape(-1)
    observed = areas["observed"].transpose(dims.AREA, dims.PERIOD, dims.OUTCOME).values.reshape(-1)
    idx = pd.MultiIndex.from_product(
        [range(n_a), range(n_t), range(n_k)], names=["a", "t", "k"]
    ).to_frame(index=False)
    base = pd.DataFrame(
        {
            "area": areas[dims.AREA].values[idx["a"]].astype(str),
            "area_level": areas[dims.AREA_LEVEL].values[idx["a"]].astype(str),
            "area_code": areas["area_code"].values[idx["a"]].astype(str),
            "period": [str(p) for p in areas.indexes[dims.PERIOD][idx["t"]]],
            "outcome": areas[dims.OUTCOME].values[idx["k"]].astype(str),
            "horizon": areas[dims.HORIZON].values[idx["t"]].astype(int),
        }
    )
    base["is_forecast"] = base["horizon"] > 0
    frames = []
    for quantity, scale in (("count", 1.0), ("rate_per_100k", 1e5 / pop)):
        s = samples * scale
        q = np.quantile(s, PROBS, axis=0)
        part = base.copy()
        part["quantity"] = quantity
        part["mean"] = s.mean(axis=0)
        part["median"] = np.median(s, axis=0)
        for col, row in zip(QUANTILE_COLUMNS, q, strict=True):
            part[col] = row
        part["observed"] = observed * scale
        part["unit"] = UNITS[quantity]
        frames.append(part)
    table = pd.concat(frames, ignore_index=True)
    table["model"] = str(pred.attrs.get("model", ""))
    table["vintage"] = str(pred.attrs.get("vintage", ""))
    return table[list(COLUMNS)]


def write_table(table: pd.DataFrame, path: Path, overwrite: bool = False) -> Path:
    """Write the tidy table as .csv or .parquet (by suffix), atomically."""
    path = Path(path)
    if list(table.columns) != list(COLUMNS):
        raise ExportError(f"{path}: table columns differ from the documented schema {COLUMNS}")
    if path.suffix == ".csv":
        return write_atomic(path, lambda tmp: table.to_csv(tmp, index=False), overwrite)
    if path.suffix == ".parquet":
        return write_atomic(path, lambda tmp: table.to_parquet(tmp, index=False), overwrite)
    raise ExportError(f"{path}: unknown table format {path.suffix!r}; use .csv or .parquet")


def save_predictions(pred: xr.Dataset, path: Path, overwrite: bool = False) -> Path:
    """Save the prediction draws to compressed NetCDF (periods as '2024Q3' strings)."""
    ds = periods_to_str(pred)
    encoding = {dims.COUNT: {"dtype": "int32", "zlib": True, "complevel": 4}}
    return write_atomic(
        Path(path), lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding), overwrite
    )
