"""The trend's "level" parameterisation: each free quarter's level is the variable (a zero-sum basis
with the random-walk prior on its differences), the same model as centred steps."""

import numpy as np
import pytest
from scipy import stats

from forecast.core.errors import SpecError
from forecast.model import build_model
from forecast.model.components import seen_basis
from forecast.model.trend import _step_scale
from forecast.spec import parse_spec
from tests.model_values import values_at

SHOCKS = (
    "force,series,start,end,kind,reason\n"
    "all,all,2014Q2,2014Q3,shock,two quarters of every outcome\n"
    "all,robbery,2015Q1,2015Q1,shock,one quarter of robbery\n"
)


def _specs(tmp_path, season: str):
    register = tmp_path / "breaks.csv"
    register.write_text(SHOCKS)
    text = f"[breaks]\nfile = '{register}'\nshock_exit_sigma = 0.1\n{season}[trend]\n"
    centred = parse_spec(text + 'parameterisation = { robbery = "centred" }\n')
    level = parse_spec(text + 'parameterisation = { robbery = "level" }\n')
    return centred, level


@pytest.mark.parametrize("season", ["", "[seasonality]\nwith_trend = true\n"])
def test_level_trend_is_the_centred_model_with_the_path_as_the_variable(
    small_panel, tmp_path, season
):
    """At matching points both give the same trend, and the same log density less the centred
    model's prior-only steps into shock quarters (a level model has no variable there)."""
    centred, level = _specs(tmp_path, season)
    assert centred.model_hash() != level.model_hash()
    model_c, data = build_model(small_panel, centred)
    model_l, _ = build_model(small_panel, level)
    k = data.outcomes.index("robbery")
    others = [j for j in range(len(data.outcomes)) if j != k]
    assert list(model_l.coords["step_outcome"]) == [data.outcomes[j] for j in others]
    rng = np.random.default_rng(7)
    point = model_c.initial_point(random_seed=2)
    point = {n: v + rng.normal(0, 0.3, size=np.shape(v)) for n, v in point.items()}
    trend_c, sigma = values_at(model_c, [model_c["trend"], model_c["trend_sigma"]], point)
    scale = _step_scale(data.shocks, len(data.outcomes), len(data.periods))[k]
    free = np.r_[0, 1 + np.flatnonzero(scale > 0)]
    assert len(free) < len(data.periods)  # shock quarters hold the level
    moved = trend_c[k].copy()
    if season:
        s = values_at(model_c, model_c["season"], point)[k, data.quarter]
        moved = moved + s - s[0]
    point_l = {n: v for n, v in point.items() if n != "trend_step_raw"}
    point_l["trend_step_raw"] = point["trend_step_raw"][others]
    point_l["trend_level_coord__robbery"] = seen_basis(np.ones(len(free), bool)).T @ moved[free]
    np.testing.assert_allclose(values_at(model_l, model_l["trend"], point_l), trend_c, atol=1e-10)
    held = point["trend_step_raw"][k][scale == 0]
    expected = float(model_c.compile_logp()(point)) - stats.norm(0, sigma[k]).logpdf(held).sum()
    assert float(model_l.compile_logp()(point_l)) == pytest.approx(expected, rel=1e-10)


def test_level_is_a_trend_choice_only(tmp_path):
    with pytest.raises(SpecError, match="parameterisation"):
        parse_spec('[force_effects]\nparameterisation = "level"\n')
