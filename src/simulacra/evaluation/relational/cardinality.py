"""Children per parent: is the distribution of how many children a parent has the same?

The similarity is ``1 − KS``, the Kolmogorov–Smirnov statistic between the per-parent children counts
(parents without children count 0) of two databases: SDMetrics' CardinalityShapeSimilarity.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp

__all__ = ["MAX_SHOWN", "cardinality_similarity", "count_histogram"]

MAX_SHOWN = 12  # the histogram shows counts 0 .. MAX_SHOWN - 1 one by one, the rest as "≥ MAX_SHOWN"


def cardinality_similarity(real: np.ndarray, other: np.ndarray) -> float | None:
    """``1 − KS`` between two samples of children counts (1 = same distribution); ``None`` when either
    side has no parent."""
    if len(real) == 0 or len(other) == 0:
        return None
    return float(1.0 - ks_2samp(real, other).statistic)


def count_histogram(column: str, counts: dict[str, np.ndarray]) -> dict:
    """Share of parents per children count for each side (``train``, ``holdout``, ``synthetic``), as the
    report's bar chart of shares reads it; counts from the train side's 99th percentile up are pooled."""
    high = int(np.ceil(np.quantile(counts["train"], 0.99))) if len(counts["train"]) else 1
    top = max(1, min(MAX_SHOWN, high))
    labels = [str(k) for k in range(top)] + [f"≥ {top}"]
    out: dict = {"column": column, "labels": labels}
    for role, c in counts.items():
        binned = np.minimum(np.asarray(c, dtype="int64"), top)
        out[role] = (np.bincount(binned, minlength=top + 1) / max(len(c), 1)).tolist()
    return out
