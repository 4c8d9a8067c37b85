"""Reading the package's TOML inputs (specs, manifests, scenarios) so that any bad file (not
UTF-8, not TOML, nested beyond reason) is one error naming it, never a traceback; and writing specs
back as TOML text (tomllib only reads)."""

from __future__ import annotations

import json
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


def to_toml(data: dict, prefix: str = "") -> str:
    """`data` (nested dicts of scalars and lists) as TOML: scalars first, then one table per dict."""
    data = {k: v for k, v in data.items() if v is not None}  # TOML has no null: omit, default back
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict) or k == "rate_per_100k"}
    tables = {k: v for k, v in data.items() if k not in scalars}
    lines = [f"[{prefix}]"] if prefix else []
    lines += [f"{k} = {_toml_value(v)}" for k, v in scalars.items()]
    blocks = ["\n".join(lines)] + [
        to_toml(v, f"{prefix}.{k}" if prefix else k) for k, v in tables.items()
    ]
    return "\n\n".join(b.strip() for b in blocks if b.strip()) + "\n"


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        items = [f"{k} = {_toml_value(x)}" for k, x in v.items() if x is not None]
        return "{ " + ", ".join(items) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)
