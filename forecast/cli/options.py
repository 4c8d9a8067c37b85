"""What every `forecast` command shares: consoles, the error guard, common options, table printing."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from forecast.core.errors import ForecastError, one_line

out_console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
STATE = {"debug": False, "quiet": False}

FitFile = Annotated[Path, typer.Argument(metavar="FIT", help="fit.nc written by `forecast fit`.")]
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
Horizon = Annotated[int, typer.Option(help="Quarters ahead to forecast.")]
Force = Annotated[bool, typer.Option("--force", help="Replace existing output files.")]
Reference = Annotated[
    str,
    typer.Option(
        help="Attributable harm: availability held at 'base' (the base period's level), a "
        "quarter (2015Q2) or a shift ('1sd': the harm of the last 1 sd of availability)."
    ),
]
WithEvents = Annotated[
    bool,
    typer.Option(
        "--with-events",
        help="Put the exceptional events (data/exceptional_events.csv) back into the indices.",
    ),
]


def sampler_overrides(sampler, draws, tune, chains, seed) -> dict:
    """The sampler settings given on the command line (the spec's own fill the rest)."""
    return {
        k: v
        for k, v in dict(backend=sampler, draws=draws, tune=tune, chains=chains, seed=seed).items()
        if v is not None
    }


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line on stderr; return the exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(one_line(message))}", highlight=False)
    return typer.Exit(code)


def guard(func):
    """Turn a ForecastError (or an unreadable file) into one line on stderr and exit code 1, an
    interrupt into one line and exit code 130, and anything unexpected into one line naming the
    bug (``--debug`` shows the traceback instead)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt as exc:
            if STATE["debug"]:
                raise
            why = str(exc) or "interrupted"
            raise fail(f"{why}: stopped; no output was written or changed", 130) from None
        except (ForecastError, OSError) as exc:
            if STATE["debug"]:
                raise
            raise fail(str(exc)) from None
        except (Exception, RecursionError, MemoryError) as exc:
            if STATE["debug"]:
                raise
            raise fail(
                f"unexpected {type(exc).__name__}: {exc} (a bug or an input we do not check yet; "
                "rerun with --debug for the traceback and report it)"
            ) from None

    return wrapper


def print_paths(paths: dict) -> None:
    for name, path in paths.items():
        out_console.print(f"  {name:<18} {path}", highlight=False)


def print_frame(frame, title: str) -> None:
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col))
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:g}" if isinstance(v, float) else str(v) for v in row])
    out_console.print(table)
