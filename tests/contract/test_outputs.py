"""Contracts of what other tools read: the tidy table's exact columns and the fit file's groups/attrs."""

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from forecast.errors import DataError, SpecError
from forecast.export import COLUMNS, summary_table, write_table
from forecast.fit import fit_panel, fit_spec, load_fit
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
