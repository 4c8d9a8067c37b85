import pytest

from forecast.errors import ExportError
from forecast.io import prepare_out_dir, write_atomic


def test_failed_write_leaves_nothing_behind_and_keeps_old_file(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old results")

    def boom(tmp):
        tmp.write_text("half written")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(path, boom, overwrite=True)
    assert path.read_text() == "old results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_written_files_get_normal_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        path = write_atomic(tmp_path / "f.txt", lambda tmp: tmp.write_text("x"))
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_out_dir_refuses_existing_outputs_without_force(tmp_path):
    (tmp_path / "fit.nc").write_text("x")
    with pytest.raises(
        ExportError, match=r"already holds fit\.nc: choose another --out or pass --force"
    ):
        prepare_out_dir(tmp_path, ["fit.nc", "other.csv"], overwrite=False)
    assert prepare_out_dir(tmp_path, ["fit.nc"], overwrite=True) == tmp_path


def test_out_dir_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ExportError, match="is a file, not a directory"):
        prepare_out_dir(f, ["a"], overwrite=True)


def test_public_api_names_resolve():
    import forecast

    for name in forecast.__all__:
        assert callable(getattr(forecast, name)), name
