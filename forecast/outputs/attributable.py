"""Availability-attributable harm: the part of the harm index the model links to the change in Class A
availability, per draw.

With the scenario machinery (common random numbers: the same posterior and projection draws), each
quarter's expected count is computed under the fitted availability (mu) and under a counterfactual in
which each force's availability stays at a reference (mu_cf). The share ``1 - mu_cf / mu`` of the harm
the DHI counts (observed counts in the history, predictive draws elsewhere) is the availability-
attributable harm; summed over outcomes and forces it gives the attributable index (points of the DHI,
same base) and its share of total harm. References: ``base`` (each force's mean availability over the
DHI base quarters; the default), a quarter (``2015Q2``), or ``<x>sd`` (availability x sd of its
within-force variation lower than fitted, so the harm of the last x sd).

Where a latent fit leaves A's national component out of the link, the counterfactual holds the link's
input (A less its national component) at the reference, so national movements, which the model gives
to the trend, are not credited to availability.

This is an association under the model's assumptions (no confounding of availability and violence
beyond what the trend, seasonality and breaks absorb; the fitted lag structure), not a causal estimate.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.areas import to_areas
from forecast.outputs.harm import HARM, HarmError, base_periods
from forecast.outputs.scenario import within_force_sd
from forecast.predict import SEED_ATTR, Projection, project

ATTRIBUTABLE = "attributable"
QUANTITIES = {
    "attributable_index": "index points of the DHI (same base) attributable to availability",
    "attributable_harm": "",  # the harm's own unit, set from the harm
    "attributable_share": "share of the area's harm attributable to availability (0-1)",
}
WINDOW_PROBS = (0.05, 0.25, 0.75, 0.95)


def counterfactual(proj: Projection, reference: str, base_quarters: pd.PeriodIndex) -> np.ndarray:
    """(sample, force, lead + period) availability under the reference (see the module docstring)."""
    national = proj.national[:, None, :] if proj.national is not None else 0.0
    link = proj.availability - national
    text = str(reference).strip()
    lead = proj.availability.shape[2] - len(proj.periods)
    if m := re.fullmatch(r"([-+]?\d+(?:\.\d+)?)\s*sd", text):
        sd = within_force_sd(proj.availability, lead + proj.n_hist)  # per draw
        return link - float(m[1]) * sd[:, None, None] + national
    if text == "base":
        quarters = base_quarters
    else:
        try:
            quarters = pd.PeriodIndex([pd.Period(text, freq="Q")])
        except ValueError:
            raise HarmError(
                f"reference {text!r} is not 'base', a quarter like 2015Q2 or a shift like 1sd"
            ) from None
    on = np.zeros(link.shape[2], bool)
    for q in quarters:
        on |= proj.period_slice(q, q)
    if not on.any():
        raise HarmError(
            f"reference {text}: outside the fit's quarters "
            f"({proj.periods[0] - lead}-{proj.periods[-1]}); choose a quarter inside them"
        )
    held = np.broadcast_to(link[:, :, on].mean(axis=2, keepdims=True), link.shape)
    return held + national


def attributable_share(proj: Projection, availability: np.ndarray) -> np.ndarray:
    """(sample, force, period, outcome) ``1 - mu_cf / mu``: zero where `availability` is the fit's."""
    return -np.expm1(proj.log_rate(availability) - proj.log_rate())


def attributable_draws(
    tree: xr.DataTree, harm: xr.Dataset, base: str, reference: str = "base"
) -> xr.DataArray:
    """Attributable harm per draw (chain, draw, force, period, outcome), on the harm's own draws:
    the projection is re-made with the predictive seed the harm's counts came from."""
    horizon = int((harm[dims.HORIZON].values > 0).sum())
    proj = project(tree, horizon, np.random.default_rng([int(harm.attrs[SEED_ATTR]), 0]))
    quarters = base_periods(base, proj.periods[: proj.n_hist])
    share = attributable_share(proj, counterfactual(proj, reference, quarters))
    n_c, n_d = harm.sizes["chain"], harm.sizes["draw"]
    share_da = xr.DataArray(
        share.reshape(n_c, n_d, *share.shape[1:]),
        dims=("chain", "draw", dims.FORCE, dims.PERIOD, dims.OUTCOME),
        coords={k: harm[HARM].coords[k] for k in harm[HARM].coords},
    )
    out = harm[HARM] * share_da
    out.attrs = {**harm[HARM].attrs, "reference": str(reference)}
    return out.rename(ATTRIBUTABLE)


def add_attributable(index: xr.Dataset, harm: xr.Dataset, attributable: xr.DataArray) -> xr.Dataset:
    """The index Dataset with the attributable index, harm and share per area (contributions per
    outcome in ``attributable_contribution``), on the DHI's base."""
    parts = xr.Dataset({HARM: harm[HARM], ATTRIBUTABLE: attributable})
    areas = to_areas(parts)
    quarters = pd.PeriodIndex(index.attrs["base_quarters"].split(","), freq="Q")
    base_total = areas[HARM].sel({dims.PERIOD: quarters}).sum(dims.OUTCOME).mean(dims.PERIOD)
    contribution = 100 * areas[ATTRIBUTABLE] / base_total
    total = areas[ATTRIBUTABLE].sum(dims.OUTCOME)
    out = index.assign(
        attributable_index=contribution.sum(dims.OUTCOME),
        attributable_contribution=contribution,
        attributable_harm=total,
        attributable_share=total / areas[HARM].sum(dims.OUTCOME),
    )
    for name, unit in QUANTITIES.items():
        out[name].attrs["unit"] = unit or str(harm[HARM].attrs.get("unit", ""))
    out.attrs["reference"] = str(attributable.attrs.get("reference", ""))
    return out


def window_summary(
    harm: xr.Dataset, attributable: xr.DataArray, start: str, end: str | None = None
) -> pd.DataFrame:
    """Attributable harm summed over quarters `start`..`end` (default: the last of the history),
    split by outcome, region and force (each split adds up to the total, draw by draw), in the
    harm's unit and as a share of the harm in the same window; 50% and 90% intervals."""
    periods = harm.indexes[dims.PERIOD]
    history = periods[harm[dims.HORIZON].values == 0]
    first = base_periods(start, periods)[0]
    last = pd.Period(end, freq="Q") if end else history[-1]
    if last not in periods or last < first:
        raise HarmError(f"window {first}-{last} is outside the index ({periods[0]}-{periods[-1]})")
    on = {dims.PERIOD: (periods >= first) & (periods <= last)}
    a = attributable.isel(on).sum(dims.PERIOD)
    h = harm[HARM].isel(on).sum(dims.PERIOD)
    region = harm[dims.REGION].rename("component")
    splits = {
        "total": (a.sum((dims.FORCE, dims.OUTCOME)), h.sum((dims.FORCE, dims.OUTCOME))),
        "outcome": (a.sum(dims.FORCE), h.sum(dims.FORCE)),
        "region": (
            a.sum(dims.OUTCOME).groupby(region).sum(),
            h.sum(dims.OUTCOME).groupby(region).sum(),
        ),
        "force": (a.sum(dims.OUTCOME), h.sum(dims.OUTCOME)),
    }
    rows = []
    for by, (x, y) in splits.items():
        x = x.expand_dims(component=["all"]) if by == "total" else x
        y = y.expand_dims(component=["all"]) if by == "total" else y
        for quantity, v in (("attributable_harm", x), ("attributable_share", x / y)):
            v = v.rename({d: "component" for d in (dims.FORCE, dims.OUTCOME) if d in v.dims})
            s = v.stack(sample=("chain", "draw")).transpose("component", "sample")
            q = np.quantile(s.values, WINDOW_PROBS, axis=1)
            frame = pd.DataFrame(
                {"by": by, "component": s["component"].values.astype(str), "quantity": quantity}
            )
            frame["mean"], frame["median"] = s.values.mean(axis=1), np.median(s.values, axis=1)
            for p, row in zip(WINDOW_PROBS, q, strict=True):
                frame[f"q{100 * p:g}"] = row
            rows.append(frame)
    table = pd.concat(rows, ignore_index=True)
    table.insert(2, "from", str(first))
    table.insert(3, "to", str(last))
    table["reference"] = str(attributable.attrs.get("reference", ""))
    table["unit"] = np.where(
        table["quantity"] == "attributable_harm",
        str(harm[HARM].attrs.get("unit", "")).removesuffix(" per quarter") + ", summed",
        "share",
    )
    return table
