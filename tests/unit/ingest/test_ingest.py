"""Readers and the panel they build, on small tables in the publishers' layouts that we write here."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.core.errors import DataError, ForecastWarning
from forecast.core.periods import financial_label
from forecast.ingest.build import ingest, read_manifest
from forecast.ingest.ho_prc import fy_to_calendar, read_ho_prc
from forecast.ingest.panel import load_panel, panel_long, save_panel
from forecast.ingest.population import quarterly_population, read_ons_midyear

REALDATA = Path(__file__).resolve().parents[4] / "shared" / "realdata"
CODES = {
    "1": "Murder",
    "34B": "Robbery of personal property",
    "92A": "Trafficking in controlled drugs",
    "92D": "Possession of controlled drugs (excluding cannabis)",
    "10D": "Possession of article with blade or point",
    "8N": "Assault with injury",
}


def published_prc(n_quarters: int = 9) -> pd.DataFrame:
    """A Home Office open data table in its published column layout (values made up here)."""
    rows = []
    rng = np.random.default_rng(1)
    for i in range(n_quarters):
        fy = 2012 + i // 4
        for force in ("Kent", "Devon & Cornwall", "British Transport Police"):
            for code, desc in CODES.items():
                rows.append(
                    {
                        "Financial Year": f"{fy}/{str(fy + 1)[-2:]}",
                        "Financial Quarter": i % 4 + 1,
                        "Force Name": force,
                        "Offence Description": desc,
                        "Offence Group": "x",
                        "Offence Subgroup": "y",
                        "Offence Code": code,
                        "Number of Offences": int(rng.integers(1, 400)),
                    }
                )
    return pd.DataFrame(rows)


def midyear() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": ["E23000032"] * 5 + ["E23000035"] * 5,
            "area_name": ["Kent"] * 5 + ["Devon & Cornwall"] * 5,
            "mid_year": list(range(2011, 2016)) * 2,
            "population": [
                1.70e6,
                1.72e6,
                1.74e6,
                1.76e6,
                1.78e6,
                1.65e6,
                1.66e6,
                1.67e6,
                1.68e6,
                1.69e6,
            ],
        }
    )


@pytest.fixture()
def sources(tmp_path):
    prc = published_prc()
    prc.loc[(prc["Force Name"] == "Kent") & (prc["Offence Code"] == "1"), "Number of Offences"] = [
        3,
        2,
        -1,
        4,
        0,
        5,
        2,
        1,
        3,
    ]
    prc.to_csv(tmp_path / "prc.csv", index=False)
    midyear().to_csv(tmp_path / "pop.csv", index=False)
    (tmp_path / "manifest.toml").write_text(
        'vintage = "test"\n[[source]]\nkind = "ho_prc_offence_codes"\npath = "prc.csv"\n'
        '[[source]]\nkind = "ons_population_midyear"\npath = "pop.csv"\n'
    )
    return tmp_path


@pytest.mark.parametrize(
    ("fy", "q", "period"),
    [
        ("2012/13", 1, "2012Q2"),
        ("2012/13", 3, "2012Q4"),
        ("2012/13", 4, "2013Q1"),
        ("2023/24", 1, "2023Q2"),
    ],
)
def test_financial_quarters_become_calendar_quarters(fy, q, period):
    assert fy_to_calendar(fy, q, "x") == pd.Period(period, freq="Q")


def test_ingest_builds_the_panel(sources):
    result = ingest(sources / "manifest.toml")
    p = result.panel
    assert list(p["force"].values) == ["Kent", "Devon and Cornwall"]  # register order, BTP dropped
    assert [str(x) for x in p.indexes["period"][[0, -1]]] == ["2012Q2", "2014Q2"]
    assert list(p["outcome"].values) == ["homicide", "robbery"]
    kent = p["count"].sel(force="Kent", outcome="homicide").values
    np.testing.assert_array_equal(
        kent, [3, 2, np.nan, 4, 0, 5, 2, 1, 3]
    )  # the -1 adjustment is missing
    assert result.warnings == [
        f"{sources / 'prc.csv'}, row 38, column Number of Offences: -1 for offence code 1 "
        "(homicide), Kent 2012Q4 is a reclassification adjustment; the series is missing that quarter"
    ]
    assert {"trafficking", "possession_excl_cannabis", "blade_possession"} <= set(p.data_vars)
    assert "8N" not in str(p.attrs) and p["count"].attrs["frequency"] == "quarter"
    idx = p["availability_index"].values
    assert abs(idx.mean()) < 1e-9 and abs(idx.std() - 1) < 1e-9


def test_population_is_interpolated_log_linearly_between_mid_years():
    pop = quarterly_population(
        read_ons_midyear_frame(), ["Kent"], pd.period_range("2012Q1", "2016Q1", freq="Q")
    )
    # the mid-year point (30 June) lies between the Q2 and Q3 midpoints: their geometric mean is close to it
    assert np.sqrt(pop[0, 1] * pop[0, 2]) == pytest.approx(1.72e6, rel=2e-4)
    assert (np.diff(pop[0]) > 0).all()
    assert pop[0, -1] > 1.78e6  # extrapolated beyond mid-2015 with the last growth rate


def read_ons_midyear_frame():
    frame = midyear().rename(columns={"area_name": "force", "mid_year": "year"})
    frame["force"] = frame["force"].replace({"Devon & Cornwall": "Devon and Cornwall"})
    return frame


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda t: t.drop(columns=["Offence Code"]),
            "missing column(s) offence_code; expected the Home Office",
        ),
        (
            lambda t: t.replace({"Force Name": {"Kent": "Kentt"}}),
            "unknown police force 'Kentt': did you mean 'Kent'?",
        ),
        (
            lambda t: t.replace({"Financial Year": {"2013/14": "2013-14"}}),
            "prc.csv, row 74, column Financial Year: '2013-14' is not a financial year like 2012/13; "
            "write the two consecutive years like 2012/13",
        ),
        (
            lambda t: t.astype({"Number of Offences": object}).assign(
                **{
                    "Number of Offences": lambda d: d["Number of Offences"].where(
                        d.index != 7, "seven"
                    )
                }
            ),
            "prc.csv, row 9, column Number of Offences: 'seven' is not a number",
        ),
    ],
)
def test_bad_prc_tables(tmp_path, mutate, message):
    path = tmp_path / "prc.csv"
    mutate(published_prc()).to_csv(path, index=False)
    with pytest.raises(DataError) as err:
        read_ho_prc(path)
    assert message in str(err.value)


def test_bad_population_table(tmp_path):
    bad = midyear()
    bad.loc[3, "population"] = -5
    bad.to_csv(tmp_path / "pop.csv", index=False)
    with pytest.raises(DataError) as err:
        read_ons_midyear(tmp_path / "pop.csv")
    assert str(err.value) == (
        f"{tmp_path / 'pop.csv'}, row 5, column population: -5 for Kent mid-2014 is not a positive "
        "number of persons; fix the cell"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[source]]\nkind = "police_uk"\npath = "prc.csv"\n',
            "source 1 has kind 'police_uk'; known kinds are",
        ),
        (
            '[[source]]\nkind = "ho_prc_offence_codes"\npath = "nope.csv"\n',
            "nope.csv does not exist",
        ),
        (
            '[[source]]\nkind = "ho_prc_offence_codes"\npath = "prc.csv"\n',
            "no [[source]] of kind 'ons_population_midyear'",
        ),
        ('colour = "red"\n', "unknown key(s) ['colour']"),
    ],
)
def test_bad_manifests(sources, text, message):
    (sources / "m.toml").write_text(text)
    with pytest.raises(DataError) as err:
        read_manifest(sources / "m.toml")
    assert message in str(err.value)


@pytest.mark.realdata
def test_shipped_manifest_ingests_the_real_statistics():
    if not REALDATA.exists():
        pytest.skip(f"real statistics not found at {REALDATA}")
    manifest = Path(__file__).resolve().parents[3] / "data" / "manifests" / "realdata.toml"
    p = ingest(manifest).panel
    assert p.sizes["force"] == 43 and p.sizes["period"] == 45
    rate = (p["count"].sum("force") / p["population"].sum("force") * 1e5).mean("period")
    assert 0.2 < float(rate.sel(outcome="homicide")) < 0.35
    assert 20 < float(rate.sel(outcome="robbery")) < 40


def test_check_flags_a_dip_and_lists_breaks_in_range(small_panel):
    from forecast.ingest.validate import check_panel, coverage_table

    dipped = small_panel.copy(deep=True)
    dipped["count"].loc[{"force": "Essex", "period": "2013Q3", "outcome": "robbery"}] = 5.0
    dipped["count"].loc[{"force": "Kent", "period": "2013Q1", "outcome": "knife"}] = np.nan
    flags = check_panel(dipped)
    jumps = flags[flags["check"] == "implausible jump"]
    assert ("robbery", "Essex", "2013Q3") in set(
        zip(jumps["series"], jumps["force"], jumps["period"], strict=True)
    )
    assert "known break: recording" in set(
        flags["check"]
    )  # 2014Q2-2016Q1 lies inside 2012Q2-2016Q1
    assert "known break: shock" not in set(flags["check"])  # COVID is outside this panel
    cov = coverage_table(dipped).set_index("series")
    assert cov.at["knife", "missing"] == 1 and cov.at["knife", "forces_with_gaps"] == 1
    assert cov.at["robbery", "missing"] == 0


def test_annual_and_rolling_series_sit_at_their_end_quarter(sources):
    pd.DataFrame(
        {
            "year": [2013, 2014, 2015],
            "force_name": ["Kent", "Kent", "Devon & Cornwall"],
            "knife_offences": [100, 120, 80],
        }
    ).to_csv(sources / "knife.csv", index=False)
    pd.DataFrame(
        {
            "year_ending": ["2013-06-30", "2013-09-30", "2013-09-30"],
            "area_name": ["Kent", "Kent", "Devon & Cornwall"],
            "level": "pfa",
            "offence": "Homicide",
            "count": ["20", "21", ".."],
        }
    ).to_csv(sources / "p1.csv", index=False)
    with (sources / "manifest.toml").open("a") as fh:
        fh.write(
            '[[source]]\nkind = "bdd_knife_fy"\npath = "knife.csv"\n'
            '[[source]]\nkind = "ons_p1_rolling_year"\npath = "p1.csv"\n'
        )
    result = ingest(sources / "manifest.toml")
    p = result.panel
    knife = p["knife_fy"].sel(force="Kent")
    assert knife.sel(period="2013Q1").item() == 100 and knife.sel(period="2014Q1").item() == 120
    assert (
        int(p["knife_fy"].notnull().sum()) == 2
    )  # 2015Q1 (Devon and Cornwall) is outside the panel
    assert any("knife_fy: 1 values end outside" in n for n in result.notes)
    assert (
        p["knife_fy"].attrs["aggregation"] == "financial-year sum"
        and p["knife_fy"].attrs["window_quarters"] == 4
    )
    roll = p["homicide_rolling_year"]
    assert roll.sel(force="Kent", period="2013Q3").item() == 21
    assert np.isnan(
        roll.sel(force="Devon and Cornwall", period="2013Q3").item()
    )  # '..' stays missing
    from forecast.ingest.validate import coverage_table

    cov = coverage_table(p).set_index("series")
    assert (
        cov.at["homicide_rolling_year", "missing"] == 2
        and cov.at["knife_fy", "aggregation"] == "financial-year sum"
    )


def test_annual_reader_errors_name_the_cell(tmp_path):
    from forecast.ingest.annual import read_bdd_knife_fy

    pd.DataFrame({"year": [2013], "force_name": ["Kent"], "knife_offences": ["lots"]}).to_csv(
        tmp_path / "k.csv", index=False
    )
    with pytest.raises(
        DataError, match=r"k\.csv, row 2, column knife_offences: 'lots' is not a number"
    ):
        read_bdd_knife_fy(tmp_path / "k.csv")
    pd.DataFrame({"year": [2013], "force": ["Kent"]}).to_csv(tmp_path / "k2.csv", index=False)
    with pytest.raises(DataError, match=r"k2\.csv: missing column\(s\) force_name, knife_offences"):
        read_bdd_knife_fy(tmp_path / "k2.csv")


@pytest.mark.parametrize(
    ("reader", "frame", "series", "period", "value"),
    [
        (
            "read_ons_css_fy",
            {
                "year_ending": ["2016-03-31", "2016-03-31"],
                "area_name": ["Kent", "Kent"],
                "level": ["pfa", "pfa"],
                "offence_group": ["Robbery", "Sexual offences"],
                "severity_score": [1.5, ":"],
            },
            "css_robbery_fy",
            "2016Q1",
            1.5,
        ),
        (
            "read_bdd_seizures_fy",
            {
                "year_ending": ["2014-03-31"] * 2,
                "force_name": ["Kent"] * 2,
                "drug": ["Crack", "LSD"],
                "measure": ["n_seizures"] * 2,
                "value": [55, 3],
            },
            "seizures_crack",
            "2014Q1",
            55,
        ),
        (
            "read_bdd_deaths_3y",
            {
                "year": [2015],
                "force_name": ["Kent"],
                "deaths": [120],
                "measure": ["drug_poisoning_deaths"],
            },
            "drug_deaths_3y",
            "2015Q4",
            120,
        ),
        (
            "read_bdd_admissions_fy",
            {
                "year": [2016],
                "force_name": ["Kent"],
                "admissions": [300],
                "measure": ["primary_dx_poisoning_by_drugs"],
            },
            "drug_admissions_fy",
            "2016Q1",
            300,
        ),
        (
            "read_ho_arrests_fy",
            {
                "year_ending": ["2015-03-31"],
                "force_name": ["Avon & Somerset"],
                "offence_group": ["Drug offences"],
                "arrests": [900],
            },
            "drug_arrests_fy",
            "2015Q1",
            900,
        ),
        (
            "read_ons_p4_knife",
            {
                "year_ending": ["2019-12-31"],
                "area_name": ["Kent"],
                "level": ["pfa"],
                "offence": ["Total of selected serious offences"],
                "knife_count": [700],
            },
            "knife_rolling_year",
            "2019Q4",
            700,
        ),
    ],
)
def test_every_annual_reader_maps_its_table(tmp_path, reader, frame, series, period, value):
    from forecast.ingest import annual

    pd.DataFrame(frame).to_csv(tmp_path / "t.csv", index=False)
    long, meta = getattr(annual, reader)(tmp_path / "t.csv")
    assert len(long) == 1, long
    row = long.iloc[0]
    assert (row["series"], str(row["period"]), row["count"]) == (series, period, value)
    assert meta[series]["window_quarters"] in (4, 12) and meta[series]["source"] == "t.csv"


def test_overlapping_vintages_first_wins_and_the_difference_is_reported(sources):
    codes = pd.read_csv(sources / "prc.csv")
    drop = (
        (codes["Force Name"] == "Kent")
        & (codes["Offence Code"] == "34B")
        & (codes["Financial Year"] == "2014/15")
    )
    codes[~drop].to_csv(
        sources / "prc.csv", index=False
    )  # Kent robbery 2014Q2 absent from the first vintage
    with pytest.warns(ForecastWarning, match="Kent 2012Q4 is a reclassification adjustment"):
        first = read_ho_prc(sources / "prc.csv")[0]
    groups = first[first["series"] == "robbery"].copy()
    groups["count"] = groups["count"] * 2  # a different vintage, in whole offences
    groups = pd.concat(
        [
            groups,
            pd.DataFrame(
                {
                    "force": ["Kent"],
                    "period": [pd.Period("2014Q2", freq="Q")],
                    "series": ["robbery"],
                    "count": [77.0],
                }
            ),
        ]
    )
    labels = [financial_label(p).split(" Q") for p in groups["period"]]  # '2012/13 Q1'
    layout = pd.DataFrame(
        {
            "financial_year": [fy for fy, _ in labels],
            "fy_quarter": [int(q) for _, q in labels],
            "force_name": groups["force"],
            "offence_group": "Robbery",
            "count": groups["count"],
        }
    )
    layout.to_csv(sources / "groups.csv", index=False)
    with (sources / "manifest.toml").open("a") as fh:
        fh.write('[[source]]\nkind = "ho_prc_offence_groups"\npath = "groups.csv"\n')
    result = ingest(sources / "manifest.toml")
    robbery = result.panel["count"].sel(outcome="robbery")
    assert robbery.sel(force="Kent", period="2014Q2").item() == 77  # filled from the second vintage
    assert (
        robbery.sel(force="Kent", period="2013Q2").item()
        == first.set_index(["force", "period", "series"]).loc[
            ("Kent", pd.Period("2013Q2", freq="Q"), "robbery"), "count"
        ]
    )  # the first vintage wins
    assert any(
        "median ratio 2.000, 0% within 2%" in n and "prc.csv is used" in n for n in result.notes
    ), result.notes
    assert any("1 cells missing from prc.csv filled from groups.csv" in n for n in result.notes)


def write_p1_xlsx(
    path, title="Table P1: Police recorded crime ..., year ending June 181,2", gmp="..", **kent
):
    """A workbook in the ONS PFA table layout: title, blank, group row, header with footnote markers.

    `kent` overrides cells of Kent's row (sheet row 9) by header ('Area Code', 'Homicide'...);
    `extra_rows` are appended after the force rows (from sheet row 11)."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    ws = wb.create_sheet("Table P1 ")  # ONS sheet names carry trailing spaces
    row = {"Area Code": "E23000032", "Area Name": "Kent", "Homicide": 2, "Robbery": 7, **kent}
    extra = row.pop("extra_rows", [])
    rows = [
        [title],
        [],
        ["England and Wales"],
        [None, None, "Total recorded crime (excluding fraud3)", None, "Victim-based crime"],
        [
            "Area Code",
            "Area Name",
            None,
            None,
            "Violence against the person4",
            "Homicide",
            "Robbery",
        ],
        [None, None, "Numbers"],
        ["K04000001", "ENGLAND AND WALES7,8", 100, None, 50, 12, 40],
        ["E12000008", "South East", 30, None, 10, 3, 9],
        [row["Area Code"], row["Area Name"], 20, None, 8, row["Homicide"], row["Robbery"]],
        ["E23000005", "Greater Manchester8,9", gmp, None, gmp, gmp, gmp],
        *extra,
        [],
        ["9. '..'  indicates data not available."],
    ]
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_ons_p1_xlsx_layout_is_read(tmp_path):
    from forecast.ingest.ons_xlsx import read_ons_p1_xlsx

    long, meta = read_ons_p1_xlsx(write_p1_xlsx(tmp_path / "p1.xlsx"))
    table = long.set_index(["force", "series"])["count"]
    assert str(long["period"].iloc[0]) == "2018Q2"  # 'June 18' followed by footnotes 1,2
    assert (
        table[("Kent", "homicide_rolling_year")] == 2
        and table[("Kent", "robbery_rolling_year")] == 7
    )
    assert np.isnan(table[("Greater Manchester", "homicide_rolling_year")])  # '..' is missing
    assert set(long["force"]) == {
        "Kent",
        "Greater Manchester",
    }  # national and regional rows skipped
    assert meta["homicide_rolling_year"]["aggregation"] == "rolling 4-quarter sum"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"title": "Table P1: Police recorded crime"},
            "sheet Table P1, row 1: no 'year ending <month> <year>'",
        ),
        ({"gmp": "n/a"}, "sheet Table P1, row 10, column F: 'n/a' is not a number"),
    ],
)
def test_ons_p1_xlsx_errors(tmp_path, kwargs, message):
    from forecast.ingest.ons_xlsx import read_ons_p1_xlsx

    with pytest.raises(DataError) as err:
        read_ons_p1_xlsx(write_p1_xlsx(tmp_path / "p1.xlsx", **kwargs))
    assert message in str(err.value)
    (tmp_path / "fake.xlsx").write_text("not a workbook")
    with pytest.raises(DataError, match=r"fake\.xlsx: not a readable xlsx workbook"):
        read_ons_p1_xlsx(tmp_path / "fake.xlsx")


def test_ons_p5_latest_edition_wins(tmp_path):
    from forecast.ingest.annual import read_ons_p5_knife

    pd.DataFrame(
        {
            "edition_year_ending": ["2018-03-31", "2019-03-31", "2019-03-31", "2019-03-31"],
            "area_name": ["Gwent", "Gwent", "Gwent", "ENGLAND AND WALES"],
            "level": ["pfa", "pfa", "pfa", "england_and_wales"],
            "period_end": ["2017-03-31", "2017-03-31", "2018-03-31", "2018-03-31"],
            "knife_count_selected_offences": [90, 92, 112, 40000],
        }
    ).to_csv(tmp_path / "p5.csv", index=False)
    long, _ = read_ons_p5_knife(tmp_path / "p5.csv")
    assert dict(zip(long["period"].astype(str), long["count"], strict=True)) == {
        "2017Q1": 92,
        "2018Q1": 112,
    }


@pytest.mark.parametrize("suffix", [".ods", ".xlsx"])
def test_home_office_workbook_as_published(tmp_path, suffix):
    """One sheet per financial year plus a notes sheet, as in the Home Office ODS release."""
    table = published_prc()
    path = tmp_path / f"prc{suffix}"
    with pd.ExcelWriter(path, engine="odf" if suffix == ".ods" else "openpyxl") as xl:
        pd.DataFrame(
            {"Notes": ["Police recorded crime open data tables", "Source: Home Office"]}
        ).to_excel(xl, sheet_name="Notes", index=False)
        for fy, part in table.groupby("Financial Year"):
            part.to_excel(xl, sheet_name=fy.replace("/", "_"), index=False)
    from_book, _ = read_ho_prc(path)
    table.to_csv(tmp_path / "prc.csv", index=False)
    from_csv, _ = read_ho_prc(tmp_path / "prc.csv")
    pd.testing.assert_frame_equal(from_book.reset_index(drop=True), from_csv.reset_index(drop=True))
    (tmp_path / f"bad{suffix}").write_text("not a spreadsheet")
    with pytest.raises(DataError, match=rf"bad\{suffix}: not a readable spreadsheet"):
        read_ho_prc(tmp_path / f"bad{suffix}")


def test_duplicated_rows_are_refused_even_under_another_spelling(tmp_path):
    table = published_prc()
    twin = table.iloc[[3]].replace({"Force Name": {"Devon & Cornwall": "Devon and Cornwall"}})
    pd.concat([table, twin], ignore_index=True).to_csv(tmp_path / "prc.csv", index=False)
    with pytest.raises(DataError) as err:
        read_ho_prc(tmp_path / "prc.csv")
    assert str(err.value) == (
        f"{tmp_path / 'prc.csv'}, row {len(table) + 2}: repeats row 5 (same Force Name, "
        "Financial Year/Financial Quarter, Offence Code); delete one of them"
    )


def _write_csv(path, frame):
    frame.to_csv(path, index=False)
    return path


def test_future_quarters_are_flagged(small_panel):
    from forecast.ingest.validate import check_panel

    future = small_panel.assign_coords(period=pd.period_range("2099Q1", periods=16, freq="Q"))
    flags = check_panel(future)
    assert "period in the future" in set(flags["check"])
    assert "period in the future" not in set(check_panel(small_panel)["check"])


def test_national_series_are_period_only(sources):
    pd.DataFrame(
        {
            "year_ending": ["2013-03-31", "2013-03-31", "2014-03-31"],
            "drug": ["Cocaine", "LSD", "Cocaine"],
            "seizures": [700, 5, 650],
        }
    ).to_csv(sources / "bf.csv", index=False)
    pd.DataFrame(
        {
            "method": ["Sharp instrument", "Sharp instrument", "Shooting"],
            "sex": ["male", "female", "male"],
            "count": [150, 60, 20],
            "date": ["2013-04-01"] * 3,
        }
    ).to_csv(sources / "hm.csv", index=False)
    with (sources / "manifest.toml").open("a") as fh:
        fh.write(
            '[[source]]\nkind = "border_force_seizures"\npath = "bf.csv"\n'
            '[[source]]\nkind = "ons_homicide_by_method"\npath = "hm.csv"\n'
        )
    p = ingest(sources / "manifest.toml").panel
    assert p["border_seizures_cocaine"].dims == ("period",)
    assert p["border_seizures_cocaine"].sel(period="2013Q1").item() == 700
    assert (
        p["homicide_sharp_instrument_fy"].sel(period="2013Q1").item() == 210
    )  # FY 2012/13, both sexes
    assert p["border_seizures_cocaine"].attrs["geography"] == "national"
    from forecast.ingest.panel import panel_long
    from forecast.ingest.validate import coverage_table

    cov = coverage_table(p).set_index("series")
    assert cov.at["border_seizures_cocaine", "observed"] == 2
    rows = panel_long(p).query("series == 'border_seizures_cocaine'")
    assert set(rows["force"]) == {"England and Wales"} and set(rows["force_code"]) == {"K04000001"}


def test_code_level_rules_no_netting_no_partial_sums_no_double_homicide(tmp_path):
    rows = [
        # Kent 2013/14 Q1 robbery: 34A is a -2 adjustment, 34B is 30 -> robbery missing, not 28
        ("2013/14", 1, "Kent", "34A", -2),
        ("2013/14", 1, "Kent", "34B", 30),
        # Kent 2013/14 Q2 robbery: 34A not available -> missing, not the partial 31
        ("2013/14", 2, "Kent", "34A", ".."),
        ("2013/14", 2, "Kent", "34B", 31),
        # Kent 2013/14 Q3 homicide given combined and by code -> the separate codes (2 + 1)
        ("2013/14", 3, "Kent", "1/4.1/4.10/4.2", 3),
        ("2013/14", 3, "Kent", "1", 2),
        ("2013/14", 3, "Kent", "4.1", 1),
        ("2013/14", 4, "Avon & Somerset", "34B", 40),
    ]
    pd.DataFrame(
        rows,
        columns=[
            "Financial Year",
            "Financial Quarter",
            "Force Name",
            "Offence Code",
            "Number of Offences",
        ],
    ).to_csv(tmp_path / "prc.csv", index=False)
    with pytest.warns(ForecastWarning) as caught:
        long, notes = read_ho_prc(tmp_path / "prc.csv")
    cell = long.set_index(["force", "period", "series"])["count"]
    q = lambda s: pd.Period(s, freq="Q")  # noqa: E731
    assert np.isnan(cell[("Kent", q("2013Q2"), "robbery")])
    assert np.isnan(cell[("Kent", q("2013Q3"), "robbery")])
    assert cell[("Kent", q("2013Q4"), "homicide")] == 3
    assert cell[("Avon and Somerset", q("2014Q1"), "robbery")] == 40
    assert notes == [
        "prc.csv: 1 force-quarters give homicide both combined and by code; the separate codes are used"
    ]
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 'prc.csv'}, row 2, column Number of Offences: -2 for offence code 34A "
        "(robbery), Kent 2013Q2 is a reclassification adjustment; the series is missing that quarter"
    ]


def test_financial_year_must_be_consecutive_years():
    with pytest.raises(DataError, match="financial year '2012/14' quarter 1 is not like 2012/13"):
        fy_to_calendar("2012/14", 1, "x")
    assert fy_to_calendar("1999/00", 4, "x") == pd.Period("2000Q1", freq="Q")


def _hes_rows(months, region, values, raw=None):
    return pd.DataFrame(
        {
            "financial_year": "2012-13",
            "month": months,
            "region": region,
            "measure": "FAEs",
            "value": values,
            "raw": raw or [""] * len(months),
        }
    )


def test_regional_series_sum_months_to_quarters_on_their_own_dim(sources, tmp_path):
    months = ["2012-04", "2012-05", "2012-06", "2012-07", "2012-08", "2012-09"]
    frame = pd.concat(
        [
            _hes_rows(months, "East of England", [10, 15, 20, 5, 5, 5]),
            _hes_rows(months, "London", [100, 110, None, 90, 95, 100], ["", "", "*", "", "", ""]),
            _hes_rows(months[:3], "Foreign (incl. Isle of Man & Channel Islands)", [1, 2, 3]),
            _hes_rows(months[:3], "London", [9, 9, 9]).assign(measure="FCEs"),
        ]
    )
    frame.to_csv(sources / "hes.csv", index=False)
    with (sources / "manifest.toml").open("a") as fh:
        fh.write('[[source]]\nkind = "nhs_hes_x99_region"\npath = "hes.csv"\n')
    result = ingest(sources / "manifest.toml")
    p = result.panel
    da = p["hes_sharp_object_admissions"]
    assert da.dims == ("gor", "period") and da.attrs["geography"] == "region"
    assert da.sel(gor="East", period="2012Q2").item() == 45  # April-June summed
    assert da.sel(gor="East", period="2012Q3").item() == 15
    assert np.isnan(da.sel(gor="London", period="2012Q2").item())  # a suppressed month
    assert da.sel(gor="London", period="2012Q3").item() == 285  # FAEs only, not FCEs
    assert any("Foreign" in n and "dropped" in n for n in result.notes)
    save_panel(p, tmp_path / "p.nc")
    back = load_panel(tmp_path / "p.nc")
    assert back["hes_sharp_object_admissions"].sel(gor="East", period="2012Q2").item() == 45
    rows = panel_long(back).query("series == 'hes_sharp_object_admissions' and period == '2012Q3'")
    assert rows.set_index("force")["value"].to_dict() == {"East": 15.0, "London": 285.0}
    assert set(rows["region"]) == {"East", "London"}


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda f: f.assign(value=["many"] + [5] * (len(f) - 1)), "row 2, column value: 'many'"),
        (
            lambda f: f.assign(month="April 2012"),
            "row 2, column month: 'April 2012' is not a YYYY-MM month",
        ),
        (lambda f: f.assign(region="Atlantis"), "no rows with measure FAEs for a region"),
        (lambda f: f.drop(columns="measure"), "missing column(s) measure"),
    ],
)
def test_bad_regional_tables(tmp_path, mutate, message):
    from forecast.ingest.regional import read_hes_x99

    mutate(_hes_rows(["2012-04", "2012-05"], "London", [5, 5])).to_csv(
        tmp_path / "hes.csv", index=False
    )
    with pytest.raises(DataError) as err:
        read_hes_x99(tmp_path / "hes.csv")
    assert str(err.value).startswith(str(tmp_path / "hes.csv")) and message in str(err.value)


@pytest.mark.realdata
def test_real_panel_is_unchanged_by_the_checks():
    """The checks refuse nothing in the real tables and change no value: the counts hash as they did
    before the validation layer (commit 931f58e), and the only warnings are the reclassification
    adjustments of the offence-code table."""
    import hashlib

    if not REALDATA.exists():
        pytest.skip(f"real statistics not found at {REALDATA}")
    manifest = Path(__file__).resolve().parents[3] / "data" / "manifests" / "realdata.toml"
    result = ingest(manifest)
    counts = np.ascontiguousarray(result.panel["count"].values)
    assert hashlib.sha256(counts.tobytes()).hexdigest()[:16] == "2b6ace8759ff1901"
    assert len(result.panel.data_vars) == 29  # 28 then, and police_officers_fy since
    assert len(result.warnings) == 12
    assert all("is a reclassification adjustment" in w for w in result.warnings)


def test_home_office_workbook_with_a_header_and_no_rows_is_refused(tmp_path):
    path = tmp_path / "prc.xlsx"
    published_prc().iloc[:0].to_excel(path, sheet_name="2012_13", index=False)
    with pytest.raises(DataError) as err:
        read_ho_prc(path)
    assert str(err.value) == (
        f"{path}: the table has a header but no rows; export it again with its data"
    )


def test_only_the_official_markers_are_missing():
    from forecast.ingest.schema import MARKERS

    assert set(MARKERS) == {"..", ":", "x", "[x]", "[z]", "[c]", "-", ""}
    assert not {"n/a", "NA", "N/A", "NULL", "nan", "NaN", "#N/A", "None"} & MARKERS
