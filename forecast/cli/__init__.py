"""The command line: `app` (the typer app) in forecast.cli.app, one module per command group."""
