"""Proper scores of probabilistic count forecasts given as draws: CRPS, log score, interval coverage,
randomised PIT and bias.

CRPS comes from scoringrules (the probability-weighted-moment estimator: the unbiased "fair"
CRPS in O(m log m)). The log score needs a density;
every model here is scored with the same one, a negative binomial moment-matched to its draws (a
Poisson when the draws are not overdispersed), so log scores compare across models that only give
draws. PIT values of counts are randomised (Czado, Gneiting and Held 2009), so a calibrated forecast
gives a uniform histogram.
"""

from __future__ import annotations

import numpy as np
import scoringrules as sr
from scipy import stats

LEVELS = (0.5, 0.8, 0.95)


def crps(observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """CRPS per forecast; `draws` has the ensemble on its last axis, `observed` the other axes."""
    return np.asarray(sr.crps_ensemble(observed, draws, m_axis=-1, estimator="pwm"))


def _nb_moments(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = draws.mean(axis=-1)
    var = draws.var(axis=-1, ddof=1)
    return mean, var


def log_score(observed: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Log predictive density of the observed counts under a negative binomial moment-matched to the
    draws (higher is better)."""
    mean, var = _nb_moments(draws)
    mean = np.maximum(mean, 1e-9)
    over = var > mean * (1 + 1e-9)
    out = stats.poisson.logpmf(observed, mean)
    n = np.where(over, mean**2 / np.where(over, var - mean, 1.0), 1.0)
    p = np.where(over, n / (n + mean), 0.5)
    nb = stats.nbinom.logpmf(observed, n, p)
    return np.where(over, nb, out)


def coverage(observed: np.ndarray, draws: np.ndarray, level: float) -> np.ndarray:
    """Whether the central `level` interval of the draws (inclusive integer bounds, as a fan chart
    shows it) holds the observed value; for small counts this covers more than `level` even for a
    perfect forecast, so calibration is judged by :func:`pit_coverage`."""
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=-1)
    return (lo <= observed) & (observed <= hi)


def randomised_pit(observed: np.ndarray, draws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """F(y - 1) + U (F(y) - F(y - 1)) with F the draws' empirical CDF and U uniform."""
    below = (draws < observed[..., None]).mean(axis=-1)
    at_or_below = (draws <= observed[..., None]).mean(axis=-1)
    return below + rng.uniform(size=below.shape) * (at_or_below - below)


def pit_coverage(pit: np.ndarray, level: float) -> np.ndarray:
    """Coverage of the central `level` interval judged on the randomised PIT: exactly `level` on
    average for a calibrated forecast, counts or not."""
    return (pit >= (1 - level) / 2) & (pit <= (1 + level) / 2)


def score_draws(
    observed: np.ndarray, draws: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Every score for forecasts `draws` (..., sample) of `observed` (...): a dict of arrays."""
    out = {
        "mean": draws.mean(axis=-1),
        "median": np.median(draws, axis=-1),
        "crps": crps(observed, draws),
        "log_score": log_score(observed, draws),
        "pit": randomised_pit(observed, draws, rng),
        "error": draws.mean(axis=-1) - observed,
    }
    for level in LEVELS:
        out[f"covered_{round(100 * level)}"] = coverage(observed, draws, level)
    return out


def coverage_summary(pit: np.ndarray, inclusive: dict[float, np.ndarray] | None = None) -> dict:
    """Percent coverage per level from PIT values (and from inclusive intervals when given)."""
    out = {}
    for level in LEVELS:
        out[f"coverage_{round(100 * level)}"] = 100 * float(pit_coverage(pit, level).mean())
        if inclusive is not None:
            out[f"interval_{round(100 * level)}"] = 100 * float(np.mean(inclusive[level]))
    return out
