"""Bad inputs to `forecast data ingest`: one exact line on stderr, exit 1, and no output file left."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli.app import app
from tests.unit.ingest.test_ingest import midyear, published_prc

runner = CliRunner()
MANIFEST = (
    'vintage = "test"\n[[source]]\nkind = "ho_prc_offence_codes"\npath = "prc.csv"\n'
    '[[source]]\nkind = "ons_population_midyear"\npath = "pop.csv"\n'
)


def _csv(frame):
    return lambda d: frame.to_csv(d / "prc.csv", index=False)


def _prc(mutate):
    return lambda d: mutate(published_prc()).to_csv(d / "prc.csv", index=False)


def _pop(mutate):
    return lambda d: mutate(midyear()).to_csv(d / "pop.csv", index=False)


def _manifest(text):
    return lambda d: (d / "m.toml").write_text(text)


def _set(frame, row, col, value):
    frame = frame.astype({col: object})
    frame.loc[row, col] = value
    return frame


CASES = [
    (
        "unknown force",
        _prc(lambda t: _set(t, 0, "Force Name", "Kentt")),
        "{d}/prc.csv, row 2, column Force Name: unknown police force 'Kentt': did you mean 'Kent'?",
    ),
    (
        "force without close match",
        _prc(lambda t: _set(t, 0, "Force Name", "Atlantis")),
        "{d}/prc.csv, row 2, column Force Name: unknown police force 'Atlantis': "
        "see data/forces.csv for the 43 force names",
    ),
    (
        "count not a number",
        _prc(lambda t: _set(t, 3, "Number of Offences", "many")),
        "{d}/prc.csv, row 5, column Number of Offences: 'many' is not a number",
    ),
    (
        "bad financial year",
        _prc(lambda t: _set(t, 0, "Financial Year", "2012-13")),
        "{d}/prc.csv, row 2, column Financial Year: '2012-13' is not a financial year like 2012/13; "
        "write the two consecutive years like 2012/13",
    ),
    (
        "bad financial quarter",
        _prc(lambda t: _set(t, 0, "Financial Quarter", 5)),
        "{d}/prc.csv, row 2, column Financial Quarter: '5' is not a financial quarter 1-4; "
        "write 1, 2, 3 or 4",
    ),
    (
        "missing offence code column",
        _prc(lambda t: t.drop(columns=["Offence Code"])),
        "{d}/prc.csv: missing column(s) offence_code; expected the Home Office open data layout (Financial Year, "
        "Financial Quarter, Force Name, Offence Code, Number of Offences)",
    ),
    (
        "missing count column",
        _prc(lambda t: t.drop(columns=["Number of Offences"])),
        "{d}/prc.csv: missing column(s) count; expected the Home Office open data layout (Financial Year, "
        "Financial Quarter, Force Name, Offence Code, Number of Offences)",
    ),
    (
        "empty file",
        lambda d: (d / "prc.csv").write_text(""),
        "{d}/prc.csv: not a readable CSV table (No columns to parse from file)",
    ),
    (
        "population negative",
        _pop(lambda t: _set(t, 2, "population", -4)),
        "{d}/pop.csv, row 4, column population: -4 for Kent mid-2013 is not a positive number of "
        "persons; fix the cell",
    ),
    (
        "population text",
        _pop(lambda t: _set(t, 1, "population", "n/k")),
        "{d}/pop.csv, row 3, column population: 'n/k' is not a number; every row needs the published "
        "figure here",
    ),
    (
        "population unknown force",
        _pop(lambda t: _set(t, 6, "area_name", "Devon")),
        "{d}/pop.csv, row 8, column area_name: unknown police force 'Devon': did you mean 'Devon and Cornwall'?",
    ),
    (
        "population missing column",
        _pop(lambda t: t.drop(columns=["mid_year"])),
        "{d}/pop.csv: missing column(s) mid_year; expected ['area_name', 'mid_year', 'population']",
    ),
    (
        "population single year",
        _pop(lambda t: t[(t["mid_year"] == 2013) | (t["area_name"] != "Kent")]),
        "{d}/pop.csv, column mid_year: Kent has 1 mid-year estimate(s); the population needs at least "
        "two years per force",
    ),
    ("manifest not TOML", _manifest("[[source]\n"), "{d}/m.toml: not valid TOML"),
    (
        "manifest unknown key",
        _manifest('colour = "red"\n' + MANIFEST),
        "{d}/m.toml: unknown key(s) ['colour']; a manifest has vintage and [[source]]",
    ),
    (
        "manifest unknown kind",
        _manifest(MANIFEST + '[[source]]\nkind = "police_uk"\npath = "prc.csv"\n'),
        "{d}/m.toml: source 3 has kind 'police_uk'; known kinds are",
    ),
    (
        "manifest missing file",
        _manifest(MANIFEST.replace("pop.csv", "popn.csv")),
        "{d}/m.toml: source 2 (ons_population_midyear) file {d}/popn.csv does not exist",
    ),
    (
        "manifest without population",
        _manifest(MANIFEST.split('[[source]]\nkind = "ons')[0]),
        "{d}/m.toml: no [[source]] of kind 'ons_population_midyear'; the panel needs one",
    ),
    ("manifest absent", lambda d: (d / "m.toml").unlink(), "{d}/m.toml: no such manifest file"),
    (
        "annual source bad value",
        lambda d: (
            pd.DataFrame(
                {"year": [2013], "force_name": ["Kent"], "knife_offences": ["12a"]}
            ).to_csv(d / "k.csv", index=False),
            (d / "m.toml").write_text(
                MANIFEST + '[[source]]\nkind = "bdd_knife_fy"\npath = "k.csv"\n'
            ),
        ),
        "{d}/k.csv, row 2, column knife_offences: '12a' is not a number",
    ),
    (
        "annual source missing column",
        lambda d: (
            pd.DataFrame({"year": [2013], "force_name": ["Kent"]}).to_csv(d / "k.csv", index=False),
            (d / "m.toml").write_text(
                MANIFEST + '[[source]]\nkind = "bdd_knife_fy"\npath = "k.csv"\n'
            ),
        ),
        "{d}/k.csv: missing column(s) knife_offences; expected ['year', 'force_name', 'knife_offences']",
    ),
    (
        "regional source with a bad month",
        lambda d: (
            pd.DataFrame(
                {"month": ["2012-13"], "region": ["London"], "measure": ["FAEs"], "value": [5]}
            ).to_csv(d / "hes.csv", index=False),
            (d / "m.toml").write_text(
                MANIFEST + '[[source]]\nkind = "nhs_hes_x99_region"\npath = "hes.csv"\n'
            ),
        ),
        "{d}/hes.csv, row 2, column month: '2012-13' is not a YYYY-MM month",
    ),
]


@pytest.mark.parametrize(("case", "breaks", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_leaves_no_output(tmp_path, case, breaks, message):
    published_prc().to_csv(tmp_path / "prc.csv", index=False)
    midyear().to_csv(tmp_path / "pop.csv", index=False)
    (tmp_path / "m.toml").write_text(MANIFEST)
    out = tmp_path / "out" / "panel.nc"
    out.parent.mkdir()
    (out.parent / "earlier.nc").write_text("an earlier result")
    breaks(tmp_path)
    result = runner.invoke(app, ["data", "ingest", str(tmp_path / "m.toml"), "--out", str(out)])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message.format(d=tmp_path) in lines[0]
    assert sorted(p.name for p in out.parent.iterdir()) == ["earlier.nc"]
    assert (out.parent / "earlier.nc").read_text() == "an earlier result"


def test_official_not_available_markers_are_missing_not_errors(tmp_path):
    prc = published_prc().astype({"Number of Offences": object})
    prc.loc[
        (prc["Force Name"] == "Kent") & (prc["Offence Code"] == "34B"), "Number of Offences"
    ] = ".."
    prc.to_csv(tmp_path / "prc.csv", index=False)
    midyear().to_csv(tmp_path / "pop.csv", index=False)
    (tmp_path / "m.toml").write_text(MANIFEST)
    result = runner.invoke(
        app, ["data", "ingest", str(tmp_path / "m.toml"), "--out", str(tmp_path / "p.nc")]
    )
    assert result.exit_code == 0, result.stderr
    from forecast.ingest.panel import load_panel

    robbery = load_panel(tmp_path / "p.nc")["count"].sel(outcome="robbery", force="Kent")
    assert robbery.isnull().all()
