"""The force register (data/forces.csv) and force-name normalisation.

Publishers spell forces many ways ("Devon & Cornwall", "Metropolitan Police Service",
"Dyfed Powys", "London, City of"); every reader maps them onto the ONS name here, once.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from functools import cache

import pandas as pd

from forecast.core.errors import DataError
from forecast.core.resources import shipped_dir

_SUFFIXES = ("police service", "police force", "constabulary", "police")


def _key(name: str) -> str:
    """Comparison key: lower case, '&' as 'and', punctuation as spaces, force suffixes dropped."""
    k = name.lower().replace("&", " and ")
    k = re.sub(r"[^a-z0-9]+", " ", k).strip()
    for suffix in _SUFFIXES:
        if k.endswith(" " + suffix):
            k = k[: -len(suffix)].strip()
            break
    return k


@cache
def force_register() -> pd.DataFrame:
    """The 43 territorial forces: force, force_code, region, country, population_mid2020, aliases."""
    path = shipped_dir("data") / "forces.csv"
    reg = pd.read_csv(path, dtype={"population_mid2020": "int64"}, keep_default_na=False)
    return reg.set_index("force", drop=False).rename_axis(None)


@cache
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for row in force_register().itertuples(index=False):
        names = [row.force, row.force_code, *[a for a in row.aliases.split(";") if a.strip()]]
        for n in names:
            table[_key(n)] = row.force
    return table


def normalise_force(name: str, where: str = "") -> str:
    """Return the ONS force name for any known spelling, or raise DataError with a suggestion."""
    hit = _lookup().get(_key(str(name)))
    if hit is not None:
        return hit
    known = list(force_register()["force"])
    close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
    if not close:
        close_keys = difflib.get_close_matches(_key(str(name)), list(_lookup()), n=1, cutoff=0.5)
        close = [_lookup()[close_keys[0]]] if close_keys else []
    if not close and len(_key(str(name))) >= 4:  # a fragment of one force's name ("Devon")
        holders = {f for k, f in _lookup().items() if _key(str(name)) in k}
        close = sorted(holders)[:1] if len(holders) == 1 else []
    hint = f"did you mean {close[0]!r}?" if close else "see data/forces.csv for the 43 force names"
    prefix = f"{where}: " if where else ""
    raise DataError(f"{prefix}unknown police force {name!r}: {hint}")


def normalise_forces(names: Iterable[str], where: str = "") -> list[str]:
    """Vectorised :func:`normalise_force`."""
    return [normalise_force(n, where) for n in names]


def force_regions(forces: Iterable[str]) -> list[str]:
    """Region of each (canonical) force name."""
    reg = force_register()
    return [str(reg.at[f, "region"]) for f in forces]


def force_codes(forces: Iterable[str]) -> list[str]:
    """ONS code of each (canonical) force name."""
    reg = force_register()
    return [str(reg.at[f, "force_code"]) for f in forces]
