"""Prior and posterior predictive checks: tables with the right numbers, gates that can fail."""

import numpy as np

from forecast.checks import (
    PLAUSIBLE_RATE,
    posterior_predictive_table,
    ppc_failures,
    prior_failures,
    prior_predictive_rates,
)
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
