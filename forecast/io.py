"""Safe writes: never half-write, never overwrite without being asked."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from forecast.errors import ExportError


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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        tmp_path.chmod(0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        tmp_path.replace(path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_atomic(path: Path, writer: Callable[[Path], object], overwrite: bool = False) -> Path:
    """Call ``writer(tmp)`` and move the result to `path` only if it succeeded."""
    with atomic_path(path, overwrite) as tmp:
        writer(tmp)
    return Path(path)


def prepare_out_dir(out: Path, names: list[str], overwrite: bool) -> Path:
    """Create `out` and check none of the files we are about to write exists (unless `overwrite`)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file, not a directory: name a directory for the outputs")
    clash = [n for n in names if (out / n).exists()]
    if clash and not overwrite:
        raise ExportError(
            f"{out} already holds {', '.join(clash)}: choose another --out or pass --force to replace"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out
