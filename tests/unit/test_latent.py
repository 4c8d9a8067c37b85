"""Latent availability, observation operators and recording breaks: specs, data alignment, likelihood."""

import json

import numpy as np
import pytest
from scipy import stats

from forecast.core.errors import SpecError
from forecast.model import build_model, prepare_data
from forecast.simulate import simulate_panel
from forecast.simulate_shapes import mixed_frequency
from forecast.spec import load_spec, parse_spec

OBSERVATIONS = (
    '[[observations]]\nvariable = "knife_fy"\noutcome = "knife"\n'
    '[[observations]]\nvariable = "robbery_rolling_year"\noutcome = "robbery"\n'
)


@pytest.fixture(scope="module")
def mixed():
    """8 forces x 24 quarters, a simulated recording break in Kent, the awkward shapes applied."""
    forces = [
        "Kent",
        "Essex",
        "Surrey",
        "Sussex",
        "Greater Manchester",
        "Merseyside",
        "Dyfed-Powys",
    ]
    tree = simulate_panel(
        n_periods=32,
        start="2016Q2",
        forces=forces,
        seed=5,
        breaks=[{"force": "Kent", "outcome": "robbery", "start": "2019Q1", "factor": 1.4}],
    )
    return mixed_frequency(tree["panel"].to_dataset(), rolling_forces=3), tree


@pytest.mark.parametrize(
    "text, message",
    [
        ('[availability]\nkind = "latent"', "needs at least one [[availability.indicators]]"),
        ("[availability]\nlag = 2\nmax_lag = 1", "max_lag (1) must be >= lag (2)"),
        (
            '[outcomes]\nnames = ["robbery"]\n[[observations]]\nvariable = "x"\noutcome = "knife"',
            "breaks.shock_outcomes name ['knife'], not in outcomes.names",
        ),
        (
            '[outcomes]\nnames = ["robbery"]\n[seasonality]\nflat = ["knife"]',
            "breaks.shock_outcomes name ['knife'], not in outcomes.names",
        ),
        (
            '[[availability.indicators]]\nvariable = "a"\n[[availability.indicators]]\nvariable = "a"',
            "indicators repeat a variable",
        ),
        ('[[availability.indicators]]\nvariable = "a"\nsign = 2', "availability.indicators.0.sign"),
    ],
)
def test_bad_latent_specs_fail_before_compiling(text, message):
    with pytest.raises(SpecError) as err:
        parse_spec(text, "s.toml")
    assert message in str(err.value) and str(err.value).startswith("s.toml: ")


def test_mixed_frequency_sums_match_the_quarters(mixed):
    panel, tree = mixed
    full = tree["panel"].to_dataset()
    knife = full["count"].sel(outcome="knife", force="Essex")
    fy = panel["knife_fy"].sel(force="Essex")
    end = fy.dropna("period")["period"].values[1]
    i = list(panel.indexes["period"]).index(end)
    assert float(fy.sel(period=end)) == float(knife.isel(period=slice(i - 3, i + 1)).sum())
    rolling = panel["robbery_rolling_year"].sel(force="Kent")
    assert np.isnan(rolling.isel(period=2)) and np.isfinite(rolling.isel(period=3))
    assert panel["count"].sel(outcome="knife").isnull().all()
    gmp = panel["count"].sel(force="Greater Manchester", period=["2019Q3", "2019Q4"])
    assert gmp.isnull().all()
    kinds = {b["kind"] for b in json.loads(panel.attrs["breaks"])}
    assert kinds == {"recording", "missing"}


def test_operators_index_the_right_quarters_and_forces(mixed):
    panel, _ = mixed
    spec = parse_spec(
        '[availability]\nkind = "latent"\nlag = 1\nmax_lag = 2\n'
        '[[availability.indicators]]\nvariable = "seizures_class_a_fy"\n'
        '[[availability.indicators]]\nvariable = "price_index"\nfamily = "lognormal"\nsign = -1\n'
        + OBSERVATIONS
    )
    data = prepare_data(panel, spec)
    assert data.lags == [1, 2] and len(data.periods) == panel.sizes["period"] - 2
    fy, price = data.indicators
    assert fy.cells.window == 4 and (np.diff(fy.cells.t_idx, axis=1) == 1).all()
    periods = panel.indexes["period"]
    assert {periods[t].quarter for t in fy.cells.t_idx[:, -1]} == {1}  # FY ends in Jan-Mar
    assert price.cells.f_idx is None and np.allclose(price.cells.members.sum(axis=1), 1)
    rolling = next(w for w in data.windowed if w.name == "robbery_rolling_year")
    assert rolling.cells.t_idx.min() >= 0  # windows reaching before the modelled quarters dropped
    assert any("robbery_rolling_year" in n for n in data.notes)
    # the recording break gets a step from 2019Q1; the missing half-year masks GMP's cells
    (step,) = data.steps
    assert step.label.startswith("Kent: robbery 2019Q1")
    assert str(data.periods[np.flatnonzero(step.active)[0]]) == "2019Q1"
    g = data.forces.index("Greater Manchester")
    assert np.isnan(data.count[g, [str(p) for p in data.periods].index("2019Q3"), :]).all()


def test_windowed_likelihood_is_a_moment_matched_negative_binomial(mixed):
    panel, _ = mixed
    spec = parse_spec(OBSERVATIONS)
    model, data = build_model(panel, spec)
    point = model.initial_point(random_seed=1)
    outs = model.unobserved_value_vars
    values = dict(
        zip([v.name for v in outs], model.compile_fn(outs, point_fn=True)(point), strict=True)
    )
    phi, trend, u = values["phi"], values["trend"], values["force_effect"]
    season, beta = values["season"], values["availability_beta"]
    intercept = point["intercept"]
    a = data.lagged(data.index_full)[0]
    eta = (
        data.log_offset[:, :, None]
        + intercept[None, None, :]
        + u.T[:, None, :]
        + beta[None, None, :] * a[:, :, None]
        + season[:, data.quarter].T[None, :, :]
        + trend.T[None, :, :]
    )
    steps = values["break_step"]
    for i, s in enumerate(data.steps):
        for k in s.outcomes:
            eta[s.force, s.active, k] += steps[i]
    w = next(w for w in data.windowed if w.name == "knife_fy")
    q = np.exp(eta[w.cells.f_idx[:, None], w.cells.t_idx, w.outcome])
    mean = q.sum(axis=1)
    alpha = phi[w.outcome] * mean**2 / (q**2).sum(axis=1)
    expected = stats.nbinom.logpmf(w.cells.y, alpha, alpha / (alpha + mean)).sum()
    logp = model.compile_logp(vars=[model["window__knife_fy"]], sum=True)(point)
    assert float(logp) == pytest.approx(expected, rel=1e-8)


def test_latent_model_has_named_dims_and_a_finite_density(mixed):
    panel, _ = mixed
    model, data = build_model(panel, load_spec("latent"))
    assert model.named_vars_to_dims["availability"] == ("force", "panel_period")
    assert model.named_vars_to_dims["availability_effect_per_sd"] == ("outcome",)
    assert np.isfinite(model.compile_logp()(model.initial_point(random_seed=2)))
    names = [i.name for i in data.indicators]
    assert names[:2] == ["trafficking", "possession_excl_cannabis"] and "price_index" in names
    assert any("optional indicators not in the panel" in n for n in data.notes)


@pytest.mark.slow
def test_latent_fit_forecasts_non_negative_integers_from_projected_availability(small_panel):
    from forecast.fit import fit, sampler_settings
    from forecast.predict import predict

    spec = load_spec("latent")
    tree = fit(
        small_panel, spec, sampler_settings(spec, draws=30, tune=30, chains=2), progress=False
    )
    pred = predict(tree, horizon=3, seed=1)
    count = pred["count"].values
    assert count.dtype.kind == "i" and (count >= 0).all()
    assert list(pred["horizon"].values[-3:]) == [1, 2, 3]
    future = pred["count"].isel(period=slice(-3, None))
    assert float(future.std()) > 0  # availability and trend are projected, not held

    # an indicator scenario moves availability by log(1 + percent/100) / loading, per draw
    from forecast.outputs.scenario import Scenario, run_scenario, shifted_availability
    from forecast.predict import _rng, project

    sc = Scenario.model_validate(
        {"name": "t", "change": [{"target": "trafficking", "from": "2016Q2", "percent": -20}]}
    )
    proj = project(tree, 3, _rng(tree, None))
    moved = shifted_availability(proj, sc) - proj.availability
    loading = tree["posterior"]["loading__trafficking"].values.reshape(-1)
    np.testing.assert_allclose(moved[:, 0, -1], np.log(0.8) / loading, rtol=1e-9)
    assert float(np.abs(moved[:, :, :-4]).max()) == 0.0
    ds = run_scenario(tree, sc, horizon=3)
    assert float(abs(ds["scenario"] - ds["baseline"]).isel(period=-1).max()) > 0


def test_covariates_must_be_complete_and_positive_for_logs(small_panel):
    from forecast.core.errors import DataError

    gappy = small_panel.copy(deep=True)
    gappy["trafficking"][1, 4] = np.nan
    spec = parse_spec('[[covariates]]\nvariable = "trafficking"\nlog = true')
    with pytest.raises(DataError) as err:
        prepare_data(gappy, spec)
    assert str(err.value) == (
        "covariate 'trafficking' is missing for force 'Essex', period 2013Q2; "
        "covariates must be complete"
    )
    gappy["trafficking"][1, 4] = 0.0
    with pytest.raises(DataError, match="has values <= 0; log = true needs > 0"):
        prepare_data(gappy, spec)
    data = prepare_data(small_panel, spec)
    x = data.covariates["trafficking"]
    assert x.shape == (6, 15)  # modelled quarters (the first feeds the lag)


def test_market_specs_measure_their_own_market_and_skip_absent_optional_series(small_panel):
    panel = small_panel.copy()
    rng = np.random.default_rng(4)
    fy = np.full(panel["trafficking"].shape, np.nan)
    fy[:, 3::4] = rng.poisson(40.0, size=fy[:, 3::4].shape)  # financial-year sums
    for name in ("seizures_cocaine", "seizures_crack", "seizures_heroin"):
        panel[name] = (("force", "period"), fy, {"window_quarters": 4})
    used = {}
    for spec_name in ("latent_cocaine", "latent_crack_heroin"):
        model, data = build_model(panel, load_spec(spec_name))
        used[spec_name] = [i.name for i in data.indicators]
        assert np.isfinite(model.compile_logp()(model.initial_point(random_seed=1)))
        assert any("optional observations not in the panel: knife_fy" in n for n in data.notes)
        assert data.windowed == []  # knife_fy absent: knife is fitted from its quarterly counts
    general = ["trafficking", "possession_excl_cannabis"]
    assert used["latent_cocaine"] == [*general, "seizures_cocaine"]
    # the simulated panel has drug deaths (an opiate-dominated series) but no admissions
    crack_heroin = [*general, "seizures_crack", "seizures_heroin", "drug_deaths_3y"]
    assert used["latent_crack_heroin"] == crack_heroin


def test_window_conditioning_adds_history_draws_up_to_each_recorded_sum(mixed):
    from forecast.predict import condition_on_windows

    panel, _ = mixed
    data = prepare_data(panel, parse_spec(OBSERVATIONS))
    rng = np.random.default_rng(0)
    n_s, (n_f, n_t, n_k) = 4000, data.count.shape
    eta = rng.normal(2.0, 0.5, size=(n_s, n_f, n_t, n_k))
    before = rng.poisson(np.exp(eta))
    after = condition_on_windows(before.copy(), eta, data, np.random.default_rng(1))
    knife = next(w for w in data.windowed if w.name == "knife_fy")
    rolling = next(w for w in data.windowed if w.name == "robbery_rolling_year")
    touched = np.zeros(before.shape[1:], bool)
    for w in (knife, rolling):
        for y, f, quarters in zip(w.cells.y, w.cells.f_idx, w.cells.t_idx, strict=True):
            if data.observed[f, quarters, w.outcome].any():
                continue
            sums = after[:, f, quarters, w.outcome].sum(axis=1)
            assert (sums == y).all()
            touched[f, quarters, w.outcome] = True
    assert touched[:, :, knife.outcome].sum() == 4 * len(knife.cells.y)
    # each draw splits its total in proportion to that draw's quarterly means
    y, f, quarters = knife.cells.y[0], knife.cells.f_idx[0], knife.cells.t_idx[0]
    mu = np.exp(eta[:, f, quarters, knife.outcome])
    expected = y * mu / mu.sum(axis=1, keepdims=True)
    share = (after[:, f, quarters, knife.outcome] - expected).mean(axis=0) / np.sqrt(y)
    assert np.abs(share).max() < 0.05
    # every other cell is the unconditional draw it was
    assert (after[:, ~touched] == before[:, ~touched]).all()


@pytest.mark.slow
def test_predicted_knife_history_sums_to_the_published_financial_years(mixed):
    from forecast.fit import fit, sampler_settings
    from forecast.predict import predict

    panel, _ = mixed
    spec = parse_spec(OBSERVATIONS)
    tree = fit(panel, spec, sampler_settings(spec, draws=20, tune=30, chains=1), progress=False)
    pred = predict(tree, horizon=2, seed=3)
    knife = pred["count"].sel(outcome="knife")
    fy = panel["knife_fy"]
    checked = 0
    for force in fy["force"].values:
        for end in fy.sel(force=force).dropna("period")["period"].values:
            quarters = [end - i for i in range(4)]
            if quarters[-1] < pred.indexes["period"][0]:
                continue
            total = knife.sel(force=force, period=quarters).sum("period")
            assert (total == float(fy.sel(force=force, period=end))).all(), (force, end)
            checked += 1
    assert checked >= 5 * len(fy["force"])
