"""Coarsened tree targets: a tree's structure is learned on at most :data:`COARSE` classes.

Shared by the tabular trees and the sequence step trees. The leaves keep every class; only the splits
are chosen on the coarsened target, which keeps tree growth fast on columns with many codes.
"""

from __future__ import annotations

import numpy as np

COARSE = 64


def coarsen(target: np.ndarray, n_classes: int) -> np.ndarray:
    """``target`` with its ``COARSE - 1`` most frequent classes kept and every other class merged."""
    if n_classes <= COARSE:
        return target
    counts = np.bincount(target, minlength=n_classes)
    top = np.argsort(-counts, kind="stable")[: COARSE - 1]
    mapping = np.full(n_classes, COARSE - 1)
    mapping[top] = np.arange(top.size)
    return mapping[target]
