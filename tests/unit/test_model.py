"""The PyMC model and the numpy predictor must compute the same log rate; errors come before compiling."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from forecast.core.errors import DataError, SpecError
from forecast.model import build_model, prepare_data
from forecast.predict import _log_rate
from forecast.spec import load_spec, parse_spec
from tests.model_values import values_at


def test_model_has_named_dims(small_panel):
    model, data = build_model(small_panel, load_spec("default"))
    assert model.named_vars_to_dims["force_effect"] == ("outcome", "force")
    assert model.named_vars_to_dims["availability_beta"] == ("outcome",)
    assert model.named_vars_to_dims["trend"] == ("outcome", "period")
    # lag 1: the first panel quarter only feeds the lagged index
    assert len(data.periods) == small_panel.sizes["period"] - 1
    np.testing.assert_array_equal(
        data.lagged(data.index_full)[0][:, 1], small_panel["availability_index"].values[:, 1]
    )


RICH = (
    "[availability]\nlag = 1\nmax_lag = 3\nforce_varying = true\n"
    "[force_effects]\ncorrelated = true\n"
    '[[covariates]]\nvariable = "trafficking"\nlog = true\n'
)


REGIONAL = (
    "[trend]\nregional = true\nregional_sigma = 0.05\n"
    '[force_effects]\nparameterisation = { knife = "non_centred" }\n'  # mixed parameterisation
)


SHOCKS = (
    "force,series,start,end,kind,reason\n"
    "all,all,2014Q2,2014Q3,shock,two quarters of every outcome\n"
    "all,robbery,2015Q1,2015Q1,shock,one quarter of robbery\n"
    "all,all,2015Q3,,shock,no end: left to the trend\n"
    "Kent,robbery,2014Q1,,recording,a step\n"
)


@pytest.mark.parametrize(
    "spec_name", ["default", "minimal", "rich", "regional", "shocks", "regional_shocks"]
)
def test_numpy_log_rate_matches_the_model_likelihood(small_panel, spec_name, tmp_path):
    register = tmp_path / "breaks.csv"
    register.write_text(SHOCKS)
    shocks = f"[breaks]\nfile = '{register}'\n"
    texts = {"rich": RICH, "regional": REGIONAL, "shocks": shocks}
    texts["regional_shocks"] = shocks + "shock_regional_sigma = 0.3\n"
    spec = parse_spec(texts[spec_name]) if spec_name in texts else load_spec(spec_name)
    model, data = build_model(small_panel, spec)
    point = model.initial_point(random_seed=3)
    rng = np.random.default_rng(0)
    point = {k: v + rng.normal(0, 0.1, size=np.shape(v)) for k, v in point.items()}
    # evaluate the deterministics at that point, then compare the count log-likelihood
    outs = model.unobserved_value_vars  # free variables (constrained) and deterministics
    names = [v.name for v in outs]
    values = dict(zip(names, model.compile_fn(outs, point_fn=True)(point), strict=True))
    post = {
        n: (("chain", "draw", *model.named_vars_to_dims.get(n, ())), np.asarray(v)[None, None])
        for n, v in values.items()
        if not n.endswith("__") and np.ndim(v) == len(model.named_vars_to_dims.get(n, ()))
    }
    import xarray as xr

    post = xr.Dataset(post, coords={k: list(v) for k, v in model.coords.items()})
    trend = post["trend"].values.reshape(1, *post["trend"].shape[2:]) if "trend" in post else None
    if "trend_regional" in post:  # (outcome, region, period) -> per force
        regional = post["trend_regional"].values[0][:, :, data.region_of, :]
        trend = trend[:, :, None, :] + regional
    a_path = (
        data.index_full[None] if data.index_full is not None else post["availability"].values[0]
    )
    t = np.arange(len(data.periods))
    eta = _log_rate(post, spec, data, t, data.log_offset, a_path, data.quarter, trend)[0]
    phi = values["phi"]
    y = data.count
    expected = stats.nbinom.logpmf(y, phi[None, None, :], phi / (phi + np.exp(eta))).sum()
    logp = model.compile_logp(vars=[model["count"]], sum=True)(point)
    assert float(logp) == pytest.approx(expected, rel=1e-9)


def test_missing_cells_are_masked_not_zero(small_panel):
    gappy = small_panel.copy(deep=True)
    gappy["count"][0, 3:5, 1] = np.nan
    model, data = build_model(gappy, load_spec("default"))
    n_cells = data.count.size
    observed = model.rvs_to_values[model["count"]].data
    assert observed.size == n_cells - 2


def test_spec_panel_mismatch_is_caught_before_compiling(small_panel):
    spec = parse_spec("[availability]\nvariable = 'purity'")
    with pytest.raises(SpecError, match=r"availability\.variable 'purity' is not in the panel"):
        prepare_data(small_panel, spec)
    with pytest.raises(
        DataError, match="panel has 5 quarters; the model needs at least max lag \\+ 8 = 9"
    ):
        prepare_data(small_panel.isel(period=slice(0, 5)), load_spec("default"))


def _at_jittered_point(model, name: str | list[str], seed: int, sd: float):
    """The value of model variable `name` (or a list of the values of several) at the initial
    point plus Normal(0, sd) noise."""
    rng = np.random.default_rng(seed)
    point = model.initial_point(random_seed=1)
    point = {k: v + rng.normal(0, sd, size=np.shape(v)) for k, v in point.items()}
    outs = model[name] if isinstance(name, str) else [model[n] for n in name]
    return values_at(model, outs, point)


def test_regional_trends_sum_to_zero_over_regions_and_are_validated(small_panel):
    spec = parse_spec(REGIONAL)
    model, data = build_model(small_panel, spec)
    assert model.named_vars_to_dims["trend_regional"] == ("outcome", "gor", "period")
    assert "force_effect_raw" in model.named_vars  # centred for two outcomes, not for knife
    assert len(data.regions) == 4  # the small panel's six forces lie in four regions
    path = _at_jittered_point(model, "trend_regional", seed=2, sd=0.3)
    np.testing.assert_allclose(path.sum(axis=1), 0.0, atol=1e-12)  # over regions, each quarter
    np.testing.assert_allclose(path.mean(axis=2), 0.0, atol=1e-12)  # centred over the quarters
    assert np.abs(path).max() > 0.01
    u = _at_jittered_point(model, "force_effect", seed=2, sd=0.3)
    np.testing.assert_allclose(u.sum(axis=1), 0.0, atol=1e-12)  # over forces, every outcome
    with pytest.raises(SpecError, match="regional = true needs kind"):
        parse_spec('[trend]\nkind = "none"\nregional = true\n')


def test_national_shocks_get_one_effect_per_quarter_and_outcome(small_panel, tmp_path):
    register = tmp_path / "breaks.csv"
    register.write_text(SHOCKS)
    model, data = build_model(small_panel, parse_spec(f"[breaks]\nfile = '{register}'\n"))
    assert [(s.label, s.outcomes) for s in data.shocks] == [
        ("2014Q2", [0, 1, 2]),
        ("2014Q3", [0, 1, 2]),
        ("2015Q1", [1]),
    ]
    assert model.named_vars_to_dims["shock"] == ("shock_quarter", "outcome")
    assert any("no end; left to trend" in n for n in data.notes)
    assert [s.label for s in data.steps] == ["Kent: robbery 2014Q1-2016Q1"]
    # the trend holds still through shock quarters; the step out spans the window
    trend, steps = _at_jittered_point(model, ["trend", "trend_step"], seed=5, sd=0.5)
    t = {str(p): i for i, p in enumerate(data.periods)}
    held = [t["2014Q2"], t["2014Q3"]]
    np.testing.assert_allclose(trend[:, held], trend[:, [held[0] - 1] * 2], atol=1e-12)
    assert trend[1, t["2015Q1"]] == pytest.approx(trend[1, t["2014Q4"]])  # robbery only
    assert trend[0, t["2015Q1"]] != pytest.approx(trend[0, t["2014Q4"]])
    assert np.all(steps[:, t["2014Q4"] - 1] != 0)  # the step out of the window moves


def test_regional_shocks_deviate_from_the_national_effect_and_sum_to_zero(small_panel, tmp_path):
    """`shock_regional_sigma` gives each region its own deviation in each shock quarter, summing to
    zero over regions, so the national effect stays the regions' mean; off (0), there is none."""
    register = tmp_path / "breaks.csv"
    register.write_text(SHOCKS)
    text = f"[breaks]\nfile = '{register}'\nshock_regional_sigma = 0.3\n"
    model, data = build_model(small_panel, parse_spec(text))
    assert len(data.regions) > 1
    assert model.named_vars_to_dims["shock_regional"] == ("shock_quarter", "outcome", "gor")
    z, sd, dev = _at_jittered_point(
        model, ["shock_regional_z", "shock_regional_sigma", "shock_regional"], seed=7, sd=0.5
    )
    np.testing.assert_allclose(dev.sum(axis=2), 0.0, atol=1e-12)
    np.testing.assert_allclose(dev, z * sd[None, :, None])
    assert np.abs(dev).max() > 1e-3
    model, _ = build_model(small_panel, parse_spec(text.replace("0.3", "0.0")))
    assert "shock_regional" not in model.named_vars
    national = parse_spec(f"[breaks]\nfile = '{register}'\n").model_hash()
    assert parse_spec(text.replace("0.3", "0.0")).model_hash() == national  # saved fits still load


def test_shock_outcomes_keep_the_register_shocks_to_the_named_outcomes(small_panel, tmp_path):
    """`[breaks] shock_outcomes` drops national shocks for the outcomes it leaves out (homicide's
    trend then walks through the lockdown quarters); a name outside outcomes.names is refused."""
    register = tmp_path / "breaks.csv"
    register.write_text(SHOCKS)
    text = f"[breaks]\nfile = '{register}'\nshock_outcomes = ['robbery', 'knife']\n"
    model, data = build_model(small_panel, parse_spec(text))
    assert [(s.label, s.outcomes) for s in data.shocks] == [
        ("2014Q2", [1, 2]),
        ("2014Q3", [1, 2]),
        ("2015Q1", [1]),
    ]
    trend = _at_jittered_point(model, "trend", seed=5, sd=0.5)
    t = {str(p): i for i, p in enumerate(data.periods)}
    assert trend[0, t["2014Q2"]] != pytest.approx(trend[0, t["2014Q1"]])  # homicide walks
    assert trend[1, t["2014Q2"]] == pytest.approx(trend[1, t["2014Q1"]])  # robbery holds
    data = build_model(small_panel, parse_spec(text.replace("'robbery', 'knife'", "")))[1]
    assert data.shocks == []
    with pytest.raises(SpecError, match=r"breaks.shock_outcomes name \['homicde'\], not in"):
        parse_spec("[breaks]\nshock_outcomes = ['homicde']\n")


def test_trend_step_scale_spans_shock_windows():
    from forecast.model.breaks import Shock
    from forecast.model.trend import _step_scale

    scale = _step_scale([Shock("a", 2, [0]), Shock("b", 3, [0]), Shock("c", 5, [1])], 2, 7)
    np.testing.assert_allclose(scale[0], [1, 0, 0, np.sqrt(3), 1, 1])
    np.testing.assert_allclose(scale[1], [1, 1, 1, 1, 0, np.sqrt(2)])


def test_force_without_data_gets_its_own_effect_and_the_rest_sum_to_zero(small_panel):
    panel = small_panel.copy(deep=True)
    panel["count"].loc[{"outcome": "knife", "force": panel["force"].values[2]}] = np.nan
    spec = parse_spec('[force_effects]\nparameterisation = { knife = "non_centred" }\n')
    model, data = build_model(panel, spec)
    assert data.seen.tolist() == [[True] * 6, [True] * 6, [True, True, False, True, True, True]]
    assert model.named_vars_to_dims["force_effect_raw"] == ("outcome", "force_basis")
    u = _at_jittered_point(model, "force_effect", seed=3, sd=0.5)
    np.testing.assert_allclose(u[:2].sum(axis=1), 0.0, atol=1e-12)  # fully seen: over all forces
    np.testing.assert_allclose(np.delete(u[2], 2).sum(), 0.0, atol=1e-12)  # knife: seen forces
    assert abs(u[2, 2]) > 1e-3  # the unseen force's effect is free, not minus the others' sum
    # iid raw values through the basis give the zero-sum covariance over the seen forces and an
    # independent unit variance for the unseen one
    from forecast.model.components import seen_basis

    b = seen_basis(data.seen[2])
    np.testing.assert_allclose(b.T @ b, np.eye(5), atol=1e-12)
    expected = np.eye(6)
    seen = np.flatnonzero(data.seen[2])
    expected[np.ix_(seen, seen)] -= 1 / 5
    np.testing.assert_allclose(b @ b.T, expected, atol=1e-12)
    # an outcome nobody observed is an error before compiling, naming it
    panel["count"].loc[{"outcome": "knife"}] = np.nan
    with pytest.raises(DataError, match=r"outcome\(s\) \['knife'\] have no observed cells"):
        prepare_data(panel, spec)


def test_the_step_out_of_a_shock_window_can_shift_the_level(small_panel, tmp_path):
    """With `shock_exit_sigma` the step out of a shock window has sd sqrt(sigma^2 * quarters +
    exit^2), every other step sigma; the gradient stays finite where the trend holds still."""
    register = tmp_path / "breaks.csv"
    register.write_text(SHOCKS)
    text = f"[breaks]\nfile = '{register}'\nshock_exit_sigma = 0.4\n"
    model, data = build_model(small_panel, parse_spec(text))
    z, sigma, steps = _at_jittered_point(
        model, ["trend_step_z", "trend_sigma", "trend_step"], seed=6, sd=0.5
    )
    t = {str(p): i for i, p in enumerate(data.periods)}
    out = t["2014Q4"] - 1  # the step into 2014Q4 leaves the two-quarter window
    np.testing.assert_allclose(steps[:, out], z[:, out] * np.sqrt(3 * sigma**2 + 0.4**2))
    before = t["2014Q2"] - 2
    np.testing.assert_allclose(steps[:, before], z[:, before] * sigma)
    mixed = parse_spec(text + '[trend]\nparameterisation = { robbery = "centred" }\n')
    model, _ = build_model(small_panel, mixed)
    grad = model.compile_dlogp()(model.initial_point(random_seed=2))
    assert np.isfinite(grad).all()


def test_force_varying_overdispersion_is_pooled_per_outcome_and_used_by_forecasts(small_panel):
    from forecast.predict import _sample_counts

    spec = parse_spec("[likelihood]\nforce_varying = true\n")
    model, data = build_model(small_panel, spec)
    assert model.named_vars_to_dims["phi_force"] == ("force", "outcome")
    phi, phi_force, z, sd = _at_jittered_point(
        model, ["phi", "phi_force", "phi_force_z", "phi_force_sd"], seed=4, sd=0.5
    )
    np.testing.assert_allclose(phi_force, phi[None, :] * np.exp(z * sd[None, :]))
    # forecasts draw each force's counts with its own concentration
    n_f, n_k = len(data.forces), len(data.outcomes)
    conc = np.full((1, 1, n_f, n_k), 1000.0)
    conc[..., 0, :] = 0.5  # the first force scatters far more
    post = xr.Dataset(
        {
            "phi_force": (("chain", "draw", "force", "outcome"), conc),
            "phi": (("chain", "draw", "outcome"), np.full((1, 1, n_k), 1000.0)),
        }
    )
    eta = np.full((1, n_f, 4000, n_k), np.log(50.0))
    draws = _sample_counts(post, spec, eta, np.random.default_rng(0))
    cv = draws.std(axis=2) / draws.mean(axis=2)  # (sample, force, outcome)
    assert (cv[0, 0] > 1.0).all() and (cv[0, 1:] < 0.2).all()


def test_season_with_trend_is_the_same_model_with_the_season_change_in_the_step_variable(
    small_panel, tmp_path
):
    """`[seasonality] with_trend`: a centred outcome's raw step variable is its step plus the
    season's change into that quarter (where the trend moves), so both specs give the same trend and
    the same log density at matching points; non-centred outcomes and held steps are untouched."""
    from forecast.model.trend import _step_scale

    register = tmp_path / "breaks.csv"
    register.write_text(SHOCKS)
    text = (
        f"[breaks]\nfile = '{register}'\n" + '[trend]\nparameterisation = { robbery = "centred" }\n'
    )
    plain, joint = parse_spec(text), parse_spec(text + "[seasonality]\nwith_trend = true\n")
    assert plain.model_hash() == parse_spec(text + "[seasonality]\n").model_hash()
    assert joint.model_hash() != plain.model_hash()
    model_p, data = build_model(small_panel, plain)
    model_j, _ = build_model(small_panel, joint)
    rng = np.random.default_rng(4)
    point = model_p.initial_point(random_seed=1)
    point = {k: v + rng.normal(0, 0.3, size=np.shape(v)) for k, v in point.items()}
    season = values_at(model_p, model_p["season"], point)
    change = season[:, data.quarter[1:]] - season[:, data.quarter[:-1]]
    scale = _step_scale(data.shocks, len(data.outcomes), len(data.periods))
    moving = (np.array(data.outcomes) == "robbery")[:, None] & (scale > 0)
    assert moving.any() and (~moving[data.outcomes.index("robbery")]).any()  # held steps too
    point_j = dict(point, trend_step_raw=point["trend_step_raw"] + change * moving)
    trend_p = values_at(model_p, model_p["trend"], point)
    np.testing.assert_allclose(values_at(model_j, model_j["trend"], point_j), trend_p)
    logp_p = model_p.compile_logp()(point)
    assert float(model_j.compile_logp()(point_j)) == pytest.approx(float(logp_p), rel=1e-10)
    # unshifted values give robbery another trend; non-centred homicide's is untouched
    other = values_at(model_j, model_j["trend"], point)
    k, h = data.outcomes.index("robbery"), data.outcomes.index("homicide")
    assert not np.allclose(other[k], trend_p[k])
    np.testing.assert_allclose(other[h], trend_p[h])
