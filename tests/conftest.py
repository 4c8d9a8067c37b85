"""Shared fixtures: small simulated panels (seeded) and one tiny real fit reused by pipeline tests."""

from __future__ import annotations

import os

import pytest
import xarray as xr

os.environ.setdefault("MPLBACKEND", "Agg")

SMALL_FORCES = ["Kent", "Essex", "Surrey", "Sussex", "Dorset", "Gwent"]


@pytest.fixture(scope="session")
def small_sim() -> xr.DataTree:
    """6 forces x 16 quarters with 4 held-out quarters and the truth."""
    from forecast.simulate import simulate_panel

    return simulate_panel(n_periods=16, forces=SMALL_FORCES, seed=11, holdout=4)


@pytest.fixture(scope="session")
def small_panel(small_sim) -> xr.Dataset:
    return small_sim["panel"].to_dataset()


@pytest.fixture(scope="session")
def tiny_fit(small_panel) -> xr.DataTree:
    """A real (short) nutpie fit of the default spec: enough for pipeline tests, not for inference."""
    from forecast.fit import fit, sampler_settings
    from forecast.spec import load_spec

    spec = load_spec("default")
    return fit(
        small_panel, spec, sampler_settings(spec, draws=60, tune=60, chains=2), progress=False
    )


@pytest.fixture(scope="session")
def tiny_fit_path(tiny_fit, tmp_path_factory):
    from forecast.fit import save_fit

    return save_fit(tiny_fit, tmp_path_factory.mktemp("fit") / "fit.nc")
