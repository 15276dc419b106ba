"""Detection: can a classifier tell synthetic rows from real ones? (ROC-AUC 0.5 = no, 1.0 = always).

The cost is bounded whatever the table's size: the classifier sees a capped sample, stratified by
class (equally many real and other rows, at most :data:`DETECTION_ROWS` of each), and the AUC comes
with a confidence interval for that sample size: Hanley and McNeil's standard error for the test rows,
plus the spread the folds' models add (:func:`_cv_auc_se`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from simulacra.seeding import derive_rng

from .columns import align, check_frame
from .utility import model_inputs

__all__ = ["DETECTION_ROWS", "Z_INTERVAL", "auc_interval", "detection_auc", "detection_check"]

DETECTION_ROWS = 5_000  # rows of each class the classifier sees, at most
Z_INTERVAL = 2.576  # the report's intervals are 99% intervals


def auc_interval(auc: float, n_pos: int, n_neg: int, z: float = Z_INTERVAL) -> list[float]:
    """A confidence interval for a ROC-AUC measured on ``n_pos`` and ``n_neg`` rows (Hanley & McNeil,
    1982), clipped to [0, 1]."""
    half = z * math.sqrt(_hm_var(auc, n_pos, n_neg))
    return [max(0.0, auc - half), min(1.0, auc + half)]


def detection_check(
    real: pd.DataFrame, other: pd.DataFrame, *, max_rows: int = DETECTION_ROWS, seed: int = 0, folds: int = 2
) -> dict:
    """Cross-validated ROC-AUC of a gradient-boosted classifier separating ``other`` from ``real``, on
    equally many rows of each (at most ``max_rows``): ``{"auc", "ci", "rows_per_class"}``.

    0.5 means the two cannot be told apart; the real holdout scored against the real train split shows
    what "indistinguishable" looks like for the data at hand.
    """
    check_frame(real)
    other = align(real, other, "compared")
    rng = derive_rng(seed, "evaluate", "detection", "sample")
    n = min(len(real), len(other), max_rows)
    a = real.iloc[np.sort(rng.choice(len(real), n, replace=False))]
    b = other.iloc[np.sort(rng.choice(len(other), n, replace=False))]
    xa, xb = model_inputs([a, b], a, list(real.columns))
    x = pd.concat([xa, xb], ignore_index=True)
    y = np.r_[np.zeros(n, dtype=int), np.ones(n, dtype=int)]
    scores = np.zeros(2 * n)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    tests = []
    for fit_idx, test_idx in splitter.split(x, y):
        tests.append(test_idx)
        model = HistGradientBoostingClassifier(
            categorical_features="from_dtype", max_iter=60, learning_rate=0.15, random_state=seed
        )
        # one thread: on small samples OpenMP's threads barely help, and on a busy machine they wait
        # on one another many times over (a fit 5x slower with two threads than with one)
        with threadpool_limits(1):
            model.fit(x.iloc[fit_idx], y[fit_idx])
            scores[test_idx] = model.predict_proba(x.iloc[test_idx])[:, 1]
    auc = float(roc_auc_score(y, scores))
    per_fold = [(float(roc_auc_score(y[t], scores[t])), int(y[t].sum()), int(len(t) - y[t].sum()))
                for t in tests]
    se = _cv_auc_se(auc, n, per_fold)
    # where the AUC of the same check on other rows (or on every row, capped the same way) may lie: two
    # independent draws, twice the variance
    half = Z_INTERVAL * math.sqrt(2) * se
    ci = [max(0.0, auc - half), min(1.0, auc + half)]
    return {"auc": auc, "ci": ci, "se": se, "rows_per_class": int(n)}


def _hm_var(auc: float, n_pos: int, n_neg: int) -> float:
    a = min(max(auc, 1e-6), 1 - 1e-6)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / max(n_pos * n_neg, 1)
    return max(var, 0.0)


def _cv_auc_se(auc: float, n: int, folds: list[tuple[float, int, int]]) -> float:
    """Standard error of a cross-validated AUC over draws of the rows *and* of the fitted models.

    Hanley and McNeil's variance holds the scoring model fixed: it is the noise of the test rows alone.
    Each fold's model is fitted on other rows, so the fold AUCs also differ by how the models came out:
    their spread, less what their test rows alone explain, estimates that part (a variance component, 0
    when the folds agree as closely as their test rows allow), and the pooled AUC, averaging over the
    folds' models, carries it divided by their number."""
    test_var = _hm_var(auc, n, n)
    if len(folds) < 2:
        return math.sqrt(test_var)
    values = np.array([a for a, _, _ in folds])
    spread = float(values.var(ddof=1))
    within = float(np.mean([_hm_var(a, p, q) for a, p, q in folds]))
    return math.sqrt(test_var + max(spread - within, 0.0) / len(folds))


def detection_auc(
    real: pd.DataFrame, other: pd.DataFrame, *, max_rows: int = 10_000, seed: int = 0, folds: int = 3
) -> float:
    """The ROC-AUC of :func:`detection_check` alone (defaults as before the cap: 10,000 rows, 3 folds)."""
    return detection_check(real, other, max_rows=max_rows, seed=seed, folds=folds)["auc"]
