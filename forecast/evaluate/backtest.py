"""Rolling-origin backtests: at each origin fit on the data up to it, forecast 1..H quarters, and score
the forecasts against what happened, for the model, the model without the availability link and
simple baselines.

Origins fan out with Dask: a LocalCluster by default, or an existing ``dask.distributed`` scheduler
(`scheduler="tcp://host:8786"`), with no code change. Each origin's scores are written atomically to
``<out>/origins/<origin>.parquet`` as soon as it finishes, so a rerun skips finished origins; the run's
settings are kept in ``<out>/backtest.json`` and a rerun with other settings is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.areas import to_areas
from forecast.core.errors import ForecastError
from forecast.core.periods import parse_quarter
from forecast.evaluate.scores import LEVELS, score_draws
from forecast.ingest.panel import load_panel
from forecast.spec import ModelSpec, load_spec

NO_LINK = "no_link"


class BacktestError(ForecastError):
    """A backtest that cannot run as asked (origins outside the panel, settings that changed)."""


@dataclass(frozen=True)
class BacktestConfig:
    """What a backtest runs; stored with its results so a rerun can resume only the same backtest."""

    spec: str = "default"
    horizon: int = 4
    origins: tuple[str, ...] = ()
    draws: int | None = None  # None: the spec's own sampler settings
    tune: int | None = None
    chains: int | None = None
    seed: int = 1
    models: tuple[str, ...] = ("model", NO_LINK, "seasonal_naive", "ets")
    baseline_draws: int = 1000
    panel_hash: str = field(default="", compare=True)


def choose_origins(periods: pd.PeriodIndex, n: int, horizon: int, min_train: int = 10) -> list[str]:
    """The last `n` quarters from which all `horizon` following quarters are in the panel, each with
    at least `min_train` quarters to fit on."""
    last = len(periods) - 1 - horizon
    first = last - n + 1
    if n < 1 or first < min_train - 1:
        raise BacktestError(
            f"panel has {len(periods)} quarters: too short for {n} origins with horizon {horizon} "
            f"and at least {min_train} training quarters"
        )
    return [str(p) for p in periods[first : last + 1]]


def truncate(panel: xr.Dataset, origin: pd.Period) -> xr.Dataset:
    """The panel as known at `origin`: every quarter up to it (windowed series at their end quarter)."""
    out = panel.sel({dims.PERIOD: panel.indexes[dims.PERIOD] <= origin})
    out.attrs = dict(panel.attrs)
    return out


def _truth(panel: xr.Dataset, periods: pd.PeriodIndex) -> xr.DataArray:
    """Recorded counts per area (forces, regions, national: a sum only when every force is known)."""
    areas = to_areas(panel[[dims.COUNT, dims.POPULATION]], strict=[dims.COUNT])
    return areas[dims.COUNT].sel({dims.PERIOD: periods})


def _score_frame(
    model: str, truth: pd.DataFrame, draws: np.ndarray, origin: str, rng: np.random.Generator
) -> pd.DataFrame:
    """Scores of `draws` (row, sample) against `truth` rows (area, area_level, outcome, horizon,
    period, observed); rows with no recorded value are dropped."""
    keep = truth["observed"].notna().to_numpy()
    truth, draws = truth[keep].reset_index(drop=True), draws[keep]
    scores = score_draws(truth["observed"].to_numpy(dtype=float), draws.astype(float), rng)
    frame = truth.assign(model=model, origin=origin, **scores)
    return frame


def without_link(spec: ModelSpec) -> ModelSpec:
    """`spec` with no availability link: the same outcome model, priors, trends and observations, so
    a backtest measures what the link adds to this very spec."""
    data = spec.model_dump()
    data["name"] = NO_LINK
    data["description"] = f"{spec.name} without the availability link"
    data["availability"] = {"kind": "none", "lag": spec.availability.lag}
    return ModelSpec.model_validate(data)


def fit_gates(tree: xr.DataTree, spec: ModelSpec) -> dict[str, float | bool]:
    """The convergence figures of one origin's fit and whether they pass the spec's gates, so a
    backtest can flag origins whose forecasts come from a fit that did not converge."""
    from forecast.diagnostics import convergence_checks, summarise_diagnostics

    s = summarise_diagnostics(tree)
    passed = convergence_checks(s, spec.gates)["passed"].all()
    return {
        "fit_max_rhat": s.max_rhat,
        "fit_min_ess_bulk": s.min_ess_bulk,
        "fit_min_ess_tail": s.min_ess_tail,
        "fit_divergences": s.divergences,
        "fit_min_bfmi": s.min_bfmi,
        "fit_logp_rhat": s.logp_rhat,  # > 1.1: chains in separate modes
        "fit_gates_passed": bool(passed),
        # compile included in the wall time, so a backtest shows where its hours go
        "fit_wall_seconds": float(tree.attrs.get("wall_seconds", np.nan)),
        "fit_sampling_seconds": float(tree.attrs.get("sampling_seconds", np.nan)),
    }


def _model_draws(
    train: xr.Dataset,
    spec: ModelSpec,
    config: BacktestConfig,
    periods,
    progress: bool,
    cores: int | None = None,
) -> tuple[xr.DataArray, dict]:
    """Forecast draws per area (area, period, outcome, sample) from a fit of `spec` running `cores`
    chains at a time, and the fit's gates (`fit_gates`)."""
    from forecast.fit import fit, sampler_settings
    from forecast.predict import aggregate_areas, predict

    sampler = sampler_settings(
        spec, draws=config.draws, tune=config.tune, chains=config.chains, seed=config.seed
    )
    tree = fit(train, spec, sampler, progress=progress, cores=cores)
    pred = predict(tree, horizon=config.horizon, seed=config.seed)
    areas = aggregate_areas(pred.sel({dims.PERIOD: periods}))
    return areas[dims.COUNT].stack(sample=("chain", "draw")), fit_gates(tree, spec)


def run_origin(
    panel_path: str, config: BacktestConfig, origin: str, cores: int | None = None
) -> pd.DataFrame:
    """Fit every model on the data up to `origin` (chains `cores` at a time; None: as many as the
    machine has), forecast and score; one row per model x area x outcome x horizon with a recorded
    outcome. Runs on a Dask worker: takes a path, not data."""
    panel = load_panel(Path(panel_path))
    o = parse_quarter(origin)
    train = truncate(panel, o)
    periods = pd.period_range(o + 1, periods=config.horizon, freq="Q")
    truth_da = _truth(panel, periods)
    truth = truth_da.to_dataframe(name="observed").reset_index()
    truth["horizon"] = truth[dims.PERIOD].map(lambda p: (p - o).n)
    truth["area_level"] = truth[dims.AREA].map(
        dict(zip(truth_da[dims.AREA].values, truth_da[dims.AREA_LEVEL].values, strict=True))
    )
    truth = truth[[dims.AREA, "area_level", dims.OUTCOME, "horizon", dims.PERIOD, "observed"]]
    key = [dims.AREA, dims.OUTCOME, "horizon"]
    rng = np.random.default_rng([config.seed, o.ordinal])
    frames = []
    spec = load_spec(config.spec)
    for model in config.models:
        if model in ("model", NO_LINK):
            model_spec = spec if model == "model" else without_link(spec)
            da, gates = _model_draws(train, model_spec, config, periods, False, cores)
            da = da.assign_coords(horizon=(dims.PERIOD, np.arange(1, config.horizon + 1)))
            flat = da.swap_dims({dims.PERIOD: "horizon"}).transpose(*key, "sample")
            index = pd.MultiIndex.from_product([flat.indexes[d] for d in key], names=key)
            lookup = pd.Series(range(len(index)), index=index)
            rows = lookup.reindex(pd.MultiIndex.from_frame(truth[key])).to_numpy()
            keep = ~np.isnan(rows)
            values = flat.values.reshape(len(index), -1)
            sub = truth[keep].reset_index(drop=True)
            draws = values[rows[keep].astype(int)]
            name = spec.name if model == "model" else NO_LINK
            frames.append(_score_frame(name, sub, draws, origin, rng).assign(**gates))
    baselines = [m for m in config.models if m in ("seasonal_naive", "ets")]
    if baselines:
        from forecast.evaluate.baselines import baseline_draws

        draws_by = baseline_draws(train, config.horizon, config.baseline_draws, config.seed)
        for name in baselines:
            b = draws_by[name]
            merged = truth.merge(b, on=key, how="inner")
            draws = np.stack(merged.pop("draws").to_list())
            frames.append(_score_frame(name, merged, draws, origin, rng))
    out = pd.concat(frames, ignore_index=True)
    out[dims.PERIOD] = out[dims.PERIOD].astype(str)
    return out


def origin_file(out: Path, origin: str) -> Path:
    return Path(out) / "origins" / f"{origin}.parquet"


def load_scores(out: Path) -> pd.DataFrame:
    """Every finished origin's scores in `out`."""
    files = sorted((Path(out) / "origins").glob("*.parquet"))
    if not files:
        raise BacktestError(f"{out}: no finished origins (run `forecast backtest` first)")
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def summarise(
    scores: pd.DataFrame, by: tuple[str, ...] = ("model", "outcome", "horizon")
) -> pd.DataFrame:
    """Mean CRPS and log score, coverage (%) of the central 50/80/95% intervals judged on the
    randomised PIT (`coverage_*`, calibrated for counts) and with inclusive integer bounds
    (`interval_*`, as the fan charts show them), bias, and the PIT's sd (0.289 when uniform)."""
    from forecast.evaluate.scores import pit_coverage

    frame = scores.assign(
        **{f"pit_{round(100 * lv)}": pit_coverage(scores["pit"].to_numpy(), lv) for lv in LEVELS}
    )
    g = frame.groupby(list(by))
    table = pd.DataFrame(
        {
            "n": g.size(),
            "crps": g["crps"].mean(),
            "log_score": g["log_score"].mean(),
            **{
                f"coverage_{round(100 * lv)}": 100 * g[f"pit_{round(100 * lv)}"].mean()
                for lv in LEVELS
            },
            **{
                f"interval_{round(100 * lv)}": 100 * g[f"covered_{round(100 * lv)}"].mean()
                for lv in LEVELS
            },
            "bias": g["error"].mean(),
            "pit_sd": g["pit"].std(),
        }
    )
    return table.reset_index()


FIT_TIME_COLUMNS = ("fit_wall_seconds", "fit_sampling_seconds")  # differ from run to run
GATE_COLUMNS = (
    "fit_max_rhat",
    "fit_min_ess_bulk",
    "fit_min_ess_tail",
    "fit_divergences",
    "fit_min_bfmi",
    "fit_logp_rhat",
    "fit_gates_passed",
    *FIT_TIME_COLUMNS,
)


def origin_gates(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per fitted model and origin: its convergence figures, whether it passed its spec's
    gates and how long the fit took (empty for scores written before backtests recorded them)."""
    if "fit_gates_passed" not in scores:
        return pd.DataFrame(columns=["model", "origin", *GATE_COLUMNS])
    fitted = scores[scores["fit_gates_passed"].notna()]
    columns = [c for c in GATE_COLUMNS if c in fitted]  # older scores lack the newer figures
    table = fitted.groupby(["model", "origin"])[columns].first().reset_index()
    table["fit_gates_passed"] = table["fit_gates_passed"].astype(bool)
    return table


def relative_crps(scores: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Mean CRPS of each model relative to `reference` on the same forecasts (< 1: better), two ways:
    `relative_crps`, the ratio of the means (large series weigh most), and `scaled_crps`, the mean
    over series (area x outcome) of each series' mean CRPS over the reference's, so the Met does not
    decide the comparison alone."""
    key = ["origin", dims.AREA, dims.OUTCOME, "horizon"]
    ref = scores[scores["model"] == reference].set_index(key)["crps"]
    rows = []
    for (model, level, outcome), part in scores.groupby(["model", "area_level", dims.OUTCOME]):
        both = part.set_index(key)["crps"].to_frame("crps").join(ref.rename("ref"), how="inner")
        series = both.groupby(level=dims.AREA)[["crps", "ref"]].mean()
        rows.append(
            {
                "model": model,
                "area_level": level,
                "outcome": outcome,
                "crps": both["crps"].mean(),
                "relative_crps": both["crps"].mean() / both["ref"].mean(),
                "scaled_crps": float((series["crps"] / series["ref"]).mean()),
            }
        )
    return pd.DataFrame(rows)


def backtest_config(panel: xr.Dataset, **kwargs) -> BacktestConfig:
    """A config with origins checked against the panel (`origins` or `n_origins`) and its hash."""
    from forecast.ingest.panel import panel_hash
    from forecast.predict import check_horizon

    n = kwargs.pop("n_origins", None)
    origins = kwargs.pop("origins", None) or ()
    horizon = kwargs.get("horizon", 4)
    check_horizon(horizon)
    if n is not None and n < 1:
        raise BacktestError(f"--origins {n}: give at least 1 origin")
    unknown = set(kwargs.get("models", ())) - {"model", NO_LINK, "seasonal_naive", "ets"}
    if unknown:
        raise BacktestError(
            f"--models: unknown {sorted(unknown)}; choose from model, no_link, seasonal_naive, ets"
        )
    from forecast.fit import sampler_settings

    settings = {k: kwargs[k] for k in ("draws", "tune", "chains", "seed") if k in kwargs}
    sampler_settings(load_spec(kwargs.get("spec", "default")), **settings)  # fails before any work
    periods = panel.indexes[dims.PERIOD]
    if not origins:
        origins = choose_origins(periods, 8 if n is None else n, horizon)
    for o in origins:
        q = parse_quarter(o)
        if q not in periods or (q + horizon) > periods[-1]:
            raise BacktestError(
                f"origin {o}: needs {horizon} recorded quarters after it inside the panel "
                f"({periods[0]}-{periods[-1]})"
            )
    return BacktestConfig(
        origins=tuple(str(parse_quarter(o)) for o in origins),
        panel_hash=panel_hash(panel),
        **kwargs,
    )
