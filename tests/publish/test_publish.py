"""Publication: gates refuse a bad fit (or mark everything with the override), identical inputs and
seed give byte-identical tables, an interrupted publish leaves the previous bundle intact, and the
report renders in a real browser."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.ingest.panel import save_panel
from forecast.outputs.bundle import history_notes
from forecast.outputs.publish import PublishRefused, publish

TINY = {"draws": 40, "tune": 40, "chains": 2}
TABLES = ("forecast.csv", "forecast.parquet", "dhi.csv", "dhi.parquet", "dhi_decomposition.csv")


@pytest.fixture(scope="module")
def panel_file(small_sim, tmp_path_factory):
    return save_panel(small_sim, tmp_path_factory.mktemp("pub") / "panel.nc")


def _publish(panel_file, out, **kw):
    args = dict(spec="default", horizon=2, sampler_overrides=TINY, progress=False, cache=None)
    args.update(kw)
    return publish(None, "2016Q1", out, panel_file=panel_file, **args)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def marked(panel_file, tmp_path_factory):
    """A publication of a fit with too few draws to pass, made with the override."""
    out = tmp_path_factory.mktemp("marked") / "bundle"
    res = _publish(panel_file, out, allow_failed_checks=True, seed=3)
    return out, res


def test_too_few_draws_are_refused_with_a_table_and_nothing_written(panel_file, tmp_path):
    out = tmp_path / "bundle"
    with pytest.raises(PublishRefused) as err:
        _publish(panel_file, out, seed=3)
    failed = set(err.value.failures["check"])
    assert {"max R-hat", "min bulk ESS"} <= failed
    assert "--allow-failed-checks" in str(err.value)
    assert not out.exists()
    assert not list(tmp_path.glob(".bundle.tmp-*"))


def test_the_override_publishes_with_a_visible_warning_everywhere(marked):
    out, res = marked
    assert len(res.failures) > 0
    assert (out / "WARNING_FAILED_CHECKS.txt").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["checks_passed"] is False and "FAILED CHECKS" in summary["warning"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["checks_passed"] is False
    report = (out / "report.html").read_text()
    assert report.count('class="warning"') >= 2 and "FAILED CHECKS" in report
    assert "http://" not in report and "https://" not in report  # nothing fetched from the network
    checks = (out / "checks.csv").read_text()
    assert "max R-hat" in checks


def test_provenance_records_inputs_outputs_spec_seed_and_versions(marked, panel_file):
    out, _ = marked
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs"] == {
        str(panel_file): hashlib.sha256(panel_file.read_bytes()).hexdigest()
    }
    assert manifest["seed"] == 3 and "[availability]" in manifest["spec"]
    assert {"pymc", "nutpie", "arviz"} <= set(manifest["versions"])
    assert manifest["package_revision"]
    on_disk = _digest(out)
    del on_disk["manifest.json"]
    del on_disk[".forecast-outputs.json"]  # the marker of what forecast wrote, added after
    assert manifest["outputs"] == on_disk
    import arviz as az

    posterior = az.from_netcdf(out / "posterior.nc")
    assert "posterior" in posterior.children


def test_same_inputs_and_seed_give_byte_identical_tables(panel_file, marked, tmp_path):
    out_a, _ = marked
    out_b = tmp_path / "again"
    _publish(panel_file, out_b, allow_failed_checks=True, seed=3)  # a fresh fit, no cache
    a, b = _digest(out_a), _digest(out_b)
    for name in TABLES:
        assert a[name] == b[name], name


def test_an_interrupted_publish_leaves_the_previous_bundle_intact(
    panel_file, marked, monkeypatch, tmp_path
):
    out, _ = marked
    copy = tmp_path / "bundle"
    shutil.copytree(out, copy)
    before = _digest(copy)

    def boom(**kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C while the report was being written

    monkeypatch.setattr("forecast.report.html.render_report", boom)
    with pytest.raises(KeyboardInterrupt):
        _publish(panel_file, copy, allow_failed_checks=True, seed=3)
    assert _digest(copy) == before
    assert not list(tmp_path.glob(".bundle.tmp-*"))


def test_a_period_outside_the_data_fails_clearly(panel_file, tmp_path):
    from forecast.outputs.publish import PublishError

    with pytest.raises(
        PublishError, match=r"--period 2030Q1 is outside the panel \(2012Q2-2016Q1\)"
    ):
        publish(None, "2030Q1", tmp_path / "b", panel_file=panel_file, spec="default", cache=None)


CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)")
def test_report_renders_in_a_headless_browser_with_its_charts(marked, tmp_path):
    from PIL import Image

    out, _ = marked
    shot = tmp_path / "report.png"
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars", "--window-size=1280,4000",
        f"--screenshot={shot}", (out / "report.html").as_uri(),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 4000)
    # the fan chart and the index chart are drawn: plenty of coloured (non-grey) pixels
    pixels = list(image.resize((320, 1000)).get_flattened_data())
    coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 60)
    assert coloured > 5000, coloured


def test_history_coverage_is_in_the_summary_the_checks_and_the_national_chart(marked):
    out, _ = marked
    history = json.loads((out / "summary.json").read_text())["history_coverage_90"]
    checks = pd.read_csv(out / "checks.csv").set_index("check")
    assert set(history) == {"homicide", "robbery", "knife"}  # every outcome seen quarterly here
    for outcome, h in history.items():
        row = checks.loc[f"history 90% coverage, All forces in panel: {outcome}"]
        assert row["value"] == pytest.approx(h["coverage"]) == h["covered"] / h["quarters"]
        assert row["detail"].startswith(f"{h['covered']} of {h['quarters']} quarters")


def test_history_notes_say_what_the_band_covers_or_that_an_outcome_is_annual():
    history = pd.DataFrame(
        {"outcome": ["robbery", "knife", "homicide"], "quarters": [40, 0, 0],
         "covered": [37, 0, 0], "coverage": [0.925, np.nan, np.nan]}
    )  # fmt: skip
    windows = pd.DataFrame({"outcome": ["knife"]})
    assert history_notes(history, windows) == {
        "robbery": "fitted 90% band covers 37 of 40 observed quarters (92%)",
        "knife": "published only as yearly totals by force: quarterly draws add up to each one",
    }
    assert history_notes(history, None) == {"robbery": history_notes(history, windows)["robbery"]}
