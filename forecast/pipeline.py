"""End-to-end steps that write to an output directory: fit, forecast, and the demo that chains them.

The CLI calls these; they are as usable from Python. Every file is written atomically and an existing
file is only replaced with ``overwrite=True``; all names are checked before any sampling starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from forecast.diagnostics import DiagnosticsSummary, diagnostics_table, summarise_diagnostics
from forecast.export import save_predictions, summary_table, write_table
from forecast.fit import fit, sampler_settings, save_fit
from forecast.io import prepare_out_dir, write_atomic
from forecast.panel import save_panel
from forecast.posterior import effects_table
from forecast.predict import predict
from forecast.report.plots import fan_chart
from forecast.simulate import DEFAULT_SEED, simulate_panel
from forecast.spec import ModelSpec, SamplerSpec, load_spec

FIT_FILES = ("fit.nc", "diagnostics.csv", "effects.csv")
FORECAST_FILES = ("forecast.csv", "forecast.parquet", "predictions.nc", "fan_chart.png")
DEMO_FILES = ("panel.nc", *FIT_FILES, *FORECAST_FILES)


@dataclass
class FitOutputs:
    """What a fit step produced."""

    tree: xr.DataTree
    diagnostics: pd.DataFrame
    summary: DiagnosticsSummary
    effects: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)


@dataclass
class ForecastOutputs:
    """What a forecast step produced."""

    table: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)


def _csv(df: pd.DataFrame, path: Path, overwrite: bool) -> Path:
    return write_atomic(path, lambda tmp: df.to_csv(tmp, index=False), overwrite)


def fit_to_dir(
    panel: xr.Dataset,
    spec: ModelSpec,
    out: Path,
    sampler: SamplerSpec | None = None,
    overwrite: bool = False,
    progress: bool = True,
    truth: xr.Dataset | None = None,
    check_names: bool = True,
) -> FitOutputs:
    """Fit and write fit.nc, diagnostics.csv and effects.csv into `out`."""
    out = prepare_out_dir(out, list(FIT_FILES), overwrite) if check_names else Path(out)
    tree = fit(panel, spec, sampler, progress=progress)
    table = diagnostics_table(tree)
    effects = effects_table(tree, truth=truth)
    paths = {
        "fit": save_fit(tree, out / "fit.nc", overwrite),
        "diagnostics": _csv(table, out / "diagnostics.csv", overwrite),
        "effects": _csv(effects, out / "effects.csv", overwrite),
    }
    return FitOutputs(tree, table, summarise_diagnostics(tree, table), effects, paths)


def forecast_to_dir(
    tree: xr.DataTree,
    out: Path,
    horizon: int = 4,
    seed: int | None = None,
    overwrite: bool = False,
    check_names: bool = True,
) -> ForecastOutputs:
    """Predict `horizon` quarters and write the tidy table (CSV, Parquet), draws and a fan chart."""
    out = prepare_out_dir(out, list(FORECAST_FILES), overwrite) if check_names else Path(out)
    pred = predict(tree, horizon=horizon, seed=seed)
    table = summary_table(pred)
    top = table.loc[table["area_level"] == "national", "area"].iloc[0]
    paths = {
        "forecast_csv": write_table(table, out / "forecast.csv", overwrite),
        "forecast_parquet": write_table(table, out / "forecast.parquet", overwrite),
        "predictions": save_predictions(pred, out / "predictions.nc", overwrite),
        "fan_chart": fan_chart(table, top, out / "fan_chart.png", overwrite=overwrite),
    }
    return ForecastOutputs(table, paths)


def run_demo(
    out: Path,
    seed: int = DEFAULT_SEED,
    horizon: int = 4,
    sampler_overrides: dict | None = None,
    overwrite: bool = False,
    progress: bool = True,
    n_periods: int = 48,
    panel: xr.Dataset | None = None,
) -> tuple[FitOutputs, ForecastOutputs, Path]:
    """Simulate the 43-force panel (or take `panel`, e.g. an ingested real one), fit the default
    spec, forecast and export: the whole pipeline."""
    out = prepare_out_dir(out, list(DEMO_FILES), overwrite)
    truth = None
    if panel is None:
        sim = simulate_panel(n_periods=n_periods, seed=seed)
        panel_path = save_panel(sim, out / "panel.nc", overwrite)
        panel, truth = sim["panel"].to_dataset(), sim["truth"].to_dataset()
    else:
        panel_path = save_panel(panel, out / "panel.nc", overwrite)
    spec = load_spec("default")
    sampler = sampler_settings(spec, **(sampler_overrides or {}))
    fitted = fit_to_dir(
        panel, spec, out, sampler, overwrite, progress, truth=truth, check_names=False
    )
    forecast = forecast_to_dir(fitted.tree, out, horizon, None, overwrite, check_names=False)
    return fitted, forecast, panel_path
