"""Prior and posterior predictive checks, as tables and as gates.

Prior: do the spec's priors imply plausible rates per 100,000 (before any data)? Posterior: do counts
replicated from the fit look like the observed ones (interval coverage, Bayesian p-values of the total,
the spread and the share of zeros)?
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr

from forecast.core import dims
from forecast.core.areas import top_level_name
from forecast.model import build_model
from forecast.model.prior_draws import drawable_paths
from forecast.spec import ModelSpec

# plausible national rates per 100,000 population per quarter (England and Wales, 2002-2024 range,
# widened): homicide 0.2-0.4, robbery 20-60, knife 10-25 in the published series
PLAUSIBLE_RATE = {"homicide": (0.05, 2.0), "robbery": (3.0, 200.0), "knife": (2.0, 100.0)}
MIN_P, MIN_COVERAGE_90 = 0.01, 0.80  # posterior predictive gates


def _without_trend_levels(spec: ModelSpec) -> ModelSpec:
    """The same model with non-centred trend steps where the spec takes levels: a level walk's prior
    is a Potential, which prior predictive sampling ignores (it would draw the levels from their
    placeholder prior)."""

    def steps(v: str) -> str:
        return "non_centred" if v == "level" else v

    p = spec.trend.parameterisation
    p = {k: steps(v) for k, v in p.items()} if isinstance(p, dict) else steps(p)
    return spec.model_copy(update={"trend": spec.trend.model_copy(update={"parameterisation": p})})


def prior_predictive_rates(
    panel: xr.Dataset, spec: ModelSpec, draws: int = 200, seed: int = 1
) -> pd.DataFrame:
    """Per outcome: prior predictive national rate per 100,000 per quarter (5/50/95%) over the
    observed cells, the plausible range, the share of prior draws inside it, and the observed rate."""
    with drawable_paths():  # AR(1) path priors (A, force deviations) as distributions
        model, data = build_model(panel, _without_trend_levels(spec))
    with model:
        prior = pm.sample_prior_predictive(draws=draws, random_seed=seed, var_names=["count"])
    y = prior["prior_predictive"]["count"].values.reshape(draws, -1)  # (draw, observed cell)
    f_i, t_i, k_i = np.nonzero(data.observed)
    pop = np.exp(data.log_offset[f_i, t_i]) * 1e5
    rows = []
    for k, name in enumerate(data.outcomes):
        cells = k_i == k
        if not cells.any():
            continue
        per_quarter = pop[cells].sum() / len(np.unique(t_i[cells]))  # mean population x quarters
        n_q = len(np.unique(t_i[cells]))
        rate = y[:, cells].sum(axis=1) / n_q / per_quarter * 1e5
        lo, hi = PLAUSIBLE_RATE.get(name, (0.0, np.inf))
        observed = data.count[data.observed][cells].sum() / n_q / per_quarter * 1e5
        q5, q50, q95 = np.quantile(rate, [0.05, 0.5, 0.95])
        rows.append(
            {
                "outcome": name,
                "prior_q5": q5,
                "prior_median": q50,
                "prior_q95": q95,
                "plausible_low": lo,
                "plausible_high": hi,
                "share_plausible": float(((rate >= lo) & (rate <= hi)).mean()),
                "observed": observed,
            }
        )
    return pd.DataFrame(rows)


def prior_failures(table: pd.DataFrame, min_share: float = 0.5) -> list[str]:
    """Outcomes whose prior predictive national rate is plausible in less than `min_share` of draws."""
    return [
        f"{r.outcome}: prior rates per 100,000 plausible in {r.share_plausible:.0%} of draws "
        f"(median {r.prior_median:.3g}; plausible {r.plausible_low:g}-{r.plausible_high:g})"
        for r in table.itertuples(index=False)
        if r.share_plausible < min_share
    ]


def posterior_predictive_table(pred: xr.Dataset) -> pd.DataFrame:
    """Per outcome, from the history (horizon 0) of `forecast.predict.predict`: share of observed cells inside
    their 90% predictive interval, and Bayesian p-values P(T_rep >= T_obs) for the total count, the
    sd of log(1 + count) over cells (spread) and the share of zero cells."""
    hist = _history(pred)
    rows = []
    for name in hist[dims.OUTCOME].values:
        obs = hist["observed"].sel({dims.OUTCOME: name}).values.ravel()
        rep = hist[dims.COUNT].sel({dims.OUTCOME: name}).values
        rep = rep.reshape(-1, obs.size)[:, np.isfinite(obs)]
        obs = obs[np.isfinite(obs)]
        if obs.size == 0:
            continue
        lo, hi = np.quantile(rep, [0.05, 0.95], axis=0)

        def stats(x):
            return (
                x.sum(axis=-1),
                np.log1p(x).std(axis=-1),
                (x == 0).mean(axis=-1),
            )

        t_obs, t_rep = stats(obs), stats(rep)
        rows.append(
            {
                "outcome": str(name),
                "cells": int(obs.size),
                "coverage_90": float(((obs >= lo) & (obs <= hi)).mean()),
                "p_total": float((t_rep[0] >= t_obs[0]).mean()),
                "p_spread": float((t_rep[1] >= t_obs[1]).mean()),
                "p_zeros": float((t_rep[2] >= t_obs[2]).mean()),
                "zeros_observed": float(t_obs[2]),
            }
        )
    return pd.DataFrame(rows)


def _history(pred: xr.Dataset) -> xr.Dataset:
    """The replicated counts and observed values of a prediction's history quarters (horizon 0)."""
    at = np.flatnonzero(pred[dims.HORIZON].values == 0)
    return pred[[dims.COUNT, "observed"]].isel({dims.PERIOD: at})


def history_coverage(pred: xr.Dataset, prob: float = 0.9) -> pd.DataFrame:
    """Per outcome, the panel's top level (England and Wales when all forces are there): how many
    observed history quarters fall inside the central `prob` interval of the replicated totals, so a
    reader can see that the fitted history follows the published series. Quarters with any force
    missing are not observed at that level (knife, published only as financial-year sums, has none)."""
    hist = _history(pred)
    total = hist[dims.COUNT].sum(dims.FORCE)
    observed = hist["observed"].sum(dims.FORCE, skipna=False)
    periods = [str(p) for p in hist.indexes[dims.PERIOD]]
    area = top_level_name(pred)
    rows = []
    for name in hist[dims.OUTCOME].values:
        obs = observed.sel({dims.OUTCOME: name}).values
        rep = total.sel({dims.OUTCOME: name}).transpose(..., dims.PERIOD).values
        lo, hi = np.quantile(rep.reshape(-1, obs.size), [(1 - prob) / 2, (1 + prob) / 2], axis=0)
        seen, inside = np.isfinite(obs), (obs >= lo) & (obs <= hi)
        rows.append(
            {
                "area": area,
                "outcome": str(name),
                "quarters": int(seen.sum()),
                "covered": int((seen & inside).sum()),
                "coverage": float(inside[seen].mean()) if seen.any() else np.nan,
                "missed": ", ".join(p for p, m in zip(periods, seen & ~inside, strict=True) if m),
            }
        )
    return pd.DataFrame(rows)


def ppc_failures(
    table: pd.DataFrame, min_coverage: float | None = None, min_p: float | None = None
) -> list[str]:
    """Posterior predictive gates: 90% coverage at least MIN_COVERAGE_90 and every p-value inside
    [MIN_P, 1 - MIN_P] (the share of zeros only where some cell is zero)."""
    min_coverage = MIN_COVERAGE_90 if min_coverage is None else min_coverage
    min_p = MIN_P if min_p is None else min_p
    out = []
    for r in table.itertuples(index=False):
        if r.coverage_90 < min_coverage:
            out.append(f"{r.outcome}: 90% predictive intervals cover {r.coverage_90:.0%} of cells")
        for key in ("p_total", "p_spread", "p_zeros"):
            p = getattr(r, key)
            if key == "p_zeros" and r.zeros_observed == 0 and p == 1.0:
                continue  # no zero observed: only says replicated zeros are possible
            if not min_p <= p <= 1 - min_p:
                out.append(f"{r.outcome}: posterior predictive {key} = {p:.3f}")
    return out
