"""The quarterly publication in one step: ingest, fit (or reuse a matching fit), check against the
spec's gates, forecast, compute the Drugs Harm Index, attach backtest scores, and write a bundle
(report, tables with their data package descriptor, posterior, provenance) atomically.

The bundle is one output transaction (:func:`forecast.core.transaction.output_folder`): built beside
`out` and swapped in only when complete, so a failed or interrupted run leaves the previous bundle
untouched; a folder holding files forecast did not write is refused (kept as is with `force`).
A fit that fails a gate is refused (:class:`PublishRefused`, with the table of failures) unless
`allow_failed_checks`, in which case every output carries the warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.errors import ForecastError
from forecast.core.periods import parse_quarter
from forecast.core.transaction import check_output_folder, output_folder
from forecast.fit import sampler_settings
from forecast.fit_cache import fit_or_reuse
from forecast.ingest.events import applied_events
from forecast.ingest.panel import load_panel
from forecast.outputs.bundle import Contents, sha256, write_bundle
from forecast.outputs.dhi import harm_results
from forecast.outputs.export import summary_table
from forecast.outputs.gates import check_gates
from forecast.outputs.harm import load_fractions, load_weights
from forecast.posterior import effects_table, measurement_table
from forecast.predict import check_horizon, predict
from forecast.spec import ModelSpec, load_spec

WARNING = "FAILED CHECKS: published with --allow-failed-checks; do not rely on these figures"


class PublishError(ForecastError):
    """A publication that cannot be made as asked (period outside the data, bad inputs)."""


class PublishRefused(ForecastError):
    """The fit failed one or more gates; `failures` is the table of what failed."""

    def __init__(self, failures: pd.DataFrame):
        self.failures = failures
        super().__init__(
            f"publication refused: {len(failures)} check(s) failed; fix them or pass "
            "--allow-failed-checks to publish anyway with a visible warning"
        )


@dataclass
class PublishResult:
    """What a publication wrote: the bundle, the failed checks, whether the fit was reused."""

    out: Path
    failures: pd.DataFrame
    reused_fit: bool
    paths: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def publish(
    manifest: Path | None,
    period: str,
    out: Path,
    spec: str | Path = "realdata",
    horizon: int = 4,
    base: str | None = None,
    weights: str = "home_office",
    panel_file: Path | None = None,
    backtest: Path | None = None,
    allow_failed_checks: bool = False,
    cache: Path | None = None,
    seed: int | None = None,
    progress: bool = True,
    sampler_overrides: dict | None = None,
    force: bool = False,
    reference: str = "base",
    with_events: bool = False,
) -> PublishResult:
    """Make the publication bundle in `out` (see the module docstring)."""
    out = Path(out)
    check_output_folder(out, "publish", force, replace_own=True)  # before any work
    check_horizon(horizon)
    model_spec = with_sampler(load_spec(spec), sampler_overrides, seed)
    outcomes = list(model_spec.outcomes.names)
    w = load_weights(weights, outcomes)
    fr = load_fractions(None, outcomes)
    panel, inputs = read_inputs(manifest, panel_file)
    panel = cut_panel(panel, period)
    tree, reused, notes = fit_or_reuse(panel, model_spec, cache, progress)
    pred_seed = model_spec.sampler.seed + 1
    pred = predict(tree, horizon=horizon, seed=pred_seed)  # its history is the PPC's replicate
    checks, extra = check_gates(tree, panel, model_spec, pred)
    failures = checks[~checks["passed"]]
    if len(failures) and not allow_failed_checks:
        raise PublishRefused(failures)

    table = summary_table(pred)
    if base is None:
        base = default_base(pred)
    res = harm_results(
        pred, w, fr, base, pred_seed, tree=tree, reference=reference, with_events=with_events
    )
    contents = Contents(
        spec=model_spec,
        panel=panel,
        inputs=inputs,
        tree=tree,
        reused=reused,
        pred_seed=pred_seed,
        checks=checks,
        flags=extra["flags"],
        failures=failures,
        warning=WARNING if len(failures) else "",
        table=table,
        harm=res,
        events=applied_events(panel),
        effects=effects_table(tree),
        measurement=measurement_table(tree),
        history=extra["history"],
        scores=backtest_scores(backtest),
        weights=w,
        fractions=fr,
        base=base,
        horizon=horizon,
    )
    with output_folder(out, "publish", force, replace_own=True) as tmp:
        paths = write_bundle(tmp, contents)
    final = {name: out / Path(p).relative_to(tmp) for name, p in paths.items()}
    return PublishResult(out, failures, reused, final, notes)


def with_sampler(spec: ModelSpec, overrides: dict | None, seed: int | None) -> ModelSpec:
    """The spec with the sampler settings given on the command line (and `seed`) in place."""
    if overrides or seed is not None:
        over = dict(overrides or {})
        if seed is not None:
            over["seed"] = seed
        spec = spec.model_copy(update={"sampler": sampler_settings(spec, **over)})
    return spec


def read_inputs(
    manifest: Path | None, panel_file: Path | None
) -> tuple[xr.Dataset, dict[str, str]]:
    """The panel (an ingested file, or ingested now from the manifest) and the SHA-256 of every
    input file."""
    inputs: dict[str, str] = {}
    if panel_file is not None:
        panel = load_panel(panel_file)
        inputs[str(panel_file)] = sha256(Path(panel_file))
    elif manifest is not None:
        from forecast.ingest.build import ingest, read_manifest

        for src in read_manifest(manifest)["sources"]:
            inputs[str(src["path"])] = sha256(src["path"])
        inputs[str(manifest)] = sha256(Path(manifest))
        panel = ingest(manifest).panel
    else:
        raise PublishError("give a manifest (to ingest) or --panel (an ingested panel file)")
    return panel, inputs


def cut_panel(panel: xr.Dataset, period: str) -> xr.Dataset:
    """The panel up to the publication's last data quarter `period`."""
    q = parse_quarter(period)
    periods = panel.indexes[dims.PERIOD]
    if q not in periods:
        raise PublishError(
            f"--period {q} is outside the panel ({periods[0]}-{periods[-1]}): publish a quarter "
            "the data cover"
        )
    out = panel.sel({dims.PERIOD: periods <= q})
    out.attrs = dict(panel.attrs)
    return out


def default_base(pred: xr.Dataset) -> str:
    """The DHI base: the first full financial year in the history (else its first quarter)."""
    history = pred.indexes[dims.PERIOD][pred[dims.HORIZON].values == 0]
    fy = [p for p in history if p.quarter == 2]
    return f"{fy[0].year}/{(fy[0].year + 1) % 100:02d}" if fy else str(history[0])


def backtest_scores(backtest: Path | None) -> pd.DataFrame | None:
    """The latest backtest's mean scores by model and outcome, when a backtest is attached."""
    if backtest is None:
        return None
    from forecast.evaluate.backtest import load_scores, summarise

    return summarise(load_scores(backtest), ("model", "outcome"))
