"""Parameter recovery on simulated truth: the availability effects come back with the right sign,
inside their intervals. Seeds are the simulator's default and its neighbours, or small consecutive
integers, never picked because they pass; criteria are rates that allow for chance (all slow)."""

import numpy as np
import pandas as pd
import pytest

from forecast.diagnostics import Gates, gate_failures, summarise_diagnostics
from forecast.fit import fit, sampler_settings
from forecast.posterior import effects_table
from forecast.simulate import DEFAULT_SEED, simulate_panel
from forecast.spec import load_spec


def _fit_and_check(n_periods: int, seed: int, effects=None, prob=0.90, **sampler):
    sim = simulate_panel(n_periods=n_periods, seed=seed, effects=effects)
    spec = load_spec("default")
    tree = fit(sim["panel"].to_dataset(), spec, sampler_settings(spec, **sampler), progress=False)
    return tree, effects_table(tree, prob=prob, truth=sim["truth"].to_dataset())


@pytest.mark.slow
def test_effects_recovered_on_short_43_force_panels():
    """Three short panels (20 quarters) from the simulator's default seed and the next two (seeds not
    chosen by their outcome), nine effects in all, judged by criteria that allow for chance.

    At 95% nominal, 7 or more of 9 intervals covering the truth has probability 0.99 for a calibrated
    model (three 95% intervals of one panel all cover only ~86% of the time); each effect's 95%
    interval must lie above zero on at least two of the three panels (the right sign, by majority).
    """
    fits = [
        _fit_and_check(20, seed=DEFAULT_SEED + i, prob=0.95, draws=300, tune=300, chains=2)
        for i in range(3)
    ]
    eff = pd.concat([e for _, e in fits])
    print(eff.to_string())  # noqa: T201 (shown with -s)
    assert eff["covered"].sum() >= 7, eff
    assert ((eff["q2.5"] > 0).groupby(eff["outcome"]).sum() >= 2).all(), eff
    assert all(summarise_diagnostics(tree).divergences <= 2 for tree, _ in fits)


@pytest.mark.slow
def test_default_fit_meets_the_gates_and_recovers_effects():
    tree, eff = _fit_and_check(48, seed=DEFAULT_SEED)
    summary = summarise_diagnostics(tree)
    assert gate_failures(summary, Gates()) == [], summary
    # the sign of every effect; coverage is a rate, checked over seeds below and in
    # benchmarks/recovery_study.py (on this seed homicide's interval misses, 0.13 vs 0.10)
    assert (eff["q5"] > 0).all(), eff


@pytest.mark.slow
def test_recovery_over_seeds_and_null_panels():
    """Three seeded panels with effects and three null panels (9 intervals each).

    At 90% nominal, 6 or more of 9 covered has probability 0.99, so the bar below fails a biased
    model, not an unlucky seed; every effect must also have the right sign.
    """
    null_effects = dict.fromkeys(("homicide", "robbery", "knife"), 0.0)
    effects = pd.concat([_fit_and_check(48, seed=s, draws=500)[1] for s in (1, 2, 3)])
    nulls = pd.concat(
        [_fit_and_check(48, seed=s, effects=null_effects, draws=500)[1] for s in (101, 102, 103)]
    )
    print(effects.to_string(), nulls.to_string(), sep="\n")  # noqa: T201 (shown with -s)
    assert (effects["q5"] > 0).all(), effects
    assert effects["covered"].sum() >= 6, effects
    assert ((nulls["q5"] < 0) & (nulls["q95"] > 0)).sum() >= 6, nulls
    assert np.all(np.abs(nulls["mean"]) < 0.05), nulls


@pytest.mark.slow
def test_regional_trends_are_recovered_beside_the_effects():
    """Robbery and knife drift apart by region; the regional-trend spec follows the drifts and keeps
    the effects inside their 99% intervals with the right sign. (At 95%, all three effects of one
    panel cover only 86% of the time when calibrated: on seed 31 robbery missed at z = -2.2.)"""
    from forecast.spec import parse_spec

    sim = simulate_panel(seed=31, regional_trend_sd={"robbery": 0.03, "knife": 0.03})
    spec = parse_spec("[trend]\nregional = true\n")
    tree = fit(
        sim["panel"].to_dataset(),
        spec,
        # 1000 draws: the max R-hat over 1,380 regional steps reached 1.036 with 2 x 400 (1.014 here)
        sampler_settings(spec, draws=1000, tune=400, chains=2),
        progress=False,
    )
    truth = sim["truth"].to_dataset()
    eff = effects_table(tree, prob=0.99, truth=truth)
    assert eff["covered"].all() and (eff["q0.5"] > 0).all(), eff
    est = tree["posterior"]["trend_regional"].mean(("chain", "draw"))
    for outcome in ("robbery", "knife"):
        t = truth["trend_regional"].sel(outcome=outcome, period=est["period"].values)
        e = est.sel(outcome=outcome, gor=t["gor"].values)
        corr = np.corrcoef(t.values.ravel(), e.values.ravel())[0, 1]
        assert corr > 0.9, (outcome, corr)
    assert summarise_diagnostics(tree).max_rhat < 1.02


@pytest.mark.slow
def test_latent_recovery_over_seeds_and_null_panels():
    """The latent spec on two seeded 43 x 48 panels with effects and two null panels: every sign right,
    at least 5 of 6 intervals (90%) covering the truth and 5 of 6 null intervals keeping 0, and the
    latent path tracking the true within-force availability (the full 20 + 20 study is
    benchmarks/recovery_study.py --spec latent)."""
    spec = load_spec("latent")
    null_effects = dict.fromkeys(("homicide", "robbery", "knife"), 0.0)
    rows = []
    for seed, effects in [(1000, None), (1001, None), (2000, null_effects), (2001, null_effects)]:
        sim = simulate_panel(seed=seed, effects=effects)
        settings = sampler_settings(spec, draws=400, tune=300, chains=2)
        tree = fit(sim["panel"].to_dataset(), spec, settings, progress=False)
        eff = effects_table(tree, truth=sim["truth"].to_dataset()).assign(null=effects is not None)
        a = tree["posterior"]["availability"].mean(("chain", "draw")).values
        t = sim["truth"]["availability"].values
        a, t = a - a.mean(axis=1, keepdims=True), t - t.mean(axis=1, keepdims=True)
        rows.append(eff.assign(path_corr=np.corrcoef(a.ravel(), t.ravel())[0, 1]))
    table = pd.concat(rows)
    print(table.to_string())  # noqa: T201 (shown with -s)
    real, null = table[~table["null"]], table[table["null"]]
    assert (real["q5"] > 0).all(), real
    assert real["covered"].sum() >= 5, real
    assert ((null["q5"] <= 0) & (null["q95"] >= 0)).sum() >= 5, null
    assert (table["path_corr"] >= 0.9).all(), table
