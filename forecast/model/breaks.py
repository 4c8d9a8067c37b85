"""The break register applied to a panel: force recording-break steps, masked cells ('missing' rows)
and national shock quarters (all-force 'shock' rows), in modelled-quarter indices, and the shocks'
terms of a forecast."""

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


def shock_terms(
    delta: np.ndarray,
    shocks: list,
    t_model: np.ndarray,
    n_hist: int,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """(sample, period, outcome, ...) shock effects at modelled-time indices `t_model`, from
    `delta` (sample, shock, outcome, ...): trailing dims (forces, with regional shocks) ride along.

    Each shock applies in its own quarter. When the data end inside a shock (the last modelled
    quarter is one, as a forecast made during a lockdown would be), the shock goes on over the
    forecast quarters: nothing in the data says when it ends, and dropping it would forecast an
    immediate return to the pre-shock level. Nor does anything say how deep the coming quarters of
    the window will be, so each forecast quarter of each draw takes the effect of one quarter of the
    window so far, drawn uniformly (`rng`; with a one-quarter window, that quarter's effect): the
    last quarter alone would carry a milder or deeper lockdown quarter forward as if certain.
    """
    out = np.zeros((delta.shape[0], t_model.size, *delta.shape[2:]))
    rest = (1,) * (delta.ndim - 3)
    for i, shock in enumerate(shocks):
        for k in shock.outcomes:
            out[:, t_model == shock.t, k] += delta[:, i, k, None]
    future = np.flatnonzero(t_model >= n_hist)
    rng = rng if rng is not None else np.random.default_rng(0)
    for k in range(delta.shape[2]):
        run = ongoing_shocks(shocks, k, n_hist)
        if run and future.size:
            pick = rng.integers(len(run), size=(delta.shape[0], future.size))
            past = delta[:, run, k]  # (sample, quarter of the window so far)
            out[:, future, k] = np.take_along_axis(past, pick.reshape(*pick.shape, *rest), axis=1)
    return out


def ongoing_shocks(shocks: list, k: int, n_hist: int) -> list[int]:
    """Indices (into `shocks`) of outcome `k`'s shock quarters in the unbroken run that ends at the
    last modelled quarter; empty when the data do not end inside a shock."""
    at = {s.t: i for i, s in enumerate(shocks) if k in s.outcomes}
    run, t = [], n_hist - 1
    while t in at:
        run.append(at[t])
        t -= 1
    return run[::-1]
