"""The canonical force x period panel: conventions, validation, NetCDF/CSV input and output.

A panel is an ``xarray.Dataset`` with dims ``force`` (ONS names), ``period`` (a quarterly
``pandas.PeriodIndex`` in memory, '2024Q3' strings on disk) and ``outcome``, holding:

- ``count`` (force, period, outcome): recorded offences in the quarter; NaN marks a missing cell.
- ``population`` (force, period): resident population, persons.
- ``availability_index`` (force, period): a composite Class A availability index (unit scale).

Other (force, period) variables such as indicators are kept and passed through.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.errors import DataError
from forecast.core.forces import force_codes, force_regions, normalise_force
from forecast.core.io import write_atomic
from forecast.core.periods import parse_quarter

log = logging.getLogger(__name__)

NATIONAL_LABEL = "England and Wales"  # rows of national series in the long table
REQUIRED = (dims.COUNT, dims.POPULATION, dims.AVAILABILITY_INDEX)
_ID_COLUMNS = ("force", "period")
# Official "not available" markers (ONS/Home Office): read as missing, never rejected.
NOT_AVAILABLE = ["..", ":", "x", "[x]", "[z]", "[c]", "-"]
# Columns that name coordinates the panel derives itself from the force register.
_RESERVED = (dims.FORCE_CODE, dims.REGION, dims.OUTCOME, "force_name", "ons_code")


def periods_to_str(obj):
    """Replace a PeriodIndex ``period`` coord by '2024Q3' strings (NetCDF cannot store Periods)."""
    if dims.PERIOD in obj.coords and isinstance(obj.indexes.get(dims.PERIOD), pd.PeriodIndex):
        return obj.assign_coords({dims.PERIOD: [str(p) for p in obj.indexes[dims.PERIOD]]})
    return obj


def periods_from_str(obj, where: str = ""):
    """Inverse of :func:`periods_to_str`."""
    if dims.PERIOD in obj.coords and not isinstance(obj.indexes.get(dims.PERIOD), pd.PeriodIndex):
        labels = obj[dims.PERIOD].values
        return obj.assign_coords(
            {dims.PERIOD: pd.PeriodIndex([parse_quarter(str(x), where) for x in labels], freq="Q")}
        )
    return obj


def make_panel(
    count: np.ndarray,
    population: np.ndarray,
    availability_index: np.ndarray,
    forces: list[str],
    periods: pd.PeriodIndex,
    outcomes: tuple[str, ...] = dims.OUTCOMES,
    extra: dict[str, xr.DataArray] | None = None,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Assemble a panel Dataset with the standard dims, coords and attributes."""
    forces = [normalise_force(f) for f in forces]
    fp = (dims.FORCE, dims.PERIOD)
    ds = xr.Dataset(
        {
            dims.COUNT: ((*fp, dims.OUTCOME), np.asarray(count, dtype=float)),
            dims.POPULATION: (fp, np.asarray(population, dtype=float)),
            dims.AVAILABILITY_INDEX: (fp, np.asarray(availability_index, dtype=float)),
        },
        coords={
            dims.FORCE: forces,
            dims.PERIOD: pd.PeriodIndex(periods, freq="Q"),
            dims.OUTCOME: list(outcomes),
            dims.FORCE_CODE: (dims.FORCE, force_codes(forces)),
            dims.REGION: (dims.FORCE, force_regions(forces)),
        },
        attrs={"frequency": "quarter", **(attrs or {})},
    )
    ds[dims.COUNT].attrs.update(unit="offences per quarter", aggregation="quarter sum")
    ds[dims.POPULATION].attrs.update(unit="persons")
    ds[dims.AVAILABILITY_INDEX].attrs.update(
        unit="standardised index", description="composite Class A availability index"
    )
    for name, da in (extra or {}).items():
        ds[name] = da
    return ds


def validate_panel(ds: xr.Dataset, where: str = "panel") -> xr.Dataset:
    """Check a panel's shape and values; raise DataError naming the problem and the cell."""
    missing = [v for v in REQUIRED if v not in ds]
    if missing:
        raise DataError(
            f"{where}: missing variable(s) {', '.join(missing)}; a panel needs {REQUIRED}"
        )
    for d in (dims.FORCE, dims.PERIOD, dims.OUTCOME):
        if d not in ds.dims:
            raise DataError(f"{where}: no {d!r} dimension")
    ds = periods_from_str(ds, where)
    periods = ds.indexes[dims.PERIOD]
    expected = pd.period_range(periods.min(), periods.max(), freq="Q")
    if len(periods) != len(expected) or not (periods == expected).all():
        gap = sorted(set(expected) - set(periods))
        what = f"quarter {gap[0]} is missing" if gap else "quarters are not in order or repeat"
        raise DataError(
            f"{where}: {what}; the panel needs consecutive quarters (use NaN counts for missing cells)"
        )
    forces = [normalise_force(str(f), where) for f in ds[dims.FORCE].values]
    repeated = sorted({f for f in forces if forces.count(f) > 1})
    if repeated:
        raise DataError(
            f"{where}: force {repeated[0]!r} appears more than once (under different spellings)"
        )
    ds = ds.assign_coords(
        {
            dims.FORCE: forces,
            dims.FORCE_CODE: (dims.FORCE, force_codes(forces)),
            dims.REGION: (dims.FORCE, force_regions(forces)),
        }
    )
    count = ds[dims.COUNT]
    bad = np.argwhere(np.asarray(count < 0))
    if bad.size:
        f, t, k = bad[0]
        raise DataError(
            f"{where}: negative count {float(count.values[f, t, k]):g} for force "
            f"{str(ds[dims.FORCE].values[f])!r}, period {periods[t]}, outcome {str(ds[dims.OUTCOME].values[k])!r}:"
            " counts must be >= 0 (use NaN for missing)"
        )
    fractional = np.argwhere(
        np.isfinite(count.values) & (np.abs(count.values - np.round(count.values)) > 1e-9)
    )
    if fractional.size:
        f, t, k = fractional[0]
        raise DataError(
            f"{where}: count {float(count.values[f, t, k]):g} for force {forces[f]!r}, period {periods[t]}, "
            f"outcome {str(ds[dims.OUTCOME].values[k])!r} is not a whole number"
        )
    for name in (dims.POPULATION, dims.AVAILABILITY_INDEX):
        vals = ds[name].values
        bad_cells = ~np.isfinite(vals) | ((vals <= 0) if name == dims.POPULATION else False)
        if bad_cells.any():
            f, t = np.argwhere(bad_cells)[0]
            rule = "positive" if name == dims.POPULATION else "present"
            value = "a missing value" if np.isnan(vals[f, t]) else f"{float(vals[f, t]):g}"
            raise DataError(
                f"{where}: {name} must be {rule} in every cell; force "
                f"{forces[f]!r}, period {periods[t]} has {value}"
            )
    return ds


def panel_hash(ds: xr.Dataset) -> str:
    """A content hash of the panel (values and coordinates), recorded as provenance of each fit."""
    h = hashlib.sha256()
    ds = periods_to_str(ds)
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        h.update(name.encode())
        h.update(repr(var.dims).encode())
        values = var.values
        data = values.astype(str) if values.dtype.kind in "OUS" else np.ascontiguousarray(values)
        h.update(data.tobytes())
    return h.hexdigest()[:16]


def save_panel(ds: xr.Dataset | xr.DataTree, path: Path, overwrite: bool = False) -> Path:
    """Write a panel (or a simulated DataTree) to NetCDF atomically; '.csv' writes the wide table."""
    path = Path(path)
    if path.suffix == ".csv":
        flat = ds["panel"].to_dataset() if isinstance(ds, xr.DataTree) else ds
        return write_atomic(
            path, lambda tmp: panel_to_frame(flat).to_csv(tmp, index=False), overwrite
        )
    disk = (
        ds.map_over_datasets(periods_to_str) if isinstance(ds, xr.DataTree) else periods_to_str(ds)
    )
    return write_atomic(path, lambda tmp: disk.to_netcdf(tmp, engine="h5netcdf"), overwrite)


def load_panel(path: Path) -> xr.Dataset:
    """Read and validate a panel from NetCDF (.nc) or a wide CSV table (.csv)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.suffix == ".csv":
        return panel_from_frame(_read_csv(path), where=str(path))
    try:
        with xr.open_datatree(path, engine="h5netcdf") as tree:
            node = (
                tree
                if dims.COUNT in tree.data_vars or "panel" not in tree.children
                else tree["panel"]
            )
            ds = node.to_dataset().load()
    except Exception as exc:  # h5py/netCDF raise many kinds
        raise DataError(
            f"{path}: not a readable NetCDF panel ({type(exc).__name__}); "
            "give a file written by `forecast simulate` or a .csv table"
        ) from exc
    return validate_panel(ds, where=str(path))


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        # only the official markers and empty cells are missing, not pandas' defaults ('n/a', 'NULL')
        frame = pd.read_csv(
            path,
            na_values=[*NOT_AVAILABLE, ""],
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable CSV table ({exc})") from exc
    if not isinstance(frame.index, pd.RangeIndex):  # pandas took the first column as an index
        raise DataError(
            f"{path}, row 2: more fields than the {len(frame.columns)} columns of the header: "
            "remove the extra field (a stray comma?)"
        )
    return frame.dropna(how="all")  # blank lines go, the index keeps each row's line number - 2


def panel_to_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Wide table, one row per force and quarter: force, period, population, index, one column per outcome."""
    ds = periods_to_str(ds)
    base = ds.drop_vars([dims.COUNT, dims.OUTCOME, dims.FORCE_CODE, dims.REGION], errors="ignore")
    frame = base.to_dataframe(dim_order=[dims.FORCE, dims.PERIOD]).reset_index()
    for k in ds[dims.OUTCOME].values:
        frame[str(k)] = ds[dims.COUNT].sel({dims.OUTCOME: k}).values.reshape(-1)
    return frame


def panel_from_frame(frame: pd.DataFrame, where: str = "table") -> xr.Dataset:
    """Build a validated panel from the wide table; errors name the row (file line) and column.

    The frame's index is taken as the data row number (0 = the line after the header), so a reader that
    drops blank lines keeps reporting the right line.
    """
    need, outcomes = _required_columns(frame, where)
    frame = _parse_cells(frame.copy(), where, outcomes)
    indexed, forces, periods = _force_quarter_grid(frame, where)
    shape = (len(forces), len(periods))
    skip = (*need, *outcomes, *_RESERVED)
    extra = _extra_columns(indexed, [c for c in frame.columns if c not in skip], shape, where)
    ds = make_panel(
        count=np.stack(
            [indexed[k].to_numpy(dtype=float).reshape(shape) for k in outcomes], axis=-1
        ),
        population=indexed[dims.POPULATION].to_numpy(dtype=float).reshape(shape),
        availability_index=indexed[dims.AVAILABILITY_INDEX].to_numpy(dtype=float).reshape(shape),
        forces=forces,
        periods=periods,
        outcomes=tuple(outcomes),
        extra=extra,
        attrs={"source": where},
    )
    return validate_panel(ds, where)


def _required_columns(frame: pd.DataFrame, where: str) -> tuple[list[str], list[str]]:
    """The columns every panel table needs and the outcome columns it has; refuses an empty table."""
    need = [*_ID_COLUMNS, dims.POPULATION, dims.AVAILABILITY_INDEX]
    absent = [c for c in need if c not in frame.columns]
    if absent:
        raise DataError(f"{where}: missing column(s) {', '.join(absent)}; expected at least {need}")
    outcomes = [c for c in dims.OUTCOMES if c in frame.columns]
    if not outcomes:
        raise DataError(
            f"{where}: no outcome column; expected one or more of {list(dims.OUTCOMES)}"
        )
    if frame.empty:
        raise DataError(f"{where}: the table has a header but no rows")
    return need, outcomes


def _parse_cells(frame: pd.DataFrame, where: str, outcomes: list[str]) -> pd.DataFrame:
    """Forces and quarters parsed, numbers checked (counts whole and >= 0); the first bad cell is
    refused by row and column."""

    def cell(i, col: str) -> str:
        return f"{where}, row {int(i) + 2}, column {col}"

    frame["force"] = [normalise_force(str(v), cell(i, "force")) for i, v in frame["force"].items()]
    frame["period"] = [parse_quarter(str(v), cell(i, "period")) for i, v in frame["period"].items()]
    for col in [dims.POPULATION, dims.AVAILABILITY_INDEX, *outcomes]:
        vals = pd.to_numeric(frame[col], errors="coerce")
        raw = frame[col]
        problems = [
            ("{v!r} is not a number", vals.isna() & raw.notna()),
            (
                f"missing value; every row needs a {col}",
                vals.isna() if col not in outcomes else None,
            ),
            (
                "negative count {v:g}; counts must be >= 0 (leave the cell empty if it is missing)",
                (vals < 0) if col in outcomes else None,
            ),
            (
                "{v:g} is not a whole number of offences",
                (vals.notna() & (vals != vals.round())) if col in outcomes else None,
            ),
        ]
        for template, bad in problems:
            if bad is not None and bad.any():
                i = bad.index[bad.to_numpy()][0]
                v = raw.at[i] if isinstance(raw.at[i], str) else float(vals.at[i])
                raise DataError(f"{cell(i, col)}: " + template.format(v=v))
        frame[col] = vals
    return frame


def _force_quarter_grid(
    frame: pd.DataFrame, where: str
) -> tuple[pd.DataFrame, list, pd.PeriodIndex]:
    """The rows on the full force x quarter grid; a repeated or a missing force-quarter is refused."""
    dup = frame.duplicated(list(_ID_COLUMNS))
    if dup.any():
        i = dup.index[dup.to_numpy()][0]
        raise DataError(f"{where}, row {int(i) + 2}: force and period repeat an earlier row")
    indexed = frame.set_index(list(_ID_COLUMNS))
    forces = list(pd.unique(frame["force"]))
    periods = pd.period_range(min(frame["period"]), max(frame["period"]), freq="Q")
    full = pd.MultiIndex.from_product([forces, periods])
    absent_rows = full.difference(indexed.index)
    if len(absent_rows):
        f, p = absent_rows[0]
        raise DataError(
            f"{where}: no row for force {f!r}, period {p}; every force needs every quarter "
            "(leave counts empty for a missing cell)"
        )
    return indexed.reindex(full), forces, periods


def _extra_columns(
    indexed: pd.DataFrame, columns: list[str], shape: tuple[int, int], where: str
) -> dict[str, xr.DataArray]:
    """Other numeric columns (indicators) as (force, period) arrays; non-numeric ones are ignored."""
    extra = {}
    for c in columns:
        values = pd.to_numeric(indexed[c], errors="coerce")
        if (values.isna() & indexed[c].notna()).any():
            log.info("%s: column %r is not numeric; ignored", where, c)
            continue
        extra[c] = xr.DataArray(values.to_numpy().reshape(shape), dims=(dims.FORCE, dims.PERIOD))
    return extra


def panel_long(ds: xr.Dataset) -> pd.DataFrame:
    """Tidy long table: force, force_code, region, period, series, value, unit, aggregation, source, vintage.

    National series appear as force 'England and Wales'; regional series as one row per region (its
    name in both `force` and `region`, no force code)."""
    ds = periods_to_str(ds)
    frames = []
    series = {
        str(k): ds[dims.COUNT].sel({dims.OUTCOME: k}, drop=True) for k in ds[dims.OUTCOME].values
    }
    series.update({str(n): da for n, da in ds.data_vars.items() if n != dims.COUNT})
    for name, da in series.items():
        attrs = (
            {**ds[dims.COUNT].attrs, **da.attrs} if name in ds[dims.OUTCOME].values else da.attrs
        )
        if da.dims == (dims.PERIOD,):  # a national series: one row per quarter
            da = da.expand_dims({dims.FORCE: [NATIONAL_LABEL]})
        elif dims.GOR in da.dims:  # a regional series: one row per region and quarter
            da = da.rename({dims.GOR: dims.FORCE})
        else:
            da = da.broadcast_like(ds[dims.POPULATION])
        frame = da.drop_vars([dims.FORCE_CODE, dims.REGION], errors="ignore").to_dataframe("value")
        frame = frame.reset_index()[[dims.FORCE, dims.PERIOD, "value"]]
        frame.insert(2, "series", name)
        for key in ("unit", "aggregation", "source", "vintage"):
            frame[key] = str(attrs.get(key, ds.attrs.get(key, "")))
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    codes = dict(zip(ds[dims.FORCE].values, ds[dims.FORCE_CODE].values, strict=True))
    regions = dict(zip(ds[dims.FORCE].values, ds[dims.REGION].values, strict=True))
    codes[NATIONAL_LABEL], regions[NATIONAL_LABEL] = "K04000001", ""
    if dims.GOR in ds.dims:
        regions.update({str(r): str(r) for r in ds[dims.GOR].values})
        codes.update({str(r): "" for r in ds[dims.GOR].values})
    out.insert(1, dims.FORCE_CODE, out[dims.FORCE].map(codes))
    out.insert(2, dims.REGION, out[dims.FORCE].map(regions))
    return out
