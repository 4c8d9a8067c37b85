"""Source paths of an ingest manifest: relative globs and files, resolved without tracebacks for
absolute patterns, symlink loops or unreadable folders."""

from __future__ import annotations

from pathlib import Path

from forecast.core.errors import DataError


def resolve_source(manifest: Path, i: int, kind: str, path: Path) -> Path:
    """`path` made absolute, or a DataError naming the manifest's source `i`."""
    try:
        return path.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
        raise DataError(
            f"{manifest}: source {i} ({kind}) path {path} cannot be resolved ({exc}): "
            "fix the path or the link"
        ) from None


def source_glob(manifest: Path, i: int, kind: str, pattern: str) -> list[Path]:
    """The files matching `pattern`, relative to the manifest's folder, resolved and sorted."""
    if Path(pattern).is_absolute():
        raise DataError(
            f"{manifest}: source {i} ({kind}) pattern {pattern!r} is absolute: write it relative "
            "to the manifest's folder"
        )
    try:
        found = sorted(manifest.parent.glob(pattern))
    except (OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise DataError(
            f"{manifest}: source {i} ({kind}) pattern {pattern!r} cannot be used ({exc})"
        ) from None
    return [resolve_source(manifest, i, kind, f) for f in found if f.is_file()]
