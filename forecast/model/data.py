"""Arrays the model needs, derived once from the panel and the spec (shared by model and predictor).

Time runs over the panel's quarters (`panel_period`); the outcome model covers the quarters from the
longest availability lag on (`period`), so every lag of availability exists. Indicators and windowed
outcome series are turned into index arrays here: each observed cell lists the forces it sums over and
the quarters of its window (the observation operator), so the model only gathers and sums.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.errors import DataError, ForecastWarning, SpecError
from forecast.ingest.events import remove_events
from forecast.model.breaks import Shock, Step, read_breaks
from forecast.model.enforcement import enforcement_covariates
from forecast.model.proxies import ProxyData, on_seen, proxy_data
from forecast.model.variables import (
    are_counts,
    covariate,
    need,
    observed_index,
    region_members,
    window_of,
)
from forecast.model.windows import (
    Cells,
    WindowedOutcome,
    centring_weights,
    non_overlapping,
    windowed_outcome,
)
from forecast.spec import IndicatorSpec, ModelSpec

PANEL_PERIOD = "panel_period"  # dim of latent availability: every panel quarter
BREAK_STEP = "recording_break"  # dim of the step effects (variable `break_step`)
SHOCK = "shock_quarter"  # dim of national shock effects (variable `shock`)
NOISE_OUTCOME = "noise_outcome"  # outcomes with national quarter noise (`trend_noise_sigma`)


@dataclass(frozen=True)
class IndicatorData:
    """One availability indicator, aligned."""

    name: str
    spec: IndicatorSpec
    cells: Cells
    level_guess: float  # log of the mean value per 100,000 per quarter (counts) or of the value
    centre: np.ndarray  # (force, panel_period) weights of the quarters each force is seen in
    dropped: int = 0  # overlapping windows left out (each quarter counts once)

    @property
    def seen(self) -> np.ndarray:
        """(force,) bool: the indicator observes the force (alone or inside a group)."""
        return self.centre.sum(axis=1) > 0


@dataclass(frozen=True)
class ModelData:
    """Panel arrays aligned for the model."""

    forces: list[str]
    panel_periods: pd.PeriodIndex  # every panel quarter (latent availability runs over these)
    periods: pd.PeriodIndex  # modelled quarters (panel quarters from the longest lag on)
    outcomes: list[str]
    lags: list[int]
    log_pop_full: np.ndarray  # (force, panel_period): log(population / 100,000)
    index_full: np.ndarray | None  # (force, panel_period): the observed index (kind = "index")
    quarter: np.ndarray  # (period,): 0..3 calendar quarter of each modelled period
    count: np.ndarray  # (force, period, outcome) with NaN for missing cells
    regions: list[str]
    region_of: np.ndarray  # (force,) index into regions
    indicators: list[IndicatorData] = field(default_factory=list)
    windowed: list[WindowedOutcome] = field(default_factory=list)
    proxies: list[ProxyData] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    shocks: list[Shock] = field(default_factory=list)
    covariates: dict[str, np.ndarray] = field(default_factory=dict)  # (force, period), standardised
    enforcement: dict[str, np.ndarray] = field(default_factory=dict)  # (force, panel_period)
    notes: list[str] = field(default_factory=list)
    excluded: np.ndarray | None = None  # (force, period, outcome) exceptional-event victims removed

    @property
    def n_pre(self) -> int:
        """Panel quarters before the first modelled one."""
        return max(self.lags)

    @property
    def log_offset(self) -> np.ndarray:
        """(force, period): log(population / 100,000) over the modelled quarters."""
        return self.log_pop_full[:, self.n_pre :]

    @property
    def observed(self) -> np.ndarray:
        """Boolean mask of observed (non-missing) quarterly cells."""
        return np.isfinite(self.count)

    @property
    def seen(self) -> np.ndarray:
        """(outcome, force) bool: the force has at least one observation of the outcome, quarterly
        or inside a sum (a force with none is known only through the prior)."""
        out = self.observed.any(axis=1).T.copy()
        for w in self.windowed:
            c = w.cells
            if c.f_idx is not None:
                out[w.outcome, np.unique(c.f_idx)] = True
            else:
                out[w.outcome] |= (c.members > 0).any(axis=0)
        return out

    def lagged(self, full: np.ndarray) -> np.ndarray:
        """(lag, force, period) slices of a (force, panel_period) array at each lag."""
        n = len(self.periods)
        return np.stack([full[:, self.n_pre - lag : self.n_pre - lag + n] for lag in self.lags])

    def coords(self) -> dict[str, list]:
        """PyMC coordinates; periods as '2024Q3' strings so results save to NetCDF."""
        out = {
            dims.FORCE: self.forces,
            dims.PERIOD: [str(p) for p in self.periods],
            PANEL_PERIOD: [str(p) for p in self.panel_periods],
            dims.OUTCOME: self.outcomes,
            dims.QUARTER: [1, 2, 3, 4],
            "period_step": [str(p) for p in self.periods[1:]],
            "lag": self.lags,
            dims.GOR: self.regions,
        }
        if self.indicators:
            out["indicator"] = [i.name for i in self.indicators]
        if self.steps:
            out[BREAK_STEP] = [s.label for s in self.steps]
        if self.shocks:
            out[SHOCK] = [s.label for s in self.shocks]
        return out


def prepare_data(panel: xr.Dataset, spec: ModelSpec) -> ModelData:
    """Align the panel with the spec; errors are raised here, before any compilation."""
    av = spec.availability
    lags = av.lags
    present = {str(k) for k in panel[dims.OUTCOME].values}
    observations = [o for o in spec.observations if not (o.optional and o.variable not in panel)]
    outcomes = _outcomes(spec, present, [o for o in observations if not o.proxy])
    n_periods = panel.sizes[dims.PERIOD]
    n_pre = max(lags)
    if n_periods < n_pre + 8:
        raise DataError(
            f"panel has {n_periods} quarters; the model needs at least max lag + 8 = {n_pre + 8}"
        )
    index = observed_index(panel, av) if av.kind == "index" else None
    forces = [str(f) for f in panel[dims.FORCE].values]
    pop = panel[dims.POPULATION].transpose(dims.FORCE, dims.PERIOD).values.astype(float)
    panel_periods = panel.indexes[dims.PERIOD]
    periods = panel_periods[n_pre:]
    region_names = [str(r) for r in panel[dims.REGION].values]
    regions = list(dict.fromkeys(region_names))
    notes: list[str] = []
    count, excluded, steps, shocks = _counts(panel, spec, forces, outcomes, present, n_pre, notes)
    indicators = _indicators(panel, av, forces, regions, region_names, pop, notes)
    if len(observations) < len(spec.observations):
        missing = [o.variable for o in spec.observations if o not in observations]
        notes.append(f"optional observations not in the panel: {', '.join(missing)}")
    windowed = [
        windowed_outcome(panel, o, outcomes.index(o.outcome), forces, n_pre, notes)
        for o in observations
        if not o.proxy
    ]
    covariates = {c.variable: covariate(panel, c, n_pre) for c in spec.covariates}
    data = ModelData(
        covariates=covariates,
        enforcement=enforcement_covariates(panel, av, pop) if av.kind == "latent" else {},
        forces=forces,
        panel_periods=panel_periods,
        periods=periods,
        outcomes=outcomes,
        lags=lags,
        log_pop_full=np.log(pop / 1e5),
        index_full=index,
        quarter=np.array([p.quarter - 1 for p in periods]),
        count=count.astype(float),
        excluded=excluded,
        regions=regions,
        region_of=np.array([regions.index(r) for r in region_names]),
        indicators=indicators,
        windowed=windowed,
        steps=steps,
        shocks=shocks,
        notes=notes,
    )
    _check_seen(data)
    proxies = [o for o in observations if o.proxy and o.outcome in outcomes]
    if not proxies:
        return data
    seen, rate = data.seen, spec.intercept.rate_per_100k
    return replace(data, proxies=[_proxy(panel, o, data, seen, rate, notes) for o in proxies])


def _proxy(
    panel: xr.Dataset, obs, data: ModelData, seen, rate: dict, notes: list[str]
) -> ProxyData:
    """A proxy aligned with the modelled quarters, its cells in areas the outcome never observes out."""
    k = data.outcomes.index(obs.outcome)
    p = proxy_data(panel, obs, k, data.n_pre, data.log_offset, rate[obs.outcome])
    return on_seen(p, seen[k], notes)


def _outcomes(spec: ModelSpec, present: set[str], observations: list) -> list[str]:
    """The spec's outcomes the panel has, quarterly or through sums (a warning names the others)."""
    seen = present | {o.outcome for o in observations}  # quarterly or through sums
    outcomes = [k for k in spec.outcomes.names if k in seen]
    absent = [k for k in spec.outcomes.names if k not in seen]
    if not outcomes:
        raise SpecError(
            f"outcomes.names lists {list(spec.outcomes.names)}, none of which the panel has"
        )
    if absent:
        warnings.warn(
            f"the panel has no {absent} series; fitting {outcomes} only",
            ForecastWarning,
            stacklevel=3,  # the caller of prepare_data
        )
    return outcomes


def _counts(
    panel: xr.Dataset,
    spec: ModelSpec,
    forces: list[str],
    outcomes: list[str],
    present: set[str],
    n_pre: int,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray | None, list[Step], list[Shock]]:
    """(force, period, outcome) quarterly counts over the modelled quarters, with the cells the
    break register masks set missing and exceptional-event victims removed; the breaks' steps and
    shocks."""
    n_periods = panel.sizes[dims.PERIOD]
    count = np.full((len(forces), n_periods, len(outcomes)), np.nan)
    for j, k in enumerate(outcomes):
        if k in present:
            count[:, :, j] = (
                panel[dims.COUNT].sel({dims.OUTCOME: k}).transpose(dims.FORCE, dims.PERIOD).values
            )
    periods = panel.indexes[dims.PERIOD][n_pre:]
    steps, masked, shocks = read_breaks(panel, spec, forces, outcomes, periods, notes)
    count = count[:, n_pre:, :]
    for f, k, t in masked:
        count[f, t, k] = np.nan
    count, excluded = remove_events(panel, count, forces, periods, outcomes, notes)
    return count, excluded, steps, shocks


def _indicators(
    panel: xr.Dataset,
    av,
    forces: list[str],
    regions: list[str],
    region_names: list[str],
    pop: np.ndarray,
    notes: list[str],
) -> list[IndicatorData]:
    """The availability indicators the panel has (optional ones may be absent), aligned."""
    skipped = [i.variable for i in av.indicators if i.optional and i.variable not in panel]
    if skipped:
        notes.append(f"optional indicators not in the panel: {', '.join(skipped)}")
    indicators = [
        _indicator(panel, ind, forces, regions, region_names, pop)
        for ind in av.indicators
        if ind.variable not in skipped
    ]
    notes += [
        f"{i.name}: {i.dropped} overlapping windows left out (each quarter counts once)"
        for i in indicators
        if i.dropped
    ]
    if av.kind == "latent" and not indicators:
        raise SpecError("the panel has none of the availability indicators the spec lists")
    return indicators


def _check_seen(data: ModelData) -> None:
    """Refuse an outcome with no observed cell, quarterly or inside a sum."""
    empty = [
        k for k, any_seen in zip(data.outcomes, data.seen.any(axis=1), strict=True) if not any_seen
    ]
    if empty:
        raise DataError(
            f"outcome(s) {empty} have no observed cells in the panel; "
            "drop them from outcomes.names or supply their data"
        )


def _indicator(
    panel: xr.Dataset,
    ind: IndicatorSpec,
    forces: list[str],
    regions: list[str],
    region_names: list[str],
    pop: np.ndarray,
) -> IndicatorData:
    """Observed cells of an indicator with their operator (forces summed, quarters summed)."""
    da = need(panel, ind.variable, "availability.indicators")
    w = window_of(panel, ind.variable, ind.window)
    n_f = pop.shape[0]
    if set(da.dims) == {dims.FORCE, dims.PERIOD}:
        values = da.transpose(dims.FORCE, dims.PERIOD).values.astype(float)
        f_i, t_i = np.nonzero(np.isfinite(values))
        keep = t_i >= w - 1
        n_cells = int(keep.sum())
        keep &= non_overlapping(f_i, t_i, w)
        f_i, t_i = f_i[keep], t_i[keep]
        y = values[f_i, t_i]
        members = None
    elif dims.GOR in da.dims or da.dims == (dims.PERIOD,):
        if da.dims == (dims.PERIOD,):
            labels, grid = ["all"], da.values[None, :].astype(float)
            member_rows = np.ones((1, n_f))
        else:
            grid_da = da.transpose(dims.GOR, dims.PERIOD)
            labels = [str(r) for r in grid_da[dims.GOR].values]
            grid = grid_da.values.astype(float)
            member_rows = region_members(labels, region_names)
        if ind.family == "lognormal":  # an average: population weights
            member_rows = member_rows * pop.mean(axis=1)[None, :]
            member_rows = member_rows / member_rows.sum(axis=1, keepdims=True)
        r_i, t_i = np.nonzero(np.isfinite(grid))
        keep = (t_i >= w - 1) & (member_rows[r_i].sum(axis=1) > 0)
        n_cells = int(keep.sum())
        keep &= non_overlapping(r_i, t_i, w)
        r_i, t_i = r_i[keep], t_i[keep]
        y = grid[r_i, t_i]
        members, f_i = member_rows[r_i], None
    else:
        raise SpecError(
            f"indicator {ind.variable!r} has dims {da.dims}; expected (force, period), "
            "(gor, period) or (period,)"
        )
    if y.size == 0:
        raise DataError(f"indicator {ind.variable!r} has no observed cells inside the panel")
    if ind.family == "negative_binomial":
        if not are_counts(y):
            raise DataError(
                f"indicator {ind.variable!r} has negative or fractional values; the negative "
                'binomial family needs counts (use family = "lognormal" for prices)'
            )
        exposure = (
            (pop[f_i, t_i].sum() if f_i is not None else (members * pop[:, t_i].T).sum()) * w / 1e5
        )
        level = float(np.log(max(y.sum(), 0.5) / exposure))
    else:
        if (y <= 0).any():
            raise DataError(f"indicator {ind.variable!r} has values <= 0; lognormal needs > 0")
        level = float(np.log(y).mean())
    t_idx = t_i[:, None] - np.arange(w)[::-1][None, :]
    rows = members if members is not None else np.eye(n_f)[f_i]
    centre = centring_weights(t_idx, rows, pop.shape[1])
    cells = Cells(y, t_idx, f_i, members)
    return IndicatorData(ind.variable, ind, cells, level, centre, n_cells - y.size)
