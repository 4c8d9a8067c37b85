"""The offence-code mapping table (data/offence_map.csv): publisher codes -> our series."""

from __future__ import annotations

from functools import cache

import pandas as pd

from forecast.core.resources import shipped_dir


@cache
def offence_map() -> pd.DataFrame:
    """offence_code -> series, role ('outcome' or 'indicator'), description."""
    return pd.read_csv(shipped_dir("data") / "offence_map.csv", dtype=str, keep_default_na=False)


def series_of_codes() -> dict[str, str]:
    """Map each offence code to its series name."""
    m = offence_map()
    return dict(zip(m["offence_code"], m["series"], strict=True))
