"""`forecast demo`, `simulate`, `fit`, `predict`, `summary` and `check`: the commands that make a
panel, fit it and forecast from the fit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from forecast.cli.options import (
    STATE,
    Chains,
    Draws,
    FitFile,
    Force,
    Horizon,
    PredictSeed,
    Sampler,
    Seed,
    Tune,
    guard,
    out_console,
    print_frame,
    print_paths,
    sampler_overrides,
)
from forecast.core.errors import ForecastError


def _print_diagnostics(summary, effects) -> None:
    from forecast.diagnostics import gate_failures

    s = summary
    out_console.print(
        f"diagnostics: {s.chains} chains x {s.draws} draws, max R-hat {s.max_rhat:.3f}, "
        f"min bulk ESS {s.min_ess_bulk:.0f} ({s.worst_variable}), availability-effect ESS "
        f"{s.min_ess_bulk_key:.0f}, divergences {s.divergences}, min E-BFMI {s.min_bfmi:.2f}",
        highlight=False,
    )
    failures = gate_failures(summary)
    if failures:
        out_console.print("[yellow]gates not met:[/] " + "; ".join(failures), highlight=False)
    table = Table(title="availability effect (log rate per sd of availability), 90% interval")
    for col in ("outcome", "mean", "q5", "q95", "rate ratio", "truth"):
        table.add_column(col)
    for r in effects.itertuples(index=False):
        truth = f"{r.truth:.3f}" if hasattr(r, "truth") else ""
        table.add_row(
            r.outcome, f"{r.mean:.3f}", f"{r.q5:.3f}", f"{r.q95:.3f}", f"{r.rate_ratio:.3f}", truth
        )
    out_console.print(table)


@guard
def demo(
    out: Annotated[Path, typer.Option(help="Directory for all outputs.")] = Path("demo-output"),
    force: Force = False,
    seed: Annotated[int, typer.Option(help="Seed of the simulated panel.")] = 20240601,
    panel: Annotated[
        Path | None,
        typer.Option(
            help="Use this panel (.nc/.csv, e.g. from `forecast data ingest`) instead of simulating."
        ),
    ] = None,
    horizon: Annotated[int, typer.Option(help="Quarters to forecast.")] = 4,
    sampler: Sampler = None,
    draws: Draws = None,
    tune: Tune = None,
    chains: Chains = None,
) -> None:
    """Simulate the 43-force panel, fit the default model, forecast and export, end to end.

    Example: forecast demo --out demo-output --force
    """
    from forecast.ingest.panel import load_panel
    from forecast.outputs.pipeline import run_demo

    fitted, fc, panel_path = run_demo(
        out,
        panel=load_panel(panel) if panel is not None else None,
        seed=seed,
        horizon=horizon,
        overwrite=force,
        progress=not STATE["quiet"],
        sampler_overrides=sampler_overrides(sampler, draws, tune, chains, None),
    )
    out_console.print(f"\n[bold]demo finished[/] in {out}: outputs", highlight=False)
    print_paths({"panel": panel_path, **fitted.paths, **fc.paths})
    _print_diagnostics(fitted.summary, fitted.effects)
    _print_next_quarter(fc.table)


def _print_next_quarter(table) -> None:
    nat = table[
        (table["area_level"] == "national")
        & (table["horizon"] == 1)
        & (table["quantity"] == "count")
    ]
    if nat.empty:
        return
    t = Table(title=f"{nat['area'].iloc[0]}, forecast for {nat['period'].iloc[0]} (offences)")
    for col in ("outcome", "median", "80% interval", "95% interval"):
        t.add_column(col)
    for r in nat.to_dict("records"):
        t.add_row(
            r["outcome"],
            f"{r['median']:,.0f}",
            f"{r['q10']:,.0f} - {r['q90']:,.0f}",
            f"{r['q2.5']:,.0f} - {r['q97.5']:,.0f}",
        )
    out_console.print(t)


@guard
def simulate(
    out: Annotated[Path, typer.Argument(help="Output file: .nc (panel + truth) or .csv (panel).")],
    periods: Annotated[int, typer.Option(help="Number of quarters.")] = 48,
    start: Annotated[str, typer.Option(help="First quarter, e.g. 2012Q2.")] = "2012Q2",
    forces: Annotated[
        list[str] | None, typer.Option("--only", help="Simulate only these forces (repeatable).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 20240601,
    holdout: Annotated[int, typer.Option(help="Extra future quarters kept in /future.")] = 0,
    force: Force = False,
) -> None:
    """Write a simulated force x quarter panel with its known truth.

    Example: forecast simulate panel.nc --periods 48 --seed 7
    """
    from forecast.core.periods import parse_quarter
    from forecast.core.transaction import check_output_file, output_file
    from forecast.ingest.panel import save_panel
    from forecast.simulate import simulate_panel

    parse_quarter(start, "--start")
    check_output_file(out, force)
    tree = simulate_panel(n_periods=periods, start=start, forces=forces, seed=seed, holdout=holdout)
    path = output_file(out, lambda tmp: save_panel(tree, tmp, True), force)
    ds = tree["panel"].to_dataset()
    out_console.print(
        f"wrote {path}: {ds.sizes['force']} forces x {ds.sizes['period']} quarters "
        f"({ds.indexes['period'][0]}-{ds.indexes['period'][-1]}), seed {seed}",
        highlight=False,
    )


@guard
def fit(
    panel: Annotated[
        Path, typer.Argument(help="Panel file (.nc from `forecast simulate`, or .csv).")
    ],
    out: Annotated[Path, typer.Option(help="Directory for fit.nc, diagnostics.csv, effects.csv.")],
    spec: Annotated[
        str, typer.Option(help="Spec file or shipped name (default, minimal).")
    ] = "default",
    sampler: Sampler = None,
    draws: Draws = None,
    tune: Tune = None,
    chains: Chains = None,
    seed: Seed = None,
    force: Force = False,
) -> None:
    """Fit a model spec to a panel and save the posterior with provenance.

    Example: forecast fit panel.nc --out fits/default --spec models/default.toml
    """
    from forecast.fit import sampler_settings
    from forecast.ingest.panel import load_panel
    from forecast.outputs.pipeline import fit_to_dir
    from forecast.spec import load_spec

    model_spec = load_spec(spec)
    settings = sampler_settings(model_spec, **sampler_overrides(sampler, draws, tune, chains, seed))
    data = load_panel(panel)
    fitted = fit_to_dir(
        data, model_spec, out, settings, overwrite=force, progress=not STATE["quiet"]
    )
    out_console.print(f"fit written to {out}", highlight=False)
    print_paths(fitted.paths)
    _print_diagnostics(fitted.summary, fitted.effects)


@guard
def predict(
    fit_file: FitFile,
    out: Annotated[Path, typer.Option(help="Directory for forecast.csv/.parquet and draws.")],
    horizon: Horizon = 4,
    seed: PredictSeed = None,
    charts: Annotated[
        str,
        typer.Option(
            help="Fan charts (PNG and SVG): 'national', 'regions' (national + each region) or "
            "'all' (every force too), in OUT/fan_charts/."
        ),
    ] = "regions",
    force: Force = False,
) -> None:
    """Forecast `horizon` quarters by posterior prediction; write tidy tables and fan charts.

    Example: forecast predict fits/default/fit.nc --out forecasts/ --horizon 4 --charts all
    """
    from forecast.fit import load_fit
    from forecast.outputs.pipeline import FAN_LEVELS, forecast_to_dir

    if charts not in FAN_LEVELS:
        raise ForecastError(f"--charts: choose one of {sorted(FAN_LEVELS)}, not {charts!r}")
    from forecast.predict import check_horizon

    check_horizon(horizon)
    fc = forecast_to_dir(
        load_fit(fit_file), out, horizon=horizon, seed=seed, overwrite=force, charts=charts
    )
    out_console.print(f"forecast written to {out}", highlight=False)
    fans = [k for k in fc.paths if k.startswith("chart_")]
    print_paths({k: v for k, v in fc.paths.items() if k not in fans})
    if fans:
        out_console.print(f"  {'fan charts':<18} {len(fans)} files in {out / 'fan_charts'}")
    _print_next_quarter(fc.table)


@guard
def summary(
    fit_file: FitFile,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with code 2 when a convergence gate fails.")
    ] = False,
) -> None:
    """Print the diagnostics table (R-hat, bulk/tail ESS per variable, divergences, E-BFMI).

    Example: forecast summary fits/default/fit.nc --strict
    """
    from forecast.diagnostics import diagnostics_table, gate_failures, summarise_diagnostics
    from forecast.fit import load_fit
    from forecast.posterior import effects_table

    tree = load_fit(fit_file)
    table = diagnostics_table(tree)
    t = Table(title=f"diagnostics: {fit_file} (spec {tree.attrs.get('spec_name')})")
    for col in ("variable", "size", "bulk ESS", "tail ESS", "R-hat"):
        t.add_column(col)
    for r in table.itertuples(index=False):
        t.add_row(
            r.variable, str(r.size), f"{r.ess_bulk:.0f}", f"{r.ess_tail:.0f}", f"{r.r_hat:.3f}"
        )
    out_console.print(t)
    s = summarise_diagnostics(tree, table)
    _print_diagnostics(s, effects_table(tree))
    if strict and gate_failures(s):
        raise typer.Exit(2)


@guard
def check(
    fit_file: FitFile,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with code 2 when a predictive check fails.")
    ] = False,
    draws: Annotated[int, typer.Option(help="Prior predictive draws.")] = 200,
) -> None:
    """Prior and posterior predictive checks of a fit, with optional gates.

    Prior rates per 100,000 against plausible ranges, and replicated counts against the observed
    (90% coverage, Bayesian p-values).

    Example: forecast check fits/default/fit.nc --strict
    """
    from forecast.checks import (
        posterior_predictive_table,
        ppc_failures,
        prior_failures,
        prior_predictive_rates,
    )
    from forecast.fit import fit_panel, fit_spec, load_fit
    from forecast.predict import predict

    tree = load_fit(fit_file)
    prior = prior_predictive_rates(fit_panel(tree), fit_spec(tree), draws=draws)
    print_frame(prior.round(3), "prior predictive: national rate per 100,000 per quarter")
    post = posterior_predictive_table(predict(tree, horizon=0))
    print_frame(post.round(3), "posterior predictive checks")
    failures = prior_failures(prior) + ppc_failures(post)
    for f in failures:
        out_console.print(f"[bold yellow]check failed:[/] {escape(f)}", highlight=False)
    if not failures:
        out_console.print("all predictive checks pass")
    if strict and failures:
        raise typer.Exit(2)


COMMANDS = (demo, simulate, fit, predict, summary, check)
