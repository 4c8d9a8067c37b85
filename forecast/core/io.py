"""Safe single-file writes: never half-write, never overwrite without being asked (output sets are
written through :mod:`forecast.core.transaction`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from forecast.core.errors import ExportError
from forecast.core.interrupts import stop_if_interrupted
from forecast.core.outlock import temp_name


def check_writable(path: Path, overwrite: bool) -> None:
    """Refuse to replace an existing file unless `overwrite` (the CLI's ``--force``) is set."""
    if path.exists() and not overwrite:
        raise ExportError(
            f"{path} already exists: choose another output or pass --force to replace it"
        )


@contextmanager
def atomic_path(path: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it over `path`, else delete it."""
    path = Path(path)
    check_writable(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = temp_name(path)  # .NAME.tmp-PID-TOKEN: removed by the next run if this one dies
    os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        tmp_path.chmod(0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        stop_if_interrupted()
        tmp_path.replace(path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_atomic(path: Path, writer: Callable[[Path], object], overwrite: bool = False) -> Path:
    """Call ``writer(tmp)`` and move the result to `path` only if it succeeded."""
    with atomic_path(path, overwrite) as tmp:
        writer(tmp)
    return Path(path)
