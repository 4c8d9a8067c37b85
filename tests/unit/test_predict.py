import numpy as np
import pandas as pd
import pytest

from forecast.core.errors import ForecastError
from forecast.predict import NATIONAL, PANEL_TOTAL, aggregate_areas, predict


@pytest.fixture(scope="module")
def pred(tiny_fit):
    return predict(tiny_fit, horizon=4, seed=9)


def test_forecast_draws_are_non_negative_integers(pred):
    counts = pred["count"].values
    assert np.issubdtype(counts.dtype, np.integer)
    assert counts.min() >= 0


def test_periods_and_horizons(pred, small_panel):
    periods = pred.indexes["period"]
    assert periods[0] == small_panel.indexes["period"][1]  # first quarter feeds the lag only
    assert [str(p) for p in periods[-4:]] == ["2016Q2", "2016Q3", "2016Q4", "2017Q1"]
    assert list(pred["horizon"].values[-5:]) == [0, 1, 2, 3, 4]
    assert pred["observed"].isel(period=slice(-4, None)).isnull().all()
    assert dict(pred["count"].sizes) == {
        "chain": 2,
        "draw": 60,
        "force": 6,
        "period": 19,
        "outcome": 3,
    }


def test_same_seed_same_forecast(tiny_fit, pred):
    again = predict(tiny_fit, horizon=4, seed=9)
    np.testing.assert_array_equal(again["count"].values, pred["count"].values)


def test_population_extrapolated_from_recent_growth(pred):
    pop = pred["population"].values
    g_hist = pop[:, -5] / pop[:, -6]
    g_future = pop[:, -1] / pop[:, -2]
    np.testing.assert_allclose(g_future, g_hist, rtol=1e-3)


def test_aggregates_are_sums_of_force_draws(pred):
    areas = aggregate_areas(pred)
    total_name = PANEL_TOTAL  # 6 forces, not all 43
    assert NATIONAL not in areas["area"].values
    total = areas["count"].sel(area=total_name)
    np.testing.assert_array_equal(total.values, pred["count"].sum("force").values)
    south_east = [
        f
        for f, r in zip(pred["force"].values, pred["region"].values, strict=True)
        if r == "South East"
    ]
    # Kent, Surrey, Sussex but not Hampshire or Thames Valley: the label says the region is partial
    assert "South East" not in areas["area"].values
    np.testing.assert_array_equal(
        areas["count"].sel(area="South East (forces in panel)").values,
        pred["count"].sel(force=south_east).sum("force").values,
    )
    assert set(areas["area_level"].values) == {"force", "region", "national"}


def test_forecast_spreads_grow_with_horizon(pred):
    fut = pred["count"].sum("force").sel(outcome="robbery").isel(period=slice(-4, None))
    width = (fut.quantile(0.9, ["chain", "draw"]) - fut.quantile(0.1, ["chain", "draw"])).values
    assert width[-1] > width[0]


def test_negative_or_huge_horizon_is_refused(tiny_fit):
    for bad in (-1, 41, 10_000):
        with pytest.raises(
            ForecastError, match=rf"^--horizon {bad}: choose 0 to 40 quarters ahead$"
        ):
            predict(tiny_fit, horizon=bad)


def test_history_only_prediction(tiny_fit):
    p = predict(tiny_fit, horizon=0)
    assert (p["horizon"].values == 0).all()
    assert isinstance(p.indexes["period"], pd.PeriodIndex)


def test_panel_rates_by_area_are_unique_and_coherent():
    from forecast.core.areas import panel_rates
    from forecast.simulate import simulate_panel

    panel = simulate_panel(n_periods=9, seed=4)["panel"].to_dataset()
    rates = panel_rates(panel)
    assert not rates.duplicated(["area", "period", "outcome"]).any()
    assert {"West Midlands", "West Midlands (region)", "England and Wales"} <= set(rates["area"])
    q = rates[(rates["period"] == "2012Q3") & (rates["outcome"] == "robbery")].set_index("area")
    forces = q[q["area_level"] == "force"]
    assert q.at["England and Wales", "count"] == forces["count"].sum()
    assert q.at["England and Wales", "rate_per_100k"] == pytest.approx(
        forces["count"].sum() / forces["population"].sum() * 1e5
    )


def test_regional_trend_walks_on_with_steps_summing_to_zero_over_regions():
    import xarray as xr

    from forecast.predict import _walk_on

    rng = np.random.default_rng(0)
    n_c, n_d, n_k, n_g, n_t = 2, 500, 3, 4, 6
    path = rng.normal(size=(n_c, n_d, n_k, n_g, n_t))
    sigma = np.array([0.01, 0.05, 0.1])
    post = xr.Dataset(
        {
            "trend_regional": (("chain", "draw", "outcome", "gor", "period"), path),
            "trend_regional_sigma": (
                ("chain", "draw", "outcome"),
                np.broadcast_to(sigma, (n_c, n_d, n_k)),
            ),
        }
    )
    out = _walk_on(post, "trend_regional", ("outcome", "gor", "period"), 3, rng)
    assert out.shape == (n_c * n_d, n_k, n_g, n_t + 3)
    np.testing.assert_array_equal(out[..., :n_t], path.reshape(n_c * n_d, n_k, n_g, n_t))
    steps = np.diff(out[..., n_t - 1 :], axis=-1)
    np.testing.assert_allclose(steps.sum(axis=2), 0.0, atol=1e-12)  # zero-sum over regions
    # each region's step sd is sigma * sqrt((G - 1) / G), as under ZeroSumNormal
    sd = steps.std(axis=(0, 2, 3))
    np.testing.assert_allclose(sd, sigma * np.sqrt((n_g - 1) / n_g), rtol=0.05)


def test_a_shock_still_on_at_the_last_quarter_persists_into_the_forecast():
    from forecast.model.breaks import Shock, shock_terms

    delta = np.array([[[-0.1, -0.3], [-0.2, -0.4]]])  # (sample, shock, outcome)
    t = np.arange(7)  # quarters 0..4 observed, 5 and 6 forecast
    ended = [Shock("q1", 1, [0, 1]), Shock("q2", 2, [1])]
    out = shock_terms(delta, ended, t, n_hist=5)[0]
    np.testing.assert_allclose(out[:, 0], [0, -0.1, 0, 0, 0, 0, 0])  # history only
    np.testing.assert_allclose(out[:, 1], [0, -0.3, -0.4, 0, 0, 0, 0])
    ongoing = [Shock("q3", 3, [0]), Shock("q4", 4, [1])]  # the data end inside the shock
    out = shock_terms(delta, ongoing, t, n_hist=5)[0]
    np.testing.assert_allclose(out[:, 0], [0, 0, 0, -0.1, 0, 0, 0])  # outcome 0's shock ended at 3
    np.testing.assert_allclose(out[:, 1], [0, 0, 0, 0, -0.4, -0.4, -0.4])  # a one-quarter window


def test_forecast_quarters_inside_a_shock_draw_from_the_window_so_far():
    """Data ending in the third quarter of a lockdown: each forecast quarter of each draw takes one
    of the three fitted quarters' effects (not always the last), uniformly, the same on every call
    with the same generator; a quarter before a gap in the window is not part of it."""
    from forecast.model.breaks import Shock, ongoing_shocks, shock_terms

    n_s = 4000
    window = [Shock("q0", 0, [0]), Shock("q2", 2, [0]), Shock("q3", 3, [0]), Shock("q4", 4, [0])]
    effects = np.array([-0.9, -0.6, -0.2, -0.3])  # q0's is outside the run that ends at q4
    delta = np.broadcast_to(effects[None, :, None], (n_s, 4, 1))
    assert ongoing_shocks(window, 0, n_hist=5) == [1, 2, 3]  # q1 is missing: q0 is not in the run
    t = np.arange(8)  # 0..4 observed, 5..7 forecast
    out = shock_terms(delta, window, t, n_hist=5, rng=np.random.default_rng(1))[:, :, 0]
    np.testing.assert_allclose(out[:, :5], np.broadcast_to([-0.9, 0, -0.6, -0.2, -0.3], (n_s, 5)))
    future = out[:, 5:]
    assert set(np.unique(future)) == {-0.6, -0.2, -0.3}
    for value in (-0.6, -0.2, -0.3):
        assert abs((future == value).mean() - 1 / 3) < 0.02
    assert (future[:, 0] != future[:, 1]).mean() > 0.6  # drawn per quarter, not once per draw
    again = shock_terms(delta, window, t, n_hist=5, rng=np.random.default_rng(1))[:, :, 0]
    np.testing.assert_array_equal(out, again)


def test_regional_shock_effects_ride_along_and_share_the_drawn_quarter():
    """With regional shocks each force's effect (national + its region's) is applied in the shock
    quarters; in forecasts made inside the window every force of a draw takes the same quarter."""
    from forecast.model.breaks import Shock, shock_terms

    national = np.array([-0.5, -0.2])[None, :, None, None]  # (sample, shock, outcome, 1)
    regional = np.array([[0.1, -0.1, 0.0], [-0.05, 0.05, 0.0]])  # (shock, force)
    delta = np.broadcast_to(national + regional[None, :, None, :], (500, 2, 1, 3))
    window = [Shock("q3", 3, [0]), Shock("q4", 4, [0])]
    out = shock_terms(delta, window, np.arange(8), n_hist=5, rng=np.random.default_rng(2))
    assert out.shape == (500, 8, 1, 3)
    np.testing.assert_allclose(out[0, 3, 0], [-0.4, -0.6, -0.5])
    np.testing.assert_allclose(out[0, 4, 0], [-0.25, -0.15, -0.2])
    future = out[:, 5:, 0, :]
    first = np.isclose(future[..., 2], -0.5)  # force 2 tells which quarter was drawn
    np.testing.assert_allclose(future[first], np.broadcast_to([-0.4, -0.6, -0.5], (first.sum(), 3)))
    np.testing.assert_allclose(
        future[~first], np.broadcast_to([-0.25, -0.15, -0.2], ((~first).sum(), 3))
    )
    assert 0.4 < first.mean() < 0.6


def test_yearly_knot_force_paths_are_forecast_with_their_quarterly_persistence():
    """A fit with `force_step = 4` records the force component's quarterly rho and sigma; forecasts
    continue the force paths with those (not the per-knot ones): over many draws the lag-1
    correlation of the projected force deviations is rho^(1/4) and their sd keeps the marginal sd."""
    from types import SimpleNamespace

    import xarray as xr

    from forecast.predict import _future_latent

    n_draws, forces, steps = 4000, 2, 40
    rho, sigma = np.array([0.5, 0.9]), np.array([0.1, 0.3])  # (national, force) per knot
    rho_q = np.array([0.5, 0.9**0.25])
    sigma_q = sigma / np.sqrt(1 - rho**2) * np.sqrt(1 - rho_q**2)
    comp = ("chain", "draw", "availability_component")

    def per_draw(values):
        return (comp, np.broadcast_to(values, (1, n_draws, *np.shape(values))))

    marginal = sigma[1] / np.sqrt(1 - rho[1] ** 2)
    start = np.random.default_rng(1).normal(0, marginal, size=n_draws)
    post = xr.Dataset(
        {
            "availability_rho": per_draw(rho),
            "availability_sigma": per_draw(sigma),
            "availability_quarterly_rho": per_draw(rho_q),
            "availability_quarterly_sigma": per_draw(sigma_q),
            "availability_national_last": (("chain", "draw"), np.zeros((1, n_draws))),
            "availability_force_last": (
                ("chain", "draw", "force"),
                np.stack([start, -start], axis=1)[None],
            ),
            "availability_scale": (("chain", "draw"), np.ones((1, n_draws))),
        }
    )
    data = SimpleNamespace(forces=["A", "B"], regions=["R"], region_of=np.zeros(forces, int))
    out, national = _future_latent(post, data, steps, np.random.default_rng(2))
    force = out - national[:, None, :]  # (sample, force, step)
    assert np.allclose(force.sum(axis=1), 0.0)  # innovations keep the region's sum at zero
    x = force[:, 0, :]
    lag1 = np.corrcoef(x[:, 10], x[:, 11])[0, 1]
    assert lag1 == pytest.approx(0.9**0.25, abs=0.02)  # not the per-knot 0.9
    # the start decays as rho_q^40; innovations keep the marginal variance, halved by the region's
    # zero-sum constraint over its two forces
    decay = rho_q[1] ** (2 * steps)
    assert x[:, -1].std() == pytest.approx(marginal * np.sqrt(decay + (1 - decay) / 2), rel=0.03)


def test_index_forecasts_revert_to_each_forces_own_level():
    """Forces keep lasting index levels (between-force sd 0.9, within 0.38, persistence 0.6 around
    their own level, as in the real index): fitted and projected 12 quarters ahead, each force's
    mean path stays at its own level instead of drifting to the national mean."""
    from types import SimpleNamespace

    import pymc as pm

    from forecast.model.components import index_dynamics
    from forecast.predict import _future_index

    rng = np.random.default_rng(3)
    n_f, n_t, rho = 43, 45, 0.6
    level = rng.normal(0, 0.9, n_f)
    level -= level.mean()
    dev = np.zeros((n_f, n_t))
    dev[:, 0] = rng.normal(0, 0.38, n_f)
    for t in range(1, n_t):
        dev[:, t] = rho * dev[:, t - 1] + rng.normal(0, 0.38 * np.sqrt(1 - rho**2), n_f)
    nat = 0.1 * np.cumsum(rng.normal(size=n_t))
    index = nat[None, :] + level[:, None] + dev
    with pm.Model(coords={"force": [f"f{i}" for i in range(n_f)]}):
        index_dynamics(SimpleNamespace(index_full=index))
        tree = pm.sample(
            draws=300, tune=300, chains=2, nuts_sampler="nutpie", progressbar=False, random_seed=1
        )
    post = tree["posterior"].to_dataset()
    assert 0.4 < float(post["index_dev_rho"].mean()) < 0.75  # around 0 it read 0.9+
    future = _future_index(post, index, 12, np.random.default_rng(0))
    ahead = future[:, :, -1].mean(axis=0) - future[:, :, -1].mean()
    slope = np.polyfit(level, ahead, 1)[0]
    assert 0.85 < slope < 1.15, slope  # reverting to the mean would give about 0.4
