"""The Drugs Harm Index (DHI): drug-related harm at fixed attributable fractions and unit costs.

    harm[f, t, k] = count[f, t, k] x fraction[k] x weight[k]
    DHI_area[t]   = 100 x sum_{f in area, k} harm[f, t, k] / (same sum in the base period)

Counts are the observed ones where the panel has them and posterior predictive draws where it does
not (missing cells, series observed only as sums, forecasts). Drug-attributable fractions are uncertain
parameters: one draw from their Beta prior per posterior draw, shared by forces and quarters, so their
uncertainty flows into the index. Weights (a documented table in ``data/harm_weights/``) are a
base-weighted (Laspeyres-type) quantity index, as in the Home Office DHI (MacDonald et al. 2005): the
price year of monetary weights rescales harm in pounds but cancels in the index. Availability is
reported beside the index as its driver and is never summed into it (that would be circular for a
model of outcomes on availability). The contributions of outcomes, forces and regions add up to the
index exactly, draw by draw.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from forecast.core import dims
from forecast.core.areas import to_areas
from forecast.core.errors import ForecastError
from forecast.core.resources import shipped_dir
from forecast.outputs.export import SCHEMA_VERSION
from forecast.predict import EXCLUDED

WEIGHT_SETS = {
    "home_office": "unit_costs_home_office_2015_16.csv",
    "cambridge": "cambridge_chi_days.csv",
}
FRACTIONS_FILE = "attributable_fractions.csv"
WEIGHT_COLUMNS = ("outcome", "weight", "unit", "price_year", "source")
PROBS = (0.025, 0.10, 0.25, 0.75, 0.90, 0.975)
QUANTILE_COLUMNS = tuple(f"q{100 * p:g}" for p in PROBS)
HARM, INDEX, CONTRIBUTION = "harm", "dhi", "contribution"


class HarmError(ForecastError):
    """A harm-index input the user can fix: weights, fractions or a base period."""


def weights_path(weights: str | Path = "home_office") -> Path:
    """A weights file by path or by the name of a shipped set ('home_office', 'cambridge')."""
    if str(weights) in WEIGHT_SETS:
        return shipped_dir("data") / "harm_weights" / WEIGHT_SETS[str(weights)]
    path = Path(weights)
    if not path.is_file():
        raise HarmError(f"{path}: no such weights file; shipped sets are {sorted(WEIGHT_SETS)}")
    return path


def _read_table(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype={"outcome": str, "price_year": str}, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise HarmError(f"{path}: not a readable CSV table ({exc})") from exc
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise HarmError(f"{path}: missing column {missing[0]!r}; expected columns {list(required)}")
    dup = table["outcome"][table["outcome"].duplicated()]
    if len(dup):
        row = int(dup.index[0]) + 2
        raise HarmError(f"{path}, row {row}, column 'outcome': {dup.iloc[0]!r} appears twice")
    return table


def _numeric(table: pd.DataFrame, column: str, path: Path, positive: bool) -> np.ndarray:
    values = pd.to_numeric(table[column], errors="coerce")
    for i, (raw, v) in enumerate(zip(table[column], values, strict=True)):
        where = f"{path}, row {i + 2}, column {column!r}"
        if "outcome" in table.columns:  # say which outcome the bad weight or fraction belongs to
            where += f" (outcome {str(table['outcome'].iat[i])!r})"
        if not np.isfinite(v):
            raise HarmError(f"{where}: {str(raw)!r} is not a number; fix the table")
        if v < 0 or (positive and v == 0):
            need = "positive" if positive else ">= 0"
            raise HarmError(f"{where}: {v:g} is not allowed, it must be {need}; fix the table")
    return values.to_numpy(dtype=float)


def load_weights(weights: str | Path, outcomes: list[str]) -> pd.DataFrame:
    """The weight per offence of each outcome (indexed by outcome), checked: every fitted outcome has
    a non-negative number; extra outcomes in the file are ignored."""
    path = weights_path(weights)
    table = _read_table(path, WEIGHT_COLUMNS)
    table["weight"] = _numeric(table, "weight", path, positive=False)
    absent = [k for k in outcomes if k not in set(table["outcome"])]
    if absent:
        raise HarmError(
            f"{path}: no weight for outcome {absent[0]!r}; add a row for each of {outcomes}"
        )
    if len(set(table["unit"])) > 1:
        raise HarmError(f"{path}, column 'unit': weights mix units {sorted(set(table['unit']))}")
    out = table.set_index("outcome").loc[outcomes]
    out.attrs["path"] = str(path)
    return out


def load_fractions(path: str | Path | None, outcomes: list[str]) -> pd.DataFrame:
    """Beta(a, b) priors of each outcome's drug-attributable fraction (indexed by outcome)."""
    path = Path(path) if path else shipped_dir("data") / "harm_weights" / FRACTIONS_FILE
    if not path.is_file():
        raise HarmError(f"{path}: no such fractions file")
    table = _read_table(path, ("outcome", "distribution", "a", "b", "source"))
    for i, dist in enumerate(table["distribution"]):
        if dist != "beta":
            raise HarmError(f"{path}, row {i + 2}, column 'distribution': {dist!r}; use 'beta'")
    table["a"] = _numeric(table, "a", path, positive=True)
    table["b"] = _numeric(table, "b", path, positive=True)
    absent = [k for k in outcomes if k not in set(table["outcome"])]
    if absent:
        raise HarmError(f"{path}: no attributable fraction for outcome {absent[0]!r}")
    out = table.set_index("outcome").loc[outcomes]
    out.attrs["path"] = str(path)
    return out


def base_periods(text: str, history: pd.PeriodIndex) -> pd.PeriodIndex:
    """The quarters of a base period: '2016Q2' (a quarter), '2016' (a calendar year) or '2016/17'
    (a financial year, April to March), all inside the observed history."""
    text = str(text).strip()
    if m := re.fullmatch(r"(\d{4})[Qq]([1-4])", text):
        quarters = pd.period_range(f"{m[1]}Q{m[2]}", periods=1, freq="Q")
    elif m := re.fullmatch(r"(\d{4})", text):
        quarters = pd.period_range(f"{m[1]}Q1", periods=4, freq="Q")
    elif m := re.fullmatch(r"(\d{4})/(\d{2})", text):
        quarters = pd.period_range(f"{m[1]}Q2", periods=4, freq="Q")
    else:
        raise HarmError(
            f"base period {text!r} is not a quarter (2016Q2), calendar year (2016) or "
            "financial year (2016/17)"
        )
    outside = [q for q in quarters if q not in history]
    if outside:
        raise HarmError(
            f"base period {text} is outside the data ({history[0]}-{history[-1]}): choose a base "
            "inside the observed history"
        )
    return quarters


def harm_draws(
    pred: xr.Dataset,
    weights: pd.DataFrame,
    fractions: pd.DataFrame,
    seed: int = 0,
    with_events: bool = False,
) -> xr.Dataset:
    """Harm per draw (chain, draw, force, period, outcome) from predictive draws (see
    :func:`forecast.predict.predict`): observed counts where known, draws elsewhere; registered
    exceptional events are left out unless `with_events`."""
    outcomes = [str(k) for k in pred[dims.OUTCOME].values]
    counts = pred[dims.COUNT].astype(float)
    history = pred[dims.HORIZON] == 0
    counts = xr.where(history & pred["observed"].notnull(), pred["observed"], counts)
    if with_events and EXCLUDED in pred:
        counts = counts + pred[EXCLUDED]
    counts = counts.transpose("chain", "draw", dims.FORCE, dims.PERIOD, dims.OUTCOME)
    rng = np.random.default_rng([seed, 7])
    shape = (pred.sizes["chain"], pred.sizes["draw"], len(outcomes))
    fr = fractions.loc[outcomes]
    frac = rng.beta(fr["a"].to_numpy(), fr["b"].to_numpy(), size=shape)
    fraction = xr.DataArray(
        frac, dims=("chain", "draw", dims.OUTCOME), coords=counts[dims.OUTCOME].coords
    )
    weight = xr.DataArray(
        weights.loc[outcomes, "weight"].to_numpy(),
        dims=dims.OUTCOME,
        coords={dims.OUTCOME: outcomes},
    )
    harm = counts * fraction * weight
    unit = str(weights["unit"].iloc[0]).removesuffix(" per offence")
    out = xr.Dataset(
        {
            HARM: harm,
            dims.COUNT: counts,
            "fraction": fraction,
            "weight": weight,
            "fraction_prior": ((dims.OUTCOME, "beta_parameter"), fr[["a", "b"]].to_numpy()),
            dims.POPULATION: pred[dims.POPULATION],
        }
    )
    if "availability" in pred:
        out["availability"] = pred["availability"]
    year = str(weights["price_year"].iloc[0])
    out[HARM].attrs["unit"] = (
        f"{unit} ({year} prices) per quarter" if year else f"{unit} per quarter"
    )
    out.attrs.update(
        pred.attrs, weights=weights.attrs.get("path", ""), fractions=fractions.attrs.get("path", "")
    )
    out.attrs["events"] = "included" if with_events else "excluded"
    return out


def harm_index(harm: xr.Dataset, base: str) -> xr.Dataset:
    """Index (base = 100) per area (forces, regions, England and Wales) and draw, with contributions
    per outcome that sum to it, and population-weighted availability beside it."""
    history = harm.indexes[dims.PERIOD][harm[dims.HORIZON].values == 0]
    quarters = base_periods(base, history)
    parts = harm[[HARM, dims.POPULATION]]
    if "availability" in harm:
        parts = parts.assign(pop_availability=harm["availability"] * harm[dims.POPULATION])
    areas = to_areas(parts)
    base_total = areas[HARM].sel({dims.PERIOD: quarters}).sum(dims.OUTCOME).mean(dims.PERIOD)
    contribution = 100 * areas[HARM] / base_total
    out = xr.Dataset(
        {
            INDEX: contribution.sum(dims.OUTCOME),
            CONTRIBUTION: contribution,
            HARM: areas[HARM].sum(dims.OUTCOME),
        }
    )
    if "pop_availability" in areas:
        out["availability"] = areas["pop_availability"] / areas[dims.POPULATION]
    out[HARM].attrs = dict(harm[HARM].attrs)
    out.attrs.update(harm.attrs, base=str(base), base_quarters=",".join(map(str, quarters)))
    return out


def _summary(x: xr.DataArray, keep: list[str]) -> pd.DataFrame:
    """Mean, median and quantiles over (chain, draw), one row per combination of `keep`."""
    s = x.stack(sample=("chain", "draw")).transpose(*keep, "sample")
    values = s.values.reshape(-1, s.sizes["sample"])
    q = np.quantile(values, PROBS, axis=1)
    index = pd.MultiIndex.from_product([s.indexes[d] for d in keep], names=keep)
    frame = pd.DataFrame({"mean": values.mean(axis=1), "median": np.median(values, axis=1)}, index)
    for col, row in zip(QUANTILE_COLUMNS, q, strict=True):
        frame[col] = row
    return frame.reset_index()


def dhi_table(index: xr.Dataset) -> pd.DataFrame:
    """Tidy table: area x period x quantity (dhi, harm, availability) with mean, median, quantiles."""
    frames = []
    units = {
        INDEX: f"index, {index.attrs.get('base')} = 100",
        HARM: index[HARM].attrs.get("unit", ""),
        "availability": "sd of within-force availability (fit's scale)",
    }
    attributable = ("attributable_index", "attributable_harm", "attributable_share")
    for quantity in (INDEX, HARM, "availability", *attributable):
        if quantity not in index:
            continue
        part = _summary(index[quantity], [dims.AREA, dims.PERIOD])
        part.insert(2, "quantity", quantity)
        part["unit"] = units.get(quantity, index[quantity].attrs.get("unit", ""))
        frames.append(part)
    table = pd.concat(frames, ignore_index=True)
    level = dict(zip(index[dims.AREA].values, index[dims.AREA_LEVEL].values, strict=True))
    code = dict(zip(index[dims.AREA].values, index["area_code"].values, strict=True))
    horizon = dict(zip(index.indexes[dims.PERIOD], index[dims.HORIZON].values, strict=True))
    table.insert(1, dims.AREA_LEVEL, table[dims.AREA].map(level))
    table.insert(2, "area_code", table[dims.AREA].map(code))
    table.insert(4, dims.HORIZON, table[dims.PERIOD].map(horizon).astype(int))
    table.insert(5, "is_forecast", table[dims.HORIZON] > 0)
    table[dims.PERIOD] = table[dims.PERIOD].astype(str)
    table["base"] = index.attrs.get("base", "")
    table["reference"] = index.attrs.get("reference", "") if "attributable_index" in index else ""
    table["events"] = index.attrs.get("events", "excluded")
    table["model"] = index.attrs.get("model", "")
    table["weights"] = Path(str(index.attrs.get("weights", ""))).name
    table["schema_version"] = SCHEMA_VERSION
    return table


def decompose(
    harm: xr.Dataset, index: xr.Dataset, start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """Change of the England and Wales index from `start` to `end` (quarters; default: the last
    quarter and the same quarter a year earlier), split by outcome, by region and by force, in index
    points; each split's contributions sum to the total change, draw by draw."""
    periods = index.indexes[dims.PERIOD]
    end_q = pd.Period(end, freq="Q") if end else periods[-1]
    start_q = pd.Period(start, freq="Q") if start else end_q - 4
    for q in (start_q, end_q):
        if q not in periods:
            raise HarmError(f"quarter {q} is outside the index ({periods[0]}-{periods[-1]})")
    national = index[dims.AREA].values[index[dims.AREA_LEVEL].values == "national"][0]
    base_total = (
        100 * index[HARM].sel({dims.AREA: national}) / index[INDEX].sel({dims.AREA: national})
    )
    base_total = base_total.isel({dims.PERIOD: 0})
    change = 100 * (harm[HARM].sel({dims.PERIOD: end_q}) - harm[HARM].sel({dims.PERIOD: start_q}))
    change = change / base_total  # (chain, draw, force, outcome), points of the national index
    splits = {
        "total": change.sum((dims.FORCE, dims.OUTCOME)).expand_dims(component=["all"]),
        "outcome": change.sum(dims.FORCE).rename({dims.OUTCOME: "component"}),
        "region": change.sum(dims.OUTCOME).groupby(harm[dims.REGION].rename("component")).sum(),
        "force": change.sum(dims.OUTCOME).rename({dims.FORCE: "component"}),
    }
    frames = []
    for by, x in splits.items():
        x = x.drop_vars([c for c in x.coords if c not in ("chain", "draw", "component")])
        part = _summary(x, ["component"])
        part.insert(0, "by", by)
        frames.append(part)
    table = pd.concat(frames, ignore_index=True)
    table.insert(2, "from", str(start_q))
    table.insert(3, "to", str(end_q))
    return table


def sensitivity(harm: xr.Dataset, index: xr.Dataset, period: str | None = None) -> pd.DataFrame:
    """How the England and Wales index at `period` (default: the last) moves when one outcome's
    attributable fraction is at its prior's 5% or 95% point and the others at their prior means
    (counts at their posterior means)."""
    from scipy import stats

    quarters = pd.PeriodIndex(index.attrs["base_quarters"].split(","), freq="Q")
    at = pd.Period(period, freq="Q") if period else index.indexes[dims.PERIOD][-1]
    if at not in index.indexes[dims.PERIOD]:
        raise HarmError(f"quarter {at} is outside the index")
    counts = harm[dims.COUNT].mean(("chain", "draw")).sum(dims.FORCE)
    w = harm["weight"]
    base_counts = counts.sel({dims.PERIOD: quarters}).mean(dims.PERIOD)
    at_counts = counts.sel({dims.PERIOD: at})
    mean_f = harm["fraction"].mean(("chain", "draw"))

    def dhi(f: xr.DataArray) -> float:
        return float(100 * (f * w * at_counts).sum() / (f * w * base_counts).sum())

    central = dhi(mean_f)
    rows = []
    for k in counts[dims.OUTCOME].values:
        prior = harm["fraction_prior"].sel({dims.OUTCOME: k}).values
        lo, hi = stats.beta.ppf([0.05, 0.95], *prior)
        values = []
        for f_k in (lo, hi):
            f = mean_f.copy()
            f.loc[{dims.OUTCOME: k}] = f_k
            values.append(dhi(f))
        rows.append(
            {
                "outcome": str(k),
                "period": str(at),
                "fraction_q5": lo,
                "fraction_mean": float(mean_f.sel({dims.OUTCOME: k})),
                "fraction_q95": hi,
                "dhi_at_q5": values[0],
                "dhi_central": central,
                "dhi_at_q95": values[1],
                "swing": abs(values[1] - values[0]),
            }
        )
    return pd.DataFrame(rows).sort_values("swing", ascending=False, ignore_index=True)
