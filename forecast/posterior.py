"""Posterior summaries of named parameters (effects with intervals), as tidy tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims

EFFECT = "availability_effect_per_sd"


def effects_table(
    tree: xr.DataTree, prob: float = 0.90, truth: xr.Dataset | None = None
) -> pd.DataFrame:
    """Availability effect per outcome: mean, sd, central `prob` interval, P(effect > 0).

    Effects are on the log-rate scale per standard deviation of availability's within-force variation
    over the panel (computed per draw, so they do not depend on the scale convention of the index or
    of latent availability); exp(effect) is the rate ratio. Fits made before that variable existed
    report the effect per unit of the index. With `truth` (a simulator's ``/truth`` group), adds the
    true value and whether it is covered.
    """
    post = tree["posterior"]
    if EFFECT not in post and "availability_beta" not in post:  # no availability link
        return pd.DataFrame(
            columns=["outcome", "mean", "sd", "q5", "q95", "p_positive", "rate_ratio"]
        )
    name = EFFECT if EFFECT in post else "availability_beta"
    beta = post[name]
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
            t = float(truth[name].sel({dims.OUTCOME: k}))
            row.update(truth=t, covered=bool(lo <= t <= hi))
        rows.append(row)
    return pd.DataFrame(rows)


def measurement_table(tree: xr.DataTree, prob: float = 0.90) -> pd.DataFrame:
    """The latent model's measurement terms: each indicator's loading on availability, each
    enforcement series' coefficient (log rate of the indicators it acts on, per sd of within-force
    effort) and the persistence and innovation sd of an indicator's own force deviations, with
    central `prob` intervals; empty for models without latent availability."""
    post = tree["posterior"]
    lo_p, hi_p = (1 - prob) / 2, 1 - (1 - prob) / 2
    cols = ["term", "name", "mean", "sd", f"q{100 * lo_p:g}", f"q{100 * hi_p:g}"]
    terms = [("loading", str(v).removeprefix("loading__"), post[v]) for v in post.data_vars]
    terms = [t for t in terms if t[1] != t[2].name]
    if "enforcement_effect" in post:
        e = post["enforcement_effect"]
        terms += [("enforcement", str(k), e.sel(enforcement=k)) for k in e["enforcement"].values]
    own = [str(v) for v in post.data_vars if str(v).startswith("own__")]
    for part, term in (("_rho", "own_persistence"), ("_sigma", "own_sd")):  # own force deviations
        terms += [(term, v[5:].removesuffix(part), post[v]) for v in own if v.endswith(part)]
    rows = []
    for term, name, da in terms:
        x = da.values.reshape(-1)
        lo, hi = np.quantile(x, [lo_p, hi_p])
        rows.append([term, name, x.mean(), x.std(ddof=1), lo, hi])
    return pd.DataFrame(rows, columns=cols)
