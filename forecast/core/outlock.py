"""One writer per output: a lock file beside the target, and the clean-up of what dead runs left.

The lock is ``.<name>.lock`` beside the output (file or folder), held with ``flock`` for the whole
run: the kernel drops it when the process dies, even by ``kill -9``, so a lock is never stale. While
it is held, every ``.<name>.tmp-*`` and ``.<name>.old-*`` beside the target belongs to a run that is
no longer alive (only the lock holder writes them), so :func:`clean_stale` removes them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forecast.core.errors import ExportError


class OutputBusy(ExportError):
    """Another forecast run is writing the same output."""


def lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def temp_name(target: Path, kind: str = "tmp") -> Path:
    """A fresh name beside `target` for a staging copy (`tmp`) or a replaced one (`old`); it keeps
    the target's suffix, which writers read to choose the format."""
    token = os.urandom(4).hex()
    return target.parent / f".{target.name}.{kind}-{os.getpid()}-{token}{target.suffix}"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def _acquire(path: Path, target: Path) -> int:
    """Open and lock `path`; retry when another run removed the file between our open and lock."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputBusy(
                f"{target} is being written by another forecast run{_holder(path)}: wait for it "
                "to finish, or choose another --out"
            ) from None
        try:
            same = os.fstat(fd).st_ino == path.stat().st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


@contextmanager
def output_lock(target: Path) -> Iterator[None]:
    """Hold the lock of `target` (fails at once with :class:`OutputBusy` when another run has it)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(target)
    fd = _acquire(path, target)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # while still locked, so a waiting run re-checks the inode
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def clean_stale(target: Path) -> None:
    """Remove the temporaries of dead runs beside `target` (call with the lock held). A replaced
    folder that a killed run left without its successor in place is put back first."""
    target = Path(target)
    prefix = f".{target.name}."
    leftovers = sorted(
        p
        for p in target.parent.glob(f"{glob_escape(prefix)}*")
        if p.name[len(prefix) :].startswith(("tmp-", "old-"))
    )
    olds = [p for p in leftovers if p.name[len(prefix) :].startswith("old-")]
    if olds and not target.exists() and not target.is_symlink():
        olds[-1].rename(target)
        leftovers.remove(olds[-1])
    for p in leftovers:
        _remove(p)


def clean_stale_inside(folder: Path) -> None:
    """Remove the per-file temporaries (``.<name>.tmp-*``) a killed run left inside `folder`."""
    for p in Path(folder).rglob(".*.tmp-*"):
        _remove(p)


def glob_escape(text: str) -> str:
    """`text` with glob wildcards escaped."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)
