"""Saving a fitted scikit-learn tree as plain node arrays and rebuilding it, without pickle.

Only the structure is kept (the split of every node); the models keep their own leaf tables, so the
tree's ``values`` are not needed and are rebuilt as zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.tree._tree import NODE_DTYPE, Tree

from ...errors import ModelFormatError


def tree_to_arrays(tree: Any, prefix: str) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """The tree's node arrays under ``<prefix>.node.<field>`` and its size for the model's JSON."""
    nodes = tree.__getstate__()["nodes"]
    arrays = {f"{prefix}.node.{f}": np.ascontiguousarray(nodes[f]) for f in nodes.dtype.names}
    return {"max_depth": int(tree.max_depth), "node_count": int(tree.node_count)}, arrays


def tree_from_arrays(
    arrays: dict[str, np.ndarray], prefix: str, n_features: int, max_depth: int, node_count: int, what: str
) -> Tree:
    """Rebuild a tree written by :func:`tree_to_arrays`; ``what`` names it in a format error."""
    nodes = np.zeros(node_count, dtype=NODE_DTYPE)
    for field in NODE_DTYPE.names:
        key = f"{prefix}.node.{field}"
        if key not in arrays:
            raise ModelFormatError(
                f"{what} lacks '{field}'; the model was saved by an incompatible scikit-learn, refit it"
            )
        nodes[field] = arrays[key]
    tree = Tree(max(n_features, 1), np.array([1], dtype=np.intp), 1)
    tree.__setstate__(
        {
            "max_depth": max_depth,
            "node_count": node_count,
            "nodes": nodes,
            "values": np.zeros((node_count, 1, 1)),
        }
    )
    return tree
