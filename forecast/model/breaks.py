"""The break register applied to a panel: force recording-break steps, masked cells ('missing' rows)
and national shock quarters (all-force 'shock' rows), in modelled-quarter indices."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core.errors import SpecError
from forecast.core.resources import shipped_dir
from forecast.spec import ModelSpec

STEP_KINDS = ("recording", "undercount")


@dataclass(frozen=True)
class Shock:
    """A national shock (all forces): its own effect on outcome(s) `outcomes` in modelled quarter `t`."""

    label: str  # the quarter, e.g. "2020Q2"
    t: int
    outcomes: list[int]


@dataclass(frozen=True)
class Step:
    """A recording break: a step on the log rate of outcome(s) `outcomes` of force `force` over
    the modelled quarters where `active` is true."""

    label: str
    force: int
    outcomes: list[int]
    active: np.ndarray  # (period,) bool


def break_register(panel: xr.Dataset, spec: ModelSpec) -> pd.DataFrame:
    """The break register the fit uses: the spec's file if given, else the panel's own (attribute
    ``breaks``, JSON rows written by ingest or the simulator); empty when breaks are disabled."""
    cols = ["force", "series", "start", "end", "kind", "reason"]
    if not spec.breaks.enabled:
        return pd.DataFrame(columns=cols)
    if spec.breaks.file:
        path = Path(spec.breaks.file)
        if not path.exists():
            path = shipped_dir("data") / spec.breaks.file
        if not path.exists():
            raise SpecError(f"breaks.file {spec.breaks.file!r}: no such file")
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        table = pd.DataFrame(json.loads(panel.attrs.get("breaks", "[]")), dtype=str)
    for c in cols:
        if c not in table:
            table[c] = ""
    return table[cols].fillna("")


def read_breaks(panel, spec, forces, outcomes, periods, notes):
    """Steps for force-specific recording breaks; cells to mask for 'missing' rows; national shock
    quarters for all-force 'shock' rows (for the spec's `shock_outcomes` only, when it names them)."""
    table = break_register(panel, spec)
    steps, masked = [], []
    shocks: dict[int, set[int]] = {}
    only = spec.breaks.shock_outcomes
    shocked = outcomes if only is None else only  # None: every outcome the row names
    for b in table.itertuples(index=False):
        if b.force == "all" and b.kind == "shock":
            ks = [j for j, k in enumerate(outcomes) if b.series in ("all", k) and k in shocked]
            if not b.end:
                notes.append(f"shock {b.series} from {b.start}: no end; left to trend")
                continue
            start = pd.Period(b.start, freq="Q") if b.start else periods[0]
            end = pd.Period(b.end, freq="Q")
            hit = [t for t, p in enumerate(periods) if start <= p <= end]
            for t in hit:
                shocks.setdefault(t, set()).update(ks)
            if hit and ks:
                notes.append(f"shock {b.series} {start}-{end}: a national effect per quarter")
            continue
        if b.force == "all" or b.force not in forces:
            if b.force == "all" and b.kind in STEP_KINDS:
                notes.append(
                    f"break {b.series} from {b.start or 'start'}: all forces; left to trend"
                )
            continue
        ks = [outcomes.index(k) for k in outcomes if b.series in ("all", k)]
        if not ks:
            continue
        start = pd.Period(b.start, freq="Q") if b.start else periods[0]
        end = pd.Period(b.end, freq="Q") if b.end else periods[-1]
        active = np.array([start <= p <= end for p in periods])
        if not active.any():
            continue
        f = forces.index(b.force)
        if b.kind == "missing":
            masked += [(f, k, t) for k in ks for t in np.flatnonzero(active)]
        elif b.kind in STEP_KINDS:
            if active.all():
                notes.append(f"break {b.force} {b.series}: covers every quarter; not separable")
                continue
            steps.append(Step(f"{b.force}: {b.series} {start}-{end}", f, ks, active))
    national = [Shock(str(periods[t]), t, sorted(ks)) for t, ks in sorted(shocks.items()) if ks]
    return steps, masked, national
