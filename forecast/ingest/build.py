"""Assemble the canonical force x quarter panel from the readers' long tables, driven by a manifest.

A manifest is a small TOML file listing the sources (paths relative to the manifest), so a quarterly
update is one command: ``forecast data ingest MANIFEST --out panel.nc``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.errors import DataError, ForecastWarning
from forecast.core.forces import force_register
from forecast.core.resources import shipped_dir
from forecast.core.tomltext import read_toml
from forecast.ingest import annual, national, ons_xlsx, regional
from forecast.ingest.events import PANEL_ATTR as EVENTS_ATTR
from forecast.ingest.events import register_attr
from forecast.ingest.ho_prc import read_ho_prc, read_ho_prc_groups
from forecast.ingest.manifest_paths import resolve_source, source_glob
from forecast.ingest.mapping import offence_map
from forecast.ingest.panel import make_panel, validate_panel
from forecast.ingest.population import quarterly_population, read_ons_midyear

ANNUAL_READERS = {
    **{kind: partial(annual.read_series_table, table=t) for kind, t in annual.TABLES.items()},
    "ons_p1_xlsx": ons_xlsx.read_ons_p1_xlsx,
}
NATIONAL_READERS = {
    "border_force_seizures": national.read_border_force,
    "ons_homicide_by_method": national.read_homicide_by_method,
}
REGIONAL_READERS = {
    "nhs_hes_x99_region": regional.read_hes_x99,
}
QUARTERLY_READERS = {
    "ho_prc_offence_codes": read_ho_prc,
    "ho_prc_offence_groups": read_ho_prc_groups,
}
READERS = (
    *QUARTERLY_READERS,
    "ons_population_midyear",
    *ANNUAL_READERS,
    *NATIONAL_READERS,
    *REGIONAL_READERS,
)
REQUIRED_KINDS = ("ho_prc_offence_codes", "ons_population_midyear")
INDEX_INDICATORS = ("trafficking", "possession_excl_cannabis")


@dataclass
class IngestResult:
    """The panel and what the ingest noticed (reclassification adjustments, filled index cells...)."""

    panel: xr.Dataset
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # one line each, naming the cell


def read_manifest(path: Path) -> dict:
    """Parse and check a manifest: vintage, and [[source]] tables with kind and path."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such manifest file")
    data = read_toml(path, DataError)
    unknown = set(data) - {"vintage", "description", "source"}
    if unknown:
        raise DataError(
            f"{path}: unknown key(s) {sorted(unknown)}; a manifest has vintage and [[source]]"
        )
    sources = []
    for i, src in enumerate(data.get("source", []), start=1):
        if src.get("kind") not in READERS:
            raise DataError(
                f"{path}: source {i} has kind {src.get('kind')!r}; known kinds are {list(READERS)}"
            )
        pattern = str(src.get("path", ""))
        if "*" in pattern:  # a glob, e.g. every edition of a table: original_xlsx/*.xlsx
            files = source_glob(path, i, src["kind"], pattern)
            if not files:
                raise DataError(
                    f"{path}: source {i} ({src['kind']}) pattern {pattern!r} matches no file"
                )
            sources += [{**src, "path": f} for f in files]
            continue
        src["path"] = resolve_source(path, i, src["kind"], path.parent / pattern)
        if not src["path"].exists():
            raise DataError(f"{path}: source {i} ({src['kind']}) file {src['path']} does not exist")
        sources.append(src)
    kinds = [s["kind"] for s in sources]
    for needed in REQUIRED_KINDS:
        if needed not in kinds:
            raise DataError(f"{path}: no [[source]] of kind {needed!r}; the panel needs one")
    return {"vintage": str(data.get("vintage", "")), "sources": sources}


def ingest(manifest: Path) -> IngestResult:
    """Read every source in the manifest and build the validated panel.

    The readers' ForecastWarnings (a reclassification adjustment, an interpolated population year) are
    collected in `warnings`, one line each; any other warning is passed on untouched.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ForecastWarning)
        result = _ingest(manifest)
    for w in caught:
        if issubclass(w.category, ForecastWarning):
            result.warnings.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def _ingest(manifest: Path) -> IngestResult:
    spec = read_manifest(manifest)
    counts, notes, midyear, used, others, nationals, regionals, meta = (
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        {},
    )
    for src in spec["sources"]:
        if src["kind"] in QUARTERLY_READERS:
            long, n = QUARTERLY_READERS[src["kind"]](src["path"])
            counts.append((src["path"].name, long))
            notes += n
        elif src["kind"] == "ons_population_midyear":
            midyear.append(read_ons_midyear(src["path"]))
        elif src["kind"] in REGIONAL_READERS:
            long, m, n = REGIONAL_READERS[src["kind"]](src["path"])
            regionals.append(long)
            notes += n
            _merge_meta(meta, m)
        elif src["kind"] in NATIONAL_READERS:
            long, m = NATIONAL_READERS[src["kind"]](src["path"])
            nationals.append(long)
            _merge_meta(meta, m)
        else:
            long, m = ANNUAL_READERS[src["kind"]](src["path"])
            others.append(long)
            _merge_meta(meta, m)
        used.append(f"{src['kind']}: {src['path'].name}")
    result = build_panel(
        *_combine_vintages(counts, notes), pd.concat(midyear), spec["vintage"], used, notes
    )
    if others:
        _add_window_series(result, pd.concat(others), meta, spec["vintage"])
    if nationals:
        _add_area_series(result, pd.concat(nationals), meta, spec["vintage"])
    if regionals:
        _add_area_series(result, pd.concat(regionals), meta, spec["vintage"])
    # the break register travels with the panel, so a fit can give its breaks step effects
    register = pd.read_csv(shipped_dir("data") / "breaks.csv", dtype=str, keep_default_na=False)
    result.panel.attrs["breaks"] = json.dumps(register.to_dict(orient="records"))
    result.panel.attrs["break_register"] = "data/breaks.csv"
    result.panel.attrs[EVENTS_ATTR] = register_attr()  # exceptional events, out of the likelihood
    return result


def _add_area_series(result: IngestResult, long: pd.DataFrame, meta: dict, vintage: str) -> None:
    """National series as period-only variables, regional ones as (gor, period) variables (a `gor`
    column in `long`); the first source wins for a repeated cell."""
    panel = result.panel
    periods = panel.indexes[dims.PERIOD]
    by_region = dims.GOR in long.columns
    key = [dims.GOR] if by_region else []
    inside = long[long["period"].isin(set(periods))].dropna(subset=["value"])
    inside = inside.drop_duplicates([*key, "period", "series"], keep="first")
    dropped = long["period"].isin(set(periods)).eq(False).groupby(long["series"]).sum()
    for series, n in dropped.items():
        if n:
            result.notes.append(
                f"{series}: {n} values end outside {periods[0]}-{periods[-1]}; not in the panel"
            )
    for series, part in inside.groupby("series"):
        attrs = {**meta[series], "vintage": vintage}
        if by_region:
            grid = part.set_index([dims.GOR, "period"])["value"].unstack("period")
            grid = grid.reindex(columns=periods)
            panel[series] = xr.DataArray(
                grid.to_numpy(dtype=float),
                dims=(dims.GOR, dims.PERIOD),
                coords={dims.GOR: [str(r) for r in grid.index]},
                attrs=attrs,
            )
        else:
            values = part.set_index("period")["value"].reindex(periods)
            panel[series] = xr.DataArray(
                values.to_numpy(dtype=float), dims=(dims.PERIOD,), attrs=attrs
            )


def _merge_meta(meta: dict, new: dict) -> None:
    """Keep the first reader's attributes per series; list every source file that supplied it."""
    for series, attrs in new.items():
        if series not in meta:
            meta[series] = dict(attrs)
        elif attrs["source"] not in meta[series]["source"].split("; "):
            meta[series]["source"] += "; " + attrs["source"]


def _combine_vintages(
    counts: list[tuple[str, pd.DataFrame]], notes: list[str]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """One rule for overlapping quarterly sources: the first listed in the manifest wins; a later one
    only fills force-quarters the first lacks, inside the first's quarter range. Differences on the
    overlap are reported (median ratio, share within 2%, the largest)."""
    (first_name, first), *rest = counts
    lo, hi = min(first["period"]), max(first["period"])
    key = ["force", "period", "series"]
    combined = first.set_index(key)["count"]
    origin = dict.fromkeys(first["series"].unique(), first_name)
    for name, other in rest:
        within = (other["period"] >= lo) & (other["period"] <= hi)
        if (~within).any():
            notes.append(
                f"{name}: {int((~within).sum())} values outside {first_name}'s quarters {lo}-{hi} "
                "are not in the panel"
            )
        other = other[within].set_index(key)["count"]
        both = pd.concat([combined, other], axis=1, keys=["first", "other"], join="inner").dropna()
        both = both[both["first"] > 0]
        if len(both):
            ratio = both["other"] / both["first"]
            top = (both["other"] - both["first"]).abs().nlargest(3).index
            largest = ", ".join(
                f"{s} {f} {p} {both.at[(f, p, s), 'first']:g} vs {both.at[(f, p, s), 'other']:g}"
                for f, p, s in top
            )
            notes.append(
                f"vintages: {name} vs {first_name} on {len(both)} shared cells: median ratio "
                f"{ratio.median():.3f}, {100 * ((ratio - 1).abs() <= 0.02).mean():.0f}% within 2%; "
                f"largest differences: {largest}; {first_name} is used"
            )
        known = set(combined.index.get_level_values("series"))
        fill = other[~other.index.isin(combined.dropna().index)].dropna()
        shared = fill.index.get_level_values("series").isin(known)
        if shared.any():
            notes.append(
                f"vintages: {int(shared.sum())} cells missing from {first_name} filled from {name}"
            )
        added = sorted(set(fill.index.get_level_values("series")) - known)
        if added:
            notes.append(f"{name} adds series {', '.join(added)}")
            origin.update(dict.fromkeys(added, name))
        combined = pd.concat([combined.dropna(), fill])
        combined = combined[~combined.index.duplicated()]
    return combined.rename("count").reset_index(), origin


def _add_window_series(result: IngestResult, long: pd.DataFrame, meta: dict, vintage: str) -> None:
    """Put annual/rolling series on the panel's quarter grid at their end quarter (others dropped)."""
    panel = result.panel
    periods = panel.indexes[dims.PERIOD]
    forces = [str(f) for f in panel[dims.FORCE].values]
    inside = long["period"].isin(set(periods))
    for series, part in long[~inside].groupby("series"):
        result.notes.append(
            f"{series}: {len(part)} values end outside {periods[0]}-{periods[-1]}; not in the panel"
        )
    key = ["force", "period", "series"]
    # the same cell from two sources (two editions, or a CSV and its xlsx): the first listed wins
    cells = long[inside].dropna(subset=["count"]).drop_duplicates(key, keep="first")
    grid = cells.set_index(key)["count"].unstack("series")
    grid = grid.reindex(pd.MultiIndex.from_product([forces, periods]))
    for series in grid.columns:
        values = grid[series].to_numpy(dtype=float).reshape(len(forces), len(periods))
        panel[series] = xr.DataArray(
            values, dims=(dims.FORCE, dims.PERIOD), attrs={**meta[series], "vintage": vintage}
        )


def build_panel(
    long: pd.DataFrame,
    origin: dict[str, str],
    midyear: pd.DataFrame,
    vintage: str,
    sources: list[str],
    notes: list[str],
) -> IngestResult:
    """Canonical panel from long counts (force, period, series, count) and mid-year populations."""
    register = list(force_register()["force"])
    forces = [f for f in register if f in set(long["force"])]
    periods = pd.period_range(min(long["period"]), max(long["period"]), freq="Q")
    wide = long.groupby(["force", "period", "series"])["count"].sum(min_count=1).unstack("series")
    wide = wide.reindex(pd.MultiIndex.from_product([forces, periods], names=["force", "period"]))
    shape = (len(forces), len(periods))

    def grid(series: str) -> np.ndarray:
        if series not in wide.columns:
            return np.full(shape, np.nan)
        return wide[series].to_numpy(dtype=float).reshape(shape)

    population = quarterly_population(midyear, forces, periods)
    last_mid = pd.Period(year=int(midyear["year"].max()), quarter=2, freq="Q")
    if periods[-1] > last_mid + 1:
        notes.append(
            f"population: quarters after mid-{last_mid.year} ({last_mid + 2}-{periods[-1]}) are "
            "extrapolated at each force's last annual growth rate"
        )
    roles = offence_map().drop_duplicates("series").set_index("series")["role"]
    outcomes = [
        k
        for k in dims.OUTCOMES
        if k in roles.index and roles[k] == "outcome" and np.isfinite(grid(k)).any()
    ]
    index, filled = _interim_index({s: grid(s) for s in INDEX_INDICATORS}, population)
    if filled:
        notes.append(
            f"availability_index: {filled} force-quarters had neither indicator; the force's "
            "previous quarter is carried forward (the next one back for leading gaps)"
        )
    fp = (dims.FORCE, dims.PERIOD)
    extra = {
        s: xr.DataArray(
            grid(s), dims=fp, attrs=_attrs("offences per quarter", [origin.get(s, "")], vintage)
        )
        for s in roles.index
        if roles[s] == "indicator"
    }
    panel = make_panel(
        count=np.stack([grid(k) for k in outcomes], axis=-1),
        population=population,
        availability_index=index,
        forces=forces,
        periods=periods,
        outcomes=tuple(outcomes),
        extra=extra,
        attrs={"source": "; ".join(sources), "vintage": vintage},
    )
    panel[dims.COUNT].attrs.update(
        _attrs("offences per quarter", sorted({origin.get(k, "") for k in outcomes}), vintage)
    )
    panel[dims.POPULATION].attrs.update(
        aggregation="mid-year estimates, log-linear interpolation to quarter midpoints",
        frequency="quarter",
        geography="force",
        vintage=vintage,
    )
    panel[dims.AVAILABILITY_INDEX].attrs.update(
        description="interim composite: mean of the standardised log rates per 10,000 of "
        "trafficking (92A) and possession excluding cannabis (92D) offences; enforcement-contaminated",
        frequency="quarter",
        geography="force",
        vintage=vintage,
    )
    return IngestResult(validate_panel(panel, "ingested panel"), notes)


def _attrs(unit: str, sources: list[str], vintage: str) -> dict:
    return {
        "unit": unit,
        "frequency": "quarter",
        "aggregation": "quarter sum",
        "geography": "force",
        "source": "; ".join(sources),
        "vintage": vintage,
    }


def _interim_index(
    indicators: dict[str, np.ndarray], population: np.ndarray
) -> tuple[np.ndarray, int]:
    """Mean of standardised log rates of the indicators; gaps carried forward (then back)."""
    zs = []
    # an indicator a table lacks (e.g. no 92D) is all-NaN: its mean is NaN without numpy's warning
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for counts in indicators.values():
            rate = np.log((counts + 0.5) / population * 1e4)
            zs.append((rate - np.nanmean(rate)) / np.nanstd(rate))
        index = np.nanmean(np.stack(zs), axis=0) if zs else np.full(population.shape, np.nan)
    missing = ~np.isfinite(index)
    filled = int(missing.sum())
    if filled:
        index = pd.DataFrame(index).T.ffill().bfill().T.to_numpy()
    if not np.isfinite(index).all():
        raise DataError(
            "availability_index: a force has no trafficking or possession counts at all"
        )
    return (index - index.mean()) / index.std(), filled
