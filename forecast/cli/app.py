"""The `forecast` command line: the typer app, its global options and its commands (defined one
module per command group; registered here in the order `--help` lists them). No statistics here."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from forecast.cli import evaluate, models, outputs
from forecast.cli.data import data_app
from forecast.cli.options import STATE

app = typer.Typer(
    name="forecast",
    help="Bayesian forecasts of homicide, robbery and knife crime linked to Class A drug availability, "
    "for the 43 police force areas of England and Wales.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    STATE.update(debug=debug, quiet=quiet)
    if debug:
        logging.basicConfig(level=logging.DEBUG)


for command in models.COMMANDS:
    app.command()(command)
app.add_typer(data_app, name="data")
for command in (*evaluate.COMMANDS, *outputs.COMMANDS):
    app.command()(command)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="forecast")


if __name__ == "__main__":
    sys.exit(main())
