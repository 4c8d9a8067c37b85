"""National quarter noise (`[trend] noise`): the spec, the masked term in the model, its fresh draws
in forecasts, and its recovery from a simulated panel whose quarters share a common swing."""

import numpy as np
import pytest
import xarray as xr

from forecast.core import dims
from forecast.core.errors import SpecError
from forecast.model import build_model
from forecast.model.breaks import Shock
from forecast.model.data import NOISE_OUTCOME
from forecast.predict import _noise_on
from forecast.simulate import simulate_panel
from forecast.spec import ModelSpec, load_spec, parse_spec
from tests.model_values import values_at

FORCES = ["Kent", "Essex", "Surrey", "Sussex", "Gwent", "Dyfed-Powys"]


def _with_noise(spec: ModelSpec, outcomes: list[str], **extra) -> ModelSpec:
    data = spec.model_dump()
    data["trend"] |= {"noise": outcomes, **extra}
    return ModelSpec.model_validate(data)


def test_noise_must_name_modelled_outcomes_and_stays_out_of_old_hashes():
    text = load_spec("default").to_toml().replace("noise = []", 'noise = ["homicde"]')
    with pytest.raises(
        SpecError, match=r"shock_outcomes name \['homicde'\], not in outcomes.names"
    ):
        parse_spec(text)
    spec = load_spec("default")
    assert _with_noise(spec, []).model_hash() == spec.model_hash() == "157ea11a02f4fafe"
    assert _with_noise(spec, ["homicide"]).model_hash() != spec.model_hash()


def test_noise_is_zero_for_other_outcomes_and_in_the_outcomes_shock_quarters():
    import pymc as pm

    from forecast.model import trend as tr

    spec = _with_noise(load_spec("default"), ["homicide", "robbery"]).trend
    outcomes = ["homicide", "robbery", "knife"]
    with pm.Model(coords={dims.OUTCOME: outcomes, dims.PERIOD: np.arange(6)}) as model:
        tr.national_noise(spec, outcomes, 6, [Shock("2020Q2", 2, [1]), Shock("2020Q3", 3, [1])])
    assert list(model.coords[NOISE_OUTCOME]) == ["homicide", "robbery"]
    z = np.arange(1.0, 13.0).reshape(2, 6)
    point = {"trend_noise_sigma_log__": np.log([0.5, 2.0]), "trend_noise_z": z}
    noise = values_at(model, model["trend_noise"], point)
    np.testing.assert_allclose(noise[0], 0.5 * z[0])
    np.testing.assert_allclose(noise[1], 2.0 * z[1] * [1, 1, 0, 0, 1, 1])
    np.testing.assert_allclose(noise[2], 0.0)


def test_forecast_noise_keeps_the_fitted_history_and_draws_fresh_quarters():
    n_s, n_t, sd = 4000, 5, np.array([0.1, 0.3])
    hist = np.random.default_rng(0).normal(size=(1, n_s, 3, n_t))
    hist[:, :, 2] = 0.0  # knife has no noise
    post = xr.Dataset(
        {
            "trend_noise": (("chain", "draw", dims.OUTCOME, dims.PERIOD), hist),
            "trend_noise_sigma": (("chain", "draw", NOISE_OUTCOME), np.tile(sd, (1, n_s, 1))),
        },
        coords={NOISE_OUTCOME: ["robbery", "homicide"]},
    )
    data = type("D", (), {"outcomes": ["homicide", "robbery", "knife"]})()
    out = _noise_on(post, data, 3, np.random.default_rng(1))
    assert out.shape == (n_s, 3, n_t + 3)
    np.testing.assert_array_equal(out[:, :, :n_t], hist[0])
    assert out[:, 0, n_t:].std() == pytest.approx(0.3, rel=0.05)  # homicide's own sd
    assert out[:, 1, n_t:].std() == pytest.approx(0.1, rel=0.05)
    np.testing.assert_array_equal(out[:, 2, n_t:], 0.0)


def test_model_term_enters_every_forces_log_rate_for_named_outcomes_only():
    panel = simulate_panel(n_periods=12, forces=FORCES, seed=4)["panel"].to_dataset()
    spec = _with_noise(load_spec("default"), ["robbery"])
    model, data = build_model(panel, spec)
    assert "trend_noise" in model.named_vars
    assert model["trend_noise_z"].eval().shape == (1, len(data.periods))  # robbery only


@pytest.mark.slow
def test_a_common_quarter_swing_is_recovered_as_noise_not_trend():
    """Robbery gets an iid national swing (sd 0.06) per quarter on top of its random-walk trend; the
    fit with noise recovers the swings and their sd, and its trend steps shrink against the fit
    without it (which must read each swing as a step)."""
    from forecast.fit import fit, sampler_settings

    sim = simulate_panel(n_periods=36, seed=31, national_noise_sd={"robbery": 0.06})
    panel = sim["panel"].to_dataset()
    base = load_spec("default")
    base = base.model_copy(
        update={"outcomes": base.outcomes.model_copy(update={"names": ("robbery",)})}
    )
    step_sd = {}
    for spec in (base, _with_noise(base, ["robbery"])):
        tree = fit(
            panel, spec, sampler_settings(spec, draws=400, tune=400, chains=2), progress=False
        )
        step_sd[bool(spec.trend.noise)] = float(tree.posterior["trend_sigma"].median())
    post = tree.posterior
    sd = post["trend_noise_sigma"].sel({NOISE_OUTCOME: "robbery"})
    lo, hi = np.quantile(sd.values, [0.05, 0.95])
    assert lo < 0.06 < hi
    fitted = post["trend_noise"].sel(outcome="robbery").mean(("chain", "draw"))
    truth = sim["truth"]["national_noise"].sel(outcome="robbery", period=fitted.period.values)
    assert np.corrcoef(fitted.values, truth.values)[0, 1] > 0.7
    assert step_sd[True] < 0.8 * step_sd[False]
