"""Drugs Harm Index: additivity, base = 100, coherent areas, fraction uncertainty, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.outputs.harm import (
    HarmError,
    base_periods,
    decompose,
    dhi_table,
    harm_draws,
    harm_index,
    load_fractions,
    load_weights,
    sensitivity,
)
from forecast.predict import predict

OUTCOMES = ["homicide", "robbery", "knife"]


@pytest.fixture(scope="module")
def pred(tiny_fit):
    return predict(tiny_fit, horizon=4, seed=3)


@pytest.fixture(scope="module")
def harm(pred):
    w = load_weights("home_office", OUTCOMES)
    f = load_fractions(None, OUTCOMES)
    return harm_draws(pred, w, f, seed=5)


@pytest.fixture(scope="module")
def index(harm):
    return harm_index(harm, "2014Q3")


def _national(index):
    return index["area"].values[index["area_level"].values == "national"][0]


def test_index_is_exactly_100_in_a_base_quarter_and_sums_its_components(index):
    nat = index.sel(area=_national(index))
    np.testing.assert_allclose(nat["dhi"].sel(period="2014Q3").values, 100.0, rtol=1e-12)
    # every area's index is the sum of its outcome contributions, draw by draw
    np.testing.assert_allclose(
        index["dhi"].values, index["contribution"].sum("outcome").values, rtol=1e-12
    )
    # and every area is 100 in its own base
    np.testing.assert_allclose(index["dhi"].sel(period="2014Q3").values, 100.0, rtol=1e-12)


def test_a_year_base_averages_100_over_its_quarters(harm):
    ix = harm_index(harm, "2014")
    base = ix["dhi"].sel(period=[f"2014Q{q}" for q in range(1, 5)]).mean("period")
    np.testing.assert_allclose(base.values, 100.0, rtol=1e-12)
    fy = base_periods("2014/15", ix.indexes["period"])
    assert [str(q) for q in fy] == ["2014Q2", "2014Q3", "2014Q4", "2015Q1"]


def test_national_harm_is_the_sum_of_force_harm_per_draw(harm, index):
    total = harm["harm"].sum(("force", "outcome"))
    np.testing.assert_allclose(
        index["harm"].sel(area=_national(index)).values, total.values, rtol=1e-12
    )


def test_history_uses_observed_counts_and_the_forecast_uses_draws(harm, pred):
    counts = harm["count"]
    np.testing.assert_allclose(
        harm["harm"].values, (counts * harm["fraction"] * harm["weight"]).values, rtol=1e-12
    )
    hist = counts.isel(period=0)
    observed = pred["observed"].isel(period=0)
    np.testing.assert_allclose(hist.isel(chain=0, draw=0).values, observed.values)
    assert float(counts.isel(period=-1).std(("chain", "draw")).min()) > 0


def test_fraction_uncertainty_flows_into_the_index(pred, tmp_path):
    w = load_weights("home_office", OUTCOMES)
    wide = load_fractions(None, OUTCOMES)
    tight = wide.copy()
    tight[["a", "b"]] = tight[["a", "b"]] * 1e6  # same means, (almost) no uncertainty
    hist = pred["horizon"].values == 0

    def width(fr):
        ix = harm_index(harm_draws(pred, w, fr, seed=5), "2014")
        x = ix["dhi"].sel(area=_national(ix)).isel(period=np.flatnonzero(hist))
        q = x.quantile([0.05, 0.95], ("chain", "draw"))
        return float((q.sel(quantile=0.95) - q.sel(quantile=0.05)).max())

    assert width(tight) < 0.05  # observed history: no count uncertainty left
    assert width(wide) > 1.0


def test_decomposition_sums_to_the_change_it_explains(harm, index):
    d = decompose(harm, index, "2015Q1", "2016Q4")
    total = d.loc[d["by"] == "total", "mean"].iloc[0]
    nat = index["dhi"].sel(area=_national(index))
    change = (nat.sel(period="2016Q4") - nat.sel(period="2015Q1")).mean()
    assert total == pytest.approx(float(change), rel=1e-9)
    for by in ("outcome", "region", "force"):
        assert d.loc[d["by"] == by, "mean"].sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert set(d.loc[d["by"] == "outcome", "component"]) == set(OUTCOMES)
    assert len(d[d["by"] == "force"]) == harm.sizes["force"]


def test_table_schema_and_sensitivity(index, harm):
    table = dhi_table(index)
    assert list(table.columns[:7]) == [
        "area",
        "area_level",
        "area_code",
        "period",
        "horizon",
        "is_forecast",
        "quantity",
    ]
    assert set(table["quantity"]) == {"dhi", "harm", "availability"}
    nat = table[(table["area_level"] == "national") & (table["quantity"] == "dhi")]
    assert nat["is_forecast"].sum() == 4
    sens = sensitivity(harm, index)
    assert set(sens["outcome"]) == set(OUTCOMES)
    assert (sens["fraction_q5"] < sens["fraction_mean"]).all()
    assert (sens["fraction_mean"] < sens["fraction_q95"]).all()
    # moving one outcome's fraction moves the index in opposite directions at its two ends
    moves = (sens["dhi_at_q5"] - sens["dhi_central"]) * (sens["dhi_at_q95"] - sens["dhi_central"])
    assert (moves <= 1e-9).all()


def test_weights_swap_changes_the_index_but_not_its_base(pred):
    f = load_fractions(None, OUTCOMES)
    ho = harm_index(harm_draws(pred, load_weights("home_office", OUTCOMES), f, 5), "2014")
    cc = harm_index(harm_draws(pred, load_weights("cambridge", OUTCOMES), f, 5), "2014")
    a = ho["dhi"].sel(area=_national(ho)).mean(("chain", "draw"))
    b = cc["dhi"].sel(area=_national(cc)).mean(("chain", "draw"))
    assert float(abs(a - b).max()) > 0.1
    assert "CCHI days" in cc["harm"].attrs["unit"]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "outcome,weight,unit,price_year,source\nhomicide,1,GBP,2015/16,x\nrobbery,2,GBP,,x\n",
            "no weight for outcome 'knife'",
        ),
        (
            "outcome,weight,unit,price_year,source\nhomicide,1,GBP,,x\nrobbery,-2,GBP,,x\n"
            "knife,1,GBP,,x\n",
            "row 3, column 'weight' (outcome 'robbery'): -2 is not allowed, it must be >= 0",
        ),
        (
            "outcome,weight,unit,price_year,source\nhomicide,1,GBP,,x\nrobbery,lots,GBP,,x\n"
            "knife,1,GBP,,x\n",
            "row 3, column 'weight' (outcome 'robbery'): 'lots' is not a number",
        ),
        ("outcome,weight,unit\nhomicide,1,GBP\n", "missing column 'price_year'"),
        (
            "outcome,weight,unit,price_year,source\nhomicide,1,GBP,,x\nhomicide,1,GBP,,x\n",
            "row 3, column 'outcome': 'homicide' appears twice",
        ),
    ],
)
def test_bad_weights_fail_with_file_row_and_column(tmp_path, text, message):
    path = _write(tmp_path, "w.csv", text)
    with pytest.raises(HarmError) as err:
        load_weights(path, OUTCOMES)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_bad_fractions_and_base_periods_fail_clearly(tmp_path, harm):
    path = _write(
        tmp_path,
        "f.csv",
        "outcome,distribution,a,b,source\nhomicide,uniform,1,1,x\nrobbery,beta,1,1,x\n"
        "knife,beta,1,1,x\n",
    )
    with pytest.raises(HarmError, match=r"row 2, column 'distribution': 'uniform'"):
        load_fractions(path, OUTCOMES)
    with pytest.raises(HarmError, match=r"base period 2030 is outside the data \(2012Q3-2016Q1\)"):
        harm_index(harm, "2030")
    with pytest.raises(HarmError, match="outside the data"):
        harm_index(harm, "2016Q3")  # a forecast quarter is not data
    with pytest.raises(HarmError, match="is not a quarter"):
        harm_index(harm, "last spring")
    with pytest.raises(HarmError, match="no such weights file"):
        load_weights(tmp_path / "nope.csv", OUTCOMES)


def test_shipped_weight_tables_cite_their_sources():
    for name in ("home_office", "cambridge"):
        w = load_weights(name, OUTCOMES)
        assert (w["source"].str.len() > 20).all()
        assert (w["weight"] > 0).all()
    f = load_fractions(None, OUTCOMES)
    mean = f["a"] / (f["a"] + f["b"])
    assert 0.25 <= mean["homicide"] <= 0.35  # centred near 0.3 (domain notes)
    assert mean["knife"] < mean["homicide"]  # homicide's fraction is knife's upper-bound proxy
    assert isinstance(f, pd.DataFrame)


def test_a_zero_weight_leaves_an_outcome_out_of_the_index(pred, tmp_path):
    path = _write(
        tmp_path,
        "w.csv",
        "outcome,weight,unit,price_year,source\nhomicide,1,days,,x\nrobbery,1,days,,x\n"
        "knife,0,days,,x\n",
    )
    harm = harm_draws(pred, load_weights(path, OUTCOMES), load_fractions(None, OUTCOMES), 5)
    ix = harm_index(harm, "2014")
    assert float(abs(ix["contribution"].sel(outcome="knife")).max()) == 0.0
    sens = sensitivity(harm, ix).set_index("outcome")
    assert np.isfinite(sens[["dhi_at_q5", "dhi_at_q95"]].to_numpy()).all()
    assert sens.loc["knife", "swing"] == pytest.approx(0.0, abs=1e-9)
