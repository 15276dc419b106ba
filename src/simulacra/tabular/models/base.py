"""What every tabular model offers, and the sparse per-leaf distributions they sample from.

Models work in code space: an ``(n, m)`` int32 matrix whose column ``j`` holds bin codes
``0..cards[j]-1`` (see :mod:`simulacra.tabular.codecs`). Conditions are given per column as a
weight in [0, 1] for each code (1 = allowed, 0 = excluded, a fraction for partly covered bins).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np

from ...errors import ConditionError
from ...progress import ProgressLike

Conditions = dict[int, np.ndarray]
Progress = ProgressLike  # see simulacra.progress: units are columns or epochs


class CodeModel(Protocol):
    """The contract of a model in the registry (scikit-learn style: learned state ends in ``_``)."""

    name: ClassVar[str]

    def fit(self, codes: np.ndarray, cards: list[int], progress: Progress = None) -> CodeModel: ...

    def sample_codes(
        self, n: int, rng: np.random.Generator, conditions: Conditions | None = None
    ) -> np.ndarray: ...

    def get_params(self) -> dict[str, Any]: ...

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]: ...

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> CodeModel: ...


class LeafTable:
    """Class distributions of many leaves, stored sparsely: per leaf only the classes it holds.

    Sampling a class for rows in given leaves is one ``searchsorted`` over ``leaf + cumprob`` keys.
    """

    def __init__(self, offsets: np.ndarray, classes: np.ndarray, probs: np.ndarray) -> None:
        self.offsets = offsets.astype(np.int64)
        self.classes = classes.astype(np.int32)
        self.probs = probs.astype(np.float64)
        self._keys = self._make_keys(self.probs)

    @classmethod
    def from_counts(cls, leaf: np.ndarray, target: np.ndarray, n_leaves: int, n_classes: int) -> LeafTable:
        """Build from the leaf index and class of each training row."""
        pair = leaf.astype(np.int64) * n_classes + target
        uniq, counts = np.unique(pair, return_counts=True)
        leaves, classes = np.divmod(uniq, n_classes)
        sizes = np.bincount(leaves, minlength=n_leaves)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        totals = np.repeat(np.add.reduceat(counts, offsets[:-1]) if uniq.size else counts, sizes)
        return cls(offsets, classes, counts / totals)

    @property
    def n_leaves(self) -> int:
        return self.offsets.size - 1

    def _leaf_ids(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_leaves), np.diff(self.offsets))

    def _make_keys(self, probs: np.ndarray) -> np.ndarray:
        cum = np.cumsum(probs)
        starts = np.repeat(cum[self.offsets[:-1]] - probs[self.offsets[:-1]], np.diff(self.offsets))
        within = cum - starts
        within[self.offsets[1:] - 1] = 1.0  # exact end of every leaf
        return self._leaf_ids() + within

    def sample(
        self, leaf: np.ndarray, rng: np.random.Generator, keys: np.ndarray | None = None
    ) -> np.ndarray:
        """One class per row, drawn from its leaf's distribution."""
        k = self._keys if keys is None else keys
        idx = np.searchsorted(k, leaf + rng.random(leaf.size), side="right")
        return self.classes[np.minimum(idx, self.classes.size - 1)]

    def restrict(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For a condition: each leaf's likelihood of the allowed codes, and keys for sampling within them."""
        w = self.probs * weights[self.classes]
        mass = np.add.reduceat(w, self.offsets[:-1]) if w.size else np.zeros(self.n_leaves)
        denom = np.repeat(np.where(mass > 0, mass, 1.0), np.diff(self.offsets))
        return mass, self._make_keys(w / denom)

    def to_state(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}.offsets": self.offsets,
            f"{prefix}.classes": self.classes,
            f"{prefix}.probs": self.probs,
        }

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], prefix: str) -> LeafTable:
        return cls(arrays[f"{prefix}.offsets"], arrays[f"{prefix}.classes"], arrays[f"{prefix}.probs"])


def systematic_resample(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` draws proportional to ``weights`` with the least possible duplication."""
    cum = np.cumsum(weights)
    cum /= cum[-1]
    positions = (rng.random() + np.arange(n)) / n
    idx = np.searchsorted(cum, positions, side="right")
    return rng.permutation(np.minimum(idx, weights.size - 1))


def effective_size(logws: list[np.ndarray]) -> float:
    """Kish's effective sample size of the rows drawn so far under likelihood weighting (log-weights)."""
    allw = np.concatenate(logws)
    finite = np.isfinite(allw)
    if not finite.any():
        return 0.0
    w = np.exp(allw[finite] - allw[finite].max())
    return float(w.sum() ** 2 / (w**2).sum())


def resample_weighted(
    pool: list[np.ndarray], logws: list[np.ndarray], n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` rows of ``pool`` drawn by their likelihood weights (none possible: :class:`ConditionError`)."""
    allw = np.concatenate(logws)
    if not np.isfinite(allw).any():
        raise ConditionError(
            "no combination of the conditions is possible under the learned model; relax one of them"
        )
    w = np.where(np.isfinite(allw), np.exp(allw - allw[np.isfinite(allw)].max()), 0.0)
    return np.concatenate(pool)[systematic_resample(w, n, rng)]
