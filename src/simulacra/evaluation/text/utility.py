"""Train-synthetic, test-real for text classification: small classifiers trained on the real train
texts alone, on the synthetic texts alone and on both, all tested on the real holdout; and the text
report's utility section."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from ...seeding import derive_rng
from ..scores import UTILITY_FAIL, UTILITY_WARN, score, utility_status, worst
from .corpus import Run, shown

SETUPS = ("real", "synthetic", "both")
SETUP_NAMES = {"real": "real train only", "synthetic": "synthetic only", "both": "real + synthetic"}
FEATURIZERS = {
    "embeddings": "sentence embeddings + logistic regression",
    "tfidf": "TF-IDF + logistic regression",
}
FEATURE_NAMES = {"embeddings": "sentence embeddings", "tfidf": "TF-IDF"}  # short names for figures
N_BOOT = 200


def _model() -> LogisticRegression:
    return LogisticRegression(C=1.0, max_iter=2_000, class_weight="balanced")


def _confusion_counts(y: np.ndarray, p: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = np.bincount(y[y == p], minlength=k).astype(float)
    pred = np.bincount(p, minlength=k).astype(float)
    true = np.bincount(y, minlength=k).astype(float)
    return tp, pred - tp, true - tp


def macro_f1(y: np.ndarray, p: np.ndarray, k: int, labels: np.ndarray) -> float:
    """Mean F1 over the label codes ``labels`` (a label never predicted nor present scores 0)."""
    tp, fp, fn = _confusion_counts(y, p, k)
    den = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, den, out=np.zeros(k), where=den > 0)
    return float(f1[labels].mean())


def per_label(y: np.ndarray, p: np.ndarray, k: int, names: Sequence[str], labels: np.ndarray) -> list[dict]:
    """Precision, recall, F1 and support of each label code in ``labels``."""
    tp, fp, fn = _confusion_counts(y, p, k)
    out = []
    for c in labels:
        prec = tp[c] / (tp[c] + fp[c]) if tp[c] + fp[c] else 0.0
        rec = tp[c] / (tp[c] + fn[c]) if tp[c] + fn[c] else 0.0
        f1 = 2 * tp[c] / (2 * tp[c] + fp[c] + fn[c]) if tp[c] + fp[c] + fn[c] else 0.0
        out.append(
            {
                "label": names[c],
                "precision": float(prec),
                "recall": float(rec),
                "f1": float(f1),
                "support": int(tp[c] + fn[c]),
            }
        )
    return out


def _fit_predict(
    featurizer: str,
    texts: list[str],
    y: np.ndarray,
    test_texts: list[str],
    vectors: np.ndarray | None,
    test_vectors: np.ndarray | None,
) -> np.ndarray:
    if featurizer == "tfidf":
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_features=100_000)
        x, xt = vec.fit_transform(texts), vec.transform(test_texts)
    else:
        x, xt = vectors, test_vectors
    model = _model().fit(x, y)
    return model.predict(xt)


def tstr_text(
    train: tuple[list[str], list[str]],
    synthetic: tuple[list[str], list[str]],
    holdout: tuple[list[str], list[str]],
    vectors: dict[str, np.ndarray] | None = None,
    *,
    seed: int = 0,
    n_boot: int = N_BOOT,
    vector_labels: Sequence[str] | None = None,
) -> dict:
    """Macro-F1 on the real holdout of classifiers trained on real train, synthetic, and both.

    ``train``, ``synthetic`` and ``holdout`` are ``(texts, labels)``. ``vectors`` (sentence embeddings
    keyed by role, rows aligned with the texts) adds the embedding classifier; TF-IDF always runs.
    ``vector_labels`` are the labels of ``vectors["synthetic"]`` when those embed a sample of the
    synthetic texts.
    Every macro-F1 has a bootstrap interval over holdout texts, and ``both − real`` a paired one.
    """
    names = sorted(set(holdout[1]) | set(train[1]) | set(synthetic[1]) | set(vector_labels or []))
    code = {n: i for i, n in enumerate(names)}
    k = len(names)
    eval_labels = np.array(sorted({code[v] for v in holdout[1]}))
    y_test = np.array([code[v] for v in holdout[1]])
    rng = derive_rng(seed, "evaluate", "utility", "text_bootstrap")
    boot = rng.integers(0, len(y_test), size=(n_boot, len(y_test)))

    sets = {
        "real": (list(train[0]), np.array([code[v] for v in train[1]]), "train"),
        "synthetic": (list(synthetic[0]), np.array([code[v] for v in synthetic[1]]), "synthetic"),
    }
    out: dict = {"labels": [names[c] for c in eval_labels], "featurizers": {}}
    featurizers = ["embeddings", "tfidf"] if vectors is not None else ["tfidf"]
    for feat in featurizers:
        results: dict = {}
        preds: dict[str, np.ndarray] = {}
        if feat == "embeddings" and vector_labels is not None:
            sets["synthetic"] = (list(synthetic[0]), np.array([code[v] for v in vector_labels]), "synthetic")
        else:
            sets["synthetic"] = (list(synthetic[0]), np.array([code[v] for v in synthetic[1]]), "synthetic")
        for setup in SETUPS:
            if setup == "both":
                texts = sets["real"][0] + sets["synthetic"][0]
                y = np.r_[sets["real"][1], sets["synthetic"][1]]
                vec = np.vstack([vectors["train"], vectors["synthetic"]]) if vectors is not None else None
            else:
                texts, y, role = sets[setup]
                vec = vectors[role] if vectors is not None else None
            if len(np.unique(y)) < 2:
                results[setup] = {
                    "macro_f1": None,
                    "ci": None,
                    "per_label": [],
                    "n_train": len(y),
                    "not_computable": f"the {SETUP_NAMES[setup]} set has fewer than two labels",
                }
                continue
            p = _fit_predict(
                feat, texts, y, list(holdout[0]), vec, vectors["holdout"] if vectors is not None else None
            )
            preds[setup] = p
            f1 = macro_f1(y_test, p, k, eval_labels)
            dist = np.array([macro_f1(y_test[b], p[b], k, eval_labels) for b in boot])
            results[setup] = {
                "macro_f1": f1,
                "ci": [float(np.quantile(dist, 0.025)), float(np.quantile(dist, 0.975))],
                "per_label": per_label(y_test, p, k, names, eval_labels),
                "n_train": int(len(y)),
                "not_computable": None,
            }
        for other in ("synthetic", "both"):
            if "real" in preds and other in preds:
                d = np.array(
                    [
                        macro_f1(y_test[b], preds[other][b], k, eval_labels)
                        - macro_f1(y_test[b], preds["real"][b], k, eval_labels)
                        for b in boot
                    ]
                )
                results[other]["gain"] = results[other]["macro_f1"] - results["real"]["macro_f1"]
                results[other]["gain_ci"] = [float(np.quantile(d, 0.025)), float(np.quantile(d, 0.975))]
        done = [s for s in SETUPS if results[s]["macro_f1"] is not None]
        results["best"] = max(done, key=lambda s: results[s]["macro_f1"]) if done else None
        out["featurizers"][feat] = results
    return out


# --------------------------------------------------------------------------------------------------
# the report's utility section
# --------------------------------------------------------------------------------------------------


def utility_section(run: Run) -> dict:
    """The text report's utility section: macro-F1 on the real holdout of classifiers trained on synthetic
    texts only and on real + synthetic, beside the real train texts alone."""
    if run.target is None:
        return {
            "status": "n/a",
            "summary": "No label field was given, so no classifier was trained.",
            "scores": [
                score(
                    "tstr_macro_f1",
                    "Train-synthetic, test-real (macro-F1)",
                    None,
                    None,
                    ideal="higher",
                    status="n/a",
                    explain="Needs --target.",
                    not_computable="no label field given (use --target)",
                )
            ],
            "figures": {},
        }
    vectors = (
        {"train": run.vec("train"), "synthetic": run.vec("synthetic"), "holdout": run.vec("holdout")}
        if run.embedder is not None
        else None
    )
    r = tstr_text(
        (run.train.texts, run.train.labels),
        (run.synthetic.texts, run.synthetic.labels),
        (run.holdout.texts, run.holdout.labels),
        vectors,
        seed=run.seed,
        vector_labels=(run.syn_vec or run.synthetic).labels,
    )
    scores = []
    statuses = []
    for feat in ("embeddings", "tfidf"):
        res = r["featurizers"].get(feat)
        name = FEATURIZERS[feat]
        if res is None:
            scores.append(
                score(
                    f"tstr_{feat}",
                    f"Macro-F1, {name}: synthetic only / real + synthetic",
                    None,
                    None,
                    ideal="higher",
                    status="n/a",
                    explain="",
                    not_computable=f"sentence embeddings skipped: {run.skipped}",
                )
            )
            continue
        real = res["real"]["macro_f1"]
        syn, both = res["synthetic"], res["both"]
        ratio = syn["macro_f1"] / real if syn["macro_f1"] is not None and real else None
        st_syn = utility_status(ratio)
        gain_ci = both.get("gain_ci")
        st_both = (
            "n/a"
            if both["macro_f1"] is None or real is None
            else "fail"
            if gain_ci and gain_ci[1] < 0
            else "warn"
            if both["gain"] < 0
            else "pass"
        )
        statuses += [st_syn, st_both]
        nreal = res["real"]["n_train"]
        scores.append(
            score(
                f"tstr_synthetic_{feat}",
                f"Macro-F1 on the real holdout, {name}, trained on synthetic only",
                syn["macro_f1"],
                real,
                ideal="reference",
                ci=syn["ci"],
                status=st_syn,
                not_computable=syn["not_computable"] or res["real"]["not_computable"],
                explain=f"The classifier is trained on the {syn['n_train']:,} synthetic texts and tested "
                f"on the "
                f"{len(run.holdout.texts):,} real held-out texts; the reference is the same classifier "
                f"trained "
                f"on the {nreal:,} real train texts. Under {UTILITY_WARN:.0%} of the reference warns, under "
                f"{UTILITY_FAIL:.0%} fails. The interval is a bootstrap over holdout texts.",
            )
        )
        scores.append(
            score(
                f"tstr_both_{feat}",
                f"Macro-F1 on the real holdout, {name}, trained on real + synthetic",
                both["macro_f1"],
                real,
                ideal="higher",
                ci=both["ci"],
                status=st_both,
                not_computable=both["not_computable"] or res["real"]["not_computable"],
                explain="Did the synthetic data help? The real train texts plus the synthetic ones, "
                "against the "
                "real train texts alone (the reference). Below the reference warns; fails when the whole "
                "paired bootstrap interval of the difference "
                + (f"({gain_ci[0]:+.3f} to {gain_ci[1]:+.3f}) " if gain_ci else "")
                + "lies below zero.",
            )
        )
    main = "embeddings" if "embeddings" in r["featurizers"] else "tfidf"
    res = r["featurizers"][main]
    best = res["best"]
    table_rows = []
    for feat, fres in r["featurizers"].items():
        for setup in ("real", "synthetic", "both"):
            for pl in fres[setup]["per_label"]:
                table_rows.append(
                    [
                        FEATURIZERS[feat],
                        SETUP_NAMES[setup],
                        pl["label"],
                        pl["precision"],
                        pl["recall"],
                        pl["f1"],
                        pl["support"],
                    ]
                )
    f1 = {
        feat: {
            s: {"macro_f1": fres[s]["macro_f1"], "ci": fres[s]["ci"]} for s in ("real", "synthetic", "both")
        }
        for feat, fres in r["featurizers"].items()
    }
    if best is None:
        summary = "No classifier could be trained (each training set needs at least two labels)."
    else:
        summary = (
            f"Best on the real holdout: {SETUP_NAMES[best]} (macro-F1 {res[best]['macro_f1']:.3f} with "
            f"{FEATURIZERS[main]}; real train only {shown(res['real']['macro_f1'])}, synthetic only "
            f"{shown(res['synthetic']['macro_f1'])}, real + synthetic {shown(res['both']['macro_f1'])})."
        )
    return {
        "status": worst(statuses),
        "summary": summary,
        "task": "classification",
        "best": {"featurizer": main, "setup": best, "macro_f1": res[best]["macro_f1"] if best else None},
        "results": r,
        "scores": scores,
        "tables": [
            {
                "title": "Per label: precision and recall on the real holdout",
                "note": "A label the synthetic data gets wrong shows as low recall (its real texts are "
                "missed) or "
                "low precision (other texts are pulled into it) for the models trained on synthetic data.",
                "columns": [
                    "classifier",
                    "trained on",
                    str(run.target),
                    "precision",
                    "recall",
                    "F1",
                    "holdout texts",
                ],
                "formats": [None, None, None, "0.000", "0.000", "0.000", "0"],
                "rows": table_rows,
            }
        ],
        "figures": {
            "macro_f1": {"featurizers": {FEATURE_NAMES[k]: v for k, v in f1.items()}, "setups": SETUP_NAMES}
        },
    }
