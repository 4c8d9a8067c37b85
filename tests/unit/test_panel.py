"""Panel input: round trips and the one-line errors for bad files (file, row, column, what to do)."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from forecast.core.errors import DataError
from forecast.ingest.panel import load_panel, panel_hash, panel_to_frame, save_panel, validate_panel


@pytest.fixture()
def table(small_panel) -> pd.DataFrame:
    return panel_to_frame(small_panel)


def _write(tmp_path, frame: pd.DataFrame, name="panel.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_netcdf_round_trip_keeps_values_and_periods(tmp_path, small_sim, small_panel):
    path = save_panel(small_sim, tmp_path / "sim.nc")
    back = load_panel(path)
    assert isinstance(back.indexes["period"], pd.PeriodIndex)
    xr.testing.assert_allclose(back["count"], small_panel["count"])
    assert panel_hash(back) == panel_hash(small_panel)


def test_csv_round_trip(tmp_path, small_panel, table):
    back = load_panel(_write(tmp_path, table))
    np.testing.assert_array_equal(back["count"].values, small_panel["count"].values)
    assert list(back["force"].values) == list(small_panel["force"].values)
    assert "trafficking" in back


def test_csv_aliases_are_normalised(tmp_path, table):
    table.loc[table["force"] == "Kent", "force"] = "Kent Police"
    back = load_panel(_write(tmp_path, table))
    assert "Kent" in back["force"].values


def test_missing_count_cells_stay_missing(tmp_path, table):
    table = table.astype({"robbery": object, "knife": object})
    table.loc[3, "robbery"] = np.nan
    table.loc[4, "knife"] = ".."  # the ONS "not available" marker
    back = load_panel(_write(tmp_path, table))
    assert int(back["count"].isnull().sum()) == 2


def test_saving_never_overwrites_without_force(tmp_path, small_panel):
    path = save_panel(small_panel, tmp_path / "p.nc")
    before = path.read_bytes()
    with pytest.raises(Exception, match="already exists: choose another output or pass --force"):
        save_panel(small_panel.isel(force=[0]), path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda t: t.assign(robbery=t["robbery"].where(t.index != 4, -3)),
            "panel.csv, row 6, column robbery: negative count -3; counts must be >= 0",
        ),
        (
            lambda t: t.assign(force=t["force"].where(t.index != 0, "Lancshire")),
            "panel.csv, row 2, column force: unknown police force 'Lancshire': did you mean 'Lancashire'?",
        ),
        (
            lambda t: t.assign(period=t["period"].where(t.index != 1, "2012-09")),
            "panel.csv, row 3, column period: '2012-09' is not a calendar quarter",
        ),
        (
            lambda t: t.drop(index=5),
            "no row for force 'Kent', period 2013Q3; every force needs every quarter",
        ),
        (lambda t: t.drop(columns=["population"]), "panel.csv: missing column(s) population"),
        (
            lambda t: t.assign(knife=t["knife"].astype(object).where(t.index != 2, "12 offences")),
            "panel.csv, row 4, column knife: '12 offences' is not a number",
        ),
        (
            lambda t: pd.concat([t, t.iloc[[0]]], ignore_index=True),
            "force and period repeat an earlier row",
        ),
        (lambda t: t.drop(columns=["homicide", "robbery", "knife"]), "no outcome column"),
        (
            lambda t: t.assign(robbery=t["robbery"].where(t.index != 3, 10.5)),
            "panel.csv, row 5, column robbery: 10.5 is not a whole number of offences",
        ),
        (
            lambda t: t.assign(population=t["population"].where(t.index != 6)),
            "panel.csv, row 8, column population: missing value; every row needs a population",
        ),
        (lambda t: t.iloc[0:0], "panel.csv: the table has a header but no rows"),
    ],
)
def test_bad_csv_gives_one_clear_error(tmp_path, table, mutate, message):
    path = _write(tmp_path, mutate(table))
    with pytest.raises(DataError) as err:
        load_panel(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_quarter_in_a_dataset_is_named(small_panel):
    gappy = small_panel.drop_isel(period=[5])
    with pytest.raises(DataError, match=r"quarter 2013Q3 is missing"):
        validate_panel(gappy)


def test_not_a_panel_file(tmp_path):
    bad = tmp_path / "junk.nc"
    bad.write_bytes(b"not netcdf at all")
    with pytest.raises(DataError, match=r"junk\.nc: not a readable NetCDF panel"):
        load_panel(bad)
    with pytest.raises(DataError, match=r"nothere\.nc: no such file"):
        load_panel(tmp_path / "nothere.nc")


def test_population_must_be_positive(small_panel):
    bad = small_panel.copy(deep=True)
    bad["population"][1, 2] = 0
    with pytest.raises(
        DataError, match=r"population must be positive in every cell; force 'Essex', period 2012Q4"
    ):
        validate_panel(bad)


def test_blank_lines_do_not_shift_reported_rows(tmp_path, table):
    table.loc[4, "robbery"] = -2
    lines = table.to_csv(index=False).splitlines()
    path = tmp_path / "blank.csv"
    path.write_text("\n".join([*lines[:3], "", *lines[3:]]) + "\n")  # a blank line 4
    with pytest.raises(DataError, match=r"blank\.csv, row 7, column robbery: negative count -2"):
        load_panel(path)


def test_coordinate_and_text_columns_in_a_csv_are_ignored(tmp_path, table):
    back = load_panel(_write(tmp_path, table.assign(region="somewhere", note="checked by JS")))
    assert back["region"].sel(force="Kent").item() == "South East"
    assert "note" not in back and "region" not in back.data_vars


def test_netcdf_force_spellings_are_normalised_and_coords_rebuilt(small_panel):
    odd = small_panel.drop_vars(["force_code", "region"]).assign_coords(
        force=["Kent Police", "Essex", "Surrey", "Sussex", "Dorset", "Gwent Police"]
    )
    ds = validate_panel(odd)
    assert list(ds["force"].values) == list(small_panel["force"].values)
    assert ds["force_code"].sel(force="Gwent").item() == "W15000002"
    dup = small_panel.assign_coords(
        force=["Kent", "Kent Police", "Surrey", "Sussex", "Dorset", "Gwent"]
    )
    with pytest.raises(DataError, match="force 'Kent' appears more than once"):
        validate_panel(dup)
