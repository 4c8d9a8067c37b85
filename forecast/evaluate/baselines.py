"""Simple forecasts to beat, from statsforecast: seasonal naive and automatic ETS, one series per area
(force, region, England and Wales) and outcome, fitted on the same data as the model.

statsforecast gives a point forecast and Gaussian prediction intervals; they become count draws
(Normal with the interval's sd, rounded, floored at 0) so baselines are scored exactly like the model.
Missing quarters inside a series are interpolated (statsforecast needs complete series); a series
with no recorded quarter (an outcome seen only as annual sums) gets no baseline.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.areas import to_areas

BASELINES = ("seasonal_naive", "ets")
Z95 = 1.959963984540054


def area_series(panel: xr.Dataset) -> pd.DataFrame:
    """Long table (unique_id, ds, y) of every area's quarterly counts, with area and outcome."""
    areas = to_areas(panel[[dims.COUNT, dims.POPULATION]], strict=[dims.COUNT])
    frame = areas[dims.COUNT].to_dataframe().reset_index()
    frame = frame.rename(columns={dims.COUNT: "y"})
    frame["ds"] = frame[dims.PERIOD].map(lambda p: p.to_timestamp(how="start"))
    frame["unique_id"] = frame[dims.AREA].astype(str) + "|" + frame[dims.OUTCOME].astype(str)
    parts = []
    for _, g in frame.groupby("unique_id", sort=False):
        g = g.sort_values("ds")
        first = g["y"].first_valid_index()
        if first is None:
            continue
        g = g.loc[first:].copy()
        g["y"] = g["y"].interpolate(limit_direction="both")
        parts.append(g)
    return pd.concat(parts, ignore_index=True)[["unique_id", "ds", "y", dims.AREA, dims.OUTCOME]]


def baseline_draws(
    panel: xr.Dataset, horizon: int, n_draws: int, seed: int
) -> dict[str, pd.DataFrame]:
    """Count draws per baseline: {name: frame with area, outcome, horizon and a (n_draws,) array}."""
    os.environ.setdefault("NIXTLA_ID_AS_COL", "1")
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    series = area_series(panel)
    models = [
        SeasonalNaive(season_length=4, alias="seasonal_naive"),
        AutoETS(season_length=4, alias="ets"),
    ]
    sf = StatsForecast(models=models, freq="QS", n_jobs=1)
    fc = sf.forecast(df=series[["unique_id", "ds", "y"]], h=horizon, level=[95])
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    fc["horizon"] = fc.groupby("unique_id").cumcount() + 1
    rng = np.random.default_rng([seed, 11])
    out = {}
    for name in BASELINES:
        mean = fc[name].to_numpy(dtype=float)
        sd = (fc[f"{name}-hi-95"] - fc[f"{name}-lo-95"]).to_numpy(dtype=float) / (2 * Z95)
        sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1e-9)
        draws = rng.normal(mean[:, None], sd[:, None], size=(len(fc), n_draws))
        draws = np.maximum(np.rint(draws), 0.0)
        area, outcome = zip(*(u.split("|") for u in fc["unique_id"]), strict=True)
        out[name] = pd.DataFrame(
            {dims.AREA: area, dims.OUTCOME: outcome, "horizon": fc["horizon"], "draws": list(draws)}
        )
    return out
