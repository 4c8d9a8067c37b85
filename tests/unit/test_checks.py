"""Prior and posterior predictive checks: tables with the right numbers, gates that can fail."""

import numpy as np
import pandas as pd
import xarray as xr

from forecast.checks import (
    PLAUSIBLE_RATE,
    history_coverage,
    posterior_predictive_table,
    ppc_failures,
    prior_failures,
    prior_predictive_rates,
)
from forecast.outputs.gates import check_gates
from forecast.predict import predict
from forecast.spec import load_spec, parse_spec


def test_default_priors_imply_plausible_rates(small_panel):
    table = prior_predictive_rates(small_panel, load_spec("default"), draws=100).set_index(
        "outcome"
    )
    assert list(table.index) == ["homicide", "robbery", "knife"]
    assert (table["share_plausible"] >= 0.8).all(), table
    assert table.at["robbery", "plausible_low"] == PLAUSIBLE_RATE["robbery"][0]
    # the observed rate of the simulated panel sits inside the prior's 90% range
    assert (
        (table["prior_q5"] < table["observed"]) & (table["observed"] < table["prior_q95"])
    ).all()
    assert prior_failures(table.reset_index()) == []


def test_prior_predictive_draws_trend_levels_from_their_walk_prior(small_panel):
    """Trend levels' random-walk prior is a Potential, which prior predictive sampling ignores: the
    check draws them as non-centred steps (the same model), so both give the same table."""
    spec = load_spec("default")

    def walk(param: str):
        return spec.model_copy(
            update={"trend": spec.trend.model_copy(update={"parameterisation": param})}
        )

    levels = prior_predictive_rates(small_panel, walk("level"), draws=100)
    steps = prior_predictive_rates(small_panel, walk("non_centred"), draws=100)
    pd.testing.assert_frame_equal(levels, steps)
    assert (levels["share_plausible"] >= 0.8).all(), levels


def test_an_implausible_prior_is_caught(small_panel):
    text = load_spec("default").to_toml().replace("homicide = 0.3", "homicide = 300.0")
    table = prior_predictive_rates(small_panel, parse_spec(text), draws=100)
    homicide = table.set_index("outcome").loc["homicide"]
    assert homicide["share_plausible"] < 0.2 and homicide["prior_median"] > 50
    (failure,) = prior_failures(table)
    assert failure.startswith("homicide: prior rates per 100,000 plausible in ")


def test_posterior_predictive_check_passes_a_fit_and_fails_doctored_data(tiny_fit):
    pred = predict(tiny_fit, horizon=0, seed=3)
    table = posterior_predictive_table(pred).set_index("outcome")
    assert list(table.index) == ["homicide", "robbery", "knife"]
    assert table["cells"].tolist() == [
        int(np.isfinite(pred["observed"].sel(outcome=k)).sum()) for k in table.index
    ]
    assert (table["coverage_90"] >= 0.8).all(), table
    assert ppc_failures(table.reset_index()) == []
    doctored = pred.copy()
    doctored["observed"] = pred["observed"] * 3  # observed three times what the model replicates
    bad = posterior_predictive_table(doctored)
    failures = ppc_failures(bad)
    assert any(f == "robbery: posterior predictive p_total = 0.000" for f in failures), failures
    assert any(f.startswith("robbery: 90% predictive intervals cover") for f in failures)


def _replicates(observed: np.ndarray) -> xr.Dataset:
    """A prediction of 2 forces x 4 history quarters + 1 forecast quarter, one outcome: each force's
    replicated count is 10, 11, ..., 109 in every quarter (so the total's 90% band is ~[29, 209])."""
    draws = np.arange(10, 110).reshape(2, 50)  # chain, draw
    count = np.broadcast_to(draws[:, :, None, None, None], (2, 50, 2, 5, 1)).copy()
    periods = pd.period_range("2020Q1", periods=5, freq="Q")
    return xr.Dataset(
        {
            "count": (("chain", "draw", "force", "period", "outcome"), count),
            "observed": (("force", "period", "outcome"), observed[:, :, None]),
        },
        coords={
            "force": ["A", "B"],
            "period": periods,
            "outcome": ["robbery"],
            "horizon": ("period", [0, 0, 0, 0, 1]),
        },
    )


def test_history_coverage_counts_observed_national_quarters_inside_the_band():
    observed = np.array(
        [[50.0, 150.0, 20.0, np.nan, np.nan], [50.0, 150.0, 5.0, 60.0, np.nan]]
    )  # totals 100 (in), 300 (out), 25 (out), missing in A (not observed), forecast
    (row,) = history_coverage(_replicates(observed)).to_dict("records")
    assert row == {
        "area": "All forces in panel",
        "outcome": "robbery",
        "quarters": 3,
        "covered": 1,
        "coverage": 1 / 3,
        "missed": "2020Q2, 2020Q3",
    }
    unseen = history_coverage(_replicates(np.full((2, 5), np.nan))).iloc[0]
    assert unseen["quarters"] == 0 and np.isnan(unseen["coverage"]) and unseen["missed"] == ""


def test_history_coverage_gate_reads_its_threshold_from_the_spec(tiny_fit, small_panel):
    pred = predict(tiny_fit, horizon=1, seed=3)
    spec = load_spec("default")
    rows = check_gates(tiny_fit, small_panel, spec, pred)[0].set_index("check")
    name = "history 90% coverage, All forces in panel: robbery"
    assert rows.at[name, "threshold"] == ">= 0.0" and rows.at[name, "passed"]
    strict = spec.model_copy(
        update={"gates": spec.gates.model_copy(update={"min_history_coverage_90": 1.0})}
    )
    rows = check_gates(tiny_fit, small_panel, strict, pred)[0].set_index("check")
    cov = history_coverage(pred).set_index("outcome")
    assert rows.at[name, "value"] == cov.at["robbery", "coverage"]
    assert rows.at[name, "passed"] == (cov.at["robbery", "coverage"] == 1.0)
    assert rows.at[name, "detail"].startswith(f"{cov.at['robbery', 'covered']} of ")
    doctored = pred.copy()
    doctored["observed"] = pred["observed"] * 3  # no quarter inside the band: the gate fails
    rows = check_gates(tiny_fit, small_panel, strict, doctored)[0].set_index("check")
    assert rows.at[name, "value"] == 0.0 and not rows.at[name, "passed"]
