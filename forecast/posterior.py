"""Posterior summaries of named parameters (effects with intervals), as tidy tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast import dims


def effects_table(
    tree: xr.DataTree, prob: float = 0.90, truth: xr.Dataset | None = None
) -> pd.DataFrame:
    """Availability effect per outcome: mean, sd, central `prob` interval, P(effect > 0).

    Effects are on the log-rate scale per unit of the index; exp(effect) is the rate ratio.
    With `truth` (a simulator's ``/truth`` group), adds the true value and whether it is covered.
    """
    beta = tree["posterior"]["availability_beta"]
    lo_p, hi_p = (1 - prob) / 2, 1 - (1 - prob) / 2
    rows = []
    for k in beta[dims.OUTCOME].values:
        x = beta.sel({dims.OUTCOME: k}).values.reshape(-1)
        lo, hi = np.quantile(x, [lo_p, hi_p])
        row = {
            "outcome": str(k),
            "mean": x.mean(),
            "sd": x.std(ddof=1),
            f"q{100 * lo_p:g}": lo,
            f"q{100 * hi_p:g}": hi,
            "p_positive": (x > 0).mean(),
            "rate_ratio": float(np.exp(x.mean())),
        }
        if truth is not None:
            t = float(truth["availability_beta"].sel({dims.OUTCOME: k}))
            row.update(truth=t, covered=bool(lo <= t <= hi))
        rows.append(row)
    return pd.DataFrame(rows)
