"""Availability scenarios: "what if availability (or a drug-market indicator) moved like this from a
quarter on, in these forces", reported as scenario minus baseline, per draw, with intervals.

A scenario file (TOML) lists changes; each moves the availability path of the chosen forces (or every
force of the chosen regions; all forces when neither is given) from `from` (to `until`, if given):

    name = "county lines"
    [[change]]
    target = "availability"      # shift availability by `shift_sd` sd of its within-force variation
    regions = ["North West"]
    from = "2024Q3"
    shift_sd = 1.0

    [[change]]
    target = "trafficking"       # an indicator of a latent fit: availability moves so that its
    forces = ["Merseyside"]      # expected count changes by `percent` (via the indicator's loading)
    from = "2024Q3"
    percent = -20

Baseline and scenario share every posterior and projection draw (common random numbers), so the
difference isolates the scenario; it is reported in expected offences (the Poisson-gamma noise of a
single quarter is the same in both worlds and cancels). Regions and England and Wales are sums of
force draws.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from forecast.core import dims
from forecast.core.areas import to_areas
from forecast.core.errors import ForecastError, format_validation_error
from forecast.core.forces import force_register, normalise_force
from forecast.core.periods import parse_quarter
from forecast.core.tomltext import read_toml
from forecast.fit import fit_panel
from forecast.predict import Projection, _draws, _rng, project

AVAILABILITY_TARGET = "availability"
PROBS = (0.05, 0.25, 0.75, 0.95)


class ScenarioError(ForecastError):
    """A scenario file that cannot be applied to this fit (unknown force, quarter, indicator)."""


class Change(BaseModel):
    """One change of a scenario: which path moves, where, from when, by how much."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    target: str = AVAILABILITY_TARGET
    forces: list[str] = []
    regions: list[str] = []
    start: str = Field(alias="from")
    end: str | None = Field(default=None, alias="until")
    shift_sd: float | None = None
    percent: float | None = None

    @model_validator(mode="after")
    def _one_size(self) -> Change:
        if self.target == AVAILABILITY_TARGET:
            if self.shift_sd is None or self.percent is not None:
                raise ValueError("an availability change takes shift_sd (sd of availability)")
        elif self.percent is None or self.shift_sd is not None:
            raise ValueError(f"an indicator change ({self.target}) takes percent, not shift_sd")
        if self.percent is not None and self.percent <= -100:
            raise ValueError(f"percent must be above -100, got {self.percent}")
        return self


class Scenario(BaseModel):
    """A named list of changes (TOML: ``[[change]]`` tables)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    name: str
    description: str = ""
    changes: list[Change] = Field(alias="change", min_length=1)


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario TOML file; errors name the file and the offending key."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file")
    raw = read_toml(path, ScenarioError)
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, str(path))) from exc


def _forces_of(change: Change, where: str, fitted: list[str]) -> list[int]:
    """Indices (in the fit's force order) of the forces a change applies to."""
    reg = force_register()
    names: list[str] = []
    for f in change.forces:
        try:
            names.append(normalise_force(f, where))
        except ForecastError as exc:
            raise ScenarioError(str(exc)) from exc
    regions = sorted(set(reg["region"]))
    for r in change.regions:
        if r not in regions:
            close = difflib.get_close_matches(r, regions, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"regions are {regions}"
            raise ScenarioError(f"{where}: unknown region {r!r}: {hint}")
        members = [f for f in reg.loc[reg["region"] == r, "force"] if f in fitted]
        if not members:
            raise ScenarioError(f"{where}: no force of region {r!r} is in the fitted panel")
        names += members
    if not change.forces and not change.regions:
        names = list(fitted)
    missing = [n for n in names if n not in fitted]
    if missing:
        raise ScenarioError(f"{where}: {missing[0]!r} is not in the fitted panel; fit it first")
    return sorted({fitted.index(n) for n in names})


def _quarter(text: str, where: str, proj: Projection) -> pd.Period:
    try:
        q = parse_quarter(text)
    except (ValueError, ForecastError) as exc:
        raise ScenarioError(f"{where}: {text!r} is not a quarter like 2024Q3") from exc
    first, last = proj.periods[0], proj.periods[-1]
    if not first <= q <= last:
        raise ScenarioError(
            f"{where}: quarter {q} is outside the fit's history and forecast ({first}-{last}); "
            "choose a quarter inside it or raise --horizon"
        )
    return q


def within_force_sd(path: np.ndarray, n_hist: int) -> np.ndarray:
    """Per draw, the sd of availability's within-force variation over the history."""
    hist = path[:, :, :n_hist]
    x = hist - hist.mean(axis=2, keepdims=True)
    return x.reshape(x.shape[0], -1).std(axis=1)


def shifted_availability(
    proj: Projection, scenario: Scenario, where: str = "scenario"
) -> np.ndarray:
    """The projection's availability path (sample, force, quarter) with the scenario applied."""
    path = proj.availability.copy()
    lead = path.shape[2] - len(proj.periods)
    sd = within_force_sd(path, lead + proj.n_hist)
    for i, change in enumerate(scenario.changes, start=1):
        at = f"{where}: change {i}"
        forces = _forces_of(change, at, list(proj.data.forces))
        start = _quarter(change.start, at, proj)
        end = _quarter(change.end, at, proj) if change.end else None
        if end is not None and end < start:
            raise ScenarioError(f"{at}: 'until' ({end}) is before 'from' ({start})")
        on = proj.period_slice(start, end)
        if change.target == AVAILABILITY_TARGET:
            delta = change.shift_sd * sd
        else:
            delta = np.log1p(change.percent / 100) / _loading(proj, change.target, at)
        path[np.ix_(np.arange(path.shape[0]), forces, np.flatnonzero(on))] += delta[:, None, None]
    return path


def _loading(proj: Projection, indicator: str, where: str) -> np.ndarray:
    """Per-draw loading of an indicator on availability (latent fits only)."""
    if proj.spec.availability.kind != "latent":
        raise ScenarioError(
            f"{where}: indicator scenarios need a latent-availability fit (spec kind 'latent'); "
            f"this fit ({proj.spec.name}) uses the observed index: use target = 'availability'"
        )
    name = f"loading__{indicator}"
    if name not in proj.post:
        known = sorted(v.removeprefix("loading__") for v in proj.post if v.startswith("loading__"))
        raise ScenarioError(
            f"{where}: {indicator!r} is not an indicator of this fit; it has {known}"
        )
    return _draws(proj.post, name)


def run_scenario(
    tree: xr.DataTree, scenario: Scenario, horizon: int = 4, seed: int | None = None, where=""
) -> xr.Dataset:
    """Expected offences per draw under the baseline and the scenario, and their difference
    (chain, draw, force, period, outcome), over history and `horizon` forecast quarters."""
    proj = project(tree, horizon, _rng(tree, seed))
    base = np.exp(proj.log_rate())
    alt = np.exp(proj.log_rate(shifted_availability(proj, scenario, where or scenario.name)))
    n_c, n_d = proj.post.sizes["chain"], proj.post.sizes["draw"]

    def shaped(x: np.ndarray) -> np.ndarray:
        return x.reshape(n_c, n_d, *x.shape[1:])

    draws = ("chain", "draw", dims.FORCE, dims.PERIOD, dims.OUTCOME)
    panel = fit_panel(tree)
    regions, codes = panel[dims.REGION].values, panel[dims.FORCE_CODE].values
    horizon_coord = np.r_[np.zeros(proj.n_hist, int), np.arange(1, proj.horizon + 1)]
    return xr.Dataset(
        {
            "baseline": (draws, shaped(base)),
            "scenario": (draws, shaped(alt)),
            dims.POPULATION: ((dims.FORCE, dims.PERIOD), np.exp(proj.log_offset) * 1e5),
        },
        coords={
            "chain": proj.post["chain"].values,
            "draw": proj.post["draw"].values,
            dims.FORCE: list(proj.data.forces),
            dims.PERIOD: proj.periods,
            dims.OUTCOME: list(proj.data.outcomes),
            dims.HORIZON: (dims.PERIOD, horizon_coord),
            dims.FORCE_CODE: (dims.FORCE, codes),
            dims.REGION: (dims.FORCE, regions),
        },
        attrs={"scenario": scenario.name, "model": proj.spec.name},
    )


def scenario_table(ds: xr.Dataset, scenario: Scenario) -> pd.DataFrame:
    """Scenario minus baseline per area (force, region, England and Wales), period and outcome, from
    the scenario's first quarter on: expected offences and percent change, with 50% and 90%
    intervals."""
    first = min(parse_quarter(c.start) for c in scenario.changes)
    ds = ds.sel({dims.PERIOD: ds.indexes[dims.PERIOD] >= first})
    areas = to_areas(ds)
    diff = (areas["scenario"] - areas["baseline"]).stack(sample=("chain", "draw"))
    pct = 100 * diff / areas["baseline"].stack(sample=("chain", "draw"))
    frames = []
    for quantity, x in (("expected_offences", diff), ("percent", pct)):
        q = x.quantile(list(PROBS), dim="sample")
        part = pd.DataFrame(
            {
                "mean": x.mean("sample").to_series(),
                "median": x.median("sample").to_series(),
                **{f"q{100 * p:g}": q.sel(quantile=p, drop=True).to_series() for p in PROBS},
            }
        ).reset_index()
        part.insert(3, "quantity", quantity)
        frames.append(part)
    table = pd.concat(frames, ignore_index=True)
    level = dict(zip(areas[dims.AREA].values, areas[dims.AREA_LEVEL].values, strict=True))
    horizon = dict(zip(areas.indexes[dims.PERIOD], areas[dims.HORIZON].values, strict=True))
    table.insert(1, "area_level", table[dims.AREA].map(level))
    table.insert(4, "horizon", table[dims.PERIOD].map(horizon).astype(int))
    table.insert(5, "is_forecast", table["horizon"] > 0)
    table[dims.PERIOD] = table[dims.PERIOD].astype(str)
    baseline = areas["baseline"].mean(("chain", "draw")).to_series().rename("baseline_mean")
    baseline = baseline.reset_index()
    baseline[dims.PERIOD] = baseline[dims.PERIOD].astype(str)
    table = table.merge(baseline, on=[dims.AREA, dims.PERIOD, dims.OUTCOME], how="left")
    table["scenario"] = scenario.name
    return table
