"""Realism of synthetic texts: can a classifier tell them from real ones, how close are their
embedding centroids, and where do they sit on a 2-D map of the real texts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

FOLDS = 5
MAP_POINTS = 600  # points per group on the 2-D map


def tfidf_vectors(fit_on: Sequence[str], *transform: Sequence[str]) -> list[sparse.csr_matrix]:
    """TF-IDF vectors (words and word pairs, sublinear counts) fitted on ``fit_on``."""
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=50_000)
    vec.fit(fit_on)
    return [vec.transform(t) for t in transform]


def detection_auc(
    real: np.ndarray | sparse.spmatrix, other: np.ndarray | sparse.spmatrix, seed: int = 0
) -> float | None:
    """Cross-validated ROC-AUC of a logistic regression telling ``other`` from ``real`` (rows of
    features; both sides should be the same size). 0.5 = cannot be told apart, 1 = always."""
    n_a, n_b = real.shape[0], other.shape[0]
    if min(n_a, n_b) < FOLDS:
        return None
    x = sparse.vstack([real, other]).tocsr() if sparse.issparse(real) else np.vstack([real, other])
    y = np.r_[np.zeros(n_a, dtype=int), np.ones(n_b, dtype=int)]
    scores = np.zeros(len(y))
    for fit_idx, test_idx in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y):
        model = LogisticRegression(C=1.0, max_iter=2_000, solver="liblinear")
        model.fit(x[fit_idx], y[fit_idx])
        scores[test_idx] = model.decision_function(x[test_idx])
    return float(roc_auc_score(y, scores))


def centroid_similarity(a: np.ndarray | sparse.spmatrix, b: np.ndarray | sparse.spmatrix) -> float | None:
    """Cosine similarity of the mean vectors of two sets of rows (1 = same direction)."""
    if a.shape[0] == 0 or b.shape[0] == 0:
        return None
    ca = np.asarray(a.mean(axis=0)).ravel()
    cb = np.asarray(b.mean(axis=0)).ravel()
    den = np.linalg.norm(ca) * np.linalg.norm(cb)
    return float(ca @ cb / den) if den > 0 else None


def embedding_map(
    groups: dict[str, np.ndarray | sparse.spmatrix],
    labels: dict[str, Sequence[str] | None],
    seed: int = 0,
) -> dict:
    """A 2-D map (the first two principal components of the real holdout and synthetic vectors
    together) with at most ``MAP_POINTS`` points per group, for a scatter plot."""
    from sklearn.decomposition import PCA, TruncatedSVD

    rng = np.random.default_rng(seed)
    picks = {}
    for name, x in groups.items():
        n = x.shape[0]
        picks[name] = np.sort(rng.choice(n, min(n, MAP_POINTS), replace=False)) if n else np.zeros(0, int)
    fit_rows = [groups[k][picks[k]] for k in ("holdout", "synthetic") if k in groups and len(picks[k])]
    if not fit_rows:
        return {}
    if sparse.issparse(fit_rows[0]):
        fit = sparse.vstack(fit_rows)
        proj = TruncatedSVD(n_components=2, random_state=seed).fit(fit)
        explained = proj.explained_variance_ratio_
    else:
        fit = np.vstack(fit_rows)
        proj = PCA(n_components=2, random_state=seed).fit(fit)
        explained = proj.explained_variance_ratio_
    out: dict = {"explained": [float(v) for v in explained], "groups": {}}
    for name, x in groups.items():
        if not len(picks[name]):
            continue
        xy = proj.transform(x[picks[name]])
        lab = labels.get(name)
        out["groups"][name] = {
            "x": [round(float(v), 4) for v in xy[:, 0]],
            "y": [round(float(v), 4) for v in xy[:, 1]],
            "label": [str(lab[i]) for i in picks[name]] if lab is not None else None,
        }
    return out
