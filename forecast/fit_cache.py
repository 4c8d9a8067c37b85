"""The publication's fit cache: reuse a fit made with the same spec, sampler settings and panel.

Only complete fits are stored (a stopped or failed fit raises before it reaches the cache), each
entry written atomically. An entry is checked before reuse (readable, spec text matching its hash,
every draw present and finite, the same panel); a bad one is refitted and replaced, with a note.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import xarray as xr

from forecast.core.errors import ForecastError, one_line
from forecast.spec import ModelSpec


def fit_key(spec: ModelSpec, panel_hash: str) -> str:
    body = json.dumps([spec.model_hash(), spec.sampler.model_dump(mode="json"), panel_hash])
    return hashlib.sha256(body.encode()).hexdigest()[:20]


def _cached(path: Path, spec: ModelSpec, panel_hash: str) -> xr.DataTree:
    """The cached fit at `path`, or a ForecastError saying why it cannot be reused."""
    from forecast.fit import load_fit
    from forecast.sampling_guard import check_complete

    tree = load_fit(path, spec)
    check_complete(tree, str(path), spec.sampler.chains, spec.sampler.draws)
    if tree.attrs.get("panel_hash") != panel_hash:
        raise ForecastError(f"{path}: fitted to another panel")
    return tree


def fit_or_reuse(
    panel: xr.Dataset, spec: ModelSpec, cache: Path | None, progress: bool
) -> tuple[xr.DataTree, bool, list[str]]:
    """A fit of `panel` under `spec` (reused from `cache` when a valid matching entry exists, else
    made and cached), whether it was reused, and notes about cache entries that were refitted."""
    from forecast.fit import fit, save_fit
    from forecast.ingest.panel import panel_hash

    digest = panel_hash(panel)
    path = Path(cache) / "fits" / fit_key(spec, digest) / "fit.nc" if cache else None
    notes: list[str] = []
    if path is not None and path.exists():
        try:
            return _cached(path, spec, digest), True, notes
        except ForecastError as exc:
            notes.append(one_line(f"cached fit not reused, refitting: {exc}", 300))
    tree = fit(panel, spec, spec.sampler, progress=progress)
    if path is not None:
        save_fit(tree, path, overwrite=True)
    return tree, False, notes
