"""`forecast data ...`: ingest published tables into a panel, check it, show its coverage."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecast.cli.options import Force, err_console, guard, out_console, print_frame

data_app = typer.Typer(help="Ingest and check real statistics.", no_args_is_help=True)


@data_app.command("ingest")
@guard
def data_ingest(
    manifest: Annotated[Path, typer.Argument(help="Manifest TOML listing the source files.")],
    out: Annotated[Path, typer.Option(help="Panel file to write (.nc).")],
    force: Force = False,
) -> None:
    """Read the published tables a manifest lists and write the canonical panel.

    Example: forecast data ingest data/manifests/realdata.toml --out panel.nc
    """
    from forecast.core.transaction import check_output_file, output_file
    from forecast.ingest.build import ingest
    from forecast.ingest.panel import save_panel

    check_output_file(out, force)
    result = ingest(manifest)
    path = output_file(out, lambda tmp: save_panel(result.panel, tmp, True), force)
    p = result.panel
    out_console.print(
        f"wrote {path}: {p.sizes['force']} forces x {p.sizes['period']} quarters "
        f"({p.indexes['period'][0]}-{p.indexes['period'][-1]}), outcomes: {', '.join(map(str, p['outcome'].values))}",
        highlight=False,
    )
    for note in result.notes:
        out_console.print(f"  note: {note}", highlight=False, markup=False)
    for warning in result.warnings:
        err_console.print(f"warning: {warning}", highlight=False, markup=False)


@data_app.command("check")
@guard
def data_check(
    panel: Annotated[Path, typer.Argument(help="Panel file (.nc or .csv).")],
) -> None:
    """Coverage per series, implausible jumps and the known breaks that fall inside the panel.

    Example: forecast data check panel.nc
    """
    from forecast.ingest.events import applied_events
    from forecast.ingest.panel import load_panel
    from forecast.ingest.validate import check_panel, coverage_table

    ds = load_panel(panel)
    print_frame(coverage_table(ds), f"coverage: {panel}")
    flags = check_panel(ds)
    if flags.empty:
        out_console.print("no flags", highlight=False)
    else:
        print_frame(flags.astype({"value": object}).fillna(""), f"flags ({len(flags)})")
    events = applied_events(ds)
    cols = ["force", "quarter", "outcome", "victims", "recorded", "description"]
    if len(events):
        title = "exceptional events (out of the likelihood and the harm indices)"
        print_frame(events.loc[events["in_panel"], cols].fillna(""), title)


@data_app.command("show")
@guard
def data_show(
    panel: Annotated[Path, typer.Argument(help="Panel file (.nc or .csv).")],
    series: Annotated[
        str | None, typer.Option(help="Series for the text matrix (default: first outcome).")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the coverage plot of every series here (.png/.svg).")
    ] = None,
    long: Annotated[
        Path | None, typer.Option(help="Also write the panel as a tidy long CSV here.")
    ] = None,
    rates: Annotated[
        Path | None,
        typer.Option(
            help="Also write counts, population and rates per 100,000 by force, region and nation."
        ),
    ] = None,
    force: Force = False,
) -> None:
    """Coverage matrix (force x year: observed quarters) of a series, a plot of all series, a long table.

    Example: forecast data show panel.nc --series robbery --plot coverage.png
    """
    from forecast.core.errors import DataError
    from forecast.core.transaction import check_output_file, output_file
    from forecast.ingest.panel import load_panel, panel_long
    from forecast.ingest.validate import by_year, coverage_matrices

    for path in (plot, rates, long):
        if path is not None:
            check_output_file(path, force)
    ds = load_panel(panel)
    matrices = coverage_matrices(ds)
    name = series or next(iter(matrices))
    if name not in matrices:
        raise DataError(f"{panel}: no series {name!r}; it has {', '.join(matrices)}")
    print_frame(
        by_year(matrices[name]).reset_index(names="force"), f"{name}: observed quarters per year"
    )
    if plot is not None:
        from forecast.report.plots import coverage_plot

        out_console.print(
            f"wrote {coverage_plot(matrices, plot, overwrite=force)}", highlight=False
        )
    if rates is not None:
        from forecast.core.areas import panel_rates

        by_area = panel_rates(ds)
        output_file(rates, lambda tmp: by_area.to_csv(tmp, index=False), force)
        out_console.print(f"wrote {rates} ({len(by_area)} rows)", highlight=False)
    if long is not None:
        table = panel_long(ds)
        output_file(long, lambda tmp: table.to_csv(tmp, index=False), force)
        out_console.print(f"wrote {long} ({len(table)} rows)", highlight=False)
