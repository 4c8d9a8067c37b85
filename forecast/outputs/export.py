"""The stable tidy export: one row per area x period x outcome x quantity, as CSV and Parquet, and a
Frictionless data package descriptor (`datapackage.json`) of every published table.

Columns (in this order, documented in the README; tests fail if they change):
area, area_level, area_code, period, outcome, quantity, horizon, is_forecast, mean, median,
q2.5, q10, q25, q75, q90, q97.5, observed, unit, model, vintage, schema_version

Any change to a published table's columns, types or meaning bumps SCHEMA_VERSION, and the descriptor
of the new version is stored in tests/contract/ (the contract test compares them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.errors import ExportError
from forecast.core.io import write_atomic
from forecast.ingest.panel import periods_to_str
from forecast.predict import aggregate_areas

SCHEMA_VERSION = "2.0.0"
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
    "schema_version",
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
    table["schema_version"] = SCHEMA_VERSION
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


_Q = "quantile of the posterior (predictive) draws: with its mirror it bounds a central interval"
FORECAST_FIELDS = {
    "area": ("string", "force (ONS name), region, or England and Wales"),
    "area_level": ("string", "force, region or national"),
    "area_code": ("string", "ONS code of a force or of England and Wales; empty for regions"),
    "period": ("string", "calendar quarter, e.g. 2024Q3"),
    "outcome": ("string", "homicide, robbery or knife"),
    "quantity": ("string", "count or rate_per_100k"),
    "horizon": ("integer", "0 for the fitted history, 1..H quarters ahead for forecasts"),
    "is_forecast": ("boolean", "horizon > 0"),
    "mean": ("number", "posterior predictive mean"),
    "median": ("number", "posterior predictive median"),
    **{c: ("number", _Q) for c in QUANTILE_COLUMNS},
    "observed": (
        "number",
        "the recorded value less victims of registered exceptional events "
        "(exceptional_events.csv); empty in the future or where missing",
    ),
    "unit": ("string", "offences per quarter, or per 100,000 population per quarter"),
    "model": ("string", "name of the model spec"),
    "vintage": ("string", "vintage label of the input panel"),
    "schema_version": ("string", "version of this table schema"),
}
DHI_FIELDS = {
    "area": FORECAST_FIELDS["area"],
    "area_level": FORECAST_FIELDS["area_level"],
    "area_code": FORECAST_FIELDS["area_code"],
    "period": FORECAST_FIELDS["period"],
    "horizon": FORECAST_FIELDS["horizon"],
    "is_forecast": FORECAST_FIELDS["is_forecast"],
    "quantity": (
        "string",
        "dhi (drug-related harm at fixed attributable fractions and unit costs, as an index, "
        "base = 100), harm (that harm in the weights' unit), availability (population-weighted, "
        "the index's driver: not part of it), attributable_index (DHI points the model links to "
        "the change in availability from the reference), attributable_harm (the same in the "
        "weights' unit) or attributable_share (its share of harm, 0-1)",
    ),
    "mean": ("number", "posterior mean"),
    "median": ("number", "posterior median"),
    **{c: ("number", _Q) for c in QUANTILE_COLUMNS},
    "unit": ("string", "unit of the quantity"),
    "base": ("string", "base period of the index"),
    "reference": (
        "string",
        "availability held at: base, a quarter or a shift in sd (attributable)",
    ),
    "events": ("string", "excluded or included: victims of the exceptional-events register"),
    "model": ("string", "name of the model spec"),
    "weights": ("string", "file of the harm weights"),
    "schema_version": ("string", "version of this table schema"),
}
DHI_COLUMNS = tuple(DHI_FIELDS)
EVENT_FIELDS = {
    "force": ("string", "force (ONS name) that recorded the event"),
    "quarter": ("string", "calendar quarter it was recorded in, e.g. 2016Q2"),
    "outcome": ("string", "outcome series it was recorded in"),
    "victims": ("integer", "victims taken out of the likelihood and, by default, the indices"),
    "recorded": ("number", "the recorded count of that force, quarter and outcome"),
    "in_panel": ("boolean", "whether the event falls in the published panel"),
    "description": ("string", "what happened"),
    "source": ("string", "the published source (ONS homicide statistics)"),
}


def _resource(name: str, path: str, fields: dict, key: list[str], title: str) -> dict:
    fmt = Path(path).suffix.lstrip(".")
    return {
        "name": name,
        "path": path,
        "title": title,
        "format": fmt,
        "mediatype": "text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
        **({"encoding": "utf-8"} if fmt == "csv" else {}),
        "schema": {
            "fields": [{"name": n, "type": t, "description": d} for n, (t, d) in fields.items()],
            "primaryKey": key,
            "missingValues": [""],
        },
    }


def datapackage() -> dict:
    """The Frictionless (tabular) data package descriptor of the published tables."""
    fkey = ["area", "period", "outcome", "quantity"]
    dkey = ["area", "period", "quantity"]
    forecast_title = "Forecasts and fitted history per area, quarter, outcome and quantity"
    dhi_title = (
        "Drugs Harm Index (fixed fractions and unit costs), availability-attributable harm and "
        "availability per area and quarter"
    )
    return {
        "profile": "tabular-data-package",
        "name": "forecast-dhi-publication",
        "title": "Class A availability, serious violence forecasts and the Drugs Harm Index",
        "version": SCHEMA_VERSION,
        "licenses": [{"name": "OGL-UK-3.0", "title": "Open Government Licence v3.0"}],
        "resources": [
            _resource("forecast", "forecast.csv", FORECAST_FIELDS, fkey, forecast_title),
            _resource(
                "forecast-parquet", "forecast.parquet", FORECAST_FIELDS, fkey, forecast_title
            ),
            _resource("dhi", "dhi.csv", DHI_FIELDS, dkey, dhi_title),
            _resource("dhi-parquet", "dhi.parquet", DHI_FIELDS, dkey, dhi_title),
            _resource(
                "exceptional-events",
                "exceptional_events.csv",
                EVENT_FIELDS,
                ["force", "quarter", "outcome", "description"],
                "Exceptional events (multiple-victim incidents) left out of the model and indices",
            ),
        ],
    }
