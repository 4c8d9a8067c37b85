"""Output transactions: a command's whole output set appears at once, or not at all.

:func:`output_folder` builds the outputs in a staging folder beside the target, checks them, and
swaps them in with one rename (an atomic exchange where the system has ``renameat2``), under the
target's lock (:mod:`forecast.core.outlock`). A marker file in the folder (``.forecast-outputs.json``)
records which files forecast wrote, and with which command:

- a new or empty folder, or one holding only forecast's files, is replaced in one step; files of
  other commands (a fit beside a forecast) are carried over by hard link;
- a folder holding files forecast did not write is refused, unless ``force``; then only forecast's
  own files are replaced, one atomic rename each, and the others are never touched;
- a folder that already holds this command's outputs is refused unless ``force`` (or `replace_own`,
  for commands documented to replace their previous output, such as ``publish``).

:func:`output_file` is the same for a single file: temporary file, rename, lock.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from forecast.core.errors import ExportError
from forecast.core.interrupts import stop_if_interrupted
from forecast.core.outlock import clean_stale, clean_stale_inside, output_lock, temp_name

MARKER = ".forecast-outputs.json"


def _files(folder: Path) -> list[str]:
    """Every file (or link) under `folder`, as sorted relative POSIX paths."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        links = [d for d in dirnames if (base / d).is_symlink()]
        out += [(base / n).relative_to(folder).as_posix() for n in filenames + links]
    return sorted(out)


def read_marker(folder: Path) -> dict[str, str]:
    """The files forecast wrote in `folder` (relative path -> command); empty when unmarked."""
    path = Path(folder) / MARKER
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def write_marker(folder: Path, files: dict[str, str]) -> None:
    from forecast.core.io import write_atomic

    body = {"written_by": "forecast", "format": 1, "files": dict(sorted(files.items()))}
    text = json.dumps(body, indent=1) + "\n"
    write_atomic(folder / MARKER, lambda tmp: tmp.write_text(text, encoding="utf-8"), True)


def _listing(names: Iterable[str], n: int = 3) -> str:
    names = list(names)
    more = f" and {len(names) - n} more" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


@dataclass
class FolderTransaction:
    """One run's output set for a folder (see the module docstring); use :func:`output_folder`."""

    target: Path
    command: str
    force: bool = False
    expect: tuple[str, ...] = ()
    replace_own: bool = False
    staging: Path = field(init=False)
    owned: dict[str, str] = field(init=False, default_factory=dict)
    foreign: list[str] = field(init=False, default_factory=list)
    in_place: bool = field(init=False, default=False)

    def check(self) -> None:
        """Refuse a target this run may not write (called under the lock, before any work)."""
        t = self.target
        if t.exists() and not t.is_dir():
            raise ExportError(f"{t} is a file, not a folder: name a folder for the outputs")
        present = _files(t) if t.is_dir() else []
        marked = read_marker(t) if t.is_dir() else {}
        self.owned = {f: c for f, c in marked.items() if f in present}
        self.foreign = [f for f in present if f != MARKER and f not in self.owned]
        if self.foreign and not self.force:
            raise ExportError(
                f"{t} holds files forecast did not write ({_listing(self.foreign)}): choose a new "
                "or empty --out, or pass --force to write beside them (they are kept)"
            )
        self._check_clash(set(self.expect) & set(self.foreign))
        mine = sorted(f for f, c in self.owned.items() if c == self.command)
        mine += [f for f in self.expect if f in self.owned and f not in mine]
        if mine and not (self.force or self.replace_own):
            raise ExportError(
                f"{t} already holds {_listing(mine)} from an earlier run: choose another --out, "
                "or pass --force to replace them"
            )
        cwd = Path.cwd().resolve()
        self.in_place = bool(self.foreign) or t == cwd or t in cwd.parents or os.path.ismount(t)

    def _check_clash(self, clash: set[str]) -> None:
        if clash:
            raise ExportError(
                f"{self.target}: {_listing(sorted(clash))} was not written by forecast and would be "
                "replaced: move it away (--force replaces only forecast's own files)"
            )

    def begin(self) -> Path:
        """Clean what dead runs left and make the staging folder."""
        clean_stale(self.target)
        self.check()
        if self.target.is_dir() and not self.foreign:
            clean_stale_inside(self.target)
        self.staging = temp_name(self.target)
        self.staging.mkdir()
        return self.staging

    def commit(self) -> None:
        """Validate the staged set and put it in place."""
        stop_if_interrupted()
        new = [f for f in _files(self.staging) if f != MARKER]
        if not new:
            raise ExportError(f"{self.target}: the run produced no output; nothing was changed")
        empty = [f for f in new if (self.staging / f).stat().st_size == 0]
        if empty:
            raise ExportError(f"{self.target}: {_listing(empty)} came out empty; nothing changed")
        self._check_clash(set(new) & set(self.foreign))
        keep = {f: c for f, c in self.owned.items() if c != self.command and f not in new}
        files = {**keep, **dict.fromkeys(new, self.command)}
        if self.in_place:
            self._commit_in_place(new, files)
        else:
            self._commit_swap(keep, files)

    def _commit_swap(self, keep: dict[str, str], files: dict[str, str]) -> None:
        for f in keep:
            _link_or_copy(self.target / f, self.staging / f)
        write_marker(self.staging, files)
        if not self.target.exists():
            self.staging.rename(self.target)
            return
        if _exchange(self.staging, self.target):
            return  # the staging name now holds the old folder: abort() removes it
        old = temp_name(self.target, "old")
        self.target.rename(old)
        self.staging.rename(self.target)
        shutil.rmtree(old, ignore_errors=True)

    def _commit_in_place(self, new: list[str], files: dict[str, str]) -> None:
        for f in new:
            (self.target / f).parent.mkdir(parents=True, exist_ok=True)
            (self.staging / f).replace(self.target / f)
        for f, c in self.owned.items():
            if c == self.command and f not in files:
                with contextlib.suppress(FileNotFoundError):
                    (self.target / f).unlink()
                with contextlib.suppress(OSError):
                    (self.target / f).parent.rmdir()  # only when left empty
        write_marker(self.target, files)

    def abort(self) -> None:
        """Remove the staging folder (after a failure, or the old set after a swap)."""
        if getattr(self, "staging", None) is not None and self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)


@contextmanager
def output_folder(
    target: Path,
    command: str,
    force: bool = False,
    expect: Iterable[str] = (),
    replace_own: bool = False,
) -> Iterator[Path]:
    """Yield a staging folder for `command`'s outputs; on success they replace those in `target`
    as one set, on any error or interrupt nothing in `target` changes (see the module docstring)."""
    target = Path(target).resolve()
    tx = FolderTransaction(target, command, force, tuple(expect), replace_own)
    with output_lock(target):
        try:
            staging = tx.begin()
            yield staging
            tx.commit()
        finally:
            tx.abort()


def check_output_folder(
    target: Path,
    command: str,
    force: bool = False,
    expect: Iterable[str] = (),
    replace_own: bool = False,
) -> None:
    """Refuse early (before any expensive work) a folder :func:`output_folder` would refuse."""
    target = Path(target).resolve()
    FolderTransaction(target, command, force, tuple(expect), replace_own).check()


def check_output_file(path: Path, force: bool = False) -> None:
    """Refuse a single-file output that exists (unless `force`) or is a folder."""
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path} is a folder: name a file for this output")
    if path.exists() and not force:
        raise ExportError(
            f"{path} already exists: choose another output or pass --force to replace it"
        )


def output_file(path: Path, writer: Callable[[Path], object], force: bool = False) -> Path:
    """Write one output file with ``writer(tmp)``, under its lock, renamed into place at the end."""
    from forecast.core.io import write_atomic

    path = Path(path)
    check_output_file(path, force)
    with output_lock(path.resolve()):
        clean_stale(path.resolve())
        check_output_file(path, force)
        return write_atomic(path, writer, force)
