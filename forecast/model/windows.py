"""Windowed observations (cells summing quarters, outcomes known as sums) without double counting,
and the quarters each indicator sees.

A series published as overlapping windows (3-year pooled deaths every year, rolling years every
quarter) would enter the likelihood once per window, so one quarter's events would count up to
three or four times and the posterior would be too sharp. We keep, per series row (a force or a
group of forces), the latest window and then every earlier window that shares no quarter with one
already kept: each quarter is counted at most once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from forecast.core import dims
from forecast.core.errors import DataError, SpecError
from forecast.model.variables import are_counts, need, window_of


@dataclass(frozen=True)
class Cells:
    """Observed cells of a series through an observation operator: cell i sums the quarters
    ``t_idx[i]`` (panel-time indices) of the forces in ``members[i]`` (weights; one-hot for a force)."""

    y: np.ndarray  # (n,)
    t_idx: np.ndarray  # (n, window)
    f_idx: np.ndarray | None  # (n,) when every cell is one force, else None
    members: np.ndarray | None  # (n, force) weights when cells cover several forces

    @property
    def window(self) -> int:
        return int(self.t_idx.shape[1])


@dataclass(frozen=True)
class WindowedOutcome:
    """An outcome observed as sums over several quarters (rolling year, financial year, pooled)."""

    name: str
    outcome: int
    cells: Cells  # t_idx in modelled-period indices


def non_overlapping(rows: np.ndarray, ends: np.ndarray, window: int) -> np.ndarray:
    """Boolean mask over cells (row `rows[i]`, window ending at quarter `ends[i]`) keeping, per row,
    the latest window and each earlier one that does not overlap a kept window."""
    keep = np.zeros(rows.size, bool)
    if window <= 1:
        keep[:] = True
        return keep
    order = np.lexsort((-ends, rows))  # by row, latest window first
    last_row, next_free = None, 0
    for i in order:
        if rows[i] != last_row:
            last_row, next_free = rows[i], np.iinfo(np.int64).max
        if ends[i] < next_free:  # window [end - window + 1, end] lies before every kept one
            keep[i] = True
            next_free = ends[i] - window + 1
    return keep


def centring_weights(t_idx: np.ndarray, weight_rows: np.ndarray, n_t: int) -> np.ndarray:
    """(force, quarter) weights averaging each force's quarters that the series observes.

    `t_idx` (cell, window) are the quarters of each cell and `weight_rows` (cell, force) > 0 where a
    force is in the cell. A force the series never observes gets a row of zeros. Subtracting
    ``(weights * A).sum(-1)`` from A inside the series' likelihood leaves the series' force levels
    the only carriers of its level, so level, loading and force levels do not trade off when the
    series covers a shorter span than the panel.
    """
    seen = np.zeros((weight_rows.shape[1], n_t), bool)
    for cell, quarters in enumerate(t_idx):
        forces = np.flatnonzero(weight_rows[cell] > 0)
        seen[np.ix_(forces, quarters)] = True
    counts = seen.sum(axis=1, keepdims=True)
    return np.where(seen, 1.0 / np.maximum(counts, 1), 0.0)


def windowed_outcome(
    panel: xr.Dataset, obs, k: int, forces: list[str], n_pre: int, notes: list[str]
) -> WindowedOutcome:
    """An outcome's rolling-year / financial-year / pooled sums as windows over modelled quarters."""
    da = need(panel, obs.variable, "observations")
    if set(da.dims) != {dims.FORCE, dims.PERIOD}:
        raise SpecError(f"observations variable {obs.variable!r} must have dims (force, period)")
    w = window_of(panel, obs.variable, obs.window)
    values = da.transpose(dims.FORCE, dims.PERIOD).values.astype(float)
    f_i, t_i = np.nonzero(np.isfinite(values))
    start = t_i - (w - 1) - n_pre  # first modelled quarter of each window
    keep = start >= 0
    if (~keep).any():
        notes.append(
            f"{obs.variable}: {int((~keep).sum())} values whose window starts before the first "
            "modelled quarter are not used"
        )
    apart = non_overlapping(f_i, t_i, w)
    if (keep & ~apart).any():
        notes.append(
            f"{obs.variable}: {int((keep & ~apart).sum())} overlapping windows left out "
            "(each quarter counts once)"
        )
    keep &= apart
    f_i, t_i = f_i[keep], t_i[keep] - n_pre
    y = values[f_i, t_i + n_pre]
    if not are_counts(y):
        raise DataError(f"observations variable {obs.variable!r} has negative or fractional counts")
    t_idx = t_i[:, None] - np.arange(w)[::-1][None, :]
    return WindowedOutcome(obs.variable, k, Cells(y, t_idx, f_i, None))
