"""Scores agree with closed forms and reference implementations on known cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from forecast.evaluate.scores import coverage, crps, log_score, randomised_pit, score_draws


def _normal_crps(y, mu, sigma):
    """Closed-form CRPS of N(mu, sigma^2) (Gneiting and Raftery 2007)."""
    z = (y - mu) / sigma
    return sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def test_crps_of_normal_draws_matches_the_closed_form():
    rng = np.random.default_rng(0)
    y = np.array([-1.0, 0.3, 2.5])
    draws = rng.normal(0.0, 1.5, size=(3, 200_000))
    np.testing.assert_allclose(crps(y, draws), _normal_crps(y, 0.0, 1.5), rtol=5e-3)


def test_crps_of_a_point_forecast_is_the_absolute_error():
    draws = np.full((2, 50), 7.0)
    np.testing.assert_allclose(crps(np.array([4.0, 7.0]), draws), [3.0, 0.0], atol=1e-12)


def test_log_score_matches_the_negative_binomial_it_was_drawn_from():
    rng = np.random.default_rng(1)
    n, p = 5.0, 5.0 / (5.0 + 40.0)  # mean 40, overdispersed
    draws = stats.nbinom.rvs(n, p, size=(1, 400_000), random_state=rng).astype(float)
    y = np.array([35.0])
    assert log_score(y, draws)[0] == pytest.approx(stats.nbinom.logpmf(35, n, p), abs=0.01)
    # not overdispersed: the Poisson
    pois = rng.poisson(12.0, size=(1, 400_000)).astype(float)
    assert log_score(np.array([9.0]), pois)[0] == pytest.approx(
        stats.poisson.logpmf(9, 12.0), abs=0.01
    )


def test_coverage_and_pit_of_a_calibrated_forecast():
    rng = np.random.default_rng(2)
    mu = rng.uniform(20, 200, size=4000)
    y = rng.poisson(mu).astype(float)
    draws = rng.poisson(mu[:, None], size=(4000, 2000)).astype(float)
    for level in (0.5, 0.8, 0.95):
        got = coverage(y, draws, level).mean()
        assert level - 0.02 <= got <= level + 0.06  # inclusive integer bounds cover a little more
    pit = randomised_pit(y, draws, rng)
    assert stats.kstest(pit, "uniform").pvalue > 0.01
    # a forecast too narrow gives a U-shaped PIT: too many values in the tails
    narrow = rng.poisson(mu[:, None] * 1.3, size=(4000, 2000)).astype(float)
    pit_bad = randomised_pit(y, narrow, rng)
    assert stats.kstest(pit_bad, "uniform").pvalue < 1e-6


def test_score_draws_returns_every_score_with_the_observed_shape():
    rng = np.random.default_rng(3)
    out = score_draws(np.array([[1.0, 2.0]]), rng.poisson(2.0, size=(1, 2, 300)), rng)
    expected = {"mean", "median", "crps", "log_score", "pit", "error"}
    assert expected | {"covered_50", "covered_80", "covered_95"} == set(out)
    assert all(v.shape == (1, 2) for v in out.values())


def test_pit_coverage_is_calibrated_for_small_counts_where_inclusive_intervals_over_cover():
    from forecast.evaluate.scores import pit_coverage

    rng = np.random.default_rng(4)
    mu = rng.uniform(1, 6, size=6000)  # homicide-sized counts
    y = rng.poisson(mu).astype(float)
    draws = rng.poisson(mu[:, None], size=(6000, 2000)).astype(float)
    pit = randomised_pit(y, draws, rng)
    for level in (0.5, 0.8, 0.95):
        assert abs(pit_coverage(pit, level).mean() - level) < 0.02
    assert coverage(y, draws, 0.8).mean() > 0.84  # inclusive integer bounds: too generous here
