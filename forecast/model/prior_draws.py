"""AR(1) path priors as distributions, for prior predictive draws.

In a fit, a constrained AR(1) path's prior is a Potential on placeholder Normal(0, 1) coordinates
(:func:`forecast.model.availability.constrained_ar1`): the sampler sees the right density, but
prior predictive sampling ignores Potentials and would draw the placeholders. Inside
:func:`drawable_paths` the same prior is built as a distribution instead: a path's coordinates
c (rows of the row basis, zero-sum vectors over time) of iid stationary AR(1) rows conditioned
on the subspace are independent across rows, each MvNormal with precision T' Q T (Q the AR(1)
precision, T the time basis), so `pm.sample_prior_predictive` draws them as the model means.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import pymc as pm
import pytensor.tensor as pt

_DRAWABLE: ContextVar[bool] = ContextVar("drawable_ar1_paths", default=False)


@contextmanager
def drawable_paths() -> Iterator[None]:
    """Models built inside take AR(1) path priors as distributions (for prior predictive checks);
    the sampler's parameterisations (shifts, placeholders with a Potential) are not used."""
    token = _DRAWABLE.set(True)
    try:
        yield
    finally:
        _DRAWABLE.reset(token)


def drawing() -> bool:
    """Whether the model being built takes AR(1) path priors as distributions."""
    return _DRAWABLE.get()


def ar1_precision(sigma, rho, n_t: int) -> pt.TensorVariable:
    """(n_t, n_t) precision of a stationary AR(1) path with innovation sd sigma: tridiagonal."""
    inner = np.zeros(n_t)
    inner[1:-1] = 1.0
    diag = 1.0 + rho**2 * pt.as_tensor(inner)
    off = np.eye(n_t, k=1) + np.eye(n_t, k=-1)
    return (pt.diag(diag) - rho * pt.as_tensor(off)) / sigma**2


def path_coordinates(
    name: str, sigma, rho, n_rows: int, time_basis: np.ndarray, dims: tuple[str, str]
) -> pt.TensorVariable:
    """(n_rows, T - 1) coordinates of AR(1) paths conditioned on their subspace, as a distribution."""
    tb = pt.as_tensor(time_basis)
    tau = tb.T @ ar1_precision(sigma, rho, time_basis.shape[0]) @ tb
    return pm.MvNormal(name, mu=pt.zeros((n_rows, time_basis.shape[1])), tau=tau, dims=dims)
