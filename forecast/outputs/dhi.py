"""The Drugs Harm Index as the commands report it: the index per area with its decomposition and
sensitivity (:mod:`forecast.outputs.harm`) and, given the fit, the availability-attributable harm
beside it (:mod:`forecast.outputs.attributable`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import xarray as xr

from forecast.outputs.attributable import add_attributable, attributable_draws, window_summary
from forecast.outputs.harm import decompose, dhi_table, harm_draws, harm_index, sensitivity


@dataclass
class HarmResult:
    """Everything the harm index reports, from one set of predictive draws."""

    harm: xr.Dataset
    index: xr.Dataset
    table: pd.DataFrame
    decomposition: pd.DataFrame
    sensitivity: pd.DataFrame
    attributable: pd.DataFrame | None = None  # availability-attributable harm over a window


def harm_results(
    pred: xr.Dataset,
    weights: pd.DataFrame,
    fractions: pd.DataFrame,
    base: str,
    seed: int = 0,
    change: tuple[str | None, str | None] = (None, None),
    tree: xr.DataTree | None = None,
    reference: str = "base",
    with_events: bool = False,
) -> HarmResult:
    """Harm draws, the index per area, its tidy table, decomposition of a change and sensitivity;
    with the fit (`tree`), the availability-attributable harm beside the index (reference
    `reference`) and summed from the base period to the last observed quarter."""
    harm = harm_draws(pred, weights, fractions, seed=seed, with_events=with_events)
    index = harm_index(harm, base)
    window = None
    if tree is not None:
        attributable = attributable_draws(tree, harm, base, reference)
        index = add_attributable(index, harm, attributable)
        window = window_summary(harm, attributable, base)
    return HarmResult(
        harm,
        index,
        dhi_table(index),
        decompose(harm, index, *change),
        sensitivity(harm, index),
        window,
    )
