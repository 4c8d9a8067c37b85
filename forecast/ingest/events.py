"""The exceptional-events register: multiple-victim incidents recorded at once (Hillsborough, the 2017
terror attacks, the Essex lorry deaths...) that ONS excludes when it reports homicide trends.

Each row (``data/exceptional_events.csv``: force, quarter, outcome, victims, description, source) is
taken out of the likelihood by subtracting its victims from that force's recorded count in that
quarter: the model sees the ordinary homicides only, so a single event neither inflates the force's
level nor the availability effect. The victims removed are kept (``ModelData.excluded``) so that
predictions and the harm indices can put them back when asked. Only quarterly counts are adjusted
(sums over several quarters that include an event are left as published).

The register travels with the panel (attribute ``exceptional_events``, written by ingest); a panel
ingested before it did carries the shipped register if it is an ingested panel (it has a
``break_register``), and simulated panels have none.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.errors import DataError
from forecast.core.forces import normalise_force
from forecast.core.resources import shipped_dir

EVENTS_FILE = "exceptional_events.csv"
EVENT_COLUMNS = ("force", "quarter", "outcome", "victims", "description", "source")
PANEL_ATTR = "exceptional_events"


def shipped_path() -> Path:
    """The shipped register, ``data/exceptional_events.csv``."""
    return shipped_dir("data") / EVENTS_FILE


def read_register(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check a register (default: the shipped one); errors name the file, row and column."""
    path = Path(path) if path else shipped_path()
    if not path.is_file():
        raise DataError(f"{path}: no such exceptional-events register")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable CSV table ({exc})") from exc
    return check_register(table, str(path))


def check_register(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """Columns present, quarters like 2016Q2, known outcomes, positive whole victims, a source."""
    missing = [c for c in EVENT_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(f"{where}: missing column {missing[0]!r}; expected {list(EVENT_COLUMNS)}")
    table = table[list(EVENT_COLUMNS)].astype(str).reset_index(drop=True)
    for i, row in table.iterrows():
        at = f"{where}, row {int(i) + 2}"
        table.loc[i, "force"] = normalise_force(row["force"], f"{at}, column 'force'")
        try:
            pd.Period(row["quarter"], freq="Q")
        except ValueError:
            raise DataError(
                f"{at}, column 'quarter': {row['quarter']!r} is not like 2016Q2"
            ) from None
        if row["outcome"] not in dims.OUTCOMES:
            raise DataError(
                f"{at}, column 'outcome': {row['outcome']!r}; use one of {dims.OUTCOMES}"
            )
        if not row["victims"].isdigit() or int(row["victims"]) == 0:
            raise DataError(f"{at}, column 'victims': {row['victims']!r} is not a positive count")
        if not row["source"].strip():
            raise DataError(f"{at}, column 'source': empty; every event needs its published source")
    dup = table.duplicated(["force", "quarter", "outcome", "description"])
    if dup.any():
        raise DataError(f"{where}, row {int(np.flatnonzero(dup)[0]) + 2}: the event appears twice")
    return table.assign(victims=table["victims"].astype(int))


def panel_register(panel: xr.Dataset) -> pd.DataFrame:
    """The register a panel carries (see the module docstring); empty for simulated panels."""
    if PANEL_ATTR in panel.attrs:
        rows = pd.DataFrame(json.loads(panel.attrs[PANEL_ATTR]), columns=list(EVENT_COLUMNS))
        return check_register(rows, "the panel's exceptional_events attribute")
    if "break_register" in panel.attrs:  # ingested before the register travelled with the panel
        return read_register()
    return check_register(pd.DataFrame(columns=list(EVENT_COLUMNS)), "empty register")


def register_attr(path: str | Path | None = None) -> str:
    """The register as the JSON rows ingest stores in the panel's attributes."""
    return read_register(path).astype({"victims": str}).to_json(orient="records")


def applied_events(panel: xr.Dataset) -> pd.DataFrame:
    """The register's rows with whether each falls in the panel, and the count recorded there."""
    table = panel_register(panel).copy()
    forces = {str(f) for f in panel[dims.FORCE].values}
    periods = panel.indexes[dims.PERIOD]
    outcomes = {str(k) for k in panel[dims.OUTCOME].values}
    recorded = []
    for row in table.itertuples(index=False):
        q = pd.Period(row.quarter, freq="Q")
        inside = row.force in forces and q in periods and row.outcome in outcomes
        cell = {dims.FORCE: row.force, dims.PERIOD: q, dims.OUTCOME: row.outcome}
        recorded.append(float(panel[dims.COUNT].sel(cell)) if inside else np.nan)
    table.insert(4, "recorded", recorded)
    table.insert(5, "in_panel", np.isfinite(table["recorded"].to_numpy(dtype=float)))
    return table


def remove_events(
    panel: xr.Dataset,
    count: np.ndarray,
    forces: list[str],
    periods: pd.PeriodIndex,
    outcomes: list[str],
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray | None]:
    """`count` (force, period, outcome) less each event's victims, and the victims removed (None
    when no event falls in the modelled cells)."""
    table = panel_register(panel)
    removed = np.zeros_like(count)
    for row in table.itertuples(index=False):
        q = pd.Period(row.quarter, freq="Q")
        if row.force not in forces or q not in periods or row.outcome not in outcomes:
            continue
        cell = (forces.index(row.force), periods.get_loc(q), outcomes.index(row.outcome))
        if not np.isfinite(count[cell]):
            notes.append(f"exceptional event {row.force} {q} {row.outcome}: cell missing; skipped")
            continue
        if count[cell] - removed[cell] < row.victims:
            raise DataError(
                f"exceptional event {row.force} {q} {row.outcome}: {row.victims} victims but only "
                f"{count[cell] - removed[cell]:g} recorded there; fix the register"
            )
        removed[cell] += row.victims
    if not removed.any():
        return count, None
    n, total = int((removed > 0).sum()), int(removed.sum())
    notes.append(f"exceptional events: {total} victims in {n} cells taken out of the likelihood")
    return count - removed, removed
