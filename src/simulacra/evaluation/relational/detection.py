"""Aggregation detection: can a classifier tell synthetic parent rows from real ones once each parent
row carries its children's aggregates (counts, means, spreads, distinct counts)?

The measure of relational synthesis benchmarks: a gradient-boosted classifier, 5-fold cross-validated,
on equally many synthetic and real holdout parent rows; the accuracy is 0.5 when they cannot be told
apart. The reference runs the same classifier on real train against the same holdout rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from ...seeding import derive_rng
from ..tabular.utility import model_inputs

__all__ = ["FOLDS", "aggregation_detection"]

FOLDS = 5


def _sample(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(df) <= n:
        return df.reset_index(drop=True)
    return df.iloc[np.sort(rng.choice(len(df), n, replace=False))].reset_index(drop=True)


def _accuracy(real: pd.DataFrame, other: pd.DataFrame, train: pd.DataFrame, seed: int) -> float | None:
    """Cross-validated accuracy, or ``None`` when a fold's training rows have no value in any feature."""
    columns = list(train.columns)
    xa, xb = model_inputs([real, other], train, columns)
    x = pd.concat([xa, xb], ignore_index=True)
    y = np.r_[np.zeros(len(xa), dtype=int), np.ones(len(xb), dtype=int)]
    hits = 0
    splitter = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for fit_idx, test_idx in splitter.split(x, y):
        # a feature with no value in the fold's training rows cannot be split on, and scikit-learn fails
        # to bin an all-missing numeric column (a spread of children on a tiny holdout): leave it out
        fit = x.iloc[fit_idx]
        used = fit.columns[fit.notna().any()]
        if len(used) == 0:
            return None
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=100,
                                               random_state=seed)
        model.fit(fit[used], y[fit_idx])
        hits += int((model.predict(x.iloc[test_idx][used]) == y[test_idx]).sum())
    return hits / len(y)


def aggregation_detection(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    seed: int = 0,
    max_rows: int = 10_000,
    key: str = "",
) -> dict:
    """Cross-validated accuracy separating ``synthetic`` from ``holdout`` (enriched parent rows), and the
    reference separating ``train`` from the same holdout rows, all sides cut to the same seeded number
    of rows (at most ``max_rows``). ``accuracy`` / ``reference`` are ``None``, with the ``reason``, when
    a side has fewer than :data:`FOLDS` rows or a fold's training rows have no value in any feature."""
    n = min(len(train), len(holdout), len(synthetic), max_rows)
    if n < FOLDS:
        return {"accuracy": None, "reference": None, "rows": n,
                "reason": f"{n} rows a side, fewer than the {FOLDS} folds need"}
    rng = derive_rng(seed, "evaluate", "relational", "detection", key)
    hol, syn, trn = (_sample(f, n, rng) for f in (holdout, synthetic, train))
    accuracy, reference = _accuracy(hol, syn, train, seed), _accuracy(hol, trn, train, seed)
    out = {"accuracy": accuracy, "reference": reference, "rows": n}
    if accuracy is None or reference is None:
        out = {**out, "accuracy": None, "reference": None,
               "reason": f"no feature has a value in the training rows of a fold ({n} rows a side)"}
    return out
