"""Output transactions: a whole set or nothing, one writer at a time, user files never touched."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from forecast.core.errors import ExportError
from forecast.core.outlock import OutputBusy, clean_stale, output_lock, temp_name
from forecast.core.transaction import MARKER, output_file, output_folder, read_marker


def _write(stage: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        (stage / name).write_text(text)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_set_appears_whole_with_a_marker_and_no_leftovers(tmp_path):
    out = tmp_path / "out"
    with output_folder(out, "fit") as stage:
        _write(stage, {"a.csv": "1", "sub/b.csv": "2"})
        assert not out.exists()  # nothing visible until the end
    assert _snapshot(out).keys() == {"a.csv", "sub/b.csv", MARKER}
    assert read_marker(out) == {"a.csv": "fit", "sub/b.csv": "fit"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no lock, no staging left


def test_a_failure_or_interrupt_changes_nothing(tmp_path):
    out = tmp_path / "out"
    with output_folder(out, "fit") as stage:
        _write(stage, {"a.csv": "old"})
    before = _snapshot(out)
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)), output_folder(out, "fit", force=True) as stage:
            _write(stage, {"a.csv": "new", "b.csv": "new"})
            raise exc
        assert _snapshot(out) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_earlier_outputs_need_force_and_are_replaced_as_a_set(tmp_path):
    out = tmp_path / "out"
    with output_folder(out, "predict") as stage:
        _write(stage, {"forecast.csv": "1", "fan_charts/kent.png": "x"})
    with (
        pytest.raises(
            ExportError, match=r"already holds fan_charts/kent.png, forecast.csv from an"
        ),
        output_folder(out, "predict") as stage,
    ):
        _write(stage, {"forecast.csv": "2"})
    with output_folder(out, "predict", force=True) as stage:
        _write(stage, {"forecast.csv": "2"})
    assert _snapshot(out) == {"forecast.csv": b"2", MARKER: (out / MARKER).read_bytes()}


def test_other_commands_files_are_carried_over(tmp_path):
    out = tmp_path / "out"
    with output_folder(out, "fit") as stage:
        _write(stage, {"fit.nc": "fit"})
    with output_folder(out, "predict") as stage:
        _write(stage, {"forecast.csv": "fc"})
    assert (out / "fit.nc").read_text() == "fit"
    assert read_marker(out) == {"fit.nc": "fit", "forecast.csv": "predict"}


def test_a_folder_with_user_files_is_refused_and_with_force_they_are_kept(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    with pytest.raises(ExportError) as err, output_folder(out, "publish") as stage:
        _write(stage, {"report.html": "r"})
    assert str(err.value) == (
        f"{out} holds files forecast did not write (notes.txt): choose a new or empty --out, "
        "or pass --force to write beside them (they are kept)"
    )
    assert _snapshot(out) == {"notes.txt": b"my notes"}
    for text in ("r1", "r2"):
        with output_folder(out, "publish", force=True) as stage:
            _write(stage, {"report.html": text})
    assert (out / "notes.txt").read_text() == "my notes"
    assert (out / "report.html").read_text() == "r2"
    # a user file with the name of an output is never replaced, even with force
    (out / "forecast.csv").write_text("mine")
    with (
        pytest.raises(ExportError, match=r"forecast\.csv was not written by forecast"),
        output_folder(out, "predict", force=True) as stage,
    ):
        _write(stage, {"forecast.csv": "ours"})
    assert (out / "forecast.csv").read_text() == "mine"


def test_out_dot_and_a_file_target_fail_with_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("keep")
    with (
        pytest.raises(ExportError, match="holds files forecast did not write"),
        output_folder(Path(), "publish") as stage,
    ):
        _write(stage, {"r.html": "x"})
    with output_folder(Path(), "publish", force=True) as stage:
        _write(stage, {"r.html": "x"})
    assert (tmp_path / "data.csv").read_text() == "keep" and (tmp_path / "r.html").exists()
    with (
        pytest.raises(ExportError, match="is a file, not a folder"),
        output_folder(tmp_path / "data.csv", "publish", force=True),
    ):
        pass
    assert (tmp_path / "data.csv").read_text() == "keep"


def test_a_second_writer_is_refused_with_one_line(tmp_path):
    out = tmp_path / "out"
    with (
        output_lock(out.resolve()),
        pytest.raises(
            OutputBusy,
            match=rf"{re.escape(str(out))} is being written by another forecast run \(pid {os.getpid()}\)",
        ),
        output_folder(out, "fit"),
    ):
        pass
    assert not out.exists()


def test_stale_temporaries_of_dead_runs_are_cleaned(tmp_path):
    out = tmp_path / "out"
    with output_folder(out, "fit") as stage:
        _write(stage, {"a.csv": "1"})
    stale_dir, stale_file = temp_name(out), temp_name(out, "old")
    stale_dir.mkdir()
    (stale_dir / "half.nc").write_text("x")
    stale_file.write_text("x")
    with output_folder(out, "fit", force=True) as stage:
        _write(stage, {"a.csv": "2"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_replaced_folder_is_put_back_when_its_successor_never_arrived(tmp_path):
    out = tmp_path / "out"
    old = temp_name(out, "old")
    old.mkdir()
    (old / "a.csv").write_text("kept")
    clean_stale(out)
    assert (out / "a.csv").read_text() == "kept" and not old.exists()


def test_output_file_refuses_overwrite_and_folders(tmp_path):
    path = tmp_path / "panel.csv"
    output_file(path, lambda tmp: tmp.write_text("1"))
    with pytest.raises(ExportError, match="already exists"):
        output_file(path, lambda tmp: tmp.write_text("2"))
    output_file(path, lambda tmp: tmp.write_text("2"), force=True)
    assert path.read_text() == "2"
    with pytest.raises(ExportError, match="is a folder"):
        output_file(tmp_path, lambda tmp: tmp.write_text("x"), force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["panel.csv"]


def test_marker_is_plain_json(tmp_path):
    out = tmp_path / "out"
    with output_folder(out, "export") as stage:
        _write(stage, {"x.csv": "1"})
    data = json.loads((out / MARKER).read_text())
    assert data["written_by"] == "forecast" and data["files"] == {"x.csv": "export"}
