import numpy as np
import xarray as xr

from forecast.simulate import oracle_z, simulate_panel


def test_same_seed_same_panel_other_seed_other_panel():
    a = simulate_panel(n_periods=12, seed=5)
    b = simulate_panel(n_periods=12, seed=5)
    c = simulate_panel(n_periods=12, seed=6)
    xr.testing.assert_identical(a["panel"].to_dataset(), b["panel"].to_dataset())
    xr.testing.assert_identical(a["truth"].to_dataset(), b["truth"].to_dataset())
    assert not np.array_equal(a["panel"]["count"].values, c["panel"]["count"].values)


def test_default_panel_is_43_forces_with_realistic_rates():
    tree = simulate_panel()
    ds = tree["panel"].to_dataset()
    assert ds.sizes == {"force": 43, "period": 48, "outcome": 3}
    assert str(ds.indexes["period"][0]) == "2012Q2"
    rate = (ds["count"].sum("force") / ds["population"].sum("force") * 1e5).mean("period")
    # national rates per 100,000 per quarter (domain notes: homicide ~0.3, robbery 30-40, knife 10-20)
    assert 0.15 < float(rate.sel(outcome="homicide")) < 0.45
    assert 20 < float(rate.sel(outcome="robbery")) < 50
    assert 8 < float(rate.sel(outcome="knife")) < 25
    assert 55e6 < float(ds["population"].isel(period=0).sum()) < 62e6
    assert (ds["count"] >= 0).all() and np.array_equal(ds["count"], np.round(ds["count"]))
    # supply offences about 1-2 per 10,000 population per quarter
    supply_rate = float(
        (ds["trafficking"].sum("force") / ds["population"].sum("force")).mean() * 1e4
    )
    assert 0.8 < supply_rate < 2.5


def test_truth_latent_availability_is_unit_scale_and_drives_the_index():
    tree = simulate_panel(seed=3)
    truth, ds = tree["truth"].to_dataset(), tree["panel"].to_dataset()
    a = truth["availability"].values
    assert abs(a.std() - 1) < 0.15 and abs(a.mean()) < 0.15
    assert np.corrcoef(a.ravel(), ds["availability_index"].values.ravel())[0, 1] > 0.98
    assert set(truth["availability_beta"].values) == {0.10, 0.08, 0.12}
    assert np.allclose(truth["force_effect"].sum("force"), 0)


def test_effects_change_the_counts_and_holdout_is_returned():
    null = simulate_panel(n_periods=12, seed=2, effects={"homicide": 0, "robbery": 0, "knife": 0})
    assert (null["truth"]["availability_beta"].values == 0).all()
    tree = simulate_panel(n_periods=12, seed=2, holdout=3)
    fut = tree["future"].to_dataset()
    assert fut.sizes["period"] == 3 and str(fut.indexes["period"][0]) == "2015Q2"


def test_counts_follow_the_recorded_truth_oracle_score_is_standard_normal():
    """Over 60 consecutive seeds, effect and null panels, the score for each outcome's effect at the
    TRUE parameters has mean 0 and sd 1: the counts are drawn from the truth the simulator records
    (a wrong per-sd effect, scale or lag in /truth moves the mean by several standard errors)."""
    z = np.array(
        [
            oracle_z(simulate_panel(seed=seed, effects=effects))
            for seed in range(60)
            for effects in (None, {"homicide": 0.0, "robbery": 0.0, "knife": 0.0})
        ]
    )
    se = 1 / np.sqrt(len(z))
    assert (np.abs(z.mean(axis=0)) < 3.5 * se).all(), z.mean(axis=0)
    assert ((z.std(axis=0) > 0.85) & (z.std(axis=0) < 1.15)).all(), z.std(axis=0)


def test_held_out_expected_counts_are_the_means_the_counts_were_drawn_from():
    """Standardised held-out counts, (y - mu) / sqrt(mu + mu^2 / phi) with the recorded expected
    count mu and the true phi, have mean 0 and sd 1 over 43 forces x 8 quarters x 3 outcomes."""
    tree = simulate_panel(n_periods=16, seed=11, holdout=8)
    fut = tree["future"].to_dataset()
    mu = fut["expected_count"].transpose("force", "period", "outcome")
    assert mu.sizes == {"force": 43, "period": 8, "outcome": 3}
    phi = tree["truth"]["phi"].values[None, None, :]
    y = fut["count"].transpose(*mu.dims).values
    z = (y - mu.values) / np.sqrt(mu.values + mu.values**2 / phi)
    assert abs(z.mean()) < 0.1 and 0.93 < z.std() < 1.07  # a quarter off gives 1.09
    assert np.corrcoef(np.log(y + 0.5).ravel(), np.log(mu.values).ravel())[0, 1] > 0.95
