"""Sampling (nutpie by default; PyMC NUTS or NumPyro selectable) and saving fits with provenance.

A fit is an ArviZ ``DataTree`` (posterior, sample_stats, observed_data, ...) plus a ``panel`` group
holding the data it was fitted to, so forecasts need nothing but the fit file. Root attributes record
the spec (text and hash), the panel hash, the seed, the sampler settings and package versions.
"""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import json
import logging
import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pymc as pm
import xarray as xr
from pydantic import ValidationError

from forecast.core.errors import DataError, ForecastError, SpecError, format_validation_error
from forecast.core.io import write_atomic
from forecast.ingest.panel import panel_hash, periods_from_str, periods_to_str, validate_panel
from forecast.model import build_model
from forecast.sampling_guard import check_complete, watch_interrupts
from forecast.spec import ModelSpec, SamplerSpec, parse_spec

log = logging.getLogger(__name__)

PANEL_GROUP = "panel"
_VERSIONED = (
    "forecast-dhi",
    "pymc",
    "pytensor",
    "nutpie",
    "arviz",
    "numpy",
    "xarray",
    "pandas",
    "numpyro",
    "jax",
)


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape a result (recorded in every output)."""
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def sampler_settings(spec: ModelSpec, **overrides) -> SamplerSpec:
    """The spec's sampler settings with CLI/caller overrides (None means 'keep the spec's')."""
    chosen = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(chosen) - set(SamplerSpec.model_fields)
    if unknown:
        raise SpecError(f"unknown sampler setting(s) {sorted(unknown)}")
    try:
        return SamplerSpec.model_validate({**spec.sampler.model_dump(), **chosen})
    except ValidationError as exc:
        raise SpecError(format_validation_error(exc, "sampler settings")) from exc


def _check_backend(backend: str) -> None:
    if backend == "numpyro" and importlib.util.find_spec("numpyro") is None:
        raise ForecastError(
            "the numpyro backend needs JAX and NumPyro: pip install 'forecast-dhi[jax]'"
        )


def fit(
    panel: xr.Dataset,
    spec: ModelSpec,
    sampler: SamplerSpec | None = None,
    progress: bool = True,
    cores: int | None = None,
) -> xr.DataTree:
    """Fit `spec` to `panel` and return the posterior as a DataTree with provenance; `cores` chains
    run at a time (default: as many as the machine's cores). The draws do not depend on it."""
    panel = validate_panel(panel)
    sampler = sampler or spec.sampler
    _check_backend(sampler.backend)
    model, _ = build_model(panel, spec)  # raises on spec/panel mismatch before compiling
    log.info(
        "sampling %s with %s: %d chains x %d draws",
        spec.name,
        sampler.backend,
        sampler.chains,
        sampler.draws,
    )
    start = time.perf_counter()
    with watch_interrupts(), _generated_source_dir():
        tree = _sample(model, sampler, progress, cores or os.cpu_count() or 1)
    check_complete(tree, f"fit of {spec.name}", sampler.chains, sampler.draws)
    wall = time.perf_counter() - start
    tree = _drop_unsaveable(tree)
    tree[PANEL_GROUP] = xr.DataTree(periods_to_str(panel))
    tree.attrs.update(
        {
            "spec_name": spec.name,
            "spec_hash": spec.model_hash(),
            "spec_toml": spec.to_toml(),
            "panel_hash": panel_hash(panel),
            "panel_vintage": str(panel.attrs.get("vintage", "")),
            "seed": sampler.seed,
            "sampler": json.dumps(sampler.model_dump()),
            "wall_seconds": round(wall, 2),
            "sampling_seconds": float(tree["posterior"].attrs.get("sampling_time", wall)),
            "versions": json.dumps(package_versions()),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    return tree


def _sample(model: pm.Model, sampler: SamplerSpec, progress: bool, cores: int) -> xr.DataTree:
    return pm.sample(
        model=model,
        nuts_sampler=sampler.backend,
        draws=sampler.draws,
        tune=sampler.tune,
        chains=sampler.chains,
        cores=min(sampler.chains, cores),
        target_accept=sampler.target_accept,
        random_seed=sampler.seed,
        progressbar=progress,
        compute_convergence_checks=False,
        **(
            {"nuts": {"adaptation": sampler.adaptation}}
            if sampler.backend == "nutpie" and sampler.adaptation != "diag"
            else {}
        ),
    )


@contextmanager
def _generated_source_dir() -> Iterator[None]:
    """Compile without numba's fastmath, so a fit does not depend on what the compile cache holds
    (with fastmath, kernels loaded from the cache gave other draws than freshly compiled ones, see
    README 'Reproducibility'), and keep the generated kernels' source in one content-addressed
    folder instead of ~40 new files in the temp folder per fit."""
    import pytensor

    cfg = pytensor.config
    saved = (cfg.numba__fastmath, cfg.generated_src_dir)
    cfg.numba__fastmath = False
    if not cfg.generated_src_dir:
        cfg.generated_src_dir = str(Path(cfg.base_compiledir) / "forecast-generated-src")
    try:
        yield
    finally:
        cfg.numba__fastmath, cfg.generated_src_dir = saved


def _drop_unsaveable(tree: xr.DataTree) -> xr.DataTree:
    """Drop sampler text fields (object dtype) that NetCDF cannot store."""
    stats = tree["sample_stats"].to_dataset()
    objects = [v for v in stats.data_vars if stats[v].dtype == object]
    if objects:
        tree["sample_stats"] = xr.DataTree(stats.drop_vars(objects))
    return tree


def save_fit(tree: xr.DataTree, path: Path, overwrite: bool = False) -> Path:
    """Write a fit to NetCDF atomically (never half-written, never replaced without `overwrite`)."""
    return write_atomic(Path(path), lambda tmp: tree.to_netcdf(tmp, engine="h5netcdf"), overwrite)


def load_fit(path: Path, spec: ModelSpec | None = None) -> xr.DataTree:
    """Read a fit written by :func:`save_fit`; refuse a corrupt file or one fitted with another spec."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such fit file; run `forecast fit` first")
    try:
        with xr.open_datatree(path, engine="h5netcdf") as handle:
            tree = handle.load()
    except Exception as exc:
        raise DataError(
            f"{path}: not a readable fit file ({type(exc).__name__}); refit with `forecast fit`"
        ) from exc
    missing = [g for g in ("posterior", PANEL_GROUP) if g not in tree.children]
    if missing or "spec_toml" not in tree.attrs or "spec_hash" not in tree.attrs:
        raise DataError(
            f"{path}: not a forecast fit (missing {missing or ['provenance']}); refit with `forecast fit`"
        )
    _check_stored_spec(tree, path)
    check_complete(tree, str(path))
    if spec is not None and tree.attrs["spec_hash"] != spec.model_hash():
        raise SpecError(
            f"{path} was fitted with spec {tree.attrs['spec_name']!r} (hash {tree.attrs['spec_hash']}), "
            f"not with {spec.name!r} (hash {spec.model_hash()}): refit or pass the matching spec"
        )
    return tree


def _check_stored_spec(tree: xr.DataTree, path: Path) -> None:
    """The stored spec text must still give the stored hash (an edited or damaged file does not)."""
    try:
        actual = parse_spec(
            str(tree.attrs["spec_toml"]), where=f"{path} (stored spec)"
        ).model_hash()
    except SpecError as exc:
        raise DataError(f"{path}: the stored spec is not valid ({exc}); refit") from exc
    if actual != tree.attrs["spec_hash"]:
        raise DataError(
            f"{path}: the stored spec text does not match its hash ({actual} != "
            f"{tree.attrs['spec_hash']}): the file was edited or damaged; refit"
        )


def fit_panel(tree: xr.DataTree) -> xr.Dataset:
    """The panel a fit was made on (periods as pandas Periods)."""
    return periods_from_str(tree[PANEL_GROUP].to_dataset())


def fit_spec(tree: xr.DataTree) -> ModelSpec:
    """The spec a fit was made with, parsed back from its provenance."""
    return parse_spec(tree.attrs["spec_toml"], where="fit provenance")
