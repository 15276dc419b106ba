"""Realism of synthetic texts: can a classifier tell them from real ones, how close are their
embedding centroids, and where do they sit on a 2-D map of the real texts; and the report's realism
section."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from ...seeding import derive_rng
from ..scores import DETECTION_WARN, below_status, score, worst
from .corpus import Run, holdout_rows, label_names, sample_rows, shown

FOLDS = 5
MAP_POINTS = 600  # points per group on the 2-D map
DETECTION_ROWS = 2_000  # texts per side for the detection classifiers
CENTROID_WARN = 0.05  # cosine similarity below the reference


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

    rng = derive_rng(seed, "evaluate", "realism", "map")
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


# --------------------------------------------------------------------------------------------------
# the report's realism section
# --------------------------------------------------------------------------------------------------


def realism_section(run: Run) -> dict:
    """The text report's realism section: detection by words and by meaning, centroid similarity, and
    the 2-D map, each beside two real samples' scores."""
    syn, a, b = run.synthetic, run.half_a, run.half_b
    syn_vec = run.syn_vec or syn
    seed = run.seed
    rng = derive_rng(seed, "evaluate", "realism", "detection")
    n = min(len(a.texts), len(b.texts), len(syn.texts), DETECTION_ROWS)
    ia, ib, i_s = (sample_rows(len(x.texts), n, rng) for x in (a, b, syn))
    a_t, b_t, s_t = ([x.texts[i] for i in idx] for x, idx in ((a, ia), (b, ib), (syn, i_s)))
    va, vs_ = tfidf_vectors(a_t + s_t, a_t, s_t)
    va2, vb = tfidf_vectors(a_t + b_t, a_t, b_t)
    det_tf_s, det_tf_h = detection_auc(va, vs_, seed), detection_auc(va2, vb, seed)
    scores = [
        score(
            "detection_auc_tfidf",
            "Detection by words: can a classifier tell synthetic from real? (ROC-AUC)",
            det_tf_s,
            det_tf_h,
            ideal="0.5",
            status="warn" if det_tf_s is not None and det_tf_s > DETECTION_WARN else "pass",
            explain=f"A TF-IDF + logistic-regression classifier, cross-validated on {n:,} synthetic and "
            f"{n:,} real held-out texts, tries to tell them apart; the reference separates two halves of "
            "the real holdout. 0.5 = indistinguishable; above "
            f"{DETECTION_WARN} warns. It catches giveaway words and phrasing; it says nothing about "
            "whether the labels are right.",
        ),
    ]
    half = {"a": run.vec("holdout")[holdout_rows(run, a)], "b": run.vec("holdout")[holdout_rows(run, b)]}
    if run.embedder is not None:
        i_e = sample_rows(len(syn_vec.texts), n, rng)
        ea, eb, es = half["a"][ia], half["b"][ib], run.vec("synthetic")[i_e]
        det_e_s, det_e_h = detection_auc(ea, es, seed), detection_auc(ea, eb, seed)
        scores.append(
            score(
                "detection_auc_embeddings",
                "Detection by meaning: classifier on sentence embeddings (ROC-AUC)",
                det_e_s,
                det_e_h,
                ideal="0.5",
                status="warn" if det_e_s is not None and det_e_s > DETECTION_WARN else "pass",
                explain="The same test on sentence embeddings: it sees topics and style rather than single "
                f"words. Above {DETECTION_WARN} warns.",
            )
        )
    else:
        scores.append(
            score(
                "detection_auc_embeddings",
                "Detection by meaning: classifier on sentence embeddings (ROC-AUC)",
                None,
                None,
                ideal="0.5",
                status="n/a",
                explain="",
                not_computable=f"sentence embeddings skipped: {run.skipped}",
            )
        )
    cs = centroid_similarity(run.vec("synthetic"), half["a"])
    ch = centroid_similarity(half["b"], half["a"])
    scores.append(
        score(
            "centroid_similarity",
            f"Centroid similarity ({run.rep_name}, cosine)",
            cs,
            ch,
            ideal="reference",
            status=below_status(cs, ch, CENTROID_WARN),
            explain="Cosine similarity between the mean vector of the synthetic texts and that of real "
            "holdout "
            "half A; the reference is half B against half A. It shows a corpus-wide drift in topic or "
            f"register; {CENTROID_WARN} below the reference warns.",
        )
    )
    tables = []
    if run.target is not None:
        rows = []
        for label in label_names(run):
            s_l, a_l, b_l = syn.of_label(label), a.of_label(label), b.of_label(label)
            va_l = run.vec("holdout")[holdout_rows(run, a_l)]
            vb_l = run.vec("holdout")[holdout_rows(run, b_l)]
            vs_l = run.vec("synthetic")[[i for i, v in enumerate(syn_vec.labels or []) if v == label]]
            rows.append(
                [label, len(s_l.texts), centroid_similarity(vs_l, va_l), centroid_similarity(vb_l, va_l)]
            )
        tables.append(
            {
                "title": "Per label: centroid similarity",
                "note": f"Cosine similarity of mean {run.rep_name}: synthetic texts of the label against "
                f"real "
                "holdout half A of the label; the reference is half B against half A.",
                "columns": [
                    str(run.target),
                    "synthetic texts",
                    "synthetic vs real",
                    "real vs real (reference)",
                ],
                "formats": [None, "0", "0.000", "0.000"],
                "rows": rows,
            }
        )
    groups = {"holdout": run.vec("holdout"), "synthetic": run.vec("synthetic"), "train": run.vec("train")}
    labels = {"holdout": run.holdout.labels, "synthetic": syn_vec.labels, "train": run.train.labels}
    fig_map = embedding_map(groups, labels, seed)
    fig_map["representation"] = run.rep_name
    return {
        "status": worst(s["status"] for s in scores),
        "summary": f"A classifier tells synthetic from real texts with ROC-AUC {shown(det_tf_s)} (two real "
        f"samples: "
        f"{shown(det_tf_h)}); centroid similarity {shown(cs)} against {shown(ch)}.",
        "scores": scores,
        "tables": tables,
        "figures": {"embedding_map": fig_map},
    }
