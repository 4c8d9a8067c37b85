import pytest

from forecast.core.io import write_atomic


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


def test_public_api_names_resolve():
    import forecast

    for name in forecast.__all__:
        assert callable(getattr(forecast, name)), name
