"""Every reader kind of the shipped manifest refuses impossible input with one exact line, exit 1 and
the earlier output untouched; the documented oddities (reclassification adjustments, a missing
population year) are one `warning:` line each; a valid table prints no numpy or pandas warning.

Each table is small, in its publisher's layout (the columns of the real files), and written here.
"""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli.app import app
from forecast.ingest.limits import current_quarter
from tests.unit.ingest.test_ingest import midyear, published_prc, write_p1_xlsx

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
BASE = (
    'vintage = "test"\n[[source]]\nkind = "ho_prc_offence_codes"\npath = "prc.csv"\n'
    '[[source]]\nkind = "ons_population_midyear"\npath = "pop.csv"\n'
)
R = 1  # the data row every case breaks (a Kent row where the table has forces): file line 3
LINE = R + 2
NOW = current_quarter()
MARKER_HINT = (
    "leave the cell empty or use an official not-available marker (.., :, x, [x], [z], [c], -)"
)
EW = "59,719,724"  # population of England and Wales in data/forces.csv
KENT = "Kent (1,868,199, data/forces.csv)"


def _fy(year: int) -> str:
    return f"{year}/{str(year + 1)[-2:]}"


def prc_tidy() -> pd.DataFrame:
    """The tidy Home Office offence-code table (columns of prc_force_quarter_selected_codes.csv)."""
    rows = []
    for i in range(9):
        fy, q = 2012 + i // 4, i % 4 + 1
        start = (pd.Period(year=fy, quarter=1, freq="Q") + q).start_time.strftime("%Y-%m-%d")
        for force, code in (("Kent", "E23000032"), ("Devon and Cornwall", "E23000035")):
            for offence, n in (("34B", 40), ("1", 2), ("92A", 30), ("92D", 60)):
                rows.append(
                    {
                        "financial_year": _fy(fy),
                        "fy_quarter": q,
                        "quarter_start": start,
                        "force_name": force,
                        "ons_code": code,
                        "offence_group": "g",
                        "offence_subgroup": "s",
                        "offence_code": offence,
                        "offence_description": "d",
                        "force_name_source": force,
                        "count": float(n + i),
                    }
                )
    rows[R], rows[0] = rows[0], rows[R]  # row R: Kent 2012/13 Q1 code 34B, 40
    return pd.DataFrame(rows)


def prc_published() -> pd.DataFrame:
    """The same rows in the Home Office open data layout (the published workbook saved as CSV)."""
    names = {
        "financial_year": "Financial Year",
        "fy_quarter": "Financial Quarter",
        "force_name": "Force Name",
        "offence_description": "Offence Description",
        "offence_group": "Offence Group",
        "offence_subgroup": "Offence Subgroup",
        "offence_code": "Offence Code",
        "count": "Number of Offences",
    }
    return prc_tidy()[list(names)].rename(columns=names)


def prc_groups() -> pd.DataFrame:
    """The Home Office offence-group table (columns of prc_pfa_offence_group_quarterly.csv)."""
    rows = []
    for i in range(9):
        fy, q = 2012 + i // 4, i % 4 + 1
        period = pd.Period(year=fy, quarter=1, freq="Q") + q
        for force, code in (("Kent", "E23000032"), ("Devon and Cornwall", "E23000035")):
            for group, n in (("Robbery", 40), ("Drug offences", 90)):
                rows.append(
                    {
                        "financial_year": _fy(fy),
                        "fy_quarter": q,
                        "quarter_start": period.start_time.strftime("%Y-%m-%d"),
                        "calendar_quarter": str(period),
                        "force_name": force,
                        "offence_group": group,
                        "count": n + i,
                        "force_name_source": force,
                        "ons_code": code,
                    }
                )
    return pd.DataFrame(rows)  # row R: Kent 2012/13 Q1 Drug offences, 90


def _by_force(years, make) -> pd.DataFrame:
    """Rows for Kent then Devon and Cornwall, one per year (row R: Kent, second year)."""
    rows = []
    for force, code in (("Kent", "E23000032"), ("Devon and Cornwall", "E23000035")):
        rows += [make(force, code, y) for y in years]
    return pd.DataFrame(rows)


def knife_fy() -> pd.DataFrame:
    return _by_force(
        (2013, 2014),
        lambda f, c, y: {
            "year": y,
            "force_name": f,
            "knife_offences": 300.0,
            "force_name_source": f,
            "ons_code": c,
            "year_kind": "financial year ending in March of `year`",
        },
    )


def seizures_fy() -> pd.DataFrame:
    return _by_force(
        (2012, 2013),
        lambda f, c, y: {
            "financial_year": _fy(y),
            "year_ending": f"{y + 1}-03-31",
            "force_name": f,
            "drug": "Cocaine",
            "measure": "n_seizures",
            "value": 300.0,
            "unit": "seizures",
            "force_name_source": f,
            "ons_code": c,
        },
    )


def deaths_3y() -> pd.DataFrame:
    return _by_force(
        (2013, 2014),
        lambda f, c, y: {
            "year": y,
            "force_name": f,
            "deaths": 300,
            "force_name_source": f,
            "ons_code": c,
            "year_kind": "3-year registration period ending in `year`",
            "measure": "drug_poisoning_deaths",
            "period_start_year": y - 2,
        },
    )


def admissions_fy() -> pd.DataFrame:
    return _by_force(
        (2013, 2014),
        lambda f, c, y: {
            "year": y,
            "force_name": f,
            "admissions": 300.0,
            "force_name_source": f,
            "ons_code": c,
            "year_kind": "financial year ending in March of `year`",
            "measure": "primary_dx_poisoning_by_drugs",
        },
    )


def arrests_fy() -> pd.DataFrame:
    return _by_force(
        (2012, 2013),
        lambda f, c, y: {
            "financial_year": _fy(y),
            "year_ending": f"{y + 1}-03-31",
            "force_name": f,
            "classification": "post-2015/16",
            "offence_group": "Drug offences",
            "arrests": 300.0,
            "n_cells": 60,
            "n_missing": 0,
            "force_name_source": f,
            "ons_code": c,
        },
    )


def officers_fy() -> pd.DataFrame:
    return _by_force(
        (2013, 2014),
        lambda f, c, y: {
            "year": y,
            "force_name": f,
            "officers_mean": 3200.5,
            "force_name_source": f,
            "ons_code": c,
            "year_kind": "financial year ending in March of `year` (mean of start/end counts)",
        },
    )


def p4_knife() -> pd.DataFrame:
    return _by_force(
        ("2013-03-31", "2014-03-31"),
        lambda f, c, y: {
            "year_ending": y,
            "area_code": c,
            "area_name": f,
            "level": "pfa",
            "region": "",
            "offence": "Total of selected serious offences",
            "knife_count": 300.0,
            "pct_involving_knife": 5.0,
            "pct_raw": "",
        },
    )


def p5_knife() -> pd.DataFrame:
    return _by_force(
        ("2013-03-31", "2014-03-31"),
        lambda f, c, y: {
            "edition_year_ending": "2019-03-31",
            "area_code": c,
            "area_name": f,
            "level": "pfa",
            "period": f"Apr '{int(y[2:4]) - 1} to Mar '{y[2:4]}",
            "knife_count_selected_offences": 300.0,
            "pct_involving_knife": 5.0,
            "period_end": y,
        },
    )


def css_fy() -> pd.DataFrame:
    return _by_force(
        ("2013-03-31", "2014-03-31"),
        lambda f, c, y: {
            "year_ending": y,
            "period_label": "Apr '12 to  Mar '13",
            "area_code": c,
            "area_name": f,
            "level": "pfa",
            "offence_group": "Robbery",
            "severity_score": 0.75,
        },
    )


def border_force() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "year_ending": ["2013-03-31", "2014-03-31", "2013-03-31", "2014-03-31"],
            "drug": ["Cocaine", "Cocaine", "Heroin", "Heroin"],
            "seizures": [700, 300, 80, 90],
        }
    )


def homicide_method() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "method": ["Sharp instrument", "Sharp instrument", "Shooting"],
            "sex": ["male", "female", "male"],
            "count": [150, 300, 20],
            "date": ["2013-04-01"] * 3,
        }
    )


def hes_region() -> pd.DataFrame:
    rows = [
        {
            "financial_year": "2012-13",
            "month": m,
            "region": region,
            "measure": "FAEs",
            "value": 300.0,
            "raw": "",
        }
        for region in ("London", "South East")
        for m in ("2012-04", "2012-05", "2012-06")
    ]
    return pd.DataFrame(rows)  # row R: London 2012-05


@dataclass
class Layout:
    """A publisher table: file, valid frame, the value column, how its key and columns are named."""

    file: str
    frame: object
    value: str
    keys: str  # the key columns as messages list them
    force: str | None = "force_name"  # None: not a force table
    code: str | None = "ons_code"
    whole: bool = True  # a count (whole numbers); False for a score
    future: dict = field(default_factory=dict)  # column -> value putting row R after today
    future_at: tuple[str, str] = ("", "")  # the column and value the message names
    cap: str | None = KENT  # the population a 2,000,000 count exceeds, as the message names it
    maximum: float = 1000  # the largest possible value of a score (whole = False)


LAYOUTS = {
    "ho_prc_offence_codes": Layout(
        "prc.csv",
        prc_tidy,
        "count",
        "force_name, financial_year/fy_quarter, offence_code",
        future={"financial_year": "2035/36", "quarter_start": "2035-04-01"},
        future_at=("financial_year", "2035/36 Q1"),
    ),
    "ho_prc_offence_codes (published CSV)": Layout(
        "prc.csv",
        prc_published,
        "Number of Offences",
        "Force Name, Financial Year/Financial Quarter, Offence Code",
        "Force Name",
        None,
        future={"Financial Year": "2035/36"},
        future_at=("Financial Year", "2035/36 Q1"),
    ),
    "ho_prc_offence_groups": Layout(
        "groups.csv",
        prc_groups,
        "count",
        "force_name, financial_year/fy_quarter, offence_group",
        future={
            "financial_year": "2035/36",
            "quarter_start": "2035-04-01",
            "calendar_quarter": "2035Q2",
        },
        future_at=("financial_year", "2035/36 Q1"),
    ),
    "ons_population_midyear": Layout(
        "pop.csv", midyear, "population", "area_name, mid_year", "area_name", "area_code", cap=None
    ),
    "bdd_knife_fy": Layout(
        "knife.csv",
        knife_fy,
        "knife_offences",
        "force_name, year",
        future={"year": 2035},
        future_at=("year", "2035"),
    ),
    "bdd_seizures_fy": Layout(
        "seizures.csv",
        seizures_fy,
        "value",
        "force_name, year_ending, drug",
        future={"year_ending": "2035-03-31", "financial_year": "2034/35"},
        future_at=("year_ending", "2035-03-31"),
    ),
    "bdd_drug_deaths_3y": Layout(
        "deaths.csv",
        deaths_3y,
        "deaths",
        "force_name, year",
        future={"year": 2035, "period_start_year": 2033},
        future_at=("year", "2035"),
    ),
    "bdd_drug_admissions_fy": Layout(
        "admissions.csv",
        admissions_fy,
        "admissions",
        "force_name, year",
        future={"year": 2035},
        future_at=("year", "2035"),
    ),
    "bdd_officers_fy": Layout(
        "officers.csv",
        officers_fy,
        "officers_mean",
        "force_name, year",
        whole=False,
        future={"year": 2035},
        future_at=("year", "2035"),
        cap=None,
        maximum=100000,
    ),
    "ho_arrests_fy": Layout(
        "arrests.csv",
        arrests_fy,
        "arrests",
        "force_name, year_ending",
        future={"year_ending": "2035-03-31", "financial_year": "2034/35"},
        future_at=("year_ending", "2035-03-31"),
    ),
    "ons_p4_knife_rolling_year": Layout(
        "p4.csv",
        p4_knife,
        "knife_count",
        "area_name, year_ending",
        "area_name",
        "area_code",
        future={"year_ending": "2035-03-31"},
        future_at=("year_ending", "2035-03-31"),
    ),
    "ons_p5_knife": Layout(
        "p5.csv",
        p5_knife,
        "knife_count_selected_offences",
        "area_name, edition_year_ending, period_end",
        "area_name",
        "area_code",
        future={"period_end": "2035-03-31"},
        future_at=("period_end", "2035-03-31"),
    ),
    "ons_css_fy": Layout(
        "css.csv",
        css_fy,
        "severity_score",
        "area_name, year_ending, offence_group",
        "area_name",
        "area_code",
        whole=False,
        future={"year_ending": "2035-03-31"},
        future_at=("year_ending", "2035-03-31"),
        cap=None,
    ),
    "border_force_seizures": Layout(
        "bf.csv",
        border_force,
        "seizures",
        "year_ending, drug",
        None,
        None,
        future={"year_ending": "2035-03-31"},
        future_at=("year_ending", "2035-03-31"),
        cap=None,
    ),
    "ons_homicide_by_method": Layout(
        "hm.csv",
        homicide_method,
        "count",
        "method, sex, date",
        None,
        None,
        future={"date": "2035-04-01"},
        future_at=("date", "2035-04-01"),
        cap=None,
    ),
    "nhs_hes_x99_region": Layout(
        "hes.csv",
        hes_region,
        "value",
        "month, region",
        None,
        None,
        future={"month": "2035-05", "financial_year": "2035-36"},
        future_at=("month", "2035-05"),
        cap="London (9,002,488, data/forces.csv)",
    ),
}
CSV_KINDS = list(LAYOUTS)


def reader(layout: str) -> str:
    """The reader kind of a layout name ('ho_prc_offence_codes (published CSV)' -> its kind)."""
    return layout.split(" (")[0]


def _set(frame: pd.DataFrame, row: int, values: dict) -> pd.DataFrame:
    frame = frame.astype({c: object for c in values})
    for col, v in values.items():
        frame.loc[row, col] = v
    return frame


def _setup(d: Path, kind: str, frame: pd.DataFrame | None = None, raw: bytes | None = None) -> Path:
    """The base sources, the manifest, and the table of `kind` (a frame, or raw bytes)."""
    layout = LAYOUTS[kind]
    published_prc().to_csv(d / "prc.csv", index=False)
    midyear().to_csv(d / "pop.csv", index=False)
    manifest = BASE
    if reader(kind) not in ("ho_prc_offence_codes", "ons_population_midyear"):
        manifest += f'[[source]]\nkind = "{reader(kind)}"\npath = "{layout.file}"\n'
    (d / "m.toml").write_text(manifest)
    if raw is not None:
        (d / layout.file).write_bytes(raw)
    else:
        (layout.frame() if frame is None else frame).to_csv(d / layout.file, index=False)
    return d / "m.toml"


def _ingest(d: Path, manifest: Path):
    """Run the CLI over an output folder that holds an earlier panel, replacing it with --force."""
    out = d / "out"
    out.mkdir(exist_ok=True)
    (out / "panel.nc").write_text("an earlier result")
    return runner.invoke(
        app, ["data", "ingest", str(manifest), "--out", str(out / "panel.nc"), "--force"]
    )


def _assert_refused(d: Path, result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [f"error: {message}"]
    assert [p.name for p in (d / "out").iterdir()] == ["panel.nc"]
    assert (d / "out" / "panel.nc").read_text() == "an earlier result"


def _generic_cases(kind: str) -> list[tuple[str, object, str]]:
    """(class, frame -> broken frame or bytes, message with {p} for the file) for `kind`."""
    lay = LAYOUTS[kind]
    base = lay.frame()
    cell = f"{{p}}, row {LINE}, column {lay.value}"
    n = len(base)
    orig = float(base.at[R, lay.value])
    nullable = kind != "ons_population_midyear"
    need = MARKER_HINT if nullable else "every row needs the published figure here"
    cases = [
        ("pandas NA string", {lay.value: "n/a"}, f"{cell}: 'n/a' is not a number; {need}"),
        ("NULL", {lay.value: "NULL"}, f"{cell}: 'NULL' is not a number; {need}"),
        (
            "duplicate row",
            lambda f: pd.concat([f, f.iloc[[R]]], ignore_index=True),
            f"{{p}}, row {n + 2}: repeats row {LINE} (same {lay.keys}); delete one of them",
        ),
        (
            "duplicate key, two values",
            lambda f: pd.concat([f, _set(f, R, {lay.value: 99}).iloc[[R]]], ignore_index=True),
            f"{{p}}, row {n + 2}, column {lay.value}: 99 for the same {lay.keys} as row {LINE}, "
            f"which has {orig:.10g}; keep the right one and delete the other",
        ),
        (
            "header only",
            lambda f: f.iloc[:0],
            "{p}: the table has a header but no rows; export it again with its data",
        ),
        (
            "bad encoding",
            "encoding",
            f"{{p}}, row {LINE}: byte 0xe9 is not UTF-8 text; save the file as UTF-8 "
            "(in Excel: CSV UTF-8) and ingest it again",
        ),
    ]
    if lay.whole:
        cases += [
            (
                "fraction",
                {lay.value: "12.5"},
                f"{cell}: '12.5' is not a whole number; a count is whole: fix the cell",
            ),
            (
                "absurd count",
                {lay.value: "1000000000000"},
                f"{cell}: '1000000000000' is more than the population of England and Wales "
                f"({EW}); fix the cell",
            ),
        ]
    else:
        cases.append(
            (
                "absurd score",
                {lay.value: "1000000000000"},
                f"{cell}: '1000000000000' is above {lay.maximum:g}, which is impossible here; "
                "fix the cell",
            )
        )
    if kind == "ons_population_midyear":
        cases.append(
            (
                "negative",
                {lay.value: "-37"},
                f"{cell}: -37 for Kent mid-2012 is not a positive number of persons; fix the cell",
            )
        )
    elif kind.startswith("ho_prc"):
        codes = reader(kind) == "ho_prc_offence_codes"
        what = "34B (robbery)" if codes else "group:Drug offences (drug_offences)"
        cases.append(
            (
                "negative beyond an adjustment",
                {lay.value: "-37"},
                f"{cell}: -37 for offence code {what}, Kent 2012Q2 is negative beyond a "
                "reclassification adjustment (-1 or -2, or one listed in "
                "data/reclassification_adjustments.csv); fix the cell, or document the adjustment "
                "in that file with its source",
            )
        )
    else:
        cases.append(
            (
                "negative",
                {lay.value: "-37"},
                f"{cell}: '-37' is below 0, which is impossible here; fix the cell",
            )
        )
    if lay.cap:
        cases.append(
            (
                "above the population",
                {lay.value: "20000000" if "London" in lay.cap else "2000000"},
                f"{cell}: {20000000 if 'London' in lay.cap else 2000000} is more than the "
                f"population of {lay.cap}; fix the cell",
            )
        )
    if lay.future:
        col, shown = lay.future_at
        cases.append(
            (
                "after today",
                lay.future,
                f"{{p}}, row {LINE}, column {col}: '{shown}' is after the current quarter {NOW}; "
                "a published figure cannot be from the future: fix the date",
            )
        )
    if lay.code:
        cases.append(
            (
                "code contradicts name",
                {lay.code: "E23000028"},
                f"{{p}}, row {LINE}, column {lay.code}: 'E23000028' is the ONS code of Essex, but "
                f"column {lay.force} names Kent (E23000032); correct one of them",
            )
        )
    return [(f"{kind}: {name}", kind, how, msg) for name, how, msg in cases]


SPECIFIC = [
    (
        "ho_prc_offence_codes: quarter_start contradicts fy_quarter",
        "ho_prc_offence_codes",
        {"quarter_start": "2012-07-01"},
        f"{{p}}, row {LINE}, column quarter_start: '2012-07-01' is not the first day of 2012/13 Q1 "
        "(2012-04-01) given in columns financial_year/fy_quarter; correct one of them",
    ),
    (
        "ho_prc_offence_codes: annual row in a quarterly table",
        "ho_prc_offence_codes",
        {"fy_quarter": ""},
        f"{{p}}, row {LINE}, column fy_quarter: '' is not a financial quarter 1-4; this looks like "
        "an annual row in a quarterly table: remove it",
    ),
    (
        "ho_prc_offence_codes: bad financial year",
        "ho_prc_offence_codes",
        {"financial_year": "2012/14"},
        f"{{p}}, row {LINE}, column financial_year: '2012/14' is not a financial year like 2012/13; "
        "write the two consecutive years like 2012/13",
    ),
    (
        "ho_prc_offence_codes (published CSV): annual row in a quarterly table",
        "ho_prc_offence_codes (published CSV)",
        {"Financial Quarter": ""},
        f"{{p}}, row {LINE}, column Financial Quarter: '' is not a financial quarter 1-4; this looks "
        "like an annual row in a quarterly table: remove it",
    ),
    (
        "ho_prc_offence_groups: calendar_quarter 2019Q5",
        "ho_prc_offence_groups",
        {"calendar_quarter": "2019Q5"},
        f"{{p}}, row {LINE}, column calendar_quarter: '2019Q5' is not a calendar quarter like "
        "2019Q4; write it like 2019Q4",
    ),
    (
        "ho_prc_offence_groups: calendar_quarter contradicts fy_quarter",
        "ho_prc_offence_groups",
        {"calendar_quarter": "2012Q3"},
        f"{{p}}, row {LINE}, column calendar_quarter: '2012Q3' is not 2012/13 Q1 (2012Q2) given in "
        "columns financial_year/fy_quarter; correct one of them",
    ),
    (
        "ho_prc_offence_groups: annual row in a quarterly table",
        "ho_prc_offence_groups",
        {"fy_quarter": ""},
        f"{{p}}, row {LINE}, column fy_quarter: '' is not a financial quarter 1-4; this looks like "
        "an annual row in a quarterly table: remove it",
    ),
    (
        "bdd_seizures_fy: year_ending contradicts financial_year",
        "bdd_seizures_fy",
        {"year_ending": "2014-06-30"},
        f"{{p}}, row {LINE}, column year_ending: '2014-06-30' is not the end of financial year "
        "2013/14 (2014-03-31) in column financial_year; correct one of them",
    ),
    (
        "ho_arrests_fy: year_ending contradicts financial_year",
        "ho_arrests_fy",
        {"financial_year": "2012/13"},
        f"{{p}}, row {LINE}, column year_ending: '2014-03-31' is not the end of financial year "
        "2012/13 (2013-03-31) in column financial_year; correct one of them",
    ),
    (
        "bdd_drug_deaths_3y: period_start_year contradicts year",
        "bdd_drug_deaths_3y",
        {"period_start_year": 2013},
        f"{{p}}, row {LINE}, column period_start_year: '2013' is not the first year of the 3 years "
        "ending 2014 (column year), 2012; correct one of them",
    ),
    (
        "nhs_hes_x99_region: month outside its financial year",
        "nhs_hes_x99_region",
        {"month": "2013-05"},
        f"{{p}}, row {LINE}, column month: '2013-05' is not in financial year 2012-13 (column "
        "financial_year); correct one of them",
    ),
    (
        "ons_population_midyear: a year after this one",
        "ons_population_midyear",
        {"mid_year": 2035},
        f"{{p}}, row {LINE}, column mid_year: '2035' is after this year ({NOW.year}); a published "
        "estimate cannot be from the future: fix the year",
    ),
]
CASES = [c for kind in CSV_KINDS for c in _generic_cases(kind)] + SPECIFIC


def _broken(d: Path, kind: str, how) -> Path:
    frame = LAYOUTS[kind].frame()
    if how == "encoding":  # a Latin-1 byte in row R's line
        lines = frame.to_csv(index=False).splitlines(keepends=True)
        lines[R + 1] = "é" + lines[R + 1]
        raw = "".join(lines[: R + 1]).encode() + lines[R + 1].encode("latin-1")
        return _setup(d, kind, raw=raw + "".join(lines[R + 2 :]).encode())
    broken = how(frame) if callable(how) else _set(frame, R, how)
    return _setup(d, kind, broken)


def test_the_cases_cover_every_reader_kind_of_the_shipped_manifest():
    manifest = tomllib.loads((ROOT / "data" / "manifests" / "realdata.toml").read_text())
    kinds = {s["kind"] for s in manifest["source"]}
    assert kinds == {
        *map(reader, CSV_KINDS),
        "ons_p1_xlsx",
    }  # ons_p1_xlsx: test_p1_workbook_refuses
    for kind in CSV_KINDS:
        assert {c[0].split(": ")[1] for c in CASES if c[1] == kind} >= {
            "pandas NA string",
            "duplicate row",
            "duplicate key, two values",
            "header only",
            "bad encoding",
            "negative" if not kind.startswith("ho_prc") else "negative beyond an adjustment",
        }


@pytest.mark.parametrize(("case", "kind", "how", "message"), CASES, ids=[c[0] for c in CASES])
def test_impossible_input_is_refused_in_one_line(tmp_path, case, kind, how, message):
    result = _ingest(tmp_path, _broken(tmp_path, kind, how))
    _assert_refused(tmp_path, result, message.format(p=tmp_path / LAYOUTS[kind].file))


@pytest.mark.filterwarnings("error")  # no numpy/pandas warning on valid input
@pytest.mark.parametrize("kind", CSV_KINDS)
def test_valid_tables_ingest_silently_and_take_the_official_markers(tmp_path, kind):
    layout = LAYOUTS[kind]
    frame = layout.frame()
    if kind != "ons_population_midyear":  # every official marker is missing, not an error
        frame = _set(frame, R, {layout.value: ".."})
    result = runner.invoke(
        app, ["data", "ingest", str(_setup(tmp_path, kind, frame)), "--out", str(tmp_path / "p.nc")]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (tmp_path / "p.nc").exists()


@pytest.mark.filterwarnings("error")
def test_a_table_without_92d_prints_no_numpy_warning(tmp_path):
    prc = published_prc()
    prc = prc[prc["Offence Code"] != "92D"]
    manifest = _setup(tmp_path, "ho_prc_offence_codes")
    prc.to_csv(tmp_path / "prc.csv", index=False)
    result = runner.invoke(app, ["data", "ingest", str(manifest), "--out", str(tmp_path / "p.nc")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_reclassification_adjustment_is_one_warning_line(tmp_path):
    frame = _set(prc_tidy(), R, {"count": -1.0})
    result = runner.invoke(
        app,
        [
            "data",
            "ingest",
            str(_setup(tmp_path, "ho_prc_offence_codes", frame)),
            "--out",
            str(tmp_path / "p.nc"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"warning: {tmp_path / 'prc.csv'}, row {LINE}, column count: -1 for offence code 34B "
        "(robbery), Kent 2012Q2 is a reclassification adjustment; the series is missing that quarter"
    ]


def test_missing_middle_population_year_is_one_warning_line(tmp_path):
    frame = midyear().drop(index=2).reset_index(drop=True)  # Kent 2013
    result = runner.invoke(
        app,
        [
            "data",
            "ingest",
            str(_setup(tmp_path, "ons_population_midyear", frame)),
            "--out",
            str(tmp_path / "p.nc"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"warning: {tmp_path / 'pop.csv'}, column mid_year: no row for Kent mid-2013; its "
        "population is interpolated between the years either side"
    ]


P1_CELL = "{p}, sheet Table P1, row 9, column F"
P1_CASES = [
    ("pandas NA string", {"Homicide": "n/a"}, f"{P1_CELL}: 'n/a' is not a number; {MARKER_HINT}"),
    (
        "fraction",
        {"Homicide": 12.5},
        f"{P1_CELL}: '12.5' is not a whole number; a count is whole: fix the cell",
    ),
    (
        "absurd count",
        {"Homicide": 1e12},
        f"{P1_CELL}: '1000000000000' is more than the population of England and Wales ({EW}); "
        "fix the cell",
    ),
    (
        "negative",
        {"Homicide": -37},
        f"{P1_CELL}: '-37' is below 0, which is impossible here; fix the cell",
    ),
    (
        "above the population",
        {"Homicide": 2000000},
        f"{P1_CELL}: 2000000 is more than the population of Kent (1,868,199, data/forces.csv); "
        "fix the cell",
    ),
    (
        "duplicate row",
        {"extra_rows": [["E23000032", "Kent", 20, None, 8, 2, 7]]},
        "{p}, sheet Table P1, row 11: repeats row 9 (same Area Code); delete one of them",
    ),
    (
        "code contradicts name",
        {"Area Code": "E23000028"},
        "{p}, sheet Table P1, row 9, column A: 'E23000028' is the ONS code of Essex, but column B "
        "names Kent (E23000032); correct one of them",
    ),
    (
        "header only",
        {},
        None,  # built below: every force row removed
    ),
]


@pytest.mark.parametrize(("case", "kent", "message"), P1_CASES, ids=[c[0] for c in P1_CASES])
def test_p1_workbook_refuses(tmp_path, case, kent, message):
    manifest = _setup(tmp_path, "ho_prc_offence_codes")
    with manifest.open("a") as fh:
        fh.write('[[source]]\nkind = "ons_p1_xlsx"\npath = "p1.xlsx"\n')
    if case == "header only":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Table P1"
        for r in (
            ["Table P1: ..., year ending June 2018"],
            [],
            ["Area Code", "Area Name", "Homicide", "Robbery"],
        ):
            ws.append(r)
        wb.save(tmp_path / "p1.xlsx")
        message = "{p}, sheet Table P1: no police force area rows (codes E23…/W15…)"
    else:
        write_p1_xlsx(tmp_path / "p1.xlsx", **kent)
    result = _ingest(tmp_path, manifest)
    _assert_refused(tmp_path, result, message.format(p=tmp_path / "p1.xlsx"))


def test_p1_workbook_from_the_future_is_refused(tmp_path):
    manifest = _setup(tmp_path, "ho_prc_offence_codes")
    with manifest.open("a") as fh:
        fh.write('[[source]]\nkind = "ons_p1_xlsx"\npath = "p1.xlsx"\n')
    write_p1_xlsx(tmp_path / "p1.xlsx", title="Table P1: ..., year ending June 2035")
    result = _ingest(tmp_path, manifest)
    _assert_refused(
        tmp_path,
        result,
        f"{tmp_path / 'p1.xlsx'}, sheet Table P1, row 1: the title's year ending (2035Q2) is after "
        "the current quarter; fix the title",
    )


def test_panel_table_takes_only_the_official_markers(tmp_path, small_panel):
    from forecast.ingest.panel import panel_to_frame

    frame = panel_to_frame(small_panel).astype({"robbery": object})
    frame.loc[3, "robbery"] = "n/a"
    frame.to_csv(tmp_path / "panel.csv", index=False)
    result = runner.invoke(app, ["data", "check", str(tmp_path / "panel.csv")])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'panel.csv'}, row 5, column robbery: 'n/a' is not a number"
    ]
