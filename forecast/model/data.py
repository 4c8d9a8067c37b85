"""Arrays the model needs, derived once from the panel and the spec (shared by model and predictor)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from forecast import dims
from forecast.errors import DataError, ForecastWarning, SpecError
from forecast.spec import ModelSpec


@dataclass(frozen=True)
class ModelData:
    """Panel arrays aligned for the model: the first `lag` quarters only feed the lagged index."""

    forces: list[str]
    periods: pd.PeriodIndex  # modelled quarters (panel quarters from `lag` on)
    outcomes: list[str]
    log_offset: np.ndarray  # (force, period): log(population / 100,000)
    index_lagged: np.ndarray  # (force, period): availability index `lag` quarters earlier
    index_full: np.ndarray  # (force, panel period): the whole observed index
    quarter: np.ndarray  # (period,): 0..3 calendar quarter of each modelled period
    count: np.ndarray  # (force, period, outcome) with NaN for missing cells

    @property
    def observed(self) -> np.ndarray:
        """Boolean mask of observed (non-missing) cells."""
        return np.isfinite(self.count)

    def coords(self) -> dict[str, list]:
        """PyMC coordinates; periods as '2024Q3' strings so results save to NetCDF."""
        return {
            dims.FORCE: self.forces,
            dims.PERIOD: [str(p) for p in self.periods],
            dims.OUTCOME: self.outcomes,
            dims.QUARTER: [1, 2, 3, 4],
            "period_step": [str(p) for p in self.periods[1:]],
        }


def prepare_data(panel: xr.Dataset, spec: ModelSpec) -> ModelData:
    """Align the panel with the spec; errors are raised here, before any compilation."""
    lag = spec.availability.lag
    var = spec.availability.variable
    if var not in panel:
        raise SpecError(
            f"availability.variable {var!r} is not in the panel (it has {sorted(map(str, panel.data_vars))})"
        )
    present = {str(k) for k in panel[dims.OUTCOME].values}
    outcomes = [k for k in spec.outcomes.names if k in present]
    absent = [k for k in spec.outcomes.names if k not in present]
    if not outcomes:
        raise SpecError(
            f"outcomes.names lists {list(spec.outcomes.names)}, none of which the panel has"
        )
    if absent:
        warnings.warn(
            f"the panel has no {absent} series; fitting {outcomes} only",
            ForecastWarning,
            stacklevel=2,
        )
    n_periods = panel.sizes[dims.PERIOD]
    if n_periods < lag + 8:
        raise DataError(
            f"panel has {n_periods} quarters; the model needs at least lag + 8 = {lag + 8}"
        )
    index = panel[var].transpose(dims.FORCE, dims.PERIOD).values.astype(float)
    if not np.isfinite(index).all():
        raise DataError(f"panel variable {var!r} has missing values; the index must be complete")
    pop = panel[dims.POPULATION].transpose(dims.FORCE, dims.PERIOD).values[:, lag:]
    count = (
        panel[dims.COUNT]
        .sel({dims.OUTCOME: outcomes})
        .transpose(dims.FORCE, dims.PERIOD, dims.OUTCOME)
        .values[:, lag:, :]
    )
    periods = panel.indexes[dims.PERIOD][lag:]
    return ModelData(
        forces=[str(f) for f in panel[dims.FORCE].values],
        periods=periods,
        outcomes=outcomes,
        log_offset=np.log(pop / 1e5),
        index_lagged=index[:, : n_periods - lag],
        index_full=index,
        quarter=np.array([p.quarter - 1 for p in periods]),
        count=count.astype(float),
    )
