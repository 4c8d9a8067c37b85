"""`forecast scenario`, `dhi`, `publish` and `export`: the commands that turn a fit into what is
published (registered by forecast.cli.app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from forecast.cli.options import (
    STATE,
    Chains,
    Draws,
    FitFile,
    Force,
    Horizon,
    PredictSeed,
    Reference,
    Seed,
    Tune,
    WithEvents,
    guard,
    out_console,
    print_frame,
    print_paths,
    sampler_overrides,
)
from forecast.core.errors import ForecastError

Weights = Annotated[str, typer.Option(help="DHI weights: home_office, cambridge or a CSV.")]
# the options of `publish`
Manifest = Annotated[
    Path | None, typer.Argument(help="Ingest manifest (TOML); or give --panel instead.")
]
Period = Annotated[str, typer.Option(help="Last data quarter of the publication, e.g. 2024Q2.")]
BundleDir = Annotated[Path, typer.Option(help="Bundle directory (replaced atomically).")]
PanelFile = Annotated[Path | None, typer.Option(help="An ingested panel file instead of MANIFEST.")]
SpecName = Annotated[str, typer.Option(help="Spec name or TOML path.")]
DhiBase = Annotated[
    str | None, typer.Option(help="DHI base period (default: the first full financial year).")
]
BacktestDir = Annotated[
    Path | None, typer.Option("--backtest", help="Backtest directory whose scores to attach.")
]
AllowFailedChecks = Annotated[
    bool, typer.Option("--allow-failed-checks", help="Publish despite failed gates, marked.")
]
FitCache = Annotated[
    Path | None,
    typer.Option(
        help="Fit cache: reuse a fit with the same inputs (default OUT/../.forecast-cache)."
    ),
]
KeepOthers = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Write into a folder holding other files: they are kept, only forecast's own "
        "files are replaced.",
    ),
]


@guard
def scenario(
    fit_file: FitFile,
    scenario_file: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="Scenario TOML (see README 'Scenarios').")
    ],
    out: Annotated[Path, typer.Option(help="Directory for scenario.csv/.parquet and the chart.")],
    horizon: Horizon = 4,
    seed: PredictSeed = None,
    force: Force = False,
) -> None:
    """Scenario minus baseline: expected offences (and %) per force, region and England and Wales.

    Example: forecast scenario fits/default/fit.nc scenarios/county_lines.toml --out scen/
    """
    import pandas as pd

    from forecast.fit import load_fit
    from forecast.outputs.pipeline import scenario_to_dir

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


@guard
def dhi(
    fit_file: FitFile,
    out: Annotated[Path, typer.Option(help="Directory for the index tables and plots.")],
    base: Annotated[
        str,
        typer.Option(help="Base period = 100: a quarter (2016Q2), year (2016) or FY (2016/17)."),
    ],
    horizon: Horizon = 4,
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
    reference: Reference = "base",
    with_events: WithEvents = False,
) -> None:
    """Drugs Harm Index (base = 100) with intervals, history and forecast, per force and region.

    Drug-related harm at fixed attributable fractions and unit costs (count x fraction x weight),
    per posterior draw, with the harm the model attributes to the change in availability beside it.

    Example: forecast dhi fits/default/fit.nc --base 2016 --out dhi/ --weights cambridge
    """

    from forecast.fit import load_fit
    from forecast.outputs.pipeline import dhi_to_dir

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
        reference=reference,
        with_events=with_events,
    )
    out_console.print(f"harm index written to {out}", highlight=False)
    print_paths(res.paths)
    _print_dhi(res, base, reference)


def _print_dhi(res, base: str, reference: str) -> None:
    """The national index (last observed quarter and forecast), its change and attributable harm."""
    import pandas as pd

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
    a = res.attributable
    a = a[a["by"].isin(["total", "outcome"])]
    cols = ["by", "component", "from", "to", "quantity", "mean", "q5", "q95"]
    print_frame(a[cols], f"attributable to availability (reference {reference}), 90% intervals")


@guard
def publish(
    manifest: Manifest = None,
    period: Period = "",
    out: BundleDir = Path("publication"),
    panel: PanelFile = None,
    spec: SpecName = "realdata",
    horizon: Horizon = 4,
    base: DhiBase = None,
    weights: Weights = "home_office",
    backtest_dir: BacktestDir = None,
    allow_failed_checks: AllowFailedChecks = False,
    cache: FitCache = None,
    draws: Draws = None,
    tune: Tune = None,
    chains: Chains = None,
    seed: Seed = None,
    force: KeepOthers = False,
    reference: Reference = "base",
    with_events: WithEvents = False,
) -> None:
    """Quarterly publication: a gated, reproducible bundle (report, tables, posterior, provenance).

    Ingest, fit (or reuse), check gates, forecast, DHI, report, export and provenance, written as one
    bundle atomically.

    Example: forecast publish data/manifests/realdata.toml --period 2023Q2 --out publication/
    """
    from forecast.outputs.publish import PublishRefused
    from forecast.outputs.publish import publish as run_publish

    if not period:
        raise ForecastError("--period is required: the last data quarter to publish, e.g. 2024Q2")
    overrides = sampler_overrides(None, draws, tune, chains, None)
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
            force=force,
            reference=reference,
            with_events=with_events,
        )
    except PublishRefused as exc:
        print_frame(exc.failures, "failed checks")
        raise
    _print_publication(res)


def _print_publication(res) -> None:
    """Notes, the failed checks a marked bundle was published with, and where the bundle is."""
    for note in res.notes:
        out_console.print(f"  note: {note}", highlight=False, markup=False)
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


@guard
def export(
    fit_file: FitFile,
    out: Annotated[Path, typer.Option(help="Directory for the exported tables.")],
    base: Annotated[str, typer.Option(help="DHI base period: 2016Q2, 2016 or 2016/17.")],
    horizon: Horizon = 4,
    weights: Weights = "home_office",
    seed: PredictSeed = None,
    force: Force = False,
    reference: Reference = "base",
    with_events: WithEvents = False,
) -> None:
    """Stable export for other tools: tidy tables, datapackage.json, JSON summary, posterior.

    Forecast and DHI tables (CSV, Parquet) with their datapackage.json, a JSON summary, and the full
    posterior (NetCDF, opens in arviz).

    Example: forecast export fits/default/fit.nc --base 2016/17 --out export/
    """
    from forecast.fit import load_fit
    from forecast.outputs.export_dir import export_to_dir

    paths = export_to_dir(
        load_fit(fit_file), out, base, horizon, weights, seed, force, reference, with_events
    )
    out_console.print(f"export written to {out}", highlight=False)
    print_paths(paths)


COMMANDS = (scenario, dhi, publish, export)
