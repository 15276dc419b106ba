"""Machine-learning utility: train on synthetic, test on real (TSTR).

A gradient-boosted model is trained once on the real training data and once on the synthetic data, and
both are scored on the real holdout: ROC-AUC for a categorical target, R² for a numeric one. Synthetic
data that keeps the relations the target depends on scores close to the real model (ratio near 1), and
its model leans on the same features (permutation importances agree).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.inspection import permutation_importance
from sklearn.metrics import r2_score, roc_auc_score
from threadpoolctl import threadpool_limits

from simulacra.errors import DataError
from simulacra.seeding import derive_rng

from ..scores import UTILITY_FAIL, UTILITY_WARN, score, utility_status
from .columns import align, check_frame, column_kind, to_datetime_ns, to_float, to_str

__all__ = ["model_inputs", "tstr", "tstr_auc", "utility_section"]

# a numeric target with more distinct values than this is a regression target
MAX_CLASSES = 20

# the report's models learn from at most this many rows of the real train split and of the synthetic data
# (each a seeded sample): their cost stays bounded, and the bootstrap interval over the holdout says how
# precise the score is
UTILITY_FIT_ROWS = 50_000

# HistGradientBoosting accepts at most max_bins (255) categories per feature; rarer ones become missing
_MAX_CATEGORIES = 254


def _target_values(s: pd.Series, numeric: bool) -> pd.Series:
    if numeric:
        return pd.Series(to_float(s), index=s.index)
    return to_str(s).astype(object).where(s.notna(), np.nan)


def model_inputs(frames: list[pd.DataFrame], train: pd.DataFrame, columns: list[str]) -> list[pd.DataFrame]:
    """Model inputs: numbers as float, datetimes as float nanoseconds, everything else as a pandas
    categorical over the most frequent real-training categories (unknown values become missing)."""
    out: list[dict[str, object]] = [{} for _ in frames]
    for col in columns:
        kind = column_kind(train[col])
        if kind == "categorical":
            counts = to_str(train[col]).value_counts(dropna=True)
            dtype = pd.CategoricalDtype([str(c) for c in counts.index[:_MAX_CATEGORIES]])
            for d, f in zip(out, frames, strict=True):
                d[col] = to_str(f[col]).astype(object).astype(dtype).array
        elif kind == "numeric":
            for d, f in zip(out, frames, strict=True):
                d[col] = to_float(f[col])
        else:
            for d, f in zip(out, frames, strict=True):
                values, na = to_datetime_ns(f[col])
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


def _prepare(train_real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, target: str) -> dict:
    """Validate inputs and build model inputs and encoded targets for train, synthetic and holdout."""
    check_frame(train_real)
    synthetic = align(train_real, synthetic, "synthetic")
    holdout = align(train_real, holdout, "holdout")
    if target not in train_real.columns:
        raise DataError(f"target column {target!r} is not in the training data")
    features = [c for c in train_real.columns if c != target]
    if not features:
        raise DataError(f"training data has no feature columns besides the target {target!r}")

    numeric = column_kind(train_real[target]) == "numeric"
    regression = numeric and train_real[target].nunique() > MAX_CLASSES
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
    x_trn, x_syn, x_hol = model_inputs(
        [frames["training"], frames["synthetic"], frames["holdout"]], frames["training"], features
    )
    prep = {"features": features, "x": {"training": x_trn, "synthetic": x_syn, "holdout": x_hol}}
    if regression:
        if y_raw["training"].nunique() < 2:
            raise DataError(f"target column {target!r} is constant in the training data")
        prep.update(task="regression", y={r: y_raw[r].to_numpy(dtype=float) for r in frames})
        return prep

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
    prep.update(task="classification", y=y, classes=classes, positive=positive)
    return prep


def _model(prep: dict, seed: int):  # noqa: ANN202 - a scikit-learn estimator
    if prep["task"] == "regression":
        return HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=seed)
    return HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)


def _model_score(prep: dict, model, x: pd.DataFrame, y: np.ndarray) -> float:  # noqa: ANN001
    if prep["task"] == "regression":
        return float(r2_score(y, model.predict(x)))
    return _auc(model, x, y, len(prep["classes"]), prep["positive"])


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
    r = tstr(
        train_real,
        synthetic,
        holdout,
        target,
        seed=seed,
        n_boot=0,
        importance=False,
        force_classification=True,
    )
    return {"auc_real": r["real"], "auc_synthetic": r["synthetic"], "ratio": r["ratio"]}


def tstr(
    train_real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str,
    *,
    seed: int = 0,
    n_boot: int = 200,
    importance: bool = True,
    max_importance_rows: int = 3_000,
    force_classification: bool = False,
    max_fit_rows: int | None = None,
) -> dict:
    """Train on real and on synthetic, test both on the real holdout.

    Returns ``task`` (classification or regression), ``metric`` (roc_auc or r2), ``real``, ``synthetic``,
    ``ratio``, bootstrap 95% intervals over holdout rows (``ci_real``, ``ci_synthetic``, ``ci_ratio``;
    None when ``n_boot`` is 0), and with ``importance`` the permutation importance of every feature for
    both models plus their Spearman rank agreement. ``max_fit_rows`` caps the rows each model learns
    from (a seeded sample of each of ``train_real`` and ``synthetic``).

    Models run on one thread: on a busy machine OpenMP's threads wait on one another far longer than
    they save.
    """
    if max_fit_rows:
        rng = derive_rng(seed, "evaluate", "utility", "fit_rows")
        train_real, synthetic = (
            f if len(f) <= max_fit_rows else f.iloc[np.sort(rng.choice(len(f), max_fit_rows, replace=False))]
            for f in (train_real, synthetic)
        )
    with threadpool_limits(1):
        return _tstr(train_real, synthetic, holdout, target, seed=seed, n_boot=n_boot, importance=importance,
                     max_importance_rows=max_importance_rows, force_classification=force_classification)


def _tstr(train_real: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame, target: str, *,
          seed: int, n_boot: int, importance: bool, max_importance_rows: int,
          force_classification: bool) -> dict:
    prep = _prepare(train_real, synthetic, holdout, target)
    if force_classification and prep["task"] == "regression":
        raise DataError(f"target column {target!r} is numeric with many values; ROC-AUC needs classes")
    x, y = prep["x"], prep["y"]
    models = {}
    for role in ("training", "synthetic"):
        models[role] = _model(prep, seed).fit(x[role], y[role])
    real = _model_score(prep, models["training"], x["holdout"], y["holdout"])
    syn = _model_score(prep, models["synthetic"], x["holdout"], y["holdout"])
    out: dict = {
        "task": prep["task"],
        "metric": "r2" if prep["task"] == "regression" else "roc_auc",
        "real": real,
        "synthetic": syn,
        "ratio": syn / real if real else float("nan"),
        "ci_real": None,
        "ci_synthetic": None,
        "ci_ratio": None,
    }
    if n_boot:
        out.update(_bootstrap(prep, models, n_boot, seed))
    if importance:
        out["importance"] = _importance(prep, models, max_importance_rows, seed)
    return out


class _RankedScores:
    """A binary classifier's scores sorted once, so that the ROC-AUC of any bootstrap resample (rows
    weighted by how often they were drawn) takes two weighted counts instead of a sort."""

    def __init__(self, scores: np.ndarray, positive: np.ndarray) -> None:
        _, self.group = np.unique(scores, return_inverse=True)
        self.n_groups = int(self.group.max()) + 1 if len(scores) else 0
        self.positive = positive.astype(bool)

    def auc(self, weights: np.ndarray) -> float:
        """ROC-AUC with each row counted ``weights`` times (ties count one half)."""
        w = weights.astype("float64")
        pos = np.bincount(self.group, weights=w * self.positive, minlength=self.n_groups)
        neg = np.bincount(self.group, weights=w * ~self.positive, minlength=self.n_groups)
        below = np.cumsum(neg) - neg
        n_pos, n_neg = pos.sum(), neg.sum()
        if n_pos == 0 or n_neg == 0:
            return float("nan")
        return float((pos * (below + 0.5 * neg)).sum() / (n_pos * n_neg))


def _bootstrap(prep: dict, models: dict, n_boot: int, seed: int) -> dict:
    x, y = prep["x"]["holdout"], prep["y"]["holdout"]
    rng = derive_rng(seed, "evaluate", "utility", "bootstrap")
    if prep["task"] == "regression":
        preds = {r: models[r].predict(x) for r in models}

        def score(role: str, idx: np.ndarray) -> float:
            return float(r2_score(y[idx], preds[role][idx]))
    else:
        probas = {r: models[r].predict_proba(x) for r in models}
        cols = {r: {int(c): i for i, c in enumerate(models[r].classes_)} for r in models}
        k, positive = len(prep["classes"]), prep["positive"]

        ranked = {r: _RankedScores(probas[r][:, cols[r][positive]], y == positive) for r in models} \
            if k == 2 else {}

        def score(role: str, idx: np.ndarray) -> float:
            if k == 2:
                return ranked[role].auc(np.bincount(idx, minlength=len(y)))
            yy, pp = y[idx], probas[role][idx]
            aucs = [
                roc_auc_score(yy == c, pp[:, cols[role][c]])
                for c in range(k)
                if c in cols[role] and 0 < int((yy == c).sum()) < len(yy)
            ]
            return float(np.mean(aucs))

    reals, syns, ratios = [], [], []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if prep["task"] == "classification" and len(np.unique(y[idx])) < 2:
            continue
        r, s = score("training", idx), score("synthetic", idx)
        reals.append(r)
        syns.append(s)
        ratios.append(s / r if r else np.nan)

    def ci(v: list[float]) -> list[float] | None:
        return [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))] if v else None

    return {"ci_real": ci(reals), "ci_synthetic": ci(syns), "ci_ratio": ci(ratios)}


def _importance(prep: dict, models: dict, max_rows: int, seed: int) -> dict:
    x, y = prep["x"]["holdout"], prep["y"]["holdout"]
    rng = derive_rng(seed, "evaluate", "utility", "importance")
    if len(y) > max_rows:
        idx = np.sort(rng.choice(len(y), max_rows, replace=False))
        x, y = x.iloc[idx], y[idx]

    def scorer(model, xx: pd.DataFrame, yy: np.ndarray) -> float:  # noqa: ANN001
        return _model_score(prep, model, xx, yy)

    result = {}
    for role in ("training", "synthetic"):
        imp = permutation_importance(models[role], x, y, scoring=scorer, n_repeats=1, random_state=seed)
        result[role] = imp.importances_mean
    agreement = spearmanr(result["training"], result["synthetic"]).statistic if len(x.columns) > 1 else 1.0
    return {
        "features": list(x.columns),
        "real": [float(v) for v in result["training"]],
        "synthetic": [float(v) for v in result["synthetic"]],
        "spearman": float(agreement) if np.isfinite(agreement) else None,
    }


# --------------------------------------------------------------------------------------------------
# the report's utility section
# --------------------------------------------------------------------------------------------------


def _rerun_ci(value: float, ci: list[float] | None) -> list[float] | None:
    """A bootstrap 95% interval widened to a 99% interval for the score of the same check run again on
    other rows (two independent draws: the square root of two)."""
    if ci is None or value is None or not np.isfinite(value):
        return ci
    k = 2.576 / 1.96 * math.sqrt(2)
    return [value - k * (value - ci[0]), value + k * (ci[1] - value)]


def _spearman_ci(r: float | None, n: int, z: float = 2.576) -> list[float] | None:
    """A 99% interval for a Spearman correlation over ``n`` features (Fisher's z, Fieller's variance)."""
    if r is None or n < 5:
        return None
    se = math.sqrt(1.06 / (n - 3))
    c = math.atanh(min(max(r, -0.999999), 0.999999))
    return [math.tanh(c - z * se), math.tanh(c + z * se)]


def _not_computed(summary: str, explain: str, why: str) -> dict:
    """A utility section with no score: what stopped it, as the report shows it."""
    tstr_score = score("tstr", "Train-synthetic, test-real", None, None, ideal="higher", status="n/a",
                       explain=explain, not_computable=why)
    return {"status": "n/a", "summary": summary, "scores": [tstr_score], "figures": {}}


def utility_section(
    train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, target: str | None, *, seed: int
) -> dict:
    """The report's utility section: train-synthetic, test-real beside train-real, test-real."""
    if target is None:
        return _not_computed("No target column was given, so no model was trained.", "Needs --target.",
                             "no target column given (use --target)")
    try:
        r = tstr(train, synthetic, holdout, target, seed=seed, n_boot=200, max_fit_rows=UTILITY_FIT_ROWS)
    except DataError as exc:
        return _not_computed(f"Utility could not be computed: {exc}", "", str(exc))
    metric = "ROC-AUC" if r["metric"] == "roc_auc" else "R²"
    ratio = r["ratio"]
    status = utility_status(ratio)
    imp = r.get("importance") or {}
    scores = [
        score(
            "tstr",
            f"{metric} on the real holdout of a model trained on synthetic data",
            r["synthetic"],
            r["real"],
            ideal="reference",
            status=status,
            ci=_rerun_ci(r["synthetic"], r["ci_synthetic"]),
            explain=f"A gradient-boosted model predicting '{target}' is trained on the synthetic data and "
            f"tested on real held-out rows; the reference is the same model trained on the real "
            f"train split. Close values mean the synthetic data teaches what the real data "
            f"teaches for this target; they say nothing about other targets.",
        ),
        score(
            "tstr_ratio",
            "Utility ratio (synthetic-trained ÷ real-trained)",
            ratio,
            1.0,
            ideal="higher",
            status=status,
            ci=_rerun_ci(ratio, r["ci_ratio"]),
            explain=f"Below {UTILITY_WARN:.2f} warns, below {UTILITY_FAIL:.2f} fails. The interval comes "
            "from a bootstrap over holdout rows, widened to 99% for the score of the same check on other "
            "rows.",
        ),
    ]
    if imp:
        sp = imp.get("spearman")
        scores.append(
            score(
                "importance_agreement",
                "Feature-importance agreement (Spearman rank correlation)",
                sp,
                1.0,
                ideal="higher",
                status="warn" if sp is not None and sp < 0.5 else "pass",
                ci=_spearman_ci(sp, len(imp.get("features", []))),
                explain="Whether the model trained on synthetic data relies on the same features as the real "
                "one (permutation importance on the holdout). Low agreement means right answers "
                "for wrong reasons.",
                not_computable=None if sp is not None else "importances are constant",
            )
        )
    fit_rows = {role: min(len(f), UTILITY_FIT_ROWS) for role, f in (("train", train),
                                                                    ("synthetic", synthetic))}
    return {
        "sampling": f"models learn from {fit_rows['train']:,} train and {fit_rows['synthetic']:,} synthetic "
        f"rows (at most {UTILITY_FIT_ROWS:,} each, a seeded sample) and are scored on "
        f"{len(holdout):,} holdout rows",
        "status": status,
        "summary": f"Trained on synthetic data, the model reaches {r['synthetic']:.3f} {metric} on real "
        f"held-out rows; trained on real data, {r['real']:.3f}.",
        "task": r["task"],
        "scores": scores,
        "figures": {
            "importance": {
                "features": imp.get("features", []),
                "real": imp.get("real", []),
                "synthetic": imp.get("synthetic", []),
            }
        }
        if imp
        else {},
    }
