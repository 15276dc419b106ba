"""Discretisation of columns with bins learnt from the training data, as mostlyai-qa does it.

Binning, as in mostlyai-qa:

* numeric columns with at most ``bins`` distinct training values get one bin per value; otherwise up to
  ``bins`` bins whose edges are training quantiles (evenly spaced order statistics, searched until
  ``bins + 1`` distinct edges are found), lower edges rounded down to the coarsest decimal precision that
  keeps them distinct. Bins are closed on the left; values outside the training range fall into the end
  bins.
* datetime columns like numeric ones (quantile edges, no rounding; a single-valued column gets one bin).
* categorical, string and boolean columns keep their ``bins`` most frequent training values (a missing
  value takes part in that ranking, and a value needs at least 5 training rows); the rest becomes
  ``"(other)"``.
* missing values always get their own bin ``"(n/a)"``.

Not reproduced: mostlyai-qa replaces free-text columns by a sampled token before binning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulacra.errors import DataError

from .columns import align, check_frame, column_kind, to_datetime_ns, to_float, to_str

__all__ = ["DEFAULT_BINS", "NA_LABEL", "OTHER_LABEL", "ColumnBins", "discretize", "discretize_codes"]

NA_LABEL = "(n/a)"
OTHER_LABEL = "(other)"
# a category needs this many training rows to get its own bin (mostlyai-qa's rare-category protection)
MIN_CATEGORY_COUNT = 5
DEFAULT_BINS = 10
# search limit for distinct quantile edges (as mostlyai-qa)
_MAX_EDGE_SEARCH = 1000


@dataclass(frozen=True)
class ColumnBins:
    """How one column is discretised: its kind, lower bin edges or kept categories, and bin labels."""

    kind: str
    edges: np.ndarray | None  # lower edges (numeric/datetime); codes via searchsorted
    low: float | int | None  # clip bounds (numeric/datetime)
    high: float | int | None
    categories: list[str] | None  # kept categories (categorical)
    labels: list[str]  # one per bin, the last one is NA_LABEL

    @property
    def n_bins(self) -> int:
        return len(self.labels)


def _search_edges(values: np.ndarray, n: int) -> np.ndarray:
    """Greedy search for ``n + 1`` distinct, evenly spaced order statistics of sorted ``values``."""
    edges = values[:0]
    stop = max(n + 1, min(_MAX_EDGE_SEARCH, len(values) + 1))
    for i in range(n, stop):
        idx = np.linspace(0, len(values) - 1, i).astype(int)
        edges = np.unique(values[idx])
        if len(edges) >= n + 1:
            break
    return edges


def _unique_labels(labels: list[str]) -> list[str]:
    if len(set(labels)) == len(labels):
        return labels
    return [f"{label} #{i}" for i, label in enumerate(labels)]


def _numeric_bins(values: np.ndarray, bins: int) -> ColumnBins:
    finite = np.sort(values[np.isfinite(values)])
    distinct = np.unique(finite)
    few = 0 < len(distinct) <= bins
    if len(finite) == 0:
        breaks = np.array([-1e10, 1e10])
    elif few:
        breaks = np.append(distinct, distinct[-1] + 1)
    else:
        breaks = _search_edges(finite, bins)
        if len(breaks) == 1:
            breaks = np.append(breaks, breaks[0] + 1)
    low, high = float(breaks[0]), float(breaks[-1])
    # round lower edges down to the coarsest decimal precision that keeps all edges distinct
    with np.errstate(over="ignore", invalid="ignore"):
        for precision in range(20):
            floored = np.true_divide(np.floor(breaks * 10**precision), 10**precision)
            if len(np.unique(floored)) == len(breaks):
                breaks = np.append(floored[:-1], breaks[-1])
                break
    edges = breaks[:-1]
    if few:
        labels = [f"{v:.10g}" for v in distinct]
    else:
        uppers = list(breaks[1:])
        labels = [f"[{lo:.10g}, {hi:.10g})" for lo, hi in zip(edges, uppers, strict=True)]
        labels[-1] = labels[-1][:-1] + "]"
    return ColumnBins("numeric", edges, low, high, None, [*_unique_labels(labels), NA_LABEL])


def _datetime_bins(values: np.ndarray, na: np.ndarray, bins: int) -> ColumnBins:
    valid = np.sort(values[~na])
    day = np.int64(86_400 * 10**9)
    distinct = np.unique(valid)
    if len(valid) == 0:
        breaks = pd.to_datetime(["1700-01-01", "2200-01-01"]).to_numpy().view("int64")
    elif len(distinct) == 1:
        breaks = np.array([distinct[0], distinct[0] + day], dtype="int64")
    else:
        breaks = _search_edges(valid, bins)
    edges = breaks[:-1]
    stamps = pd.to_datetime(breaks)
    labels = [f"[{lo}, {hi})" for lo, hi in zip(stamps[:-1], stamps[1:], strict=True)]
    labels[-1] = labels[-1][:-1] + "]"
    return ColumnBins(
        "datetime", edges, int(breaks[0]), int(breaks[-1]), None, [*_unique_labels(labels), NA_LABEL]
    )


def _categorical_bins(s: pd.Series, bins: int) -> ColumnBins:
    counts = to_str(s).value_counts(dropna=False).head(bins)
    counts = counts[counts >= MIN_CATEGORY_COUNT]
    special = {NA_LABEL, OTHER_LABEL}
    cats = sorted(str(c) for c in counts.index if not pd.isna(c) and str(c) not in special)
    return ColumnBins("categorical", None, None, None, cats, [*cats, OTHER_LABEL, NA_LABEL])


def _fit_bins(s: pd.Series, bins: int) -> ColumnBins:
    kind = column_kind(s)
    if kind == "numeric":
        return _numeric_bins(to_float(s), bins)
    if kind == "datetime":
        values, na = to_datetime_ns(s)
        return _datetime_bins(values, na, bins)
    return _categorical_bins(s, bins)


def _codes(s: pd.Series, spec: ColumnBins) -> np.ndarray:
    """Bin index (0 .. n_bins-1) of every value of ``s``; the last bin holds missing values."""
    na_code = spec.n_bins - 1
    if spec.kind == "categorical":
        assert spec.categories is not None
        st = to_str(s)
        codes = pd.Categorical(st, categories=spec.categories).codes.astype(np.int64)
        codes[codes < 0] = na_code - 1  # "(other)"
        codes[st.isna().to_numpy()] = na_code
        return codes
    assert spec.edges is not None
    if spec.kind == "numeric":
        values = to_float(s)
        na = np.isnan(values)
        values = np.clip(np.where(na, spec.low, values), spec.low, spec.high)
    else:
        values, na = to_datetime_ns(s)
        values = np.clip(np.where(na, spec.low, values), spec.low, spec.high)
    codes = np.searchsorted(spec.edges, values, side="right").astype(np.int64) - 1
    codes = np.clip(codes, 0, na_code - 1)
    codes[na] = na_code
    return codes


def discretize_codes(
    train: pd.DataFrame, others: tuple[pd.DataFrame, ...], bins: int, roles: tuple[str, ...] | None = None
) -> tuple[list[np.ndarray], list[ColumnBins]]:
    """Integer bin codes (one ``n_rows x n_columns`` array per frame, train first) and the bin specs."""
    check_frame(train)
    if bins < 1:
        raise DataError(f"bins must be at least 1, got {bins}")
    roles = roles or tuple(f"frame #{i + 1}" for i in range(len(others)))
    aligned = [align(train, o, role) for o, role in zip(others, roles, strict=True)]
    specs = [_fit_bins(train[c], bins) for c in train.columns]
    frames = [train, *aligned]
    codes = [np.column_stack([_codes(f.iloc[:, j], spec) for j, spec in enumerate(specs)]) for f in frames]
    return codes, specs


def discretize(train: pd.DataFrame, *others: pd.DataFrame, bins: int = DEFAULT_BINS) -> list[pd.DataFrame]:
    """Discretise ``train`` and each of ``others`` with bins learnt from ``train`` (mostlyai-qa style).

    Returns one frame per input (``train`` first) whose columns are pandas categoricals with identical
    categories across frames: bin labels for numeric/datetime columns, the kept categories plus
    ``"(other)"`` for categorical columns, and ``"(n/a)"`` for missing values in every column.
    """
    codes, specs = discretize_codes(train, others, bins)
    out = []
    for frame, arr in zip((train, *others), codes, strict=True):
        cols = {
            col: pd.Categorical.from_codes(arr[:, j], categories=spec.labels)
            for j, (col, spec) in enumerate(zip(train.columns, specs, strict=True))
        }
        out.append(pd.DataFrame(cols, index=frame.index))
    return out
