"""Intervals for scores computed on a sample of the data: where the score on every row may lie.

A score measured on ``n`` rows differs from the same score on all ``N`` rows by noise and, for
distances between empirical distributions (``1 - TVD``, Cramér's V gaps), by a bias that shrinks as
``1/sqrt(n)``. Both are read off the data: the score is computed again on random halves of the sample
(two ways of halving it); the halves' spread gives the noise, their shift from the whole gives the
bias, which is then carried from ``n`` to ``N`` rows. The check on every row is itself drawn from the
data (equally many holdout and synthetic rows, capped samples), so the noise counts twice (``RERUN``).
The intervals are 99% intervals (z = 2.576)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["RERUN", "Z", "cluster_se", "shift_interval", "wilson"]

Z = 2.576
RERUN = math.sqrt(2)  # the spread of the difference of two independent draws, in standard errors of one


def shift_interval(value: float, halves: list[tuple[float, float]], n: float, n_full: float,
                   *, rises: bool = True) -> list[float]:
    """Where ``value`` (on ``n`` rows, ``n`` an effective sample size) lies on ``n_full`` rows, from its
    values on the two halves of each of several random halvings of the sample (``halves``).

    ``rises``: the score grows with the sample (an accuracy: the interval reaches above the value by the
    bias left at ``n_full`` rows); else its drift has no known direction (a gap: both ways)."""
    # each halving's difference has twice the variance of a half, four times that of the whole
    sd = math.sqrt(sum((a - b) ** 2 for a, b in halves) / len(halves)) / 2
    noise = Z * RERUN * max(sd, 1e-4)
    mean_half = sum(a + b for a, b in halves) / (2 * len(halves))
    # the bias at n rows is (value - halves) / (sqrt(2) - 1); what is left of it at n_full rows
    bias = abs(value - mean_half) / (math.sqrt(2) - 1)
    shift = bias * (1 - math.sqrt(n / n_full)) if n_full > n else 0.0
    return [value - noise if rises else value - shift - noise, value + shift + noise]


def wilson(k: float, n: int, z: float = Z) -> list[float]:
    """Wilson's interval for a proportion of ``k`` successes in ``n`` trials."""
    if n <= 0:
        return [0.0, 1.0]
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return [0.0 if k <= 0 else max(0.0, mid - half), 1.0 if k >= n else min(1.0, mid + half)]


def cluster_se(values: np.ndarray, clusters: np.ndarray) -> float:
    """Standard error of the mean of ``values`` when the rows of one cluster (``clusters``: an integer
    label per row) move together: the cluster-robust variance, the sum over clusters of the squared sum
    of their deviations from the mean, over n squared. With every cluster a single row it is the usual
    variance of a mean; where many rows share a cluster (the synthetic rows sharing a closest record
    in a DCR share) it is larger."""
    v = np.asarray(values, dtype="float64")
    dev = np.bincount(np.asarray(clusters), weights=v - v.mean())
    return float(np.sqrt((dev**2).sum()) / max(len(v), 1))
