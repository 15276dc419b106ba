"""Machine-learning utility: train on synthetic, test on real (TSTR).

A gradient-boosted classifier is trained once on the real training data and once on the synthetic data,
and both are scored by ROC-AUC on the real holdout. Synthetic data that keeps the relations the target
depends on reaches an AUC close to the real model's (ratio near 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from simulacra.errors import DataError
from simulacra.evaluate.fidelity import (
    _align,
    _check_train,
    _column_kind,
    _to_datetime_ns,
    _to_float,
    _to_str,
)

__all__ = ["tstr_auc"]

# HistGradientBoosting accepts at most max_bins (255) categories per feature; rarer ones become missing
_MAX_CATEGORIES = 254


def _target_values(s: pd.Series, numeric: bool) -> pd.Series:
    if numeric:
        return pd.Series(_to_float(s), index=s.index)
    return _to_str(s).astype(object).where(s.notna(), np.nan)


def _features(frames: list[pd.DataFrame], train: pd.DataFrame, columns: list[str]) -> list[pd.DataFrame]:
    """Model inputs: numbers as float, datetimes as float nanoseconds, everything else as a pandas
    categorical over the most frequent real-training categories (unknown values become missing)."""
    out: list[dict[str, object]] = [{} for _ in frames]
    for col in columns:
        kind = _column_kind(train[col])
        if kind == "categorical":
            counts = _to_str(train[col]).value_counts(dropna=True)
            dtype = pd.CategoricalDtype([str(c) for c in counts.index[:_MAX_CATEGORIES]])
            for d, f in zip(out, frames, strict=True):
                d[col] = _to_str(f[col]).astype(object).astype(dtype).array
        elif kind == "numeric":
            for d, f in zip(out, frames, strict=True):
                d[col] = _to_float(f[col])
        else:
            for d, f in zip(out, frames, strict=True):
                values, na = _to_datetime_ns(f[col])
                v = values.astype("float64")
                v[na] = np.nan
                d[col] = v
    return [pd.DataFrame(d, columns=columns) for d in out]


def _auc(
    model: HistGradientBoostingClassifier, x: pd.DataFrame, y: np.ndarray, n_classes: int, positive: int
) -> float:
    proba = model.predict_proba(x)
    col = {int(c): i for i, c in enumerate(model.classes_)}
    if n_classes == 2:
        return float(roc_auc_score(y == positive, proba[:, col[positive]]))
    aucs = [
        roc_auc_score(y == c, proba[:, col[c]]) for c in range(n_classes) if 0 < int((y == c).sum()) < len(y)
    ]
    return float(np.mean(aucs))


def tstr_auc(
    train_real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str,
    *,
    seed: int = 0,
) -> dict[str, float]:
    """Train-synthetic-test-real ROC-AUC of a ``HistGradientBoostingClassifier`` predicting ``target``.

    One model is fitted on ``train_real``, one on ``synthetic``; both are scored on ``holdout``. Binary
    targets use the less frequent training class as positive; multiclass targets use the macro average
    of one-vs-rest AUCs over the classes present in the holdout. Rows with a missing target are dropped.
    Returns ``{'auc_real', 'auc_synthetic', 'ratio'}`` with ``ratio = auc_synthetic / auc_real``.
    """
    _check_train(train_real)
    synthetic = _align(train_real, synthetic, "synthetic")
    holdout = _align(train_real, holdout, "holdout")
    if target not in train_real.columns:
        raise DataError(f"target column {target!r} is not in the training data")
    features = [c for c in train_real.columns if c != target]
    if not features:
        raise DataError(f"training data has no feature columns besides the target {target!r}")

    numeric = _column_kind(train_real[target]) == "numeric"
    y_raw = {
        role: _target_values(f[target], numeric)
        for role, f in (("training", train_real), ("synthetic", synthetic), ("holdout", holdout))
    }
    frames = {"training": train_real, "synthetic": synthetic, "holdout": holdout}
    for role in frames:
        keep = y_raw[role].notna().to_numpy()
        if not keep.any():
            raise DataError(f"{role} data has no rows with a value in target column {target!r}")
        frames[role] = frames[role].loc[keep]
        y_raw[role] = y_raw[role].loc[keep]

    counts = y_raw["training"].value_counts()
    classes = sorted(counts.index.tolist())
    if len(classes) < 2:
        raise DataError(f"target column {target!r} has a single class {classes[0]!r} in the training data")
    index = {c: i for i, c in enumerate(classes)}
    for role in ("synthetic", "holdout"):
        unknown = [v for v in pd.unique(y_raw[role]) if v not in index]
        if unknown:
            raise DataError(
                f"{role} target column {target!r} has class {unknown[0]!r} absent from training data"
            )
    absent = [c for c in classes if c not in set(pd.unique(y_raw["synthetic"]))]
    if absent:
        raise DataError(
            f"synthetic data has no rows with {target} = {absent[0]!r}; "
            "cannot train a classifier for all classes"
        )
    y = {role: y_raw[role].map(index).to_numpy(dtype=np.int64) for role in frames}
    if len(np.unique(y["holdout"])) < 2:
        raise DataError(f"holdout target column {target!r} has a single class; ROC-AUC is undefined")
    # positive class: the less frequent training class (ties: the later one in sorted order)
    positive = index[max(classes, key=lambda c: (-counts[c], classes.index(c)))]

    x_trn, x_syn, x_hol = _features(
        [frames["training"], frames["synthetic"], frames["holdout"]], frames["training"], features
    )
    aucs = {}
    for name, x, yy in (("auc_real", x_trn, y["training"]), ("auc_synthetic", x_syn, y["synthetic"])):
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
        model.fit(x, yy)
        aucs[name] = _auc(model, x_hol, y["holdout"], len(classes), positive)
    return {
        "auc_real": aucs["auc_real"],
        "auc_synthetic": aucs["auc_synthetic"],
        "ratio": aucs["auc_synthetic"] / aucs["auc_real"],
    }
