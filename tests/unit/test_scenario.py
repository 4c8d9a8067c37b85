"""Scenarios: common draws, where and when a change applies, a zero effect gives zero, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from forecast.outputs.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    run_scenario,
    scenario_table,
)


def _scenario(**change) -> Scenario:
    return Scenario.model_validate({"name": "test", "change": [change]})


def test_zero_shift_gives_exactly_zero_difference(tiny_fit):
    ds = run_scenario(tiny_fit, _scenario(**{"from": "2015Q1", "shift_sd": 0.0}), horizon=4)
    np.testing.assert_array_equal(ds["scenario"].values, ds["baseline"].values)


def test_shift_applies_only_to_chosen_forces_from_the_start_quarter_after_the_lag(tiny_fit):
    sc = _scenario(forces=["Kent", "Essex"], **{"from": "2016Q3", "shift_sd": 1.0})
    ds = run_scenario(tiny_fit, sc, horizon=4, seed=2)
    diff = ds["scenario"] - ds["baseline"]
    others = [f for f in ds["force"].values if f not in ("Kent", "Essex")]
    assert float(abs(diff.sel(force=others)).max()) == 0.0
    # lag 1: 2016Q3 availability acts on 2016Q4 outcomes
    assert float(abs(diff.sel(period=slice(None, "2016Q3"))).max()) == 0.0
    after = diff.sel(force=["Kent", "Essex"], period=slice("2016Q4", None))
    beta = tiny_fit["posterior"]["availability_beta"].stack(sample=("chain", "draw"))
    # each draw's difference has the sign of that draw's effect
    signs = np.sign(after.stack(sample=("chain", "draw")).transpose("sample", ...).values)
    expected = np.sign(beta.transpose("sample", "outcome").values)[:, None, None, :]
    assert (signs == np.broadcast_to(expected, signs.shape)).all()


def test_regions_and_national_differences_are_sums_of_forces(tiny_fit):
    sc = _scenario(regions=["South East"], **{"from": "2016Q2", "shift_sd": -0.5})
    ds = run_scenario(tiny_fit, sc, horizon=2)
    table = scenario_table(ds, sc)
    rows = table[(table["quantity"] == "expected_offences") & (table["period"] == "2016Q4")]
    nat = rows[rows["area_level"] == "national"].set_index("outcome")["mean"]
    forces = rows[rows["area_level"] == "force"].groupby("outcome")["mean"].sum()
    np.testing.assert_allclose(nat.loc[forces.index].values, forces.values, rtol=1e-9)
    assert table["period"].min() == "2016Q2"  # rows start at the scenario's first quarter


def test_a_zero_effect_fit_gives_differences_centred_on_zero(tiny_fit):
    post = tiny_fit["posterior"].to_dataset()
    beta = post["availability_beta"]
    centred = beta - beta.mean(("chain", "draw"))  # an effect centred exactly on zero
    tree = tiny_fit.copy()
    tree["posterior"] = xr.DataTree(post.assign(availability_beta=centred))
    sc = _scenario(**{"from": "2016Q2", "shift_sd": 1.0})
    table = scenario_table(run_scenario(tree, sc, horizon=4), sc)
    nat = table[(table["area_level"] == "national") & (table["quantity"] == "percent")]
    nat = nat[nat["horizon"] >= 2]
    assert ((nat["q5"] < 0) & (nat["q95"] > 0)).all()
    # the mean is small beside the interval's half-width
    assert (nat["mean"].abs() < 0.25 * (nat["q95"] - nat["q5"]) / 2).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"forces": ["Kentt"], "from": "2016Q1", "shift_sd": 1}, "did you mean 'Kent'"),
        ({"forces": ["Merseyside"], "from": "2016Q1", "shift_sd": 1}, "not in the fitted panel"),
        ({"regions": ["Narnia"], "from": "2016Q1", "shift_sd": 1}, "unknown region 'Narnia'"),
        ({"regions": ["London"], "from": "2016Q1", "shift_sd": 1}, "no force of region 'London'"),
        ({"from": "2030Q1", "shift_sd": 1}, "quarter 2030Q1 is outside"),
        ({"from": "spring", "shift_sd": 1}, "'spring' is not a quarter"),
        ({"from": "2016Q3", "until": "2016Q2", "shift_sd": 1}, "is before 'from'"),
        (
            {"target": "trafficking", "from": "2016Q1", "percent": -20},
            "indicator scenarios need a latent-availability fit",
        ),
    ],
)
def test_bad_scenarios_fail_with_a_clear_message(tiny_fit, change, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(")):
        run_scenario(tiny_fit, _scenario(**change), horizon=4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "x"\n[[change]]\nfrom = "2016Q1"\nshift = 1\n', "unknown key 'change.0.shift'"),
        ('name = "x"\n[[change]]\nfrom = "2016Q1"\n', "takes shift_sd"),
        (
            'name = "x"\n[[change]]\ntarget = "trafficking"\nfrom = "2016Q1"\nshift_sd = 1\n',
            "takes percent",
        ),
        ('name = "x"\n', "change"),
        ("name = \n", "not valid TOML"),
    ],
)
def test_bad_scenario_files_fail_naming_the_file(tmp_path, text, message):
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_shipped_scenarios_parse():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "scenarios"
    names = {load_scenario(p).name for p in root.glob("*.toml")}
    assert "county lines +1 sd" in names
