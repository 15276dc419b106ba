"""Inter-table trends: does a parent's column relate to its children's aggregates as in the real data?

For each context foreign key, each parent column is paired with each child aggregate (the children
count and the mean of every numeric child column) and their correlation is measured on every side:
Pearson's r between numbers (dates as numbers); between categories and a number the correlation ratio
η (Pearson's r after encoding each category by its mean aggregate, so 0..1; the 20 most frequent train
categories are kept, the rest pooled, missing is a category). A pair scores ``1 − |r_other − r_train|/2``
(SDMetrics' inter-table trends work alike); a pair counts when its train correlation is defined, and a
side without variance counts as no correlation (0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...relational.metadata import ForeignKey, Metadata
from ..tabular.columns import column_kind
from .aggregates import as_number, child_aggregates, value_columns

__all__ = ["MAX_CATEGORIES", "trend_pairs", "trend_similarity"]

MAX_CATEGORIES = 20
_MIN_PAIRS = 3  # fewer complete (parent, aggregate) pairs than this leave a correlation undefined


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < _MIN_PAIRS:
        return None
    x, y = x[ok], y[ok]
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _eta(codes: np.ndarray, y: np.ndarray) -> float | None:
    ok = np.isfinite(y)
    if ok.sum() < _MIN_PAIRS:
        return None
    codes, y = codes[ok], y[ok]
    total = float(((y - y.mean()) ** 2).sum())
    if total == 0 or len(np.unique(codes)) < 2:
        return None
    sums = np.bincount(codes, weights=y)
    sizes = np.bincount(codes)
    used = sizes > 0
    between = float((sizes[used] * (sums[used] / sizes[used] - y.mean()) ** 2).sum())
    return float(np.sqrt(min(between / total, 1.0)))


def _category_codes(train: pd.Series, s: pd.Series) -> np.ndarray:
    top = list(train.astype("string").value_counts(dropna=True).index[:MAX_CATEGORIES])
    codes = {v: i for i, v in enumerate(top)}
    text = s.astype("string")
    out = text.map(codes).fillna(len(top)).to_numpy(dtype="int64")  # pooled rest
    out[text.isna().to_numpy()] = len(top) + 1
    return out


def trend_pairs(
    metadata: Metadata, fk: ForeignKey, sides: dict[str, dict[str, pd.DataFrame]]
) -> list[dict]:
    """Per (parent column, child aggregate) of the context key ``fk``: its correlation on every side
    (``sides`` maps ``train``, ``holdout``, ``synthetic`` to their tables); pairs without a train
    correlation are left out."""
    train = sides["train"]
    pcols = value_columns(metadata, fk.parent, train[fk.parent])
    ccols = value_columns(metadata, fk.child, train[fk.child])
    aggs = {
        role: child_aggregates(t[fk.parent], t[fk.child], fk, ccols, spread=False,
                               train_child=train[fk.child])
        for role, t in sides.items()
    }
    out = []
    for pc in pcols:
        kind = column_kind(train[fk.parent][pc])
        xs = {}
        for role, t in sides.items():
            x = as_number(t[fk.parent][pc], kind)
            xs[role] = x if x is not None else _category_codes(train[fk.parent][pc], t[fk.parent][pc])
        for agg in aggs["train"].columns:
            corr = {}
            for role in sides:
                y = aggs[role][agg].to_numpy()
                corr[role] = _pearson(xs[role], y) if kind != "categorical" else _eta(xs[role], y)
            if corr["train"] is None:
                continue
            out.append({"key": fk.label, "parent_column": pc, "aggregate": agg,
                        "measure": "eta" if kind == "categorical" else "pearson",
                        **{role: (v if v is not None else 0.0) for role, v in corr.items()}})
    return out


def trend_similarity(pairs: list[dict], role: str) -> float | None:
    """The mean of ``1 − |r_role − r_train|/2`` over ``pairs`` (``None`` when there is none)."""
    if not pairs:
        return None
    return float(np.mean([1.0 - abs(p[role] - p["train"]) / 2.0 for p in pairs]))
