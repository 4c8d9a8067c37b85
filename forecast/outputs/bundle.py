"""The files of a publication bundle, written into its staging folder: tables, the data package
descriptor, the posterior, figures, the JSON summary, the HTML report and the provenance manifest."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.areas import window_rates
from forecast.fit import package_versions, save_fit
from forecast.ingest.panel import panel_hash
from forecast.ingest.validate import coverage_table
from forecast.outputs.dhi import HarmResult
from forecast.outputs.export import SCHEMA_VERSION, datapackage
from forecast.outputs.pipeline import slug
from forecast.report import html, plots
from forecast.spec import ModelSpec


@dataclass
class Contents:
    """Everything a bundle holds, computed before anything is written."""

    spec: ModelSpec
    panel: xr.Dataset
    inputs: dict[str, str]  # input file -> its SHA-256
    tree: xr.DataTree
    reused: bool
    pred_seed: int
    checks: pd.DataFrame
    flags: pd.DataFrame
    failures: pd.DataFrame
    warning: str  # empty unless published despite failed checks
    table: pd.DataFrame  # the tidy forecast table
    harm: HarmResult
    events: pd.DataFrame
    effects: pd.DataFrame
    measurement: pd.DataFrame
    history: pd.DataFrame  # fitted 90% coverage of the observed national history (checks.py)
    scores: pd.DataFrame | None
    weights: pd.DataFrame
    fractions: pd.DataFrame
    base: str
    horizon: int


def sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
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


def write_bundle(tmp: Path, c: Contents) -> dict[str, Path]:
    """Write every file of the bundle into the staging folder `tmp`; returns the tables' paths."""
    paths = write_tables(tmp, c)
    (tmp / "datapackage.json").write_text(json.dumps(datapackage(), indent=2) + "\n")
    save_fit(c.tree, tmp / "posterior.nc")
    figures = draw_figures(tmp / "figures", c)
    summary = summarise(c)
    (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    if c.warning:
        (tmp / "WARNING_FAILED_CHECKS.txt").write_text(
            c.warning + "\n\n" + c.failures.to_string(index=False) + "\n"
        )
    report = render(c, figures, summary["publication_period"])
    (tmp / "report.html").write_text(report, encoding="utf-8")
    manifest_out = provenance(tmp, c, summary["publication_period"])
    (tmp / "manifest.json").write_text(json.dumps(manifest_out, indent=2) + "\n")
    return paths


def write_tables(tmp: Path, c: Contents) -> dict[str, Path]:
    """The tidy tables (CSV, and Parquet for the forecast and the DHI) and the supporting ones."""
    paths: dict[str, Path] = {}
    table, dhi = c.table, c.harm.table

    def csv(frame: pd.DataFrame, name: str) -> None:
        frame.to_csv(tmp / name, index=False, lineterminator="\n")
        paths[name] = tmp / name

    csv(table, "forecast.csv")
    table.to_parquet(tmp / "forecast.parquet", index=False)
    csv(dhi, "dhi.csv")
    csv(c.harm.attributable, "dhi_attributable.csv")
    csv(c.events, "exceptional_events.csv")
    dhi.to_parquet(tmp / "dhi.parquet", index=False)
    csv(c.harm.decomposition, "dhi_decomposition.csv")
    csv(c.harm.sensitivity, "dhi_sensitivity.csv")
    csv(c.effects, "effects.csv")
    csv(c.checks, "checks.csv")
    csv(c.flags, "data_flags.csv")
    csv(coverage_table(c.panel), "data_coverage.csv")
    if c.scores is not None:
        csv(c.scores, "backtest_scores.csv")
    return paths


def observed_windows(c: Contents) -> pd.DataFrame | None:
    """The published window sums of outcomes the spec observes only through them (knife's
    financial-year totals), by area, for the fan charts."""
    parts = [
        window_rates(c.panel, o.variable, o.outcome)
        for o in c.spec.observations
        if o.variable in c.panel and dims.FORCE in c.panel[o.variable].dims
    ]
    return pd.concat(parts, ignore_index=True) if parts else None


def draw_figures(figs: Path, c: Contents) -> dict[str, Path]:
    """The report's figures (watermarked when checks failed): fan charts, index and availability."""
    table, dhi = c.table, c.harm.table
    with plots.watermark(c.warning):
        top = table.loc[table["area_level"] == "national", "area"].iloc[0]
        w = observed_windows(c)
        notes = history_notes(c.history, w)
        national = plots.fan_chart(table, top, figs / "fan_national.png", windows=w, notes=notes)
        fig_paths = {"national": national}
        for area in pd.unique(table.loc[table["area_level"] != "national", "area"]):
            path = figs / f"fan_{slug(area)}.png"
            fig_paths[area] = plots.fan_chart(table, area, path, windows=w)
        fig_paths["dhi"] = plots.dhi_chart(dhi, top, figs / "dhi.png")
        fig_paths["dhi_decomposition"] = plots.decomposition_chart(
            c.harm.decomposition, figs / "dhi_decomposition.png"
        )
        fig_paths["dhi_regions"] = plots.dhi_grid(dhi, "region", figs / "dhi_regions.png")
        fig_paths["dhi_forces"] = plots.dhi_grid(dhi, "force", figs / "dhi_forces.png")
        fig_paths["availability_forces"] = plots.dhi_grid(
            dhi, "force", figs / "availability_forces.png", quantity="availability"
        )
        fig_paths["availability_regions"] = plots.dhi_grid(
            dhi, "region", figs / "availability_regions.png", quantity="availability"
        )
    return fig_paths


def history_notes(history: pd.DataFrame, windows: pd.DataFrame | None) -> dict[str, str]:
    """Per outcome, a line for the national fan chart: the share of observed quarters inside the
    fitted 90% band, or, for an outcome seen only as window sums, that its draws add up to them."""
    out, summed = {}, set() if windows is None else set(windows["outcome"])
    for r in history.itertuples(index=False):
        if r.quarters:
            out[r.outcome] = (
                f"fitted 90% band covers {r.covered} of {r.quarters} observed quarters "
                f"({r.coverage:.0%})"
            )
        elif r.outcome in summed:
            out[r.outcome] = (
                "published only as yearly totals by force: quarterly draws add up to each one"
            )
    return out


def summarise(c: Contents) -> dict:
    """summary.json: headline forecast and index figures, check status and the effects."""
    table, dhi, effects, failures = c.table, c.harm.table, c.effects, c.failures
    nat = table[(table["area_level"] == "national") & (table["quantity"] == "count")]
    return {
        "schema_version": SCHEMA_VERSION,
        "publication_period": str(c.panel.indexes[dims.PERIOD][-1]),
        "checks_passed": not len(failures),
        "warning": c.warning,
        "failed_checks": failures["check"].tolist(),
        "model": c.spec.name,
        "base": c.base,
        "weights": Path(c.weights.attrs["path"]).name,
        "forecast_next_quarter": {
            r["outcome"]: {k: r[k] for k in ("period", "median", "q10", "q90", "q2.5", "q97.5")}
            for r in nat[nat["horizon"] == 1].to_dict("records")
        },
        "dhi": {
            r["period"]: {k: r[k] for k in ("median", "q10", "q90", "q2.5", "q97.5")}
            for r in dhi[(dhi["area_level"] == "national") & (dhi["quantity"] == "dhi")]
            .tail(c.horizon + 1)
            .to_dict("records")
        },
        "attributable": c.harm.attributable[c.harm.attributable["by"] == "total"].to_dict(
            "records"
        ),
        "history_coverage_90": {
            r["outcome"]: {k: r[k] for k in ("quarters", "covered", "coverage")}
            for r in c.history[c.history["quarters"] > 0].to_dict("records")
        },
        "availability_effect_per_sd": effects.set_index("outcome")[["mean", "q5", "q95"]].to_dict(
            orient="index"
        )
        if len(effects)
        else {},
    }


def render(c: Contents, figures: dict[str, Path], period: str) -> str:
    """The self-contained HTML report."""
    return html.render_report(
        title=f"Class A availability, serious violence and the Drugs Harm Index: {period}",
        warning=c.warning,
        table=c.table,
        dhi=c.harm.table,
        decomposition=c.harm.decomposition,
        sensitivity=c.harm.sensitivity,
        effects=c.effects,
        measurement=c.measurement,
        checks=c.checks,
        flags=c.flags,
        coverage=coverage_table(c.panel),
        scores=c.scores,
        figures=figures,
        spec=c.spec,
        weights=c.weights,
        fractions=c.fractions,
        panel=c.panel,
        base=c.base,
        attributable=c.harm.attributable,
        events=c.events,
    )


def provenance(tmp: Path, c: Contents, period: str) -> dict:
    """manifest.json: SHA-256 of every input and output, panel and spec hashes, seeds, versions."""
    outputs = {
        str(p.relative_to(tmp)): sha256(p)
        for p in sorted(tmp.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "publication_period": period,
        "checks_passed": not len(c.failures),
        "warning": c.warning,
        "inputs": c.inputs,
        "panel_hash": panel_hash(c.panel),
        "spec": c.spec.to_toml(),
        "spec_hash": c.spec.model_hash(),
        "seed": c.spec.sampler.seed,
        "predictive_seed": c.pred_seed,
        "fit_reused": c.reused,
        "package_revision": git_revision(),
        "versions": {**package_versions(), "python": platform.python_version()},
        "outputs": outputs,
    }
