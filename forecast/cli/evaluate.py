"""`forecast backtest` and `compare`: the evaluation commands (registered by forecast.cli.app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from forecast.cli.options import (
    STATE,
    Chains,
    Draws,
    Force,
    Tune,
    guard,
    out_console,
    print_frame,
    print_paths,
)


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
    draws: Draws = None,
    tune: Tune = None,
    chains: Chains = None,
    models: Annotated[
        str, typer.Option(help="Comma-separated: model, no_link, seasonal_naive, ets.")
    ] = "model,no_link,seasonal_naive,ets",
    scheduler: Annotated[
        str | None, typer.Option(help="Address of a running dask.distributed scheduler.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every fit and forecast.")] = 1,
    force: Force = False,
) -> None:
    """Rolling-origin backtest against the no-link model and baselines, on Dask, resumable.

    Fit at each origin, forecast 1..H, score (CRPS, log score, coverage, PIT, bias) against the
    model without the availability link and simple baselines. Origins run in parallel on Dask and a
    rerun resumes the unfinished ones.

    Example: forecast backtest panel.nc --out backtest/ --origins 8 --horizon 4
    """
    from forecast.evaluate.backtest import backtest_config
    from forecast.evaluate.backtest_run import backtest_outputs, check_scheduler, run_backtest
    from forecast.ingest.panel import load_panel

    check_scheduler(scheduler)
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

    written = {}

    def summaries(scores, stage: Path) -> None:
        res = backtest_outputs(scores, stage)
        written.update(
            table=res.table,
            paths={k: out / p.relative_to(stage) for k, p in res.paths.items()},
            failed=res.failed_origins(),
        )

    run_backtest(
        panel, config, out, scheduler=scheduler, overwrite=force, on_done=done, summaries=summaries
    )
    print_paths(written["paths"])
    print_frame(
        written["table"].round(3), "mean scores by model and outcome (all origins and horizons)"
    )
    for line in written["failed"]:
        out_console.print(
            f"[yellow]warning:[/] fit failed its gates: {escape(line)}", highlight=False
        )


@guard
def compare(
    fits: Annotated[list[Path], typer.Argument(metavar="FIT...", help="Two or more fit.nc files.")],
    backtest_dir: Annotated[
        Path | None, typer.Option("--backtest", help="A backtest directory to show beside LOO.")
    ] = None,
) -> None:
    """Compare fitted specs by PSIS-LOO (ELPD, Pareto k warnings) and backtest scores.

    Example: forecast compare fits/default/fit.nc fits/no_link/fit.nc --backtest backtest/
    """
    from forecast.evaluate.compare import compare_fits

    table, warnings = compare_fits(fits)
    print_frame(table, "PSIS-LOO of the recorded counts (higher elpd is better)")
    for w in warnings:
        out_console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    if backtest_dir is not None:
        from forecast.evaluate.backtest import load_scores, summarise

        s = summarise(load_scores(backtest_dir), ("model", "outcome"))
        print_frame(s.round(3), f"backtest scores ({backtest_dir})")


COMMANDS = (backtest, compare)
