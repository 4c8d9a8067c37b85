"""Availability-attributable harm: zero when nothing changes, centred on zero with no effect, its
splits add up per draw, and references and errors behave."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from forecast.outputs.attributable import (
    add_attributable,
    attributable_draws,
    attributable_share,
    counterfactual,
    window_summary,
)
from forecast.outputs.harm import HarmError, harm_draws, harm_index, load_fractions, load_weights
from forecast.predict import predict, project

OUTCOMES = ["homicide", "robbery", "knife"]
BASE = "2014Q3"


def _harm(tree, seed=3):
    w, f = load_weights("home_office", OUTCOMES), load_fractions(None, OUTCOMES)
    return harm_draws(predict(tree, horizon=4, seed=seed), w, f, seed=5)


@pytest.fixture(scope="module")
def harm(tiny_fit):
    return _harm(tiny_fit)


@pytest.fixture(scope="module")
def attributable(tiny_fit, harm):
    return attributable_draws(tiny_fit, harm, BASE)


def test_a_counterfactual_equal_to_the_fitted_availability_gives_exactly_zero(tiny_fit):
    proj = project(tiny_fit, 4, np.random.default_rng([4, 0]))
    share = attributable_share(proj, proj.availability.copy())
    assert share.shape == (120, 6, 16 - 1 + 4, 3)  # draws, forces, modelled + future, outcomes
    assert np.count_nonzero(share) == 0
    zero_shift = counterfactual(proj, "0sd", proj.periods[:1])
    assert np.count_nonzero(attributable_share(proj, zero_shift)) == 0


def test_base_reference_holds_each_force_at_its_base_level(tiny_fit):
    proj = project(tiny_fit, 2, np.random.default_rng([4, 0]))
    cf = counterfactual(proj, "base", proj.periods[2:6])
    on = proj.period_slice(proj.periods[2], proj.periods[5])
    np.testing.assert_allclose(
        cf, proj.availability[:, :, on].mean(axis=2, keepdims=True)[..., [0] * cf.shape[2]]
    )
    share = attributable_share(proj, cf)
    assert np.count_nonzero(share) > 0.9 * share.size


def test_attributable_harm_uses_the_harm_draws_and_respects_the_effect_sign(
    tiny_fit, harm, attributable
):
    assert attributable.dims == harm["harm"].dims and attributable.shape == harm["harm"].shape
    # positive effect: harm is attributable where availability is above its base level
    ratio = (attributable / harm["harm"].where(harm["harm"] > 0)).stack(s=("chain", "draw"))
    assert float(np.nanmax(np.abs(ratio))) < 1e3
    assert attributable.attrs["reference"] == "base"


def test_a_fit_with_effects_centred_on_zero_gives_attributable_harm_centred_on_zero(tiny_fit):
    post = tiny_fit["posterior"].to_dataset()
    beta = post["availability_beta"]
    tree = tiny_fit.copy()
    tree["posterior"] = xr.DataTree(
        post.assign(availability_beta=beta - beta.mean(("chain", "draw")))
    )
    harm = _harm(tree)
    index = add_attributable(harm_index(harm, BASE), harm, attributable_draws(tree, harm, BASE))
    nat = index["attributable_index"].isel(area=-1).stack(s=("chain", "draw"))
    q5, q95 = nat.quantile([0.05, 0.95], "s").values
    held = q95 - q5 == 0  # lag 1: 2014Q4 sees the base quarter's availability, nothing attributable
    assert held.sum() == 1 and float(abs(nat.sel(period="2014Q4")).max()) == 0.0
    assert (q5[~held] < 0).all() and (q95[~held] > 0).all()
    assert (np.abs(nat.mean("s"))[~held] < 0.25 * (q95 - q5)[~held] / 2).all()


def test_index_and_window_splits_add_up_per_draw(harm, attributable):
    index = add_attributable(harm_index(harm, BASE), harm, attributable)
    nat = index.isel(area=-1)
    np.testing.assert_allclose(
        nat["attributable_contribution"].sum("outcome"), nat["attributable_index"], rtol=1e-12
    )
    forces = index.sel(area=index["area_level"] == "force")
    np.testing.assert_allclose(
        forces["attributable_harm"].sum("area"), nat["attributable_harm"], rtol=1e-9
    )
    # same base as the DHI: attributable points over DHI points is the share of harm
    np.testing.assert_allclose(
        nat["attributable_index"] / nat["dhi"], nat["attributable_share"], rtol=1e-9
    )
    table = window_summary(harm, attributable, "2014Q3")
    assert (table["from"] == "2014Q3").all() and (table["to"] == "2016Q1").all()
    cash = table[table["quantity"] == "attributable_harm"]
    total = cash.loc[cash["by"] == "total", "mean"].item()
    for by in ("outcome", "region", "force"):
        assert cash.loc[cash["by"] == by, "mean"].sum() == pytest.approx(total, rel=1e-9)
    assert set(cash.loc[cash["by"] == "outcome", "component"]) == set(OUTCOMES)
    per_draw = attributable.sel(period=slice("2014Q3", "2016Q1")).sum(
        ("period", "force", "outcome")
    )
    assert total == pytest.approx(float(per_draw.mean()), rel=1e-9)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("spring", "is not 'base', a quarter like 2015Q2 or a shift like 1sd"),
        ("2030Q1", "outside the fit's quarters"),
    ],
)
def test_bad_references_fail_clearly(tiny_fit, harm, reference, message):
    with pytest.raises(HarmError, match=message):
        attributable_draws(tiny_fit, harm, BASE, reference=reference)
