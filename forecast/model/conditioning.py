"""History draws that honour window sums: quarters known only through a published window total
(financial-year knife, rolling years) are drawn so that they add up to it."""

from __future__ import annotations

import numpy as np

from forecast.model.data import ModelData


def condition_on_windows(
    count: np.ndarray, eta: np.ndarray, data: ModelData, rng: np.random.Generator
) -> np.ndarray:
    """History draws that add up to every recorded window sum (financial-year knife, rolling years):
    the window's quarters drawn multinomially given its total, in proportion to each draw's quarterly
    means; windows with a quarterly observation inside are left as drawn. `count` and `eta` are
    (sample, force, period, outcome); `count` is changed in place and returned."""
    observed = data.observed
    for w in data.windowed:
        if w.cells.f_idx is None:  # cells over several forces: no single force to split
            continue
        for y, f, quarters in zip(w.cells.y, w.cells.f_idx, w.cells.t_idx, strict=True):
            if observed[f, quarters, w.outcome].any():
                continue
            mu = np.exp(
                eta[:, f, quarters, w.outcome]
                - eta[:, f, quarters, w.outcome].max(axis=1, keepdims=True)
            )
            count[:, f, quarters, w.outcome] = rng.multinomial(
                int(y), mu / mu.sum(axis=1, keepdims=True)
            )
    return count
