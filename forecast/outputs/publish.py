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

import hashlib
import json
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.errors import ForecastError
from forecast.spec import GatesSpec, ModelSpec, load_spec

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
    out: Path
    failures: pd.DataFrame
    reused_fit: bool
    paths: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_revision() -> str:
    """The package's git revision (with '-dirty' for uncommitted changes), or 'unknown'."""
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cut_panel(panel: xr.Dataset, period: str) -> xr.Dataset:
    """The panel up to the publication's last data quarter `period`."""
    from forecast.core.periods import parse_quarter

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


def check_gates(
    tree: xr.DataTree, panel: xr.Dataset, spec: ModelSpec, pred_hist: xr.Dataset
) -> tuple[pd.DataFrame, dict]:
    """Every gate of the spec: one row per check (gate, value, threshold, passed, detail)."""
    from forecast.checks import posterior_predictive_table
    from forecast.diagnostics import diagnostics_table, summarise_diagnostics
    from forecast.ingest.validate import check_panel

    g: GatesSpec = spec.gates
    s = summarise_diagnostics(tree, diagnostics_table(tree))
    rows = [
        ("max R-hat", s.max_rhat, f"<= {g.max_rhat}", s.max_rhat <= g.max_rhat, ""),
        ("divergences", s.divergences, f"<= {g.max_divergences}", s.divergences <= g.max_divergences, ""),
        ("min bulk ESS", s.min_ess_bulk, f">= {g.min_ess:g}", s.min_ess_bulk >= g.min_ess, s.worst_variable),
        ("min tail ESS", s.min_ess_tail, f">= {g.min_ess:g}", s.min_ess_tail >= g.min_ess, ""),
        ("min E-BFMI", s.min_bfmi, f">= {g.min_bfmi}", s.min_bfmi >= g.min_bfmi, ""),
    ]  # fmt: skip
    if s.min_ess_bulk_key == s.min_ess_bulk_key:  # NaN when there is no availability link
        ok = s.min_ess_bulk_key >= g.min_ess_key
        rows.append(
            ("availability-effect bulk ESS", s.min_ess_bulk_key, f">= {g.min_ess_key:g}", ok, "")
        )
    ppc = posterior_predictive_table(pred_hist)
    for r in ppc.itertuples(index=False):
        rows.append(
            (f"PPC 90% coverage: {r.outcome}", r.coverage_90, f">= {g.min_ppc_coverage_90}",
             r.coverage_90 >= g.min_ppc_coverage_90, f"{r.cells} cells")
        )  # fmt: skip
        for key in ("p_total", "p_spread"):
            p = getattr(r, key)
            ok = g.ppc_min_p <= p <= 1 - g.ppc_min_p
            rows.append(
                (f"PPC {key}: {r.outcome}", p, f"in [{g.ppc_min_p}, {1 - g.ppc_min_p}]", ok, "")
            )
    flags = check_panel(panel)
    series = set(spec.outcomes.names) | {o.variable for o in spec.observations}
    recent = [str(p) for p in panel.indexes[dims.PERIOD][-g.recent_quarters :]]
    # the gate: a recorded count at half or double its neighbours (the milder flags, large counts
    # off by a quarter, stay in the report as findings)
    bad = flags[
        (flags["check"] == "implausible jump")
        & flags["series"].isin(series)
        & flags["period"].isin(recent)
        & ((flags["ratio"] <= 0.5) | (flags["ratio"] >= 2.0))
    ]
    detail = "; ".join(f"{r.series} {r.force} {r.period}" for r in bad.head(5).itertuples())
    rows.append(
        (f"data: halvings or doublings in the last {g.recent_quarters} quarters", len(bad),
         f"<= {g.max_recent_data_flags}", len(bad) <= g.max_recent_data_flags, detail)
    )  # fmt: skip
    table = pd.DataFrame(rows, columns=["check", "value", "threshold", "passed", "detail"])
    return table, {"diagnostics": s, "ppc": ppc, "flags": flags}


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
    from forecast.core.transaction import check_output_folder, output_folder
    from forecast.fit import package_versions, sampler_settings
    from forecast.fit_cache import fit_or_reuse
    from forecast.ingest.events import applied_events
    from forecast.ingest.panel import load_panel, panel_hash
    from forecast.ingest.validate import coverage_table
    from forecast.outputs.dhi import harm_results
    from forecast.outputs.export import SCHEMA_VERSION, datapackage, summary_table
    from forecast.outputs.harm import load_fractions, load_weights
    from forecast.outputs.pipeline import slug
    from forecast.posterior import effects_table, measurement_table
    from forecast.predict import predict
    from forecast.report import plots
    from forecast.report.html import render_report

    out = Path(out)
    from forecast.predict import check_horizon

    check_output_folder(out, "publish", force, replace_own=True)  # before any work
    check_horizon(horizon)
    model_spec = load_spec(spec)
    if sampler_overrides or seed is not None:
        over = dict(sampler_overrides or {})
        if seed is not None:
            over["seed"] = seed
        model_spec = model_spec.model_copy(update={"sampler": sampler_settings(model_spec, **over)})
    outcomes = list(model_spec.outcomes.names)
    w = load_weights(weights, outcomes)
    fr = load_fractions(None, outcomes)
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
    panel = cut_panel(panel, period)
    tree, reused, notes = fit_or_reuse(panel, model_spec, cache, progress)
    pred_seed = model_spec.sampler.seed + 1
    pred_hist = predict(tree, horizon=0, seed=pred_seed)
    checks, extra = check_gates(tree, panel, model_spec, pred_hist)
    failures = checks[~checks["passed"]]
    if len(failures) and not allow_failed_checks:
        raise PublishRefused(failures)
    warning = WARNING if len(failures) else ""

    pred = predict(tree, horizon=horizon, seed=pred_seed)
    table = summary_table(pred)
    history = pred.indexes[dims.PERIOD][pred[dims.HORIZON].values == 0]
    if base is None:
        fy = [p for p in history if p.quarter == 2]  # first full financial year in the history
        base = f"{fy[0].year}/{(fy[0].year + 1) % 100:02d}" if fy else str(history[0])
    res = harm_results(
        pred, w, fr, base, pred_seed, tree=tree, reference=reference, with_events=with_events
    )
    events = applied_events(panel)
    dhi, decomp, sens = res.table, res.decomposition, res.sensitivity
    effects = effects_table(tree)
    measurement = measurement_table(tree)
    scores = None
    if backtest is not None:
        from forecast.evaluate.backtest import load_scores, summarise

        scores = summarise(load_scores(backtest), ("model", "outcome"))

    with output_folder(out, "publish", force, replace_own=True) as tmp:
        paths: dict[str, Path] = {}

        def csv(frame: pd.DataFrame, name: str) -> None:
            frame.to_csv(tmp / name, index=False, lineterminator="\n")
            paths[name] = tmp / name

        csv(table, "forecast.csv")
        table.to_parquet(tmp / "forecast.parquet", index=False)
        csv(dhi, "dhi.csv")
        csv(res.attributable, "dhi_attributable.csv")
        csv(events, "exceptional_events.csv")
        dhi.to_parquet(tmp / "dhi.parquet", index=False)
        csv(decomp, "dhi_decomposition.csv")
        csv(sens, "dhi_sensitivity.csv")
        csv(effects, "effects.csv")
        csv(checks, "checks.csv")
        csv(extra["flags"], "data_flags.csv")
        csv(coverage_table(panel), "data_coverage.csv")
        if scores is not None:
            csv(scores, "backtest_scores.csv")
        (tmp / "datapackage.json").write_text(json.dumps(datapackage(), indent=2) + "\n")
        from forecast.fit import save_fit

        save_fit(tree, tmp / "posterior.nc")
        figs = tmp / "figures"
        with plots.watermark(warning):
            top = table.loc[table["area_level"] == "national", "area"].iloc[0]
            fig_paths = {"national": plots.fan_chart(table, top, figs / "fan_national.png")}
            for area in pd.unique(table.loc[table["area_level"] != "national", "area"]):
                fig_paths[area] = plots.fan_chart(table, area, figs / f"fan_{slug(area)}.png")
            fig_paths["dhi"] = plots.dhi_chart(dhi, top, figs / "dhi.png")
            fig_paths["dhi_decomposition"] = plots.decomposition_chart(
                decomp, figs / "dhi_decomposition.png"
            )
            fig_paths["dhi_regions"] = plots.dhi_grid(dhi, "region", figs / "dhi_regions.png")
            fig_paths["dhi_forces"] = plots.dhi_grid(dhi, "force", figs / "dhi_forces.png")
            fig_paths["availability_forces"] = plots.dhi_grid(
                dhi, "force", figs / "availability_forces.png", quantity="availability"
            )
            fig_paths["availability_regions"] = plots.dhi_grid(
                dhi, "region", figs / "availability_regions.png", quantity="availability"
            )
        nat = table[(table["area_level"] == "national") & (table["quantity"] == "count")]
        summary = {
            "schema_version": SCHEMA_VERSION,
            "publication_period": str(panel.indexes[dims.PERIOD][-1]),
            "checks_passed": not len(failures),
            "warning": warning,
            "failed_checks": failures["check"].tolist(),
            "model": model_spec.name,
            "base": base,
            "weights": Path(w.attrs["path"]).name,
            "forecast_next_quarter": {
                r["outcome"]: {k: r[k] for k in ("period", "median", "q10", "q90", "q2.5", "q97.5")}
                for r in nat[nat["horizon"] == 1].to_dict("records")
            },
            "dhi": {
                r["period"]: {k: r[k] for k in ("median", "q10", "q90", "q2.5", "q97.5")}
                for r in dhi[(dhi["area_level"] == "national") & (dhi["quantity"] == "dhi")]
                .tail(horizon + 1)
                .to_dict("records")
            },
            "attributable": res.attributable[res.attributable["by"] == "total"].to_dict("records"),
            "availability_effect_per_sd": effects.set_index("outcome")[
                ["mean", "q5", "q95"]
            ].to_dict(orient="index")
            if len(effects)
            else {},
        }
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
        if warning:
            (tmp / "WARNING_FAILED_CHECKS.txt").write_text(
                warning + "\n\n" + failures.to_string(index=False) + "\n"
            )
        report = render_report(
            title=f"Class A availability, serious violence and the Drugs Harm Index: {summary['publication_period']}",
            warning=warning,
            table=table,
            dhi=dhi,
            decomposition=decomp,
            sensitivity=sens,
            effects=effects,
            measurement=measurement,
            checks=checks,
            flags=extra["flags"],
            coverage=coverage_table(panel),
            scores=scores,
            figures=fig_paths,
            spec=model_spec,
            weights=w,
            fractions=fr,
            panel=panel,
            base=base,
            attributable=res.attributable,
            events=events,
        )
        (tmp / "report.html").write_text(report, encoding="utf-8")
        outputs = {
            str(p.relative_to(tmp)): sha256(p)
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and p.name != "manifest.json"
        }
        manifest_out = {
            "schema_version": SCHEMA_VERSION,
            "publication_period": summary["publication_period"],
            "checks_passed": not len(failures),
            "warning": warning,
            "inputs": inputs,
            "panel_hash": panel_hash(panel),
            "spec": model_spec.to_toml(),
            "spec_hash": model_spec.model_hash(),
            "seed": model_spec.sampler.seed,
            "predictive_seed": pred_seed,
            "fit_reused": reused,
            "package_revision": git_revision(),
            "versions": {**package_versions(), "python": platform.python_version()},
            "outputs": outputs,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest_out, indent=2) + "\n")
    final = {name: out / Path(p).relative_to(tmp) for name, p in paths.items()}
    return PublishResult(out, failures, reused, final, notes)
