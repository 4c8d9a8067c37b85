"""Locate the shipped `models/` and `data/` folders in a source checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent.parent  # the forecast package


def shipped_dir(name: str) -> Path:
    """Return the shipped folder `name` ("models" or "data").

    A source checkout (or editable install) keeps them at the project root; a wheel carries them
    under ``forecast/_shipped``.
    """
    for candidate in (_PKG.parent / name, _PKG / "_shipped" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped folder {name!r} not found beside {_PKG}")
