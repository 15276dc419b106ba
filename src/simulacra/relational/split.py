"""The holdout of a database: a split by root entity, every descendant row on its root's side.

A row-level split of each table would leave orders whose customer sits on the other side; here the
rows of each root table that has context children are split (seeded), and every row below them —
following context foreign keys down, at any depth, single or composite — goes with its root. A root
with no context children (a lookup table only referenced by non-context keys, e.g. Lahman's Teams when
Batting's context is People) is kept whole on both sides, so neither side has orphans.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, UsageError
from ..seeding import derive_rng
from .checks import key_text
from .metadata import Metadata

__all__ = ["key_strings", "split_by_root"]


def key_strings(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The key of every row of ``df`` over ``columns`` as one string (composite keys joined), missing
    where any key column is missing (a null key references nothing, as in SQL). Numbers compare by
    value across dtypes: 7, 7.0 and an ``Int64`` 7 give the same key."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"key column '{missing[0]}' is not in the table (columns: {', '.join(map(str, df.columns))})"
        )
    return key_text(df, columns).reset_index(drop=True)


def _check(metadata: Metadata, tables: dict[str, Any], holdout: float) -> None:
    if not 0.0 < float(holdout) < 1.0:
        raise UsageError(f"holdout must be a share between 0 and 1 (exclusive), got {holdout}")
    missing = [t for t in metadata.tables if t not in tables]
    if missing:
        raise DataError(f"table '{missing[0]}' of the metadata is not among the given tables")
    for name in metadata.tables:
        if not isinstance(tables[name], pd.DataFrame):
            raise DataError(f"table '{name}' must be a pandas DataFrame, got {type(tables[name]).__name__}")


def split_by_root(
    metadata: Metadata, tables: dict[str, pd.DataFrame], holdout: float = 0.2, seed: int = 0
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Split a database into (train, holdout) by root entity (see the module docstring).

    Each root table with context children puts a seeded ``holdout`` share of its rows in the holdout
    (``derive_rng(seed, "relational", "split", table)``); every descendant row goes with its context
    parent. Rows whose context key is null are split by their own table's seeded draw. A row whose
    context parent does not exist, or whose other foreign key (not null) points at a parent row absent
    from its side, is left out of that side, with its descendants, so neither side has orphans. Roots
    without context children are kept whole on both sides. Tables not in the metadata are ignored.
    """
    _check(metadata, tables, holdout)
    frames = {name: tables[name].reset_index(drop=True) for name in metadata.tables}
    sides: dict[str, np.ndarray] = {}  # per table: 0 = train, 1 = holdout, -1 = neither, 2 = both
    for name in metadata.order:
        df = frames[name]
        fk = metadata.context_of(name)
        if fk is None:
            if metadata.context_children(name):
                rng = derive_rng(seed, "relational", "split", name)
                side = np.zeros(len(df), dtype=np.int8)
                side[rng.permutation(len(df))[: int(round(holdout * len(df)))]] = 1
            else:
                side = np.full(len(df), 2, dtype=np.int8)
        else:
            parent_side = pd.Series(sides[fk.parent], index=key_strings(frames[fk.parent], fk.parent_columns))
            parent_side = parent_side[~parent_side.index.isna() & ~parent_side.index.duplicated()]
            keys = key_strings(df, fk.columns)
            side = keys.map(parent_side).fillna(-1).to_numpy(dtype=np.int8)
            null = keys.isna().to_numpy()
            if null.any():
                rng = derive_rng(seed, "relational", "split", name)
                draw = (rng.random(int(null.sum())) < holdout).astype(np.int8)
                side[null] = draw
        sides[name] = side
    out: tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]] = ({}, {})
    for which in (0, 1):
        for name in metadata.order:
            df = frames[name]
            keep = (sides[name] == which) | (sides[name] == 2)
            for fk in metadata.parents(name):  # parents come first in dependency order
                keys = key_strings(df, fk.columns)
                found = keys.isin(set(key_strings(out[which][fk.parent], fk.parent_columns).dropna()))
                keep &= (keys.isna() | found).to_numpy()
            out[which][name] = df[keep].reset_index(drop=True)
    return out[0], out[1]
