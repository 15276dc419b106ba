"""Coverage of generation attributes: which combinations of attribute values the synthetic texts reach."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import pandas as pd

__all__ = ["attribute_columns", "combination_coverage"]


def attribute_columns(frame: pd.DataFrame, exclude: Sequence[str], max_values: int = 50) -> list[str]:
    """Columns that look like generation attributes: few distinct short values, not the text or
    label. ``frame`` is the synthetic data."""
    out = []
    n = len(frame)
    for col in frame.columns:
        if col in exclude:
            continue
        s = frame[col].dropna()
        if s.empty or s.map(lambda v: isinstance(v, list | dict)).any():
            continue
        k = s.astype(str).nunique()
        if k < 2 or k > max_values or k > 0.5 * n:
            continue
        if s.astype(str).str.len().mean() > 40:
            continue
        out.append(str(col))
    return out


def combination_coverage(frames: Sequence[pd.DataFrame], columns: Sequence[str], which: int = 0) -> dict:
    """Share of the grid of attribute combinations that ``frames[which]`` covers.

    The grid is the product of the values seen in any of ``frames`` (those that have the columns).
    Also the share of texts in the rarest and commonest covered combinations.
    """
    values = []
    for col in columns:
        seen: set[str] = set()
        for f in frames:
            if col in f.columns:
                seen.update(f[col].dropna().astype(str).unique())
        values.append(sorted(seen))
    size = math.prod(len(v) for v in values)
    f = frames[which]
    keys = f[list(columns)].dropna().astype(str).agg("\x1f".join, axis=1)
    counts = keys.value_counts()
    grid = {"\x1f".join(c) for c in itertools.product(*values)} if size <= 100_000 else None
    covered = int(counts.index.isin(list(grid)).sum()) if grid is not None else len(counts)
    missing = []
    if grid is not None:
        for combo in sorted(grid - set(counts.index))[:10]:
            missing.append(dict(zip(columns, combo.split("\x1f"), strict=True)))
    return {
        "coverage": covered / size if size else None,
        "combinations": int(size),
        "covered": covered,
        "min_share": float(counts.min() / len(keys)) if len(keys) else None,
        "max_share": float(counts.max() / len(keys)) if len(keys) else None,
        "missing_examples": missing,
    }
