"""`forecast export`: the stable tidy outputs of a fit as one output transaction (the schema itself
is in :mod:`forecast.outputs.export`)."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from forecast.core.io import write_atomic
from forecast.core.transaction import output_folder
from forecast.fit import fit_panel, fit_spec, save_fit
from forecast.ingest.events import applied_events
from forecast.outputs.dhi import harm_results
from forecast.outputs.export import summary_table, write_table
from forecast.outputs.harm import load_fractions, load_weights
from forecast.outputs.pipeline import _csv, _harm_seed, _moved
from forecast.predict import check_horizon, predict

EXPORT_FILES = (
    "forecast.csv",
    "forecast.parquet",
    "dhi.csv",
    "dhi.parquet",
    "exceptional_events.csv",
    "datapackage.json",
    "summary.json",
    "posterior.nc",
)


def export_to_dir(
    tree: xr.DataTree,
    out: Path,
    base: str,
    horizon: int = 4,
    weights: str | Path = "home_office",
    seed: int | None = None,
    overwrite: bool = False,
    reference: str = "base",
    with_events: bool = False,
) -> dict[str, Path]:
    """The stable export of a fit: the tidy forecast and DHI tables (CSV, Parquet; the DHI table
    with the availability-attributable harm), the exceptional-events register, their data package
    descriptor, a JSON summary and the full posterior (NetCDF DataTree)."""
    outcomes = list(fit_spec(tree).outcomes.names)
    w = load_weights(weights, outcomes)
    f = load_fractions(None, outcomes)
    check_horizon(horizon)
    with output_folder(out, "export", overwrite, EXPORT_FILES) as stage:
        paths = _export_into(stage, tree, base, horizon, seed, w, f, reference, with_events)
    return _moved(paths, stage, out)


def _export_into(stage, tree, base, horizon, seed, w, f, reference, with_events) -> dict[str, Path]:
    import json

    from forecast.outputs.export import SCHEMA_VERSION, datapackage

    pred = predict(tree, horizon=horizon, seed=seed)
    table = summary_table(pred)
    res = harm_results(
        pred,
        w,
        f,
        base,
        _harm_seed(tree, seed),
        tree=tree,
        reference=reference,
        with_events=with_events,
    )
    dhi = res.table
    out, overwrite = stage, True
    nat = table[(table["area_level"] == "national") & (table["quantity"] == "count")]
    nat_dhi = dhi[(dhi["area_level"] == "national") & (dhi["quantity"] == "dhi")]
    summary = {
        "schema_version": SCHEMA_VERSION,
        "model": str(tree.attrs.get("spec_name", "")),
        "vintage": str(tree.attrs.get("panel_vintage", "")),
        "base": base,
        "forecast": nat[nat["horizon"] > 0][
            ["period", "outcome", "median", "q10", "q90", "q2.5", "q97.5"]
        ].to_dict("records"),
        "dhi": nat_dhi.tail(horizon + 1)[
            ["period", "is_forecast", "median", "q10", "q90", "q2.5", "q97.5"]
        ].to_dict("records"),
        "attributable": res.attributable[res.attributable["by"] == "total"]
        .drop(columns=["by", "component"])
        .to_dict("records"),
    }

    def text(path: Path, body: str) -> Path:
        return write_atomic(path, lambda tmp: tmp.write_text(body), overwrite)

    return {
        "forecast_csv": write_table(table, out / "forecast.csv", overwrite),
        "forecast_parquet": write_table(table, out / "forecast.parquet", overwrite),
        "dhi_csv": _csv(dhi, out / "dhi.csv", overwrite),
        "dhi_parquet": write_atomic(
            out / "dhi.parquet", lambda tmp: dhi.to_parquet(tmp, index=False), overwrite
        ),
        "events": _csv(applied_events(fit_panel(tree)), out / "exceptional_events.csv", overwrite),
        "datapackage": text(out / "datapackage.json", json.dumps(datapackage(), indent=2) + "\n"),
        "summary": text(out / "summary.json", json.dumps(summary, indent=2, default=float) + "\n"),
        "posterior": save_fit(tree, out / "posterior.nc", overwrite),
    }
