"""Sampling column by column from conditional distributions, with conditions by likelihood weighting.

A model that can give each row's distribution of a column given the columns drawn before it (a
``probs_fn``) samples, conditions and imputes through these functions; they need no torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import Conditions, effective_size, resample_weighted

ProbsFn = Callable[[np.ndarray, list[int], int], np.ndarray]


def draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row from row-wise probabilities (inverse CDF, one uniform per row)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    idx = (cum < u[:, None]).sum(axis=1)
    return np.minimum(idx, probs.shape[1] - 1)


def sequential_sample(
    n: int,
    m: int,
    rng: np.random.Generator,
    order: list[int],
    probs_fn: ProbsFn,
    conditions: Conditions | None = None,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``n`` rows of codes column by column in ``order``.

    ``probs_fn(codes, filled, col)`` gives each row's distribution of column ``col`` given the
    columns ``filled`` so far. Conditions use likelihood weighting, not rejection: a conditioned column is
    drawn from its distribution restricted to the allowed codes and the row is weighted by the
    probability of that restriction (likelihood weighting); the weighted prefixes are resampled to
    ``n`` rows and the remaining columns drawn afresh. No possible row raises :class:`ConditionError`.
    """
    conditions = conditions or {}
    if not conditions:
        codes = np.zeros((n, m), dtype=np.int64) if start is None else start.copy()
        _walk(codes, rng, order, 0, len(order), probs_fn, {}, None)
        return codes
    last = max(order.index(c) for c in conditions)
    pool, logws = [], []
    drawn, ess = 0, 0.0
    budget = max(50 * n, 100_000)
    batch = max(n, 1024)
    while ess < n and drawn < budget:
        codes = np.zeros((batch, m), dtype=np.int64)
        logw = np.zeros(batch)
        _walk(codes, rng, order, 0, last + 1, probs_fn, conditions, logw)
        pool.append(codes)
        logws.append(logw)
        drawn += batch
        ess = effective_size(logws)
        batch = min(budget - drawn, max(batch, int(batch * max(1.0, n / max(ess, 1.0)))))
        if batch <= 0:
            break
    codes = resample_weighted(pool, logws, n, rng)
    _walk(codes, rng, order, last + 1, len(order), probs_fn, {}, None)
    return codes


def _walk(
    codes: np.ndarray,
    rng: np.random.Generator,
    order: list[int],
    lo: int,
    hi: int,
    probs_fn: ProbsFn,
    conditions: Conditions,
    logw: np.ndarray | None,
) -> None:
    for pos in range(lo, hi):
        col = order[pos]
        probs = probs_fn(codes, order[:pos], col)
        if col in conditions:
            w = probs * conditions[col][None, : probs.shape[1]]
            mass = w.sum(axis=1)
            if logw is not None:
                with np.errstate(divide="ignore"):
                    logw += np.log(mass)
            probs = np.where(mass[:, None] > 0, w, conditions[col][None, : probs.shape[1]] + 1e-12)
        codes[:, col] = draw(probs, rng)


def impute_by_weighting(
    codes: np.ndarray,
    known: np.ndarray,
    rng: np.random.Generator,
    order: list[int],
    probs_fn: ProbsFn,
    particles: int = 32,
) -> np.ndarray:
    """Fill the unknown cells of ``codes`` (``known`` is a boolean mask) from the model's conditional law.

    Each row gets ``particles`` draws in the model's order with its known cells fixed, weighted by
    their likelihood; one particle per row is kept by weight. Exact as ``particles`` grows.
    """
    n, m = codes.shape
    out = codes.copy()
    rows = np.repeat(np.arange(n), particles)
    rep = codes[rows].astype(np.int64)
    kn = known[rows]
    logw = np.zeros(rows.size)
    for pos, col in enumerate(order):
        probs = probs_fn(rep, order[:pos], col)
        fixed = kn[:, col]
        if fixed.any():
            with np.errstate(divide="ignore"):
                logw[fixed] += np.log(probs[fixed, rep[fixed, col]])
        free = ~fixed
        if free.any():
            rep[free, col] = draw(probs[free], rng)
    logw = logw.reshape(n, particles)
    best = np.where(np.isfinite(logw).any(axis=1, keepdims=True), logw, 0.0)
    w = np.exp(best - best.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    pick = (w.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1).clip(0, particles - 1)
    chosen = rep.reshape(n, particles, m)[np.arange(n), pick]
    out[~known] = chosen[~known]
    return out
