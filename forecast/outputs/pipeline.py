"""End-to-end steps that write to an output directory: fit, forecast, and the demo that chains them.

The CLI calls these; they are as usable from Python. Each step is one output transaction
(:func:`forecast.core.transaction.output_folder`): its files are built in a staging folder and swapped in
as a set, under a lock, and earlier outputs are only replaced with ``overwrite=True``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from forecast.core.errors import ForecastError
from forecast.core.io import write_atomic
from forecast.core.transaction import output_folder
from forecast.diagnostics import DiagnosticsSummary, diagnostics_table, summarise_diagnostics
from forecast.fit import fit, fit_panel, fit_spec, sampler_settings, save_fit
from forecast.ingest.events import applied_events
from forecast.ingest.panel import save_panel
from forecast.outputs.dhi import harm_results
from forecast.outputs.export import save_predictions, summary_table, write_table
from forecast.outputs.harm import load_fractions, load_weights
from forecast.outputs.scenario import load_scenario, run_scenario, scenario_table
from forecast.posterior import effects_table
from forecast.predict import check_horizon, predict
from forecast.report.plots import (
    decomposition_chart,
    dhi_chart,
    dhi_grid,
    fan_chart,
    scenario_chart,
)
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


def _moved(paths: dict[str, Path], stage: Path, out: Path) -> dict[str, Path]:
    """`paths` written under the staging folder, as they are named once swapped into `out`."""
    return {k: Path(out) / Path(p).relative_to(stage) for k, p in paths.items()}


def _fit_into(
    stage: Path,
    panel: xr.Dataset,
    spec: ModelSpec,
    sampler: SamplerSpec | None,
    progress: bool,
    truth: xr.Dataset | None,
) -> FitOutputs:
    tree = fit(panel, spec, sampler, progress=progress)
    table = diagnostics_table(tree)
    effects = effects_table(tree, truth=truth)
    paths = {
        "fit": save_fit(tree, stage / "fit.nc", True),
        "diagnostics": _csv(table, stage / "diagnostics.csv", True),
        "effects": _csv(effects, stage / "effects.csv", True),
    }
    return FitOutputs(tree, table, summarise_diagnostics(tree, table), effects, paths)


def fit_to_dir(
    panel: xr.Dataset,
    spec: ModelSpec,
    out: Path,
    sampler: SamplerSpec | None = None,
    overwrite: bool = False,
    progress: bool = True,
    truth: xr.Dataset | None = None,
) -> FitOutputs:
    """Fit and write fit.nc, diagnostics.csv and effects.csv into `out`, as one set."""
    with output_folder(out, "fit", overwrite, FIT_FILES) as stage:
        fitted = _fit_into(stage, panel, spec, sampler, progress, truth)
    fitted.paths = _moved(fitted.paths, stage, out)
    return fitted


FAN_LEVELS = {"national": ("national",), "regions": ("national", "region"), "all": None}


def slug(name: str) -> str:
    """A file-name-safe version of an area name ('Avon and Somerset' -> 'avon_and_somerset')."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def fan_charts(
    table: pd.DataFrame, out: Path, levels: str = "regions", overwrite: bool = False
) -> dict[str, Path]:
    """Fan charts (PNG and SVG) under out/fan_charts/ for England and Wales, plus the regions
    (`levels="regions"`) or every region and force (`"all"`)."""
    if levels not in FAN_LEVELS:
        raise ForecastError(f"fan charts: choose one of {sorted(FAN_LEVELS)}, not {levels!r}")
    keep = FAN_LEVELS[levels]
    rows = table if keep is None else table[table["area_level"].isin(keep)]
    paths = {}
    for area in pd.unique(rows["area"]):
        for suffix in ("png", "svg"):
            path = out / "fan_charts" / f"{slug(area)}.{suffix}"
            paths[f"chart_{slug(area)}_{suffix}"] = fan_chart(
                table, area, path, overwrite=overwrite
            )
    return paths


def _forecast_into(
    stage: Path, tree: xr.DataTree, horizon: int, seed: int | None, charts: str
) -> ForecastOutputs:
    pred = predict(tree, horizon=horizon, seed=seed)
    table = summary_table(pred)
    top = table.loc[table["area_level"] == "national", "area"].iloc[0]
    paths = {
        "forecast_csv": write_table(table, stage / "forecast.csv", True),
        "forecast_parquet": write_table(table, stage / "forecast.parquet", True),
        "predictions": save_predictions(pred, stage / "predictions.nc", True),
        "fan_chart": fan_chart(table, top, stage / "fan_chart.png", overwrite=True),
    }
    if charts != "national":
        paths.update(fan_charts(table, stage, charts, True))
    return ForecastOutputs(table, paths)


def forecast_to_dir(
    tree: xr.DataTree,
    out: Path,
    horizon: int = 4,
    seed: int | None = None,
    overwrite: bool = False,
    charts: str = "national",
) -> ForecastOutputs:
    """Predict `horizon` quarters and write the tidy table (CSV, Parquet), draws, the national fan
    chart and, with `charts` = "regions" or "all", one per region or per area in out/fan_charts/."""
    if charts not in FAN_LEVELS:
        raise ForecastError(f"fan charts: choose one of {sorted(FAN_LEVELS)}, not {charts!r}")
    check_horizon(horizon)
    with output_folder(out, "predict", overwrite, FORECAST_FILES) as stage:
        fc = _forecast_into(stage, tree, horizon, seed, charts)
    fc.paths = _moved(fc.paths, stage, out)
    return fc


SCENARIO_FILES = ("scenario.csv", "scenario.parquet", "scenario.png", "scenario.svg")


def scenario_to_dir(
    tree: xr.DataTree,
    scenario_file: Path,
    out: Path,
    horizon: int = 4,
    seed: int | None = None,
    overwrite: bool = False,
) -> ForecastOutputs:
    """Run a scenario file against a fit; write scenario minus baseline (CSV, Parquet) and a chart."""
    scenario = load_scenario(scenario_file)  # fails before any output directory is touched
    check_horizon(horizon)
    with output_folder(out, "scenario", overwrite, SCENARIO_FILES) as stage:
        ds = run_scenario(tree, scenario, horizon, seed, where=str(scenario_file))
        table = scenario_table(ds, scenario)
        top = table.loc[table["area_level"] == "national", "area"].iloc[0]
        paths = {
            "scenario_csv": _csv(table, stage / "scenario.csv", True),
            "scenario_parquet": write_atomic(
                stage / "scenario.parquet", lambda tmp: table.to_parquet(tmp, index=False), True
            ),
        }
        for suffix in ("png", "svg"):
            paths[f"chart_{suffix}"] = scenario_chart(
                table, top, stage / f"scenario.{suffix}", True
            )
    return ForecastOutputs(table, _moved(paths, stage, out))


def _harm_seed(tree: xr.DataTree, seed: int | None) -> int:
    """Seed of the attributable-fraction draws: the predictive seed, else the fit's."""
    return int(tree.attrs.get("seed", 0)) if seed is None else seed


DHI_FILES = (
    "dhi.csv",
    "dhi.parquet",
    "dhi_decomposition.csv",
    "dhi_sensitivity.csv",
    "dhi_weights.csv",
    "dhi_attributable.csv",
    "exceptional_events.csv",
    "dhi.png",
    "dhi.svg",
    "dhi_decomposition.png",
    "dhi_decomposition.svg",
    "dhi_regions.png",
    "dhi_forces.png",
)


@dataclass
class HarmOutputs:
    """What a harm-index step produced."""

    table: pd.DataFrame
    decomposition: pd.DataFrame
    sensitivity: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)
    attributable: pd.DataFrame | None = None


def dhi_to_dir(
    tree: xr.DataTree,
    out: Path,
    base: str,
    horizon: int = 4,
    weights: str | Path = "home_office",
    fractions: str | Path | None = None,
    seed: int | None = None,
    change: tuple[str | None, str | None] = (None, None),
    overwrite: bool = False,
    reference: str = "base",
    with_events: bool = False,
) -> HarmOutputs:
    """Drugs Harm Index history and forecast per area with the availability-attributable harm
    beside it, its decomposition, sensitivity, the exceptional events left out, and plots."""
    outcomes = list(fit_spec(tree).outcomes.names)
    w = load_weights(weights, outcomes)  # bad weights fail before any prediction work
    f = load_fractions(fractions, outcomes)
    check_horizon(horizon)
    with output_folder(out, "dhi", overwrite, DHI_FILES) as stage:
        res = _dhi_into(stage, tree, horizon, seed, change, base, w, f, reference, with_events)
    res.paths = _moved(res.paths, stage, out)
    return res


def _dhi_into(
    stage, tree, horizon, seed, change, base, w, f, reference, with_events
) -> HarmOutputs:
    pred = predict(tree, horizon=horizon, seed=seed)
    res = harm_results(
        pred, w, f, base, _harm_seed(tree, seed), change, tree, reference, with_events
    )
    table, decomp, sens = res.table, res.decomposition, res.sensitivity
    out, overwrite = stage, True
    used = w.reset_index().merge(
        f.reset_index()[["outcome", "a", "b"]].rename(
            columns={"a": "fraction_a", "b": "fraction_b"}
        ),
        on="outcome",
    )
    top = table.loc[table["area_level"] == "national", "area"].iloc[0]
    paths = {
        "dhi_csv": _csv(table, out / "dhi.csv", overwrite),
        "dhi_parquet": write_atomic(
            out / "dhi.parquet", lambda tmp: table.to_parquet(tmp, index=False), overwrite
        ),
        "decomposition": _csv(decomp, out / "dhi_decomposition.csv", overwrite),
        "sensitivity": _csv(sens, out / "dhi_sensitivity.csv", overwrite),
        "weights": _csv(used, out / "dhi_weights.csv", overwrite),
        "attributable": _csv(res.attributable, out / "dhi_attributable.csv", overwrite),
        "events": _csv(applied_events(fit_panel(tree)), out / "exceptional_events.csv", overwrite),
    }
    for suffix in ("png", "svg"):
        paths[f"dhi_{suffix}"] = dhi_chart(table, top, out / f"dhi.{suffix}", overwrite)
        paths[f"decomposition_{suffix}"] = decomposition_chart(
            decomp, out / f"dhi_decomposition.{suffix}", overwrite
        )
    for level, name in (("region", "dhi_regions.png"), ("force", "dhi_forces.png")):
        paths[f"grid_{level}"] = dhi_grid(table, level, out / name, overwrite)
    return HarmOutputs(table, decomp, sens, paths, res.attributable)


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
    check_horizon(horizon)
    spec = load_spec("default")
    sampler = sampler_settings(spec, **(sampler_overrides or {}))
    truth = None
    with output_folder(out, "demo", overwrite, DEMO_FILES) as stage:
        if panel is None:
            sim = simulate_panel(n_periods=n_periods, seed=seed)
            save_panel(sim, stage / "panel.nc", True)
            panel, truth = sim["panel"].to_dataset(), sim["truth"].to_dataset()
        else:
            save_panel(panel, stage / "panel.nc", True)
        fitted = _fit_into(stage, panel, spec, sampler, progress, truth)
        forecast = _forecast_into(stage, fitted.tree, horizon, None, "national")
    fitted.paths = _moved(fitted.paths, stage, out)
    forecast.paths = _moved(forecast.paths, stage, out)
    return fitted, forecast, Path(out) / "panel.nc"
