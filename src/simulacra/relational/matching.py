"""Plausible parents for foreign keys that are not a table's context.

A parent table referenced by such a key is split into clusters of similar rows (k-means over its
learned columns: numbers as quantile ranks, frequent categories one-hot). The child's model learns
the cluster of each row's real parent as one more categorical column, conditional on the child's
own columns and its context; at sampling time a synthetic child row draws a cluster that way, and
its key takes a synthetic parent row of that cluster, uniformly. So a batting season points at a
team of a fitting era and league rather than at any team.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

MAX_LEVELS = 20  # one-hot columns per categorical column (the most frequent levels)
MAX_CLUSTERS = 64
ROWS_PER_CLUSTER = 25


class ParentClusters:
    """k-means clusters of a parent table's rows over an encoding of its learned columns."""

    def fit(self, frame: pd.DataFrame, seed: int) -> ParentClusters:
        """Learn the encoding and the clusters from the real parent rows ``frame``."""
        self.numeric_: dict[str, list[float]] = {}
        self.levels_: dict[str, list[Any]] = {}
        for name in frame.columns:
            s = frame[name]
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                x = s.to_numpy(dtype=float)
                x = x[~np.isnan(x)]
                self.numeric_[name] = np.quantile(x, np.linspace(0, 1, 21)).tolist() if x.size else [0.0]
            elif pd.api.types.is_datetime64_any_dtype(s):
                x = s.dropna().astype("int64").to_numpy(dtype=float)
                self.numeric_[name] = np.quantile(x, np.linspace(0, 1, 21)).tolist() if x.size else [0.0]
            else:
                top = s.astype(str).value_counts().head(MAX_LEVELS)
                self.levels_[name] = top.index.tolist()
        x = self.encode(frame)
        k = int(np.clip(round(len(frame) / ROWS_PER_CLUSTER), 1, MAX_CLUSTERS))
        k = min(k, max(1, len(np.unique(x, axis=0))))
        km = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(x)
        self.centers_ = km.cluster_centers_
        return self

    @property
    def n_clusters(self) -> int:
        return int(self.centers_.shape[0])

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows as vectors: quantile ranks in [0, 1] (missing: -0.5) and 0/1 indicators of levels."""
        parts = []
        for name, q in self.numeric_.items():
            s = frame[name]
            x = (
                s.astype("int64").to_numpy(dtype=float)
                if pd.api.types.is_datetime64_any_dtype(s)
                else pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            )
            nan = np.isnan(x)
            grid = np.asarray(q)
            r = (
                np.interp(np.where(nan, grid[0], x), grid, np.linspace(0, 1, grid.size))
                if grid.size > 1
                else 0 * x
            )
            parts.append(np.where(nan, -0.5, r))
        for name, levels in self.levels_.items():
            s = frame[name].astype(str).to_numpy()
            parts.extend((s == str(level)).astype(float) for level in levels)
        if not parts:
            return np.zeros((len(frame), 1))
        return np.column_stack(parts)

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        """The nearest cluster of each row."""
        x = self.encode(frame)
        d = ((x[:, None, :] - self.centers_[None, :, :]) ** 2).sum(axis=2)
        return d.argmin(axis=1).astype(np.int64)

    def pick(
        self,
        clusters: np.ndarray,
        parent_labels: np.ndarray,
        rng: np.random.Generator,
        child_exact: list[np.ndarray] | None = None,
        parent_exact: list[np.ndarray] | None = None,
        child_agree: list[np.ndarray] | None = None,
        parent_agree: list[np.ndarray] | None = None,
    ) -> np.ndarray:
        """For each wanted cluster (−1: no parent), the position of a synthetic parent row, uniformly
        among those of that cluster whose ``parent_exact`` values equal the row's ``child_exact``
        values (a season's year) and, where possible, whose ``parent_agree`` values equal the row's
        ``child_agree`` values (a column both tables carry, such as a league); failing that, fewer
        of these, then the cluster alone (a cluster with no synthetic row borrows the nearest one
        that has rows), then any row."""
        n = clusters.shape[0]
        out = np.full(n, -1, dtype=np.int64)
        present = np.unique(parent_labels)
        if present.size == 0:
            return out
        dist = ((self.centers_[:, None, :] - self.centers_[None, present, :]) ** 2).sum(axis=2)
        nearest = present[dist.argmin(axis=1)]
        want = np.where(clusters >= 0, nearest[np.clip(clusters, 0, self.n_clusters - 1)], -1)
        ce, pe = list(child_exact or []), list(parent_exact or [])
        ca, pa = list(child_agree or []), list(parent_agree or [])
        attempts = [(ce + ca + [want], pe + pa + [parent_labels])]
        if ca:
            attempts.append((ce + ca, pe + pa))
        if ce or ca:
            attempts.append((ce + [want], pe + [parent_labels]))
        if ce:
            attempts.append((ce, pe))
        if ce or ca:
            attempts.append(([want], [parent_labels]))
        todo = want >= 0
        for child_cols, parent_cols in attempts:
            if not todo.any():
                break
            index = _index(parent_cols)
            codes, uniques = pd.factorize(index)
            order = np.argsort(codes, kind="stable")
            starts = np.searchsorted(codes[order], np.arange(len(uniques)), side="left")
            ends = np.searchsorted(codes[order], np.arange(len(uniques)), side="right")
            rows = np.flatnonzero(todo)
            group = np.asarray(uniques.get_indexer(_index([c[rows] for c in child_cols])), dtype=np.int64)
            hit = group >= 0
            lo, hi = starts[group[hit]], ends[group[hit]]
            out[rows[hit]] = order[lo + (rng.random(int(hit.sum())) * (hi - lo)).astype(np.int64)]
            todo[rows[hit]] = False
        if todo.any():
            out[todo] = rng.integers(0, parent_labels.shape[0], size=int(todo.sum()))
        return out

    def to_state(self, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {
            "numeric": self.numeric_,
            "levels": {k: [str(v) for v in lv] for k, lv in self.levels_.items()},
        }
        return meta, {f"{prefix}.centers": self.centers_}

    @classmethod
    def from_state(cls, meta: dict, arrays: Any, prefix: str) -> ParentClusters:
        self = cls()
        self.numeric_ = {k: list(v) for k, v in meta["numeric"].items()}
        self.levels_ = {k: list(v) for k, v in meta["levels"].items()}
        self.centers_ = np.asarray(arrays[f"{prefix}.centers"], dtype=float)
        return self


def _index(columns: list[np.ndarray]) -> pd.Index:
    """One index over parallel value arrays (a MultiIndex for several)."""
    if len(columns) == 1:
        return pd.Index(columns[0])
    return pd.MultiIndex.from_arrays(columns)
