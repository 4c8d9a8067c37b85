"""The vectorised R-hat and ESS agree with ArviZ's loop over elements, element by element, on chains
that mix well, slowly, not at all (a stuck chain), hold ties, NaN or a constant."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import xarray as xr

from forecast.rank_diagnostics import rank_diagnostics


def _chains(n_chain: int, n_draw: int, seed: int = 1) -> np.ndarray:
    """(element, chain, draw): AR(1) chains from anti-correlated to nearly a random walk, and the
    awkward cases."""
    rng = np.random.default_rng(seed)
    phi = np.linspace(-0.6, 0.995, 30)
    e = rng.normal(size=(phi.size, n_chain, n_draw))
    x = np.zeros_like(e)
    for t in range(1, n_draw):
        x[:, :, t] = phi[:, None] * x[:, :, t - 1] + e[:, :, t]
    x[3] = 2.0  # constant
    x[5, -1] += 3.0  # a stuck chain
    x[7, 0, 0] = np.nan
    x[9] = np.round(x[9])  # ties
    x[11] = np.exp(x[11])
    return x


@pytest.mark.parametrize("n_chain, n_draw", [(4, 1000), (2, 51), (1, 200), (3, 4)])
def test_rank_diagnostics_match_arviz(n_chain, n_draw):
    x = _chains(n_chain, n_draw)
    ds = xr.Dataset({"v": (("chain", "draw", "e"), np.moveaxis(x, 0, 2))})
    with np.errstate(invalid="ignore", divide="ignore"):
        want = {
            "bulk": az.ess(ds, method="bulk")["v"].values,
            "tail": az.ess(ds, method="tail", prob=(0.05, 0.95))["v"].values,
            "rhat": az.rhat(ds)["v"].values,
        }
    got = dict(zip(("bulk", "tail", "rhat"), rank_diagnostics(x), strict=True))
    for key, ref in want.items():
        np.testing.assert_array_equal(np.isnan(got[key]), np.isnan(ref), err_msg=key)
        np.testing.assert_allclose(got[key], ref, rtol=1e-8, err_msg=key)
    if n_chain > 1:
        assert got["rhat"][5] > 1.1  # the stuck chain is caught


def test_too_few_draws_give_nan():
    bulk, tail, rhat = rank_diagnostics(np.ones((2, 4, 3)))
    assert np.isnan(bulk).all() and np.isnan(tail).all() and np.isnan(rhat).all()
