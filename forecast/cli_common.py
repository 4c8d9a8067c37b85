"""What every `forecast` command shares: consoles, the error guard, common options, table printing."""

from __future__ import annotations

import functools
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from forecast.errors import ForecastError

out_console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
STATE = {"debug": False, "quiet": False}

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


def guard(func):
    """Turn a ForecastError (or an unreadable file) into one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ForecastError, OSError) as exc:
            if STATE["debug"]:
                raise
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(1) from None

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
