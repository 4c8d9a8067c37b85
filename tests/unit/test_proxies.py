"""Quarterly proxies of an outcome known only from sums, and outcomes with a flat season."""

import numpy as np
import pymc as pm
import pytest

from forecast.core.errors import DataError, SpecError
from forecast.model import build_model, prepare_data
from forecast.simulate import simulate_panel
from forecast.simulate_shapes import mixed_frequency, with_proxy
from forecast.spec import parse_spec

FORCES = [
    "Kent", "Essex", "Surrey", "Sussex", "Thames Valley", "Hampshire", "Greater Manchester",
    "Merseyside", "Lancashire", "West Yorkshire", "West Midlands", "Avon and Somerset",
]  # fmt: skip
KNIFE_FY = '[[observations]]\nvariable = "knife_fy"\noutcome = "knife"\n'
PROXY = '[[observations]]\nvariable = "knife_proxy"\noutcome = "knife"\nproxy = true\n'
FLAT = '[seasonality]\nflat = ["knife"]\n'
CUT = "2021Q1"  # the last financial year of knife sums; the proxy runs two years further


@pytest.fixture(scope="module")
def panels():
    """12 forces x 32 quarters; knife falls by a quarter after 2020/21 (every recorded offence kept
    with probability 0.75) and is known as financial-year sums to 2020/21 only, its proxy (which
    follows the recorded counts) to the end; the unmasked panel holds the truth."""
    tree = simulate_panel(n_periods=32, start="2015Q2", forces=FORCES, seed=21)
    full = tree["panel"].to_dataset()
    late = full.indexes["period"] > CUT
    knife = full["count"].sel(outcome="knife").transpose("force", "period").values
    thinned = np.random.default_rng(21).binomial(knife[:, late].astype(int), 0.75)
    full["count"].loc[{"outcome": "knife", "period": full["period"][late]}] = thinned
    full = with_proxy(full, "knife", seed=21)
    panel = mixed_frequency(full, rolling_forces=0)
    panel["knife_fy"] = panel["knife_fy"].where(~late[None, :])
    return panel, full


def test_a_proxy_informs_the_outcome_but_never_makes_it_seen(panels):
    panel, _ = panels
    without = prepare_data(panel, parse_spec(KNIFE_FY))
    data = prepare_data(panel, parse_spec(KNIFE_FY + PROXY))
    assert [p.name for p in data.proxies] == ["knife_proxy"]
    assert [w.name for w in data.windowed] == ["knife_fy"]
    assert (data.seen == without.seen).all()
    p = data.proxies[0]
    assert p.y.shape == (len(FORCES), len(data.periods))
    expect = panel["knife_proxy"].transpose("force", "period").values[:, data.n_pre :]
    np.testing.assert_array_equal(p.y, expect)


def test_a_proxy_is_not_used_where_the_outcome_is_never_observed(panels):
    """In a force without knife sums the proxy's ratio and knife's level cannot be told apart."""
    panel = panels[0].copy()
    panel["knife_fy"] = panel["knife_fy"].where(panel["force"] != "Kent")
    data = prepare_data(panel, parse_spec(KNIFE_FY + PROXY))
    kent = data.forces.index("Kent")
    assert not data.seen[2, kent]
    p = data.proxies[0]
    assert p.areas == tuple(f for f in FORCES if f != "Kent")
    np.testing.assert_array_equal(p.rows, np.delete(np.arange(len(FORCES)), kent))
    assert np.isfinite(p.y).all()
    assert (
        f"knife_proxy: {len(data.periods)} values in areas the outcome is never" in data.notes[-1]
    )
    regional = prepare_data(
        _by_region(panel), parse_spec(KNIFE_FY + PROXY.replace("knife_proxy", "knife_region"))
    )
    p = regional.proxies[0]
    regions = set(map(str, panel["region"].values))
    assert "South East" not in p.areas and set(p.areas) == regions - {"South East"}
    assert (p.members[:, kent] == 0).all() and np.isfinite(p.y).all()


def test_proxy_ratios_sum_to_zero_over_the_areas_with_data(panels):
    """An area with no proxy data has no ratio: a prior-only one, tied to the level by the sum to
    zero, was a ridge (the Welsh region of 10D held the real fit's level at bulk ESS 427)."""
    panel = panels[0].copy()
    panel["knife_proxy"] = panel["knife_proxy"].where(panel["force"] != "Essex")
    model, data = build_model(panel, parse_spec(KNIFE_FY + PROXY))
    areas = [f for f in FORCES if f != "Essex"]
    assert data.proxies[0].areas == tuple(areas)
    assert model.named_vars_to_dims["proxy_force__knife_proxy"] == ("proxy_area__knife_proxy",)
    assert list(model.coords["proxy_area__knife_proxy"]) == areas
    with model:
        ratio = pm.draw(model["proxy_force__knife_proxy"], draws=5, random_seed=2)
    assert ratio.shape == (5, len(areas))
    np.testing.assert_allclose(ratio.sum(axis=1), 0.0, atol=1e-9)
    logp = model.compile_logp(vars=[model["proxy__knife_proxy"]], sum=True)
    point = model.initial_point()
    moved = dict(point, intercept=point["intercept"].copy())
    moved["intercept"][2] += 0.2  # knife's level up and the proxy's level down: the same rates
    moved["proxy_level__knife_proxy"] = point["proxy_level__knife_proxy"] - 0.2
    assert logp(moved) == pytest.approx(logp(point), abs=1e-6)


def _by_region(panel):
    """The proxy summed over each region's forces, as a (gor, period) series (like HES admissions)."""
    proxy = panel["knife_proxy"].groupby(panel["region"].rename("gor")).sum(skipna=False)
    return panel.assign(knife_region=proxy.transpose("gor", "period"))


def test_a_region_level_proxy_sees_the_summed_rate_of_its_forces(panels):
    panel = _by_region(panels[0])
    model, data = build_model(
        panel, parse_spec(KNIFE_FY + PROXY.replace("knife_proxy", "knife_region"))
    )
    p = data.proxies[0]
    regions = list(panel["gor"].values)
    assert p.y.shape == (len(regions), len(data.periods))
    region_of = [str(r) for r in panel["region"].values]
    for g, name in enumerate(regions):
        assert [f for f, m in zip(data.forces, p.members[g], strict=True) if m] == [
            f for f, r in zip(data.forces, region_of, strict=True) if r == name
        ]
    logp = model.compile_logp(vars=[model["proxy__knife_region"]], sum=True)
    point = model.initial_point()
    moved = dict(point, intercept=point["intercept"].copy())
    moved["intercept"][2] += 0.3
    moved["proxy_level__knife_region"] = point["proxy_level__knife_region"] - 0.3
    assert logp(moved) == pytest.approx(logp(point), abs=1e-6)
    moved["proxy_level__knife_region"] = point["proxy_level__knife_region"]
    assert abs(logp(moved) - logp(point)) > 1.0


def test_by_region_sums_a_force_proxy_over_each_region(panels):
    """`by_region = true` on a force series is the (gor, period) series of its regional sums; a region
    misses a quarter where any of its forces does."""
    panel = _by_region(panels[0])
    panel["knife_proxy"] = panel["knife_proxy"].copy()
    kent = list(panel["force"].values).index("Kent")
    panel["knife_proxy"][kent, -1] = np.nan
    summed = prepare_data(panel, parse_spec(KNIFE_FY + PROXY + "by_region = true\n")).proxies[0]
    regional = prepare_data(
        panel, parse_spec(KNIFE_FY + PROXY.replace("knife_proxy", "knife_region"))
    ).proxies[0]
    order = [list(map(tuple, regional.members)).index(tuple(m)) for m in summed.members]
    np.testing.assert_array_equal(summed.members, regional.members[order])
    south_east = summed.members[:, kent] > 0
    assert np.isnan(summed.y[south_east, -1]).all()
    np.testing.assert_array_equal(summed.y[:, :-1], regional.y[order, :-1])
    np.testing.assert_array_equal(summed.y[~south_east, -1], regional.y[order][~south_east, -1])


def test_by_region_needs_a_proxy():
    with pytest.raises(SpecError, match="knife_fy: by_region applies to a proxy"):
        parse_spec(KNIFE_FY + "by_region = true\n")


def test_a_proxy_with_negative_counts_is_refused(panels):
    panel, _ = panels
    bad = panel.copy()
    bad["knife_proxy"] = bad["knife_proxy"].copy()
    bad["knife_proxy"][0, 5] = -3.0
    with pytest.raises(DataError, match="proxy variable 'knife_proxy' has negative"):
        prepare_data(bad, parse_spec(KNIFE_FY + PROXY))


def test_the_proxy_rate_is_the_outcome_rate_times_its_ratio(panels):
    """Moving knife's intercept up and the proxy's level down by the same amount leaves the proxy's
    likelihood unchanged (it sees knife's rate); moving the intercept alone does not."""
    panel, _ = panels
    model, _ = build_model(panel, parse_spec(KNIFE_FY + PROXY + FLAT))
    logp = model.compile_logp(vars=[model["proxy__knife_proxy"]], sum=True)
    point = model.initial_point()
    k = ["homicide", "robbery", "knife"].index("knife")
    base = logp(point)
    moved = dict(point)
    moved["intercept"] = point["intercept"].copy()
    moved["intercept"][k] += 0.3
    assert abs(logp(moved) - base) > 1.0
    moved["proxy_level__knife_proxy"] = point["proxy_level__knife_proxy"] - 0.3
    assert logp(moved) == pytest.approx(base, abs=1e-6)


def test_flat_outcomes_have_no_season(panels):
    panel, _ = panels
    model, _ = build_model(panel, parse_spec(KNIFE_FY + FLAT))
    with model:
        season = pm.draw(model["season"], draws=20, random_seed=1)
    assert season.shape == (20, 3, 4)
    assert (season[:, 2] == 0).all()
    assert (np.abs(season[:, :2]) > 1e-6).all()
    np.testing.assert_allclose(season.sum(axis=-1), 0.0, atol=1e-9)


@pytest.mark.slow
def test_the_proxy_carries_knife_past_the_end_of_its_sums(panels):
    """After the financial-year sums end, knife's fall shows only in its proxy: with the proxy the
    90% interval of the last four quarters' total covers the truth and the median's error is at
    most half that from the sums alone, whose interval misses (the model cannot know)."""
    from forecast.fit import fit, sampler_settings
    from forecast.predict import predict

    panel, full = panels
    last = panel.indexes["period"][-4:]
    truth = float(full["count"].sel(outcome="knife", period=last).sum())
    got = {}
    for name, text in {"sums": KNIFE_FY + FLAT, "proxy": KNIFE_FY + PROXY + FLAT}.items():
        spec = parse_spec(text)
        settings = sampler_settings(spec, draws=300, tune=300, chains=2)
        tree = fit(panel, spec, settings, progress=False)
        total = predict(tree, horizon=1, seed=1)["count"].sel(outcome="knife", period=last)
        got[name] = np.quantile(total.sum(("force", "period")).values.ravel(), [0.05, 0.5, 0.95])
    lo, mid, hi = got["proxy"]
    assert lo <= truth <= hi, (got, truth)
    assert abs(mid - truth) <= 0.5 * abs(got["sums"][1] - truth), (got, truth)
    assert got["sums"][0] > truth, (got, truth)
