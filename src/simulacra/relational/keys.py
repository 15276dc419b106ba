"""Primary keys of synthetic tables: which key columns are learned, which are made fresh.

Foreign-key columns inside a primary key come from the parent rows. Of the other primary-key
columns, the last one is made fresh (a counter within the group of the other key columns when it
is a whole number — Batting's ``stint`` 1, 2, … within a player and year —, otherwise a fresh id of
the training ids' shape, unique in the table); the ones before it are ordinary data (Teams'
``yearID``). So a key is unique by construction and no real key value is reused.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema.kinds import Kind
from ..schema.model import ColumnSchema
from ..tabular.regenerate import learn_shape, regenerate
from .metadata import Metadata


def key_roles(metadata: Metadata, table: str) -> tuple[list[str], str | None]:
    """(primary-key columns learned as data, the primary-key column made fresh or None)."""
    fk_cols = {c for fk in metadata.parents(table) for c in fk.columns}
    own = [c for c in metadata.tables[table].primary_key if c not in fk_cols]
    if not own:
        return [], None
    return own[:-1], own[-1]


def counter_shape(values: pd.Series, grouped: bool) -> dict:
    """What is kept of the fresh key column: a within-group start for whole numbers, else an id shape."""
    if grouped and pd.api.types.is_integer_dtype(values) and values.notna().all():
        return {"type": "counter", "start": int(values.min()) if len(values) else 1}
    shape = learn_shape(values, ColumnSchema(kind=Kind.ID))
    shape["missing"] = 0.0
    return shape


def fresh_keys(shape: dict, frame: pd.DataFrame, group: list[str], rng: np.random.Generator) -> np.ndarray:
    """Values of the fresh key column for the rows of ``frame`` (unique within ``group``'s values)."""
    n = len(frame)
    if shape["type"] == "counter":
        rank = frame.groupby(group, sort=False, dropna=False).cumcount().to_numpy() if group else np.arange(n)
        return (rank + shape["start"]).astype(np.int64)
    return regenerate({"key": shape}, n, 0, rng)["key"]


def duplicate_keys(frame: pd.DataFrame, columns: list[str]) -> int:
    """How many rows repeat an earlier row's primary key."""
    if not columns or frame.empty:
        return 0
    return int(frame.duplicated(subset=columns).sum())
