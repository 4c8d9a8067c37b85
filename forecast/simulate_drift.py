"""Slow movements a simulated panel can carry beside its outcome model: regional random-walk trends
and persistent force drift, each from its own random stream so that availability, the indicators and
the rest of the panel stay the same draw for draw."""

from __future__ import annotations

import numpy as np
import xarray as xr

from forecast.core import dims

DRIFT_RHO = 0.9  # quarterly persistence of simulated force drift


def ar1(rng: np.random.Generator, n: int, t: int, rho: float, sd: float) -> np.ndarray:
    """`n` stationary AR(1) series of length `t` with marginal sd `sd`."""
    x = np.empty((n, t))
    x[:, 0] = rng.normal(0.0, sd, size=n)
    innov = sd * np.sqrt(1 - rho**2)
    for i in range(1, t):
        x[:, i] = rho * x[:, i - 1] + rng.normal(0.0, innov, size=n)
    return x


def regional_trend(
    seed: int,
    sd: dict[str, float],
    outcomes: tuple[str, ...],
    n_regions: int,
    total: int,
    lag: int,
    n_periods: int,
) -> np.ndarray:
    """(outcome, region, quarter) random-walk deviations from the national trend, from their own
    stream, summing to zero over regions and centred over the modelled quarters."""
    n_k = len(outcomes)
    sd_g = np.array([sd.get(k, 0.0) for k in outcomes])
    g_rng = np.random.default_rng([seed, 7])
    z = g_rng.normal(size=(n_k, n_regions, total - 1))
    g_steps = (z - z.mean(axis=1, keepdims=True)) * sd_g[:, None, None]
    g_path = np.concatenate([np.zeros((n_k, n_regions, 1)), np.cumsum(g_steps, axis=2)], axis=2)
    return g_path - g_path[:, :, lag:n_periods].mean(axis=2, keepdims=True)


def force_drift(
    seed: int, sd: dict[str, float], outcomes: tuple[str, ...], n_forces: int, total: int
) -> np.ndarray:
    """(outcome, force, quarter) persistent deviations of the log rate: quarterly AR(1) with
    persistence DRIFT_RHO and marginal sd per outcome, from their own stream."""
    d_rng = np.random.default_rng([seed, 8])
    return np.stack([ar1(d_rng, n_forces, total, DRIFT_RHO, sd.get(k, 0.0)) for k in outcomes])


def slow_movements(
    seed: int,
    outcomes: tuple[str, ...],
    r_idx: np.ndarray,
    regions: list[str],
    total: int,
    lag: int,
    n_periods: int,
    regional_trend_sd: dict[str, float] | None,
    force_drift_sd: dict[str, float] | None,
    national_noise_sd: dict[str, float] | None = None,
) -> tuple[np.ndarray | float, dict[str, xr.DataArray]]:
    """What the asked-for movements add to the (force, quarter, outcome) log mean, and their truth
    over every simulated quarter (`trend_regional`, `force_drift`, `national_noise`)."""
    add: np.ndarray | float = 0.0
    truth = {}
    if regional_trend_sd:
        g = regional_trend(seed, regional_trend_sd, outcomes, len(regions), total, lag, n_periods)
        add = add + g[:, r_idx, :].transpose(1, 2, 0)
        truth["trend_regional"] = xr.DataArray(
            g, dims=(dims.OUTCOME, dims.GOR, dims.PERIOD), coords={dims.GOR: regions}
        )
    if force_drift_sd:
        d = force_drift(seed, force_drift_sd, outcomes, len(r_idx), total)
        add = add + d.transpose(1, 2, 0)
        truth["force_drift"] = xr.DataArray(d, dims=(dims.OUTCOME, dims.FORCE, dims.PERIOD))
    if national_noise_sd:  # one iid effect per quarter shared by every force, from its own stream
        sd = np.array([national_noise_sd.get(k, 0.0) for k in outcomes])
        e = np.random.default_rng([seed, 9]).normal(size=(len(outcomes), total)) * sd[:, None]
        add = add + e.T[None, :, :]
        truth["national_noise"] = xr.DataArray(e, dims=(dims.OUTCOME, dims.PERIOD))
    return add, truth
