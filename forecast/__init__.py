"""forecast: Bayesian hierarchical forecasts of serious violence linked to Class A drug availability.

The public API is small; heavy modules (PyMC) load on first use so `forecast --help` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    "simulate_panel": "forecast.simulate",
    "load_panel": "forecast.panel",
    "save_panel": "forecast.panel",
    "normalise_force": "forecast.forces",
    "force_register": "forecast.forces",
    "load_spec": "forecast.spec",
    "fit": "forecast.fit",
    "load_fit": "forecast.fit",
    "save_fit": "forecast.fit",
    "diagnostics_table": "forecast.diagnostics",
    "effects_table": "forecast.posterior",
    "predict": "forecast.predict",
    "summary_table": "forecast.export",
    "write_table": "forecast.export",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'forecast' has no attribute {name!r}")
