"""Contracts of what other tools read: the tidy table's exact columns and the fit file's groups/attrs."""

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from forecast.core.errors import DataError, SpecError
from forecast.fit import fit_panel, fit_spec, load_fit
from forecast.outputs.export import COLUMNS, summary_table, write_table
from forecast.predict import predict
from forecast.spec import load_spec

DOCUMENTED_COLUMNS = [
    "area",
    "area_level",
    "area_code",
    "period",
    "outcome",
    "quantity",
    "horizon",
    "is_forecast",
    "mean",
    "median",
    "q2.5",
    "q10",
    "q25",
    "q75",
    "q90",
    "q97.5",
    "observed",
    "unit",
    "model",
    "vintage",
    "schema_version",
]


@pytest.fixture(scope="module")
def table(tiny_fit):
    return summary_table(predict(tiny_fit, horizon=2, seed=1))


def test_export_columns_are_exactly_the_documented_schema(table):
    assert list(COLUMNS) == DOCUMENTED_COLUMNS
    assert list(table.columns) == DOCUMENTED_COLUMNS


def test_csv_and_parquet_load_in_pandas(tmp_path, table):
    csv = pd.read_csv(write_table(table, tmp_path / "f.csv"))
    pq = pd.read_parquet(write_table(table, tmp_path / "f.parquet"))
    assert list(csv.columns) == DOCUMENTED_COLUMNS == list(pq.columns)
    assert len(csv) == len(table) == len(pq)
    assert csv["is_forecast"].dtype == bool
    assert set(csv["quantity"]) == {"count", "rate_per_100k"}
    assert set(csv["area_level"]) == {"force", "region", "national"}


def test_table_values_are_consistent(table, small_panel):
    q = table[list(DOCUMENTED_COLUMNS[10:16])].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()  # quantiles ordered
    counts = table[table["quantity"] == "count"]
    rates = table[table["quantity"] == "rate_per_100k"]
    ratio = rates["mean"].to_numpy() / counts["mean"].to_numpy().clip(1e-9)
    kent = table[
        (table["area"] == "Kent") & (table["quantity"] == "count") & (table["period"] == "2013Q1")
    ]
    assert kent.set_index("outcome")["observed"].to_dict() == {
        k: float(small_panel["count"].sel(force="Kent", period="2013Q1", outcome=k))
        for k in ("homicide", "robbery", "knife")
    }
    assert np.nanmax(ratio) < 1e5 / 1e4  # populations above 10,000
    fc = table[table["is_forecast"]]
    assert fc["observed"].isna().all() and set(fc["horizon"]) == {1, 2}


def test_fit_file_loads_with_arviz_and_keeps_provenance(tiny_fit_path, small_panel):
    tree = az.from_netcdf(tiny_fit_path)
    assert {"posterior", "sample_stats", "panel"} <= set(tree.children)
    assert "availability_beta" in tree["posterior"].data_vars
    attrs = load_fit(tiny_fit_path).attrs
    for key in ("spec_toml", "spec_hash", "panel_hash", "seed", "versions", "created", "sampler"):
        assert key in attrs
    assert json.loads(attrs["versions"])["pymc"].startswith("6")
    assert attrs["spec_hash"] == load_spec("default").model_hash()
    loaded = load_fit(tiny_fit_path)
    xr.testing.assert_allclose(fit_panel(loaded)["count"], small_panel["count"])
    assert fit_spec(loaded) == load_spec("default")


def test_fit_file_refuses_another_spec(tiny_fit_path):
    with pytest.raises(SpecError, match=r"was fitted with spec 'default' .* not with 'minimal'"):
        load_fit(tiny_fit_path, spec=load_spec("minimal"))


def test_corrupt_fit_file_is_refused(tmp_path, tiny_fit_path):
    bad = tmp_path / "fit.nc"
    bad.write_bytes(tiny_fit_path.read_bytes()[:5000])
    with pytest.raises(
        DataError, match=r"fit\.nc: not a readable fit file .*; refit with `forecast fit`"
    ):
        load_fit(bad)
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("a", [1, 2])}).to_netcdf(other, engine="h5netcdf")
    with pytest.raises(DataError, match=r"other\.nc: not a forecast fit"):
        load_fit(other)


def test_datapackage_matches_the_stored_copy_of_its_version():
    """Changing a published table's columns or types must bump SCHEMA_VERSION and store a new copy."""
    import json
    from pathlib import Path

    from forecast.outputs.export import SCHEMA_VERSION, datapackage

    stored = Path(__file__).parent / f"datapackage_v{SCHEMA_VERSION}.json"
    assert stored.exists(), f"no stored descriptor for schema {SCHEMA_VERSION}: add {stored.name}"
    assert datapackage() == json.loads(stored.read_text()), (
        "the export schema changed: bump forecast.outputs.export.SCHEMA_VERSION and store the new descriptor"
    )
    fields = [f["name"] for f in datapackage()["resources"][0]["schema"]["fields"]]
    assert fields == DOCUMENTED_COLUMNS


def test_tables_load_in_duckdb_and_polars_from_the_descriptor_alone(table, tiny_fit, tmp_path):
    """Read each resource with the types the descriptor gives, in two other ecosystems."""
    import json

    duckdb = pytest.importorskip("duckdb")
    pl = pytest.importorskip("polars")
    from forecast.ingest.events import PANEL_ATTR, applied_events, register_attr
    from forecast.outputs.dhi import harm_results
    from forecast.outputs.export import DHI_COLUMNS, datapackage
    from forecast.outputs.harm import load_fractions, load_weights

    outcomes = ["homicide", "robbery", "knife"]
    pred = predict(tiny_fit, horizon=2, seed=1)
    w, f = load_weights("home_office", outcomes), load_fractions(None, outcomes)
    dhi = harm_results(pred, w, f, "2014", tree=tiny_fit).table
    assert tuple(dhi.columns) == DHI_COLUMNS
    assert {"dhi", "attributable_index", "attributable_share"} <= set(dhi["quantity"])
    panel = fit_panel(tiny_fit)
    panel.attrs[PANEL_ATTR] = register_attr()
    events = applied_events(panel)
    frames = ((table, "forecast"), (dhi, "dhi"), (events, "exceptional_events"))
    for frame, stem in frames:
        frame.to_csv(tmp_path / f"{stem}.csv", index=False)
        frame.to_parquet(tmp_path / f"{stem}.parquet", index=False)
    (tmp_path / "datapackage.json").write_text(json.dumps(datapackage()))
    package = json.loads((tmp_path / "datapackage.json").read_text())
    duck = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}
    polar = {"string": pl.Utf8, "integer": pl.Int64, "number": pl.Float64, "boolean": pl.Boolean}
    for res in package["resources"]:
        fields = res["schema"]["fields"]
        path = str(tmp_path / res["path"])
        if res["format"] == "csv":
            types = {f["name"]: duck[f["type"]] for f in fields}
            rel = duckdb.read_csv(path, columns=types, header=True)
            assert rel.columns == [f["name"] for f in fields]
            n_duck = rel.aggregate("count(*)").fetchall()[0][0]
            df = pl.read_csv(path, schema={f["name"]: polar[f["type"]] for f in fields})
        else:
            n_duck = duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
            df = pl.read_parquet(path).cast({f["name"]: polar[f["type"]] for f in fields})
        assert df.columns == [f["name"] for f in fields]
        assert n_duck == df.height > 0
        key = res["schema"]["primaryKey"]
        assert df.select(key).is_unique().all(), res["name"]  # the declared key is a key
