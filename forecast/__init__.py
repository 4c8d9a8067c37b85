"""forecast: Bayesian hierarchical forecasts of serious violence linked to Class A drug availability.

The small public API below covers the pipeline simulate/load -> spec -> fit -> predict -> export.
"""

from forecast.diagnostics import diagnostics_table
from forecast.export import summary_table, write_table
from forecast.fit import fit, load_fit, save_fit
from forecast.forces import force_register, normalise_force
from forecast.panel import load_panel, save_panel
from forecast.posterior import effects_table
from forecast.predict import predict
from forecast.simulate import simulate_panel
from forecast.spec import load_spec

__all__ = [
    "diagnostics_table",
    "effects_table",
    "fit",
    "force_register",
    "load_fit",
    "load_panel",
    "load_spec",
    "normalise_force",
    "predict",
    "save_fit",
    "save_panel",
    "simulate_panel",
    "summary_table",
    "write_table",
]
