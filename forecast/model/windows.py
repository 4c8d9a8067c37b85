"""Windowed observations without double counting, and the quarters each indicator sees.

A series published as overlapping windows (3-year pooled deaths every year, rolling years every
quarter) would enter the likelihood once per window, so one quarter's events would count up to
three or four times and the posterior would be too sharp. We keep, per series row (a force or a
group of forces), the latest window and then every earlier window that shares no quarter with one
already kept: each quarter is counted at most once.
"""

from __future__ import annotations

import numpy as np


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
