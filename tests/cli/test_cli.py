"""The CLI through typer's runner: outputs, --force, one-line errors and exit codes."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecast.cli.app import app
from forecast.outputs.export import COLUMNS

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(
    "command",
    [
        "demo",
        "simulate",
        "fit",
        "predict",
        "summary",
        "check",
        "scenario",
        "dhi",
        "backtest",
        "compare",
        "publish",
        "export",
    ],
)
def test_every_command_has_help_with_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example: forecast " + command in " ".join(result.output.split())


def test_simulate_writes_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "panel.nc"
    ok = run("simulate", out, "--periods", 12, "--only", "Kent", "--only", "Essex", "--seed", 4)
    assert ok.exit_code == 0, ok.output
    assert "2 forces x 12 quarters (2012Q2-2015Q1), seed 4" in ok.output
    before = out.read_bytes()
    again = run("simulate", out, "--periods", 12)
    assert again.exit_code == 1
    assert "already exists: choose another output or pass --force to replace it" in again.stderr
    assert "Traceback" not in again.output + again.stderr
    assert out.read_bytes() == before
    assert run("simulate", out, "--periods", 10, "--force").exit_code == 0


def test_simulate_csv_then_fit_predict_summary(tmp_path, monkeypatch):
    panel = tmp_path / "panel.csv"
    assert (
        run(
            "simulate",
            panel,
            "--periods",
            12,
            "--only",
            "Kent",
            "--only",
            "Dorset",
            "--only",
            "Gwent",
        ).exit_code
        == 0
    )
    fitted = run(
        "--quiet",
        "fit",
        panel,
        "--out",
        tmp_path / "fit",
        "--draws",
        30,
        "--tune",
        30,
        "--chains",
        1,
        "--seed",
        3,
    )
    assert fitted.exit_code == 0, fitted.output + fitted.stderr
    assert {p.name for p in (tmp_path / "fit").iterdir()} == {
        ".forecast-outputs.json",
        "fit.nc",
        "diagnostics.csv",
        "effects.csv",
    }
    assert "availability effect" in fitted.output
    pred = run("predict", tmp_path / "fit" / "fit.nc", "--out", tmp_path / "fc", "--horizon", 2)
    assert pred.exit_code == 0, pred.output + pred.stderr
    table = pd.read_csv(tmp_path / "fc" / "forecast.csv")
    assert list(table.columns) == list(COLUMNS)
    assert table["horizon"].max() == 2
    assert (tmp_path / "fc" / "fan_chart.png").stat().st_size > 10_000
    summ = run("summary", tmp_path / "fit" / "fit.nc")
    assert summ.exit_code == 0 and "availability_beta" in summ.output
    strict = run("summary", tmp_path / "fit" / "fit.nc", "--strict")
    assert strict.exit_code == 2  # 30 draws of one chain cannot pass the gates
    assert "gates not met" in strict.output


def test_bad_spec_fails_before_sampling_with_one_line(tmp_path, small_sim):
    from forecast.ingest.panel import save_panel

    panel = save_panel(small_sim, tmp_path / "p.nc")
    spec = tmp_path / "bad.toml"
    spec.write_text("[trend]\nsigmaa = 0.1\n")
    result = run("fit", panel, "--out", tmp_path / "o", "--spec", spec)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {spec}: unknown key 'trend.sigmaa' (check its spelling against models/default.toml)"
    ]
    assert not (tmp_path / "o").exists()
    with pytest.raises(Exception, match="unknown key"):
        runner.invoke(
            app,
            ["--debug", "fit", str(panel), "--out", str(tmp_path / "o"), "--spec", str(spec)],
            catch_exceptions=False,
        )


def test_bad_panel_row_is_named_and_nothing_is_written(tmp_path, small_panel):
    from forecast.ingest.panel import panel_to_frame

    frame = panel_to_frame(small_panel)
    frame.loc[7, "homicide"] = -1
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    result = run("fit", path, "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert f"{path}, row 9, column homicide: negative count -1" in result.stderr
    assert not (tmp_path / "o").exists()


def test_predict_from_a_missing_or_corrupt_fit(tmp_path):
    missing = run("predict", tmp_path / "nope.nc", "--out", tmp_path / "o")
    assert missing.exit_code == 1 and "no such fit file; run `forecast fit` first" in missing.stderr
    junk = tmp_path / "fit.nc"
    junk.write_text("garbage")
    corrupt = run("predict", junk, "--out", tmp_path / "o")
    assert corrupt.exit_code == 1 and "not a readable fit file" in corrupt.stderr


def test_predict_refuses_to_overwrite_previous_forecast(tmp_path, tiny_fit_path):
    out = tmp_path / "fc"
    assert run("predict", tiny_fit_path, "--out", out, "--horizon", 1).exit_code == 0
    before = (out / "forecast.csv").read_bytes()
    again = run("predict", tiny_fit_path, "--out", out, "--horizon", 3)
    assert again.exit_code == 1 and "pass --force" in again.stderr
    assert (out / "forecast.csv").read_bytes() == before


def test_data_ingest_writes_a_panel_and_fails_cleanly(tmp_path):
    from tests.unit.ingest.test_ingest import midyear, published_prc

    published_prc().to_csv(tmp_path / "prc.csv", index=False)
    midyear().to_csv(tmp_path / "pop.csv", index=False)
    manifest = tmp_path / "m.toml"
    manifest.write_text(
        '[[source]]\nkind = "ho_prc_offence_codes"\npath = "prc.csv"\n'
        '[[source]]\nkind = "ons_population_midyear"\npath = "pop.csv"\n'
    )
    ok = run("data", "ingest", manifest, "--out", tmp_path / "panel.nc")
    assert ok.exit_code == 0, ok.output + ok.stderr
    assert "2 forces x 9 quarters (2012Q2-2014Q2), outcomes: homicide, robbery" in ok.output
    manifest.write_text('[[source]]\nkind = "ho_prc_offence_codes"\npath = "missing.csv"\n')
    bad = run("data", "ingest", manifest, "--out", tmp_path / "other.nc")
    assert bad.exit_code == 1 and "missing.csv does not exist" in bad.stderr
    assert not (tmp_path / "other.nc").exists()


def test_data_check_and_show(tmp_path, small_sim):
    from forecast.ingest.panel import save_panel

    panel = save_panel(small_sim, tmp_path / "p.nc")
    check = run("data", "check", panel)
    assert check.exit_code == 0 and "coverage" in check.output and "flags (" in check.output
    show = run(
        "data",
        "show",
        panel,
        "--series",
        "robbery",
        "--plot",
        tmp_path / "cov.png",
        "--long",
        tmp_path / "long.csv",
        "--rates",
        tmp_path / "rates.csv",
    )
    assert show.exit_code == 0, show.output + show.stderr
    assert (tmp_path / "cov.png").stat().st_size > 5_000
    long = pd.read_csv(tmp_path / "long.csv")
    assert list(long.columns) == [
        "force",
        "force_code",
        "region",
        "period",
        "series",
        "value",
        "unit",
        "aggregation",
        "source",
        "vintage",
    ]
    assert set(long["series"]) >= {"homicide", "robbery", "knife", "population", "trafficking"}
    assert len(long[long["series"] == "robbery"]) == 6 * 16
    rates = pd.read_csv(tmp_path / "rates.csv")
    assert set(rates["area_level"]) == {"force", "region", "national"}
    bad = run("data", "show", panel, "--series", "burglary")
    assert bad.exit_code == 1 and "no series 'burglary'" in bad.stderr


def test_demo_accepts_a_given_panel(tmp_path, small_sim):
    from forecast.ingest.panel import save_panel

    panel = save_panel(small_sim["panel"].to_dataset(), tmp_path / "p.nc")
    result = run(
        "--quiet",
        "demo",
        "--out",
        tmp_path / "demo",
        "--panel",
        panel,
        "--draws",
        20,
        "--tune",
        20,
        "--chains",
        1,
        "--horizon",
        1,
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "demo finished" in result.output
    table = pd.read_csv(tmp_path / "demo" / "forecast.csv")
    assert set(table["area"]) >= {"Kent", "Gwent", "All forces in panel"}
    assert "truth" not in pd.read_csv(tmp_path / "demo" / "effects.csv").columns


def test_check_prints_both_tables_and_strict_passes_a_good_fit(tiny_fit_path):
    result = run("check", tiny_fit_path, "--strict", "--draws", 50)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "prior predictive: national rate per 100,000 per quarter" in text
    assert "posterior predictive checks" in text and "all predictive checks pass" in text


def test_predict_draws_fan_charts_per_area(tmp_path, tiny_fit_path):
    out = tmp_path / "fc"
    res = run("predict", tiny_fit_path, "--out", out, "--horizon", 2, "--charts", "all")
    assert res.exit_code == 0, res.output
    # 6 forces + 4 (partial) regions + the panel total, PNG and SVG each
    assert len(list((out / "fan_charts").glob("*.png"))) == 11
    assert len(list((out / "fan_charts").glob("*.svg"))) == 11
    assert (out / "fan_charts" / "all_forces_in_panel.png").stat().st_size > 10_000
    bad = run("predict", tiny_fit_path, "--out", tmp_path / "x", "--charts", "some")
    assert bad.exit_code == 1 and "--charts: choose one of" in bad.stderr


def test_scenario_command_writes_tables_and_fails_cleanly(tmp_path, tiny_fit_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        'name = "up"\n[[change]]\nforces = ["Kent"]\nfrom = "2016Q2"\nshift_sd = 1\n'
    )
    out = tmp_path / "sc"
    res = run("scenario", tiny_fit_path, scenario, "--out", out, "--horizon", 3)
    assert res.exit_code == 0, res.output
    assert "scenario minus baseline" in res.output
    table = pd.read_csv(out / "scenario.csv")
    assert set(table["quantity"]) == {"expected_offences", "percent"}
    assert (out / "scenario.svg").exists()
    scenario.write_text(
        'name = "up"\n[[change]]\nforces = ["Kentt"]\nfrom = "2016Q2"\nshift_sd = 1\n'
    )
    bad = run("scenario", tiny_fit_path, scenario, "--out", tmp_path / "sc2")
    assert bad.exit_code == 1
    assert "unknown police force 'Kentt': did you mean 'Kent'?" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert not (tmp_path / "sc2").exists()


def test_dhi_command_writes_the_index_and_fails_cleanly(tmp_path, tiny_fit_path):
    out = tmp_path / "dhi"
    res = run("dhi", tiny_fit_path, "--base", "2014", "--out", out, "--weights", "cambridge")
    assert res.exit_code == 0, res.output
    assert "Drugs Harm Index, All forces in panel (2014 = 100)" in res.output
    for name in ("dhi.csv", "dhi_decomposition.csv", "dhi_sensitivity.csv", "dhi.svg"):
        assert (out / name).exists(), name
    table = pd.read_csv(out / "dhi.csv")
    nat = table[(table["area_level"] == "national") & (table["quantity"] == "dhi")]
    assert nat["is_forecast"].sum() == 4
    weights = tmp_path / "w.csv"
    weights.write_text("outcome,weight,unit,price_year,source\nhomicide,1,GBP,,x\n")
    for args, message in (
        (("--base", "2030"), "base period 2030 is outside the data"),
        (("--base", "2014", "--weights", weights), "no weight for outcome 'robbery'"),
    ):
        bad = run("dhi", tiny_fit_path, "--out", tmp_path / "d2", "--force", *args)
        assert bad.exit_code == 1, bad.output
        assert message in bad.stderr and "Traceback" not in bad.stderr


def test_export_writes_the_stable_tables_and_posterior(tmp_path, tiny_fit_path):
    import json

    import arviz as az

    out = tmp_path / "export"
    res = run("export", tiny_fit_path, "--base", "2014", "--out", out, "--horizon", 2)
    assert res.exit_code == 0, res.output
    assert list(pd.read_csv(out / "forecast.csv").columns) == list(COLUMNS)
    package = json.loads((out / "datapackage.json").read_text())
    for resource in package["resources"]:
        assert (out / resource["path"]).exists(), resource["path"]
    assert "posterior" in az.from_netcdf(out / "posterior.nc").children
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema_version"] == "2.0.0"
    assert [r["quantity"] for r in summary["attributable"]] == [
        "attributable_harm",
        "attributable_share",
    ]
    dhi = pd.read_csv(out / "dhi.csv")
    assert set(dhi["quantity"]) == {
        "dhi",
        "harm",
        "availability",
        "attributable_index",
        "attributable_harm",
        "attributable_share",
    }
    assert set(dhi["events"]) == {"excluded"} and set(dhi["reference"]) == {"base"}
    back = run(
        "export",
        tiny_fit_path,
        "--base",
        "2014",
        "--out",
        tmp_path / "e2",
        "--horizon",
        2,
        "--with-events",
        "--reference",
        "1sd",
    )
    assert back.exit_code == 0, back.output
    dhi2 = pd.read_csv(tmp_path / "e2" / "dhi.csv")
    assert set(dhi2["events"]) == {"included"} and set(dhi2["reference"]) == {"1sd"}


def test_compare_ranks_fits_by_loo_and_shows_backtest_scores(tmp_path, tiny_fit_path):
    res = run("compare", tiny_fit_path, tiny_fit_path)
    assert res.exit_code == 0, res.output
    assert "PSIS-LOO of the recorded counts" in res.output and "elpd_loo" in res.output
    one = run("compare", tiny_fit_path)
    assert one.exit_code == 1 and "compare needs at least two fits" in one.stderr


def test_data_check_lists_the_exceptional_events_in_the_panel(tmp_path, small_panel):
    import json

    from forecast.ingest.events import PANEL_ATTR
    from forecast.ingest.panel import save_panel

    panel = small_panel.copy()
    row = {"force": "Kent", "quarter": "2014Q3", "outcome": "homicide", "victims": "6"}
    other = {**row, "force": "Durham"}
    panel.attrs[PANEL_ATTR] = json.dumps(
        [{**r, "description": "test incident", "source": "ONS"} for r in (row, other)]
    )
    res = run("data", "check", save_panel(panel, tmp_path / "p.nc"))
    assert res.exit_code == 0, res.output
    assert "exceptional events (out of the likelihood and the harm indices)" in res.output
    assert "Kent" in res.output and "test incident" in res.output and "Durham" not in res.output
