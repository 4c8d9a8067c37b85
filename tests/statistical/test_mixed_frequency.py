"""A panel in the awkward shapes real series come in (financial-year knife counts, rolling-year robbery
for some forces, a missing force half-year, a recording break) still recovers the effects (slow)."""

import numpy as np
import pytest

from forecast.diagnostics import summarise_diagnostics
from forecast.fit import fit, sampler_settings
from forecast.simulate import simulate_panel
from forecast.simulate_shapes import mixed_frequency
from forecast.spec import load_spec, parse_spec

STEP = 1.4  # simulated recording break: Kent's robbery up 40% from 2018Q1


def mixed_spec(base: str = "default"):
    text = load_spec(base).to_toml()
    text += (
        '\n[[observations]]\nvariable = "knife_fy"\noutcome = "knife"\n'
        '[[observations]]\nvariable = "robbery_rolling_year"\noutcome = "robbery"\n'
    )
    return parse_spec(text.replace("observations = []\n", ""))


@pytest.mark.slow
def test_mixed_frequency_panel_with_a_gap_and_a_break_recovers_the_effects():
    sim = simulate_panel(
        seed=7,
        breaks=[{"force": "Kent", "outcome": "robbery", "start": "2018Q1", "factor": STEP}],
    )
    panel = mixed_frequency(sim["panel"].to_dataset(), rolling_forces=10)
    spec = mixed_spec()
    settings = sampler_settings(spec, draws=1000, tune=600, target_accept=0.95)  # the default draws
    tree = fit(panel, spec, settings, progress=False)
    post = tree["posterior"]
    summary = summarise_diagnostics(tree)
    assert summary.max_rhat < 1.02 and summary.divergences <= 2, summary
    per_sd = post["availability_effect_per_sd"].values.reshape(-1, 3)
    lo, hi = np.quantile(per_sd, [0.05, 0.95], axis=0)
    truth = sim["truth"]["availability_effect_per_sd"].values
    assert ((lo <= truth) & (truth <= hi)).all(), (lo, hi, truth)
    assert (lo > 0).all()
    step = post["break_step"].values.reshape(-1)
    s_lo, s_hi = np.quantile(step, [0.05, 0.95])
    assert s_lo <= np.log(STEP) <= s_hi, (s_lo, s_hi)
