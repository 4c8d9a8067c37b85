"""Model comparison by PSIS-LOO (arviz) on the recorded counts, with the usual Pareto k warnings.

Only the outcome counts (the `count` likelihood) enter, so specs whose other likelihood terms differ
(a latent model's indicators, an index model's index dynamics) are compared on the same data. The
pointwise log-likelihood is computed from each fit's posterior with its own model, rebuilt from the
spec and panel stored in the fit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core.errors import ForecastError

VAR = "count"


def log_likelihood(tree: xr.DataTree) -> xr.DataTree:
    """The fit with a `log_likelihood` group holding the pointwise log-likelihood of the counts."""
    import pymc as pm

    from forecast.fit import fit_panel, fit_spec
    from forecast.model.build import build_model

    if "log_likelihood" in tree.children and VAR in tree["log_likelihood"]:
        return tree
    model, _ = build_model(fit_panel(tree), fit_spec(tree))
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ll = pm.compute_log_likelihood(
            tree, var_names=[VAR], progressbar=False, extend_inferencedata=False
        )
    out = tree.copy()
    if isinstance(ll, xr.DataTree):
        ll = (
            ll["log_likelihood"].to_dataset()
            if "log_likelihood" in ll.children
            else ll.to_dataset()
        )
    out["log_likelihood"] = xr.DataTree(ll)
    return out


def compare_fits(paths: list[Path]) -> tuple[pd.DataFrame, list[str]]:
    """ELPD-LOO of each fit (same panel required), ranked, with warnings for high Pareto k."""
    import arviz as az

    from forecast.fit import load_fit

    if len(paths) < 2:
        raise ForecastError("compare needs at least two fits")
    trees, hashes = {}, set()
    for p in paths:
        tree = load_fit(p)
        name = str(tree.attrs.get("spec_name", Path(p).parent.name))
        if name in trees:
            name = f"{name} ({p})"
        trees[name] = log_likelihood(tree)
        hashes.add(tree.attrs.get("panel_hash"))
    if len(hashes) > 1:
        raise ForecastError(
            "the fits were made on different panels: LOO compares fits of one panel"
        )
    notes = []
    rows = []
    for name, tree in trees.items():
        with warnings.catch_warnings():  # high Pareto k is reported below, once per fit
            warnings.simplefilter("ignore")
            loo = az.loo(tree, var_name=VAR, pointwise=True)
        k = np.asarray(loo.pareto_k).ravel()
        bad = int((k > 0.7).sum())
        if bad:
            notes.append(
                f"{name}: {bad} of {k.size} observations have Pareto k > 0.7; their LOO "
                "estimates are unreliable (consider K-fold or a backtest)"
            )
        rows.append(
            {
                "model": name,
                "elpd_loo": float(loo.elpd),
                "se": float(loo.se),
                "p_loo": float(loo.p),
                "pareto_k_over_0.7": bad,
            }
        )
    table = pd.DataFrame(rows).sort_values("elpd_loo", ascending=False, ignore_index=True)
    best = table["elpd_loo"].iloc[0]
    table["elpd_diff"] = table["elpd_loo"] - best
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cmp = az.compare(trees, var_name=VAR)
        table["dse"] = table["model"].map(cmp["dse"]).astype(float)
    except Exception as exc:
        notes.append(f"paired standard errors unavailable: {exc}")
    return table, notes
