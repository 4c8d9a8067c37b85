"""Build data/forces.csv, the force register, from the ONS tables in ../shared/realdata.

Canonical names, ONS codes, regions and countries come from the ONS PFA data tables (via
realdata/forces.csv, itself derived from ONS Table P1); the reference population is the ONS mid-2020
estimate summed over the LAD21 -> PFA21 lookup (realdata/ons_population_pfa_midyear). Aliases are the
spellings seen in the publishers' files plus common official forms typed here.

Usage: python scripts/build_force_register.py [path/to/shared/realdata]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

# Spellings used by publishers and police forces themselves, keyed by ONS code (typed by hand from
# force websites and Home Office / ONS tables; normalisation also drops "Police"/"Constabulary").
EXTRA_ALIASES = {
    "E23000001": ["Metropolitan Police Service", "Met Police", "MPS"],
    "E23000034": ["City of London Police", "City of London"],
    "E23000035": ["Devon & Cornwall"],
    "E23000036": ["Avon & Somerset"],
    "E23000004": ["Merseyside Police"],
    "E23000005": ["Greater Manchester Police", "GMP"],
    "E23000014": ["West Midlands Police"],
    "E23000029": ["Thames Valley Police", "TVP"],
    "E23000012": ["Humberside Police"],
    "W15000004": ["Dyfed Powys", "Dyfed-Powys Police", "Dyfed Powys Police"],
    "W15000002": ["Gwent Police"],
    "W15000003": ["South Wales Police"],
    "W15000001": ["North Wales Police"],
}


def main(realdata: Path) -> None:
    """Write data/forces.csv next to this script's project root."""
    reg = pd.read_csv(realdata / "forces.csv", dtype=str, keep_default_na=False)
    reg = reg[reg["ons_code"] != ""]  # British Transport Police: no area, no population
    pop = pd.read_csv(
        realdata / "ons_population_pfa_midyear" / "pfa_population_midyear_2001_2020.csv"
    )
    pop = pop[pop["mid_year"] == 2020].set_index("area_code")["population"]
    rows = []
    for r in reg.itertuples(index=False):
        seen = [a.strip() for a in r.aliases_seen.split(";") if a.strip()]
        seen = [a.split(" (")[0] for a in seen]  # drop the explanatory notes kept in realdata
        aliases = sorted(set(seen + EXTRA_ALIASES.get(r.ons_code, [])) - {r.force_name})
        rows.append(
            {
                "force": r.force_name,
                "force_code": r.ons_code,
                "region": r.region,
                "country": r.country,
                "population_mid2020": int(pop[r.ons_code]),
                "aliases": "; ".join(aliases),
            }
        )
    out = pd.DataFrame(rows).sort_values("force_code")
    dest = Path(__file__).resolve().parents[1] / "data" / "forces.csv"
    out.to_csv(dest, index=False)
    print(f"wrote {dest} ({len(out)} forces)")


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[2] / "shared" / "realdata"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
