"""Persistent force x outcome deviations: the spec, the constrained paths in the model, their
continuation in forecasts, and their recovery from a simulated panel whose forces drift (quarterly
AR(1), not the model's yearly knots)."""

import numpy as np
import pytest

from forecast.core.errors import SpecError
from forecast.model import build_model, prepare_data
from forecast.model.availability import group_of
from forecast.model.dynamics import continue_dynamics, group_centred_normals
from forecast.simulate import simulate_panel
from forecast.spec import ModelSpec, load_spec, parse_spec
from tests.model_values import values_at

FORCES = [
    "Kent",
    "Essex",
    "Surrey",
    "Sussex",
    "Hertfordshire",
    "Bedfordshire",
    "Gwent",
    "Dyfed-Powys",
]


def _with_dynamics(spec: ModelSpec, outcomes: list[str], **extra) -> ModelSpec:
    data = spec.model_dump()
    data["force_effects"] |= {"dynamics": outcomes, **extra}
    return ModelSpec.model_validate(data)


def test_dynamics_must_name_modelled_outcomes():
    text = load_spec("default").to_toml().replace("dynamics = []", 'dynamics = ["robbry"]')
    with pytest.raises(SpecError, match=r"shock_outcomes name \[.robbry.\], not in outcomes"):
        parse_spec(text)


def test_keys_added_later_leave_saved_fits_hashes_alone():
    # the hashes fits saved before `dynamics`, `shock_exit_sigma`, `force_varying`,
    # `activity_factor`, `seasonality.flat`, proxies and `idiosyncratic` existed carry (commit
    # 3a7503a): those fits must still load. `realdata` is the stop-19 publication spec plus 92D's own
    # force deviations, no lockdown shock for homicide, robbery's force dynamics, centred knife
    # force effects, the season's change in robbery's trend steps and the regional knife proxies
    # with a flat knife season, and robbery's trend levels as its variables
    assert load_spec("default").model_hash() == "157ea11a02f4fafe"  # robbery levels, knife centred
    plain = load_spec("default").model_dump()
    # non-centred steps for every outcome, the same model: the default until Dec 2026
    plain["trend"]["parameterisation"] = "non_centred"
    assert ModelSpec.model_validate(plain).model_hash() == "a5928b59a15f5e5e"
    assert load_spec("realdata").model_hash() == "eaff302f35476e10"  # knife's steps centred
    data = load_spec("realdata").model_dump()
    data["trend"]["parameterisation"]["knife"] = "non_centred"  # the same model: the publication
    assert ModelSpec.model_validate(data).model_hash() == "4943d4dc39987f3b"  # until Dec 2026
    data["trend"]["parameterisation"]["robbery"] = "centred"  # centred steps: the same model
    assert ModelSpec.model_validate(data).model_hash() == "d353195476388a10"
    data["observations"] = [o for o in data["observations"] if not o["proxy"]]
    data["seasonality"]["flat"] = []  # without the knife proxies: the publication of stop 32
    assert ModelSpec.model_validate(data).model_hash() == "36d257c99fd6a9b2"
    data["seasonality"]["with_trend"] = False  # the fit of stop 31 (the same model)
    assert ModelSpec.model_validate(data).model_hash() == "95b886fb62b9b208"
    non_centred = {"homicide": "centred", "robbery": "centred", "knife": "non_centred"}
    data["force_effects"]["parameterisation"] = non_centred  # the spec of the 2026-12 backtest
    assert ModelSpec.model_validate(data).model_hash() == "aa2e3cd8f67554d6"
    data["force_effects"]["dynamics"] = []  # without robbery's force dynamics: the stop-29 spec
    assert ModelSpec.model_validate(data).model_hash() == "21aa316649dc2d3c"
    data["breaks"]["shock_outcomes"] = None  # homicide's lockdown shock back: the stop-25 spec
    assert ModelSpec.model_validate(data).model_hash() == "3941a28ab66122aa"
    data["availability"]["idiosyncratic"] = []
    assert ModelSpec.model_validate(data).model_hash() == "92dc8da120fbbdd7"
    spec = load_spec("default")
    assert _with_dynamics(spec, ["robbery"]).model_hash() != spec.model_hash()


def test_deviation_paths_sum_to_zero_within_regions_and_over_quarters():
    panel = simulate_panel(n_periods=20, forces=FORCES, seed=5)["panel"].to_dataset()
    spec = _with_dynamics(load_spec("latent"), ["robbery", "homicide"], dynamics_step=4)
    spec = spec.model_copy(update={"trend": spec.trend.model_copy(update={"regional": True})})
    model, data = build_model(panel, spec)
    n_regions = len(set(data.region_of.tolist()))
    n_knots = -(-(len(data.periods) - 1) // 4) + 1
    point = model.initial_point(random_seed=5)
    rng = np.random.default_rng(0)
    dev = values_at(
        model, model["force_dynamics"], {k: rng.normal(size=v.shape) for k, v in point.items()}
    )
    assert dev.shape == (2, len(FORCES), len(data.periods))
    assert np.abs(dev).max() > 0.1
    np.testing.assert_allclose(dev.sum(axis=2), 0.0, atol=1e-9)
    for g in range(n_regions):
        np.testing.assert_allclose(dev[:, data.region_of == g].sum(axis=1), 0.0, atol=1e-9)
    coord = point["force_dynamics_robbery_coord"]
    assert coord.shape == (len(FORCES) - n_regions, n_knots - 1)


def test_continued_deviations_decay_at_the_quarterly_pace_and_keep_the_constraint():
    group = np.array([0, 0, 0, 1, 1])
    hist = np.zeros((3, 1, 5, 6))
    hist[..., -1] = [0.4, -0.1, -0.3, 0.2, -0.2]
    rho = np.full((3, 1), 0.8)
    out = continue_dynamics(hist, rho, np.zeros((3, 1)), group, 4, np.random.default_rng(1))
    np.testing.assert_allclose(out[..., -1], hist[..., -1] * 0.8**4)
    noisy = continue_dynamics(hist, rho, np.full((3, 1), 0.1), group, 4, np.random.default_rng(1))
    for g in (0, 1):
        np.testing.assert_allclose(noisy[..., group == g, :].sum(axis=-2), 0.0, atol=1e-12)
    eps = group_centred_normals(np.random.default_rng(2), (10_000, 5), group)
    assert eps[:, 0].std() == pytest.approx(np.sqrt(2 / 3), rel=0.03)  # 1 - 1/3 of the variance


@pytest.mark.slow  # two fits of 43 forces x 36 quarters: a statistical recovery check
def test_a_drifting_forces_deviation_is_recovered_and_forecast():
    """Robbery drifts per force (AR(1) quarterly, sd 0.15); the fit recovers the deviations, the
    forecast starts each force from its own and the holdout error falls against constant effects."""
    from forecast.fit import fit, sampler_settings
    from forecast.predict import predict

    sim = simulate_panel(n_periods=36, seed=21, holdout=4, force_drift_sd={"robbery": 0.15})
    panel = sim["panel"].to_dataset()
    future = sim["future"].to_dataset()["count"].sel(outcome="robbery")
    base = load_spec("default")
    base = base.model_copy(
        update={"outcomes": base.outcomes.model_copy(update={"names": ("robbery",)})}
    )
    errors = {}
    for spec in (base, _with_dynamics(base, ["robbery"])):
        tree = fit(
            panel, spec, sampler_settings(spec, draws=300, tune=300, chains=2), progress=False
        )
        pred = predict(tree, horizon=4, seed=1)["count"].sel(outcome="robbery")
        mean = pred.sel(period=future.period.values).mean(("chain", "draw"))
        errors[bool(spec.force_effects.dynamics)] = float(np.abs(np.log(mean / future)).mean())
    fitted = (
        tree.posterior["force_dynamics"].sel(dynamics_outcome="robbery").mean(("chain", "draw"))
    )
    truth = sim["truth"]["force_drift"].sel(outcome="robbery", period=fitted.period.values).values
    group = group_of(prepare_data(panel, spec), spec.trend.regional)
    for g in np.unique(group):  # the model's deviations sum to zero within each group of forces
        truth[group == g] -= truth[group == g].mean(axis=0)
    truth = truth - truth.mean(axis=1, keepdims=True)  # and over the quarters
    assert np.corrcoef(fitted.values.ravel(), truth.ravel())[0, 1] > 0.7
    assert np.corrcoef(fitted.values[:, -1], truth[:, -1])[0, 1] > 0.7
    assert errors[True] < 0.95 * errors[False]
