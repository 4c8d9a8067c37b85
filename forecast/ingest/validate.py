"""Checks a statistician can read in one table: coverage per variable, implausible dips and spikes, and
the known breaks of the break register (data/breaks.csv) that fall inside the panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.areas import NATIONAL
from forecast.core.resources import shipped_dir

JUMP_RATIO = 0.5  # a cell below half (or above twice) the median of its 4 neighbours is flagged
SOFT_RATIO, Z_LARGE = 0.75, 8.0  # the rule for large counts (Poisson z against the median)
MIN_LEVEL = 20  # only series with neighbours' median at least this many offences are checked


def _series(panel: xr.Dataset) -> dict[str, xr.DataArray]:
    """Every count series of the panel as (force, period): outcomes, force indicators, national
    series as one pseudo-force row 'England and Wales', regional series as one row per region."""
    out = {str(k): panel[dims.COUNT].sel({dims.OUTCOME: k}) for k in panel[dims.OUTCOME].values}
    for name, da in panel.data_vars.items():
        if name in (dims.POPULATION, dims.AVAILABILITY_INDEX):
            continue
        if set(da.dims) == {dims.FORCE, dims.PERIOD}:
            out[str(name)] = da.drop_vars([dims.FORCE_CODE, dims.REGION], errors="ignore")
        elif da.dims == (dims.PERIOD,):
            out[str(name)] = da.expand_dims({dims.FORCE: [NATIONAL]})
        elif set(da.dims) == {dims.GOR, dims.PERIOD}:
            out[str(name)] = da.rename({dims.GOR: dims.FORCE})
    return out


def coverage_table(panel: xr.Dataset) -> pd.DataFrame:
    """Per series: observed and missing cells, forces with a gap, first and last observed quarter.

    Annual and rolling series are published only in some quarters; a cell counts as missing when other
    forces have a value in that quarter.
    """
    rows = []
    periods = panel.indexes[dims.PERIOD]
    for name, da in _series(panel).items():
        obs = np.isfinite(da.transpose(dims.FORCE, dims.PERIOD).values)
        published = obs.any(axis=0)
        gaps = ~obs & published[None, :]
        seen = np.flatnonzero(published)
        rows.append(
            {
                "series": name,
                "aggregation": str(da.attrs.get("aggregation", "quarter sum")),
                "observed": int(obs.sum()),
                "missing": int(gaps.sum()),
                "forces_with_gaps": int(gaps.any(axis=1).sum()),
                "first": str(periods[seen[0]]) if seen.size else "",
                "last": str(periods[seen[-1]]) if seen.size else "",
            }
        )
    return pd.DataFrame(rows)


def _implausible(value: float, ref: float) -> bool:
    """Far from the neighbours' median: outside half to double it, or (for large counts, where a
    third off is many standard errors) outside three-quarters to four-thirds with |z| > Z_LARGE."""
    ratio = value / ref
    if not JUMP_RATIO <= ratio <= 1 / JUMP_RATIO:
        return True
    z = (value - ref) / np.sqrt(ref)
    return not SOFT_RATIO <= ratio <= 1 / SOFT_RATIO and abs(z) > Z_LARGE


def check_panel(panel: xr.Dataset) -> pd.DataFrame:
    """Flags: implausible dips/spikes against the 4 neighbouring quarters, and known breaks in range."""
    periods = panel.indexes[dims.PERIOD]
    forces = [str(f) for f in panel[dims.FORCE].values]
    rows = []
    for name, da in _series(panel).items():
        x = da.transpose(dims.FORCE, dims.PERIOD).values
        labels = [str(v) for v in da[dims.FORCE].values]
        for f in range(x.shape[0]):
            for t in range(x.shape[1]):
                near = np.r_[x[f, max(t - 2, 0) : t], x[f, t + 1 : t + 3]]
                near = near[np.isfinite(near)]
                if not np.isfinite(x[f, t]) or near.size < 2:
                    continue
                ref = float(np.median(near))
                if ref >= MIN_LEVEL and _implausible(float(x[f, t]), ref):
                    rows.append(
                        {
                            "check": "implausible jump",
                            "series": name,
                            "force": labels[f],
                            "period": str(periods[t]),
                            "value": float(x[f, t]),
                            "ratio": float(x[f, t]) / ref,
                            "detail": f"neighbours' median {ref:g}",
                        }
                    )
    now = pd.Period(pd.Timestamp.now(), freq="Q")
    future = [p for p in periods if p > now]
    if future:
        rows.append(
            {
                "check": "period in the future",
                "series": "all",
                "force": "all",
                "period": f"{future[0]}-{future[-1]}",
                "value": np.nan,
                "detail": f"the panel runs past the current quarter {now}",
            }
        )
    breaks = pd.read_csv(shipped_dir("data") / "breaks.csv", dtype=str, keep_default_na=False)
    first, last = periods[0], periods[-1]
    for b in breaks.itertuples(index=False):
        start = pd.Period(b.start, freq="Q") if b.start else first
        end = pd.Period(b.end, freq="Q") if b.end else last
        if end < first or start > last or (b.force != "all" and b.force not in forces):
            continue
        rows.append(
            {
                "check": f"known break: {b.kind}",
                "series": b.series,
                "force": b.force,
                "period": f"{max(start, first)}-{min(end, last)}",
                "value": np.nan,
                "detail": b.reason,
            }
        )
    columns = ["check", "series", "force", "period", "value", "ratio", "detail"]
    return pd.DataFrame(rows, columns=columns)


def coverage_matrices(panel: xr.Dataset) -> dict[str, pd.DataFrame]:
    """Per series, a force x quarter table of 1 (observed) and 0 (missing)."""
    periods = [str(p) for p in panel.indexes[dims.PERIOD]]
    return {
        name: pd.DataFrame(
            np.isfinite(da.transpose(dims.FORCE, dims.PERIOD).values).astype(int),
            index=[str(f) for f in da[dims.FORCE].values],
            columns=periods,
        )
        for name, da in _series(panel).items()
    }


def by_year(matrix: pd.DataFrame) -> pd.DataFrame:
    """Observed quarters per force and calendar year (0-4), for a readable text view."""
    years = [c[:4] for c in matrix.columns]
    return matrix.T.groupby(years).sum().T
