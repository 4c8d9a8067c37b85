"""The `forecast` command line: parses options, calls library functions, prints. No statistics here."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from forecast.cli_common import STATE, Force, guard, out_console, print_frame, print_paths
from forecast.cli_data import data_app
from forecast.errors import ForecastError

FitFile = Annotated[Path, typer.Argument(metavar="FIT", help="fit.nc written by `forecast fit`.")]

app = typer.Typer(
    name="forecast",
    help="Bayesian forecasts of homicide, robbery and knife crime linked to Class A drug availability, "
    "for the 43 police force areas of England and Wales.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
Seed = Annotated[int | None, typer.Option(help="Random seed (default: the spec's).")]
PredictSeed = Annotated[
    int | None,
    typer.Option("--seed", help="Seed of the predictive draws (default: the fit's seed + 1)."),
]
Draws = Annotated[int | None, typer.Option(help="Posterior draws per chain (default: the spec's).")]
Tune = Annotated[int | None, typer.Option(help="Tuning steps per chain (default: the spec's).")]
Chains = Annotated[int | None, typer.Option(help="Number of chains (default: the spec's).")]
Sampler = Annotated[
    str | None, typer.Option("--sampler", help="nutpie (default), pymc or numpyro.")
]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    STATE.update(debug=debug, quiet=quiet)
    if debug:
        logging.basicConfig(level=logging.DEBUG)


def _sampler_overrides(sampler, draws, tune, chains, seed) -> dict:
    return {
        k: v
        for k, v in dict(backend=sampler, draws=draws, tune=tune, chains=chains, seed=seed).items()
        if v is not None
    }


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


@app.command()
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
    from forecast.panel import load_panel
    from forecast.pipeline import run_demo

    fitted, fc, panel_path = run_demo(
        out,
        panel=load_panel(panel) if panel is not None else None,
        seed=seed,
        horizon=horizon,
        overwrite=force,
        progress=not STATE["quiet"],
        sampler_overrides=_sampler_overrides(sampler, draws, tune, chains, None),
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


@app.command()
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
    from forecast.panel import save_panel
    from forecast.periods import parse_quarter
    from forecast.simulate import simulate_panel

    parse_quarter(start, "--start")
    tree = simulate_panel(n_periods=periods, start=start, forces=forces, seed=seed, holdout=holdout)
    path = save_panel(tree, out, overwrite=force)
    ds = tree["panel"].to_dataset()
    out_console.print(
        f"wrote {path}: {ds.sizes['force']} forces x {ds.sizes['period']} quarters "
        f"({ds.indexes['period'][0]}-{ds.indexes['period'][-1]}), seed {seed}",
        highlight=False,
    )


@app.command()
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
    from forecast.panel import load_panel
    from forecast.pipeline import fit_to_dir
    from forecast.spec import load_spec

    model_spec = load_spec(spec)
    settings = sampler_settings(
        model_spec, **_sampler_overrides(sampler, draws, tune, chains, seed)
    )
    data = load_panel(panel)
    fitted = fit_to_dir(
        data, model_spec, out, settings, overwrite=force, progress=not STATE["quiet"]
    )
    out_console.print(f"fit written to {out}", highlight=False)
    print_paths(fitted.paths)
    _print_diagnostics(fitted.summary, fitted.effects)


@app.command()
@guard
def predict(
    fit_file: FitFile,
    out: Annotated[Path, typer.Option(help="Directory for forecast.csv/.parquet and draws.")],
    horizon: Annotated[int, typer.Option(help="Quarters ahead to forecast.")] = 4,
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
    from forecast.pipeline import FAN_LEVELS, forecast_to_dir

    if charts not in FAN_LEVELS:
        raise ForecastError(f"--charts: choose one of {sorted(FAN_LEVELS)}, not {charts!r}")
    fc = forecast_to_dir(
        load_fit(fit_file), out, horizon=horizon, seed=seed, overwrite=force, charts=charts
    )
    out_console.print(f"forecast written to {out}", highlight=False)
    fans = [k for k in fc.paths if k.startswith("chart_")]
    print_paths({k: v for k, v in fc.paths.items() if k not in fans})
    if fans:
        out_console.print(f"  {'fan charts':<18} {len(fans)} files in {out / 'fan_charts'}")
    _print_next_quarter(fc.table)


@app.command()
@guard
def scenario(
    fit_file: FitFile,
    scenario_file: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario TOML (see README 'Scenarios').")
    ],
    out: Annotated[Path, typer.Option(help="Directory for scenario.csv/.parquet and the chart.")],
    horizon: Annotated[int, typer.Option(help="Quarters ahead to forecast.")] = 4,
    seed: PredictSeed = None,
    force: Force = False,
) -> None:
    """Scenario minus baseline: expected offences (and %) per force, region and England and Wales.

    Example: forecast scenario fits/default/fit.nc scenarios/county_lines.toml --out scen/
    """
    import pandas as pd

    from forecast.fit import load_fit
    from forecast.pipeline import scenario_to_dir

    sc = scenario_to_dir(load_fit(fit_file), scenario_file, out, horizon, seed, overwrite=force)
    out_console.print(f"scenario written to {out}", highlight=False)
    print_paths(sc.paths)
    t = sc.table
    nat = t[(t["area_level"] == "national") & (t["horizon"] == t["horizon"].max())]
    table = Table(title=f"{nat['area'].iloc[0]}, {nat['period'].iloc[0]}: scenario minus baseline")
    for col in ("outcome", "expected offences", "90% interval", "percent", "90% interval (%)"):
        table.add_column(col)
    for k in pd.unique(nat["outcome"]):
        n = nat[(nat["outcome"] == k) & (nat["quantity"] == "expected_offences")].iloc[0]
        p = nat[(nat["outcome"] == k) & (nat["quantity"] == "percent")].iloc[0]
        table.add_row(
            k,
            f"{n['mean']:+,.1f}",
            f"{n['q5']:+,.1f} to {n['q95']:+,.1f}",
            f"{p['mean']:+.1f}%",
            f"{p['q5']:+.1f} to {p['q95']:+.1f}",
        )
    out_console.print(table)


@app.command()
@guard
def dhi(
    fit_file: FitFile,
    out: Annotated[Path, typer.Option(help="Directory for the index tables and plots.")],
    base: Annotated[
        str,
        typer.Option(help="Base period = 100: a quarter (2016Q2), year (2016) or FY (2016/17)."),
    ],
    horizon: Annotated[int, typer.Option(help="Quarters ahead to forecast.")] = 4,
    weights: Annotated[
        str,
        typer.Option(
            help="Weights: 'home_office' (unit costs of crime), 'cambridge' (CCHI days) or a CSV "
            "with columns outcome, weight, unit, price_year, source."
        ),
    ] = "home_office",
    fractions: Annotated[
        Path | None,
        typer.Option(help="CSV of Beta priors of drug-attributable fractions (default: shipped)."),
    ] = None,
    change_from: Annotated[
        str | None,
        typer.Option(
            help="Decompose the change from this quarter (default: a year before --change-to)."
        ),
    ] = None,
    change_to: Annotated[
        str | None, typer.Option(help="... to this quarter (default: the last forecast quarter).")
    ] = None,
    seed: PredictSeed = None,
    force: Force = False,
) -> None:
    """Drugs Harm Index: drug-attributable harm from the outcomes, base = 100, per draw, with
    intervals, history and forecast, per force, region and England and Wales.

    Example: forecast dhi fits/default/fit.nc --base 2016 --out dhi/ --weights cambridge
    """
    import pandas as pd

    from forecast.fit import load_fit
    from forecast.pipeline import dhi_to_dir

    res = dhi_to_dir(
        load_fit(fit_file),
        out,
        base,
        horizon,
        weights,
        fractions,
        seed,
        (change_from, change_to),
        overwrite=force,
    )
    out_console.print(f"harm index written to {out}", highlight=False)
    print_paths(res.paths)
    t = res.table
    nat = t[(t["area_level"] == "national") & (t["quantity"] == "dhi")]
    last_obs = nat[nat["horizon"] == 0].tail(1)
    rows = pd.concat([last_obs, nat[nat["horizon"] > 0]])
    table = Table(title=f"Drugs Harm Index, {rows['area'].iloc[0]} ({base} = 100)")
    for col in ("period", "forecast", "median", "80% interval", "95% interval"):
        table.add_column(col)
    for r in rows.to_dict("records"):
        table.add_row(
            r["period"],
            "yes" if r["is_forecast"] else "",
            f"{r['median']:.1f}",
            f"{r['q10']:.1f} - {r['q90']:.1f}",
            f"{r['q2.5']:.1f} - {r['q97.5']:.1f}",
        )
    out_console.print(table)
    d = res.decomposition
    d = d[d["by"].isin(["total", "outcome"])][
        ["by", "component", "from", "to", "mean", "q10", "q90"]
    ]
    print_frame(d.round(2), "change in the index (points), by outcome")


@app.command()
@guard
def backtest(
    panel: Annotated[Path, typer.Argument(help="Panel file (.nc or .csv).")],
    out: Annotated[Path, typer.Option(help="Directory for per-origin scores and summaries.")],
    spec: Annotated[str, typer.Option(help="Spec name or TOML path of the model.")] = "default",
    origins: Annotated[int, typer.Option(help="Number of rolling origins (the last ones).")] = 8,
    origin: Annotated[
        list[str] | None,
        typer.Option(help="Explicit origin quarter (repeatable); overrides --origins."),
    ] = None,
    horizon: Annotated[int, typer.Option(help="Quarters ahead scored at each origin.")] = 4,
    draws: Annotated[int, typer.Option(help="Posterior draws per chain at each origin.")] = 500,
    tune: Annotated[int, typer.Option(help="Tuning steps per chain.")] = 400,
    chains: Annotated[int, typer.Option(help="Chains per fit.")] = 4,
    models: Annotated[
        str, typer.Option(help="Comma-separated: model, no_link, seasonal_naive, ets.")
    ] = "model,no_link,seasonal_naive,ets",
    scheduler: Annotated[
        str | None, typer.Option(help="Address of a running dask.distributed scheduler.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every fit and forecast.")] = 1,
    force: Force = False,
) -> None:
    """Rolling-origin backtest: fit at each origin, forecast 1..H, score (CRPS, log score,
    coverage, PIT, bias) against the model without the availability link and simple baselines.
    Origins run in parallel on Dask and a rerun resumes the unfinished ones.

    Example: forecast backtest panel.nc --out backtest/ --origins 8 --horizon 4
    """
    from forecast.backtest import backtest_config, run_backtest
    from forecast.panel import load_panel
    from forecast.pipeline import backtest_outputs

    config = backtest_config(
        load_panel(panel),
        spec=spec,
        n_origins=origins,
        origins=tuple(origin or ()),
        horizon=horizon,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        models=tuple(m.strip() for m in models.split(",") if m.strip()),
    )
    out_console.print(
        f"backtest: {len(config.origins)} origins ({config.origins[0]}-{config.origins[-1]}), "
        f"horizon {horizon}, models {', '.join(config.models)}",
        highlight=False,
    )

    def done(o: str, n: int, total: int) -> None:
        if not STATE["quiet"]:
            out_console.print(f"  origin {o} scored ({n}/{total})", highlight=False)

    scores = run_backtest(panel, config, out, scheduler=scheduler, overwrite=force, on_done=done)
    res = backtest_outputs(scores, out)
    print_paths(res.paths)
    print_frame(res.table.round(3), "mean scores by model and outcome (all origins and horizons)")


@app.command()
@guard
def compare(
    fits: Annotated[list[Path], typer.Argument(metavar="FIT...", help="Two or more fit.nc files.")],
    backtest_dir: Annotated[
        Path | None, typer.Option("--backtest", help="A backtest directory to show beside LOO.")
    ] = None,
) -> None:
    """Compare fitted specs by PSIS-LOO (ELPD, with Pareto k warnings) and, given a backtest,
    by its mean scores.

    Example: forecast compare fits/default/fit.nc fits/no_link/fit.nc --backtest backtest/
    """
    from forecast.compare import compare_fits

    table, warnings = compare_fits(fits)
    print_frame(table, "PSIS-LOO of the recorded counts (higher elpd is better)")
    for w in warnings:
        out_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    if backtest_dir is not None:
        from forecast.backtest import load_scores, summarise

        s = summarise(load_scores(backtest_dir), ("model", "outcome"))
        print_frame(s.round(3), f"backtest scores ({backtest_dir})")


@app.command()
@guard
def publish(
    manifest: Annotated[
        Path | None, typer.Argument(help="Ingest manifest (TOML); or give --panel instead.")
    ] = None,
    period: Annotated[
        str, typer.Option(help="Last data quarter of the publication, e.g. 2024Q2.")
    ] = "",
    out: Annotated[Path, typer.Option(help="Bundle directory (replaced atomically).")] = Path(
        "publication"
    ),
    panel: Annotated[
        Path | None, typer.Option(help="An ingested panel file instead of MANIFEST.")
    ] = None,
    spec: Annotated[str, typer.Option(help="Spec name or TOML path.")] = "realdata",
    horizon: Annotated[int, typer.Option(help="Quarters ahead to forecast.")] = 4,
    base: Annotated[
        str | None, typer.Option(help="DHI base period (default: the first full financial year).")
    ] = None,
    weights: Annotated[
        str, typer.Option(help="DHI weights: home_office, cambridge or a CSV.")
    ] = "home_office",
    backtest_dir: Annotated[
        Path | None, typer.Option("--backtest", help="Backtest directory whose scores to attach.")
    ] = None,
    allow_failed_checks: Annotated[
        bool, typer.Option("--allow-failed-checks", help="Publish despite failed gates, marked.")
    ] = False,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Fit cache: reuse a fit with the same inputs (default OUT/../.forecast-cache)."
        ),
    ] = None,
    draws: Draws = None,
    tune: Tune = None,
    chains: Chains = None,
    seed: Seed = None,
) -> None:
    """Quarterly publication: ingest, fit (or reuse), check gates, forecast, DHI, report, export
    and provenance, written as one bundle atomically.

    Example: forecast publish data/manifests/realdata.toml --period 2023Q2 --out publication/
    """
    from forecast.publish import PublishRefused
    from forecast.publish import publish as run_publish

    if not period:
        raise ForecastError("--period is required: the last data quarter to publish, e.g. 2024Q2")
    overrides = _sampler_overrides(None, draws, tune, chains, None)
    try:
        res = run_publish(
            manifest,
            period,
            out,
            spec=spec,
            horizon=horizon,
            base=base,
            weights=weights,
            panel_file=panel,
            backtest=backtest_dir,
            allow_failed_checks=allow_failed_checks,
            cache=cache if cache is not None else Path(out).resolve().parent / ".forecast-cache",
            seed=seed,
            progress=not STATE["quiet"],
            sampler_overrides=overrides,
        )
    except PublishRefused as exc:
        print_frame(exc.failures, "failed checks")
        raise
    if len(res.failures):
        out_console.print(
            f"[bold red]WARNING:[/] published with {len(res.failures)} failed check(s); "
            "every output is marked",
            highlight=False,
        )
        print_frame(res.failures, "failed checks")
    out_console.print(
        f"publication written to {res.out} (fit {'reused' if res.reused_fit else 'made'}); "
        f"open {res.out / 'report.html'}",
        highlight=False,
    )


@app.command()
@guard
def export(
    fit_file: FitFile,
    out: Annotated[Path, typer.Option(help="Directory for the exported tables.")],
    base: Annotated[str, typer.Option(help="DHI base period: 2016Q2, 2016 or 2016/17.")],
    horizon: Annotated[int, typer.Option(help="Quarters ahead to forecast.")] = 4,
    weights: Annotated[
        str, typer.Option(help="DHI weights: home_office, cambridge or a CSV.")
    ] = "home_office",
    seed: PredictSeed = None,
    force: Force = False,
) -> None:
    """Stable export for other tools: forecast and DHI tables (CSV, Parquet) with their
    datapackage.json, a JSON summary, and the full posterior (NetCDF, opens in arviz).

    Example: forecast export fits/default/fit.nc --base 2016/17 --out export/
    """
    from forecast.fit import load_fit
    from forecast.pipeline import export_to_dir

    paths = export_to_dir(load_fit(fit_file), out, base, horizon, weights, seed, overwrite=force)
    out_console.print(f"export written to {out}", highlight=False)
    print_paths(paths)


@app.command()
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


@app.command()
@guard
def check(
    fit_file: FitFile,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with code 2 when a predictive check fails.")
    ] = False,
    draws: Annotated[int, typer.Option(help="Prior predictive draws.")] = 200,
) -> None:
    """Prior and posterior predictive checks of a fit: prior rates per 100,000 against plausible
    ranges, and replicated counts against the observed (90% coverage, Bayesian p-values).

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


app.add_typer(data_app, name="data")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="forecast")


if __name__ == "__main__":
    sys.exit(main())
