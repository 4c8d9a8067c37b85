"""Parameter recovery on simulated truth: the availability effects come back with the right sign,
inside their 90% intervals. A small panel runs in the default suite; the full 43 x 48 check is slow."""

import numpy as np
import pytest

from forecast.diagnostics import Gates, gate_failures, summarise_diagnostics
from forecast.fit import fit, sampler_settings
from forecast.posterior import effects_table
from forecast.simulate import simulate_panel
from forecast.spec import load_spec


def _fit_and_check(n_periods: int, seed: int, effects=None, **sampler):
    sim = simulate_panel(n_periods=n_periods, seed=seed, effects=effects)
    spec = load_spec("default")
    tree = fit(sim["panel"].to_dataset(), spec, sampler_settings(spec, **sampler), progress=False)
    return tree, effects_table(tree, prob=0.90, truth=sim["truth"].to_dataset())


def test_effects_recovered_on_a_short_43_force_panel():
    tree, eff = _fit_and_check(20, seed=101, draws=300, tune=300, chains=2)
    assert eff["covered"].all(), eff
    assert (eff["q5"] > 0).all(), eff  # right sign: the whole 90% interval above zero
    assert summarise_diagnostics(tree).divergences <= 2


@pytest.mark.slow
def test_default_fit_meets_the_gates_and_recovers_effects():
    tree, eff = _fit_and_check(48, seed=20240601)
    summary = summarise_diagnostics(tree)
    assert gate_failures(summary, Gates()) == [], summary
    assert eff["covered"].all(), eff
    assert (eff["q5"] > 0).all(), eff


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recovery_over_seeds_and_a_null_panel(seed):
    _, eff = _fit_and_check(48, seed=seed, draws=500)
    assert eff["covered"].all(), eff
    assert (eff["q5"] > 0).all(), eff
    _, null = _fit_and_check(48, seed=seed + 100, effects=dict.fromkeys(("homicide", "robbery", "knife"), 0.0),
                             draws=500)
    assert ((null["q5"] < 0) & (null["q95"] > 0)).all(), null
    assert np.all(np.abs(null["mean"]) < 0.05)
