"""Detection: can a classifier tell synthetic rows from real ones? (ROC-AUC 0.5 = no, 1.0 = always)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from simulacra.seeding import derive_rng

from .columns import align, check_frame
from .utility import model_inputs

__all__ = ["detection_auc"]


def detection_auc(
    real: pd.DataFrame, other: pd.DataFrame, *, max_rows: int = 10_000, seed: int = 0, folds: int = 3
) -> float:
    """Cross-validated ROC-AUC of a gradient-boosted classifier separating ``other`` from ``real``.

    Equal-sized samples (at most ``max_rows`` each) are drawn from both. 0.5 means the two cannot be
    told apart; the real holdout scored against the real train split shows what "indistinguishable"
    looks like for the data at hand.
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
    for fit_idx, test_idx in splitter.split(x, y):
        model = HistGradientBoostingClassifier(
            categorical_features="from_dtype", max_iter=100, random_state=seed
        )
        model.fit(x.iloc[fit_idx], y[fit_idx])
        scores[test_idx] = model.predict_proba(x.iloc[test_idx])[:, 1]
    return float(roc_auc_score(y, scores))
