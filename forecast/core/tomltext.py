"""Reading the package's TOML inputs (specs, manifests, scenarios) so that any bad file (not
UTF-8, not TOML, nested beyond reason) is one error naming it, never a traceback."""

from __future__ import annotations

import tomllib
from pathlib import Path

from forecast.core.errors import ForecastError, one_line


def parse_toml(text: str, where: str, error: type[ForecastError]) -> dict:
    """The TOML document in `text`, or `error` naming `where`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: not valid TOML ({one_line(exc, 200)})") from exc
    except RecursionError:
        raise error(f"{where}: not a usable TOML file (nested too deeply)") from None


def read_toml(path: Path, error: type[ForecastError]) -> dict:
    """The TOML file at `path` (UTF-8), or `error` naming it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8 TOML") from None
    return parse_toml(text, str(path), error)
