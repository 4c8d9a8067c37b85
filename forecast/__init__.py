"""forecast: Bayesian hierarchical forecasts of serious violence linked to Class A drug availability.

The small public API below covers the pipeline simulate/load -> spec -> fit -> predict -> export.
Its names are imported on first use, so the command line starts (and answers Ctrl-C) quickly.
"""

from __future__ import annotations

import importlib
import sys
import types

_API = {
    "diagnostics_table": "forecast.diagnostics",
    "effects_table": "forecast.posterior",
    "fit": "forecast.fit",
    "force_register": "forecast.core.forces",
    "load_fit": "forecast.fit",
    "load_panel": "forecast.ingest.panel",
    "load_spec": "forecast.spec",
    "normalise_force": "forecast.core.forces",
    "predict": "forecast.predict",
    "save_fit": "forecast.fit",
    "save_panel": "forecast.ingest.panel",
    "simulate_panel": "forecast.simulate",
    "summary_table": "forecast.outputs.export",
    "write_table": "forecast.outputs.export",
}

__all__ = sorted(_API)


class _Package(types.ModuleType):
    """Keeps `forecast.fit` and `forecast.predict` the functions (as an eager import made them) when
    their submodules are imported: the import system would otherwise set the modules here."""

    def __setattr__(self, name: str, value) -> None:
        if name in _API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)

    def __getattr__(self, name: str):
        if name in _API:
            value = getattr(importlib.import_module(_API[name]), name)
            super().__setattr__(name, value)
            return value
        raise AttributeError(f"module 'forecast' has no attribute {name!r}")


sys.modules[__name__].__class__ = _Package
