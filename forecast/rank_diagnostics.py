"""Rank-normalised split R-hat and bulk/tail ESS (Vehtari et al. 2021) for many elements at once.

The same estimators as ArviZ (`arviz_stats`, tested to agree to 1e-8), vectorised over a variable's
elements: ArviZ runs a Python loop over lags per element, which took 60-140 s for the publication
fit's 8,000 elements x 10,000 draws; this took about 25 s. Arrays are (element, chain, draw).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import fft, special

BLOCK = 256  # elements per block: bounds the memory of the FFTs


def _split(x: np.ndarray) -> np.ndarray:
    """Each chain cut into its first and last halves: (element, 2 x chain, draw // 2)."""
    half = x.shape[2] // 2
    return np.concatenate([x[:, :, :half], x[:, :, -half:]], axis=1)


def _ranks(flat: np.ndarray) -> np.ndarray:
    """Each row's ranks from 1, ties given their average rank (as scipy's `rankdata`)."""
    n = flat.shape[1]
    order = np.argsort(flat, axis=1)
    step = np.diff(np.take_along_axis(flat, order, axis=1), axis=1) != 0
    pos = np.arange(n)[None, :]
    ones = np.ones((flat.shape[0], 1), dtype=bool)
    first = np.maximum.accumulate(np.where(np.hstack([ones, step]), pos, 0), axis=1)
    last = np.minimum.accumulate(np.where(np.hstack([step, ones]), pos, n)[:, ::-1], axis=1)
    ranks = np.empty(flat.shape)
    np.put_along_axis(ranks, order, (first + last[:, ::-1]) / 2.0 + 1.0, axis=1)
    return ranks


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Normal scores of each element's pooled ranks (Blom's offset 3/8)."""
    flat = x.reshape(x.shape[0], -1)
    return special.ndtri((_ranks(flat) - 0.375) / (flat.shape[1] + 0.25)).reshape(x.shape)


def _rhat(x: np.ndarray) -> np.ndarray:
    """Classic R-hat of each element over its chains."""
    n = x.shape[2]
    between = n * np.var(x.mean(axis=2), axis=1, ddof=1)
    within = np.var(x, axis=2, ddof=1).mean(axis=1)
    return np.sqrt((between / within + n - 1) / n)


def _ess(x: np.ndarray) -> np.ndarray:
    """ESS of each element by Geyer's initial monotone sequence of paired autocorrelations."""
    n_el, m, n = x.shape
    centred = x - x.mean(axis=2, keepdims=True)
    spec = fft.rfft(centred, n=fft.next_fast_len(2 * n), axis=2)
    acov = fft.irfft(spec * np.conjugate(spec), axis=2)[:, :, :n] / n
    mean_var = acov[:, :, 0].mean(axis=1) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if m > 1:
        var_plus = var_plus + np.var(x.mean(axis=2), axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (mean_var[:, None] - acov.mean(axis=1)) / var_plus[:, None]
    rho[:, 0] = 1.0
    n_pairs = max(-(-(n - 2) // 2), 1)  # pairs (0, 1), (2, 3), ... that ArviZ's loop reaches
    pairs = np.zeros((n_el, n_pairs, 2))
    pairs.reshape(n_el, -1)[:, : min(2 * n_pairs, n)] = rho[:, : 2 * n_pairs]
    sums = pairs.sum(axis=2)
    # the sequence ends at the first pair whose sum is not positive (else at the last pair)
    ended = sums <= 0
    stop = np.where(ended.any(axis=1), np.argmax(ended, axis=1), n_pairs - 1)
    before = np.arange(n_pairs)[None, :] < stop[:, None]
    monotone = np.minimum.accumulate(np.where(before, sums, np.inf), axis=1)  # non-increasing
    last = np.arange(n_el), stop
    even = pairs[last][:, 0]
    extra = np.where((even > 0) | (sums[last] >= 0), even, 0.0)  # the stopping pair's even lag
    tau = np.maximum(-1.0 + 2.0 * np.where(before, monotone, 0.0).sum(axis=1) + extra,
                     1.0 / np.log10(m * n))  # fmt: skip
    ess = m * n / tau
    ess[np.isnan(rho).any(axis=1)] = np.nan
    flat = x.reshape(n_el, -1)
    ess[(flat.max(axis=1) - flat.min(axis=1)) < np.finfo(float).resolution] = m * n
    return ess


def _block(x: np.ndarray, prob: float) -> np.ndarray:
    """(bulk ESS, tail ESS, R-hat) of a block of elements without NaN: (3, element)."""
    s = _split(x)
    z = _z_scale(s)
    bulk = _ess(z)
    flat = x.reshape(x.shape[0], -1)
    q = np.quantile(flat, [prob, 1 - prob], axis=1)[:, :, None, None]
    tail = np.minimum(_ess((s <= q[0]).astype(float)), _ess((s <= q[1]).astype(float)))
    if x.shape[1] < 2:  # R-hat needs two chains
        return np.stack([bulk, tail, np.full(x.shape[0], np.nan)])
    med = np.median(s.reshape(s.shape[0], -1), axis=1)[:, None, None]
    rhat = np.maximum(_rhat(z), _rhat(_z_scale(np.abs(s - med))))
    return np.stack([bulk, tail, rhat])


def rank_diagnostics(x: np.ndarray, prob: float = 0.05) -> tuple[np.ndarray, ...]:
    """Bulk ESS, tail ESS (the smaller of the `prob` and `1 - prob` quantile indicators' ESS, 5%
    and 95% as Stan; ArviZ 1 defaults to its 89% interval) and rank-normalised split R-hat (the
    larger of bulk and folded) of each element of `x` (element, chain, draw). NaN where an element
    holds a NaN or there are fewer than 4 draws."""
    out = np.full((3, x.shape[0]), np.nan)
    if x.shape[2] < 4:
        return tuple(out)
    idx = np.flatnonzero(~np.isnan(x).any(axis=(1, 2)))
    blocks = [idx[start : start + BLOCK] for start in range(0, idx.size, BLOCK)]

    def run(sel: np.ndarray) -> None:
        with np.errstate(invalid="ignore", divide="ignore"):  # constant elements: 0/0
            out[:, sel] = _block(x[sel], prob)

    # numpy's sorts and scipy's FFTs release the GIL: threads use every core
    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 4)) as pool:
        list(pool.map(run, blocks))
    return tuple(out)
