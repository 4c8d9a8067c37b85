"""Knife is published only as financial-year totals: the charts show each total as its quarterly
average, by force and by any area whose forces all have it, and the report says so in words."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecast.core import dims
from forecast.core.areas import window_rates
from forecast.report.html import _windowed_note
from forecast.simulate import simulate_panel
from forecast.simulate_shapes import mixed_frequency
from forecast.spec import load_spec


def _panel():
    sim = simulate_panel(seed=5, n_periods=32)  # 2012Q2-2020Q1
    return sim.panel if hasattr(sim, "panel") else sim


def test_window_rates_are_published_totals_over_their_quarters():
    quarterly = _panel()
    panel = mixed_frequency(quarterly, gap_force="Greater Manchester", gap=("2019Q3", "2019Q4"))
    w = window_rates(panel, "knife_fy", "knife")
    assert list(w.columns) == [
        "area",
        "outcome",
        "variable",
        "start",
        "end",
        "total",
        "rate_per_100k",
    ]
    # one force, one window: the sum of its four quarters, over the window's mean population
    force = str(quarterly[dims.FORCE].values[0])
    row = w[(w["area"] == force)].iloc[0]
    quarters = pd.period_range(row["start"], row["end"], freq="Q")
    assert len(quarters) == 4 and quarters[-1].quarter == 1  # April to March
    k = quarterly[dims.COUNT].sel({dims.FORCE: force, dims.OUTCOME: "knife", dims.PERIOD: quarters})
    pop = quarterly[dims.POPULATION].sel({dims.FORCE: force, dims.PERIOD: quarters})
    assert row["total"] == float(k.sum())
    np.testing.assert_allclose(row["rate_per_100k"], float(k.sum()) / 4 / float(pop.mean()) * 1e5)
    # the gap force has no total for FY2019/20, so neither has its region nor the national total
    assert not ((w["area"] == "Greater Manchester") & (w["end"] == "2020Q1")).any()
    assert not ((w["area"] == "North West") & (w["end"] == "2020Q1")).any()
    assert ((w["area"] == "North West") & (w["end"] == "2019Q1")).any()
    national = w[w["area"] == "England and Wales"]
    expected = panel["knife_fy"].sel({dims.PERIOD: pd.Period("2019Q1", "Q")}).sum()
    assert float(national.loc[national["end"] == "2019Q1", "total"].iloc[0]) == float(expected)


def test_the_report_says_what_is_annual():
    panel = mixed_frequency(_panel())
    note = _windowed_note(load_spec("latent"), panel)  # knife_fy, a free season and no proxy
    n = panel.sizes[dims.FORCE]
    last = panel["knife_fy"].dropna("period", how="all").indexes["period"][-1]
    assert f"<b>knife</b> is published only as financial-year sums ({n} of {n} forces; " in note
    assert f"the last ends in {last}," in note and str(last) == "2020Q1"
    assert "after it the band rests on the model alone" in note
    assert "so the model gives it none" not in note
    assert _windowed_note(load_spec("default"), panel) == ""
    note = _windowed_note(load_spec("realdata"), panel)  # the panel has no 10D proxy
    assert "after it the band rests on the model alone" in note
    assert "so the model gives it none" in note  # knife's season is flat
    proxy = (
        panel[dims.COUNT]
        .sel({dims.OUTCOME: "robbery"}, drop=True)
        .isel({dims.PERIOD: slice(0, -2)})
    )
    note = _windowed_note(load_spec("realdata"), panel.assign(blade_possession=proxy))
    end = panel.indexes["period"][-3]
    assert f"the band rests on the quarterly proxy blade_possession (to {end}), whose ratio" in note
    assert note.count("<p>") == 1
