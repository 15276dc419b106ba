"""A synthetic database in units of root entities, and the keys that join the units into one.

A database is sampled in *units*: unit ``u`` holds a fixed slice of every root table that has
children (its share of ``scale`` × the training rows) and all their descendants, so units can be
made in any order, on any number of processes, from the model, the seed and ``u`` alone. Root
tables with no children of their own in context (lookup tables such as currencies or airports)
are *shared*: sampled once, seen whole by every unit's foreign keys, written once.

Inside a unit, fresh keys count from the start; :class:`KeyRenumbering` then shifts each unit's
keys past the units before it (numbered ids by the rows already written, per-group counters by
the group's rows already written) and carries the new values into every foreign key that points
at them. Joining units in order therefore gives the same database whoever made them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import UsageError
from ..tabular.regenerate import regenerate
from .checks import key_text
from .links import with_dtype
from .metadata import Metadata
from .parts import TablePart

UNIT_ROOTS = 20_000
"""Rows of the largest split root table per unit: big enough that a unit's parents give every
foreign key a wide choice, small enough that a unit fits easily in one worker's memory."""


@dataclass(frozen=True)
class UnitPlan:
    """How a sample of ``scale`` × the training roots is cut into units."""

    scale: float
    n_units: int
    roots: dict[str, list[int]]  # split root table → its rows in each unit
    shared: dict[str, int]  # shared table → its rows (sampled once)

    def root_rows(self, unit: int) -> int:
        """Root rows a unit makes (what progress counts)."""
        return sum(rows[unit] for rows in self.roots.values())


def shared_tables(metadata: Metadata) -> list[str]:
    """Root tables without context children: sampled once and seen whole by every unit."""
    return [t for t in metadata.roots if not metadata.context_children(t)]


def plan_units(
    metadata: Metadata, n_rows: Mapping[str, int], scale: float, unit_roots: int = UNIT_ROOTS
) -> UnitPlan:
    """Cut a sample of ``scale`` × the training root rows into units of about ``unit_roots`` rows of
    the largest split root table; every unit gets at least one row of every split root table."""
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not np.isfinite(scale) or scale <= 0:
        raise UsageError(f"scale must be a positive number (got {scale!r})")
    if isinstance(unit_roots, bool) or not isinstance(unit_roots, int) or unit_roots < 1:
        raise UsageError(f"unit_roots must be a positive whole number (got {unit_roots!r})")
    shared = shared_tables(metadata)
    wanted = {t: int(round(scale * n_rows[t])) for t in metadata.roots}
    split = {t: n for t, n in wanted.items() if t not in shared}
    k = 1
    if split and _splittable(metadata, shared):
        k = max(1, math.ceil(max(split.values()) / unit_roots))
        k = max(1, min(k, min(split.values())))
    roots = {t: [n // k + (1 if u < n % k else 0) for u in range(k)] for t, n in split.items()}
    return UnitPlan(float(scale), k, roots, {t: wanted[t] for t in shared})


def _splittable(metadata: Metadata, shared: list[str]) -> bool:
    """Whether units can be joined: a primary key made only of foreign keys into shared tables
    could repeat across units (nothing unit-specific in it), so such a database is one unit."""
    for name, table in metadata.tables.items():
        if name in shared or not table.primary_key:
            continue
        fks = metadata.parents(name)
        fk_cols = {c for fk in fks for c in fk.columns}
        if set(table.primary_key) <= fk_cols:
            pk = set(table.primary_key)
            if not any(fk.parent not in shared and set(fk.columns) <= pk for fk in fks):
                return False
    return True


def _text_index(frame: pd.DataFrame, columns: list[str]) -> pd.Index:
    """Rows of ``frame`` as one text key over ``columns`` (the same normalisation as the checks)."""
    return pd.Index(key_text(frame, columns))


class KeyRenumbering:
    """Shift each unit's fresh keys past the units before it; apply to the units in order."""

    def __init__(self, metadata: Metadata, parts: Mapping[str, TablePart], shared: list[str]) -> None:
        self.metadata = metadata
        self.parts = parts
        self.shared = set(shared)
        self.offsets = {t: 0 for t in metadata.order}
        self.groups: dict[str, pd.Series] = {}  # counter keys: rows already written per group

    def apply(self, unit: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """One unit's tables with their keys renumbered (and the state moved past this unit)."""
        md = self.metadata
        old_keys: dict[str, pd.Index] = {}
        new_rows: dict[str, pd.DataFrame] = {}
        out: dict[str, pd.DataFrame] = {}
        for name in md.order:
            if name in self.shared or name not in unit:
                continue
            df = unit[name].reset_index(drop=True).copy()
            pk = md.tables[name].primary_key
            old_keys[name] = _text_index(unit[name], pk) if pk else pd.Index([])
            for fk in md.parents(name):
                if fk.parent in self.shared:
                    continue
                pos = old_keys[fk.parent].get_indexer(_text_index(df, list(fk.columns)))
                found = pos >= 0  # a null foreign key stays null; every other one is in this unit
                for c, pc in zip(fk.columns, fk.parent_columns, strict=True):
                    values = df[c].to_numpy(dtype=object).copy()
                    values[found] = new_rows[fk.parent][pc].to_numpy(dtype=object)[pos[found]]
                    df[c] = with_dtype(values, df[c].dtype)
            self._fresh(name, df)
            new_rows[name] = df
            self.offsets[name] += len(df)
            out[name] = df
        return out

    def _fresh(self, name: str, df: pd.DataFrame) -> None:
        part = self.parts[name]
        col, shape = part.key_column, part.key_shape
        if col is None or shape is None or not len(df):
            return
        if shape["type"] in ("int", "numbered"):
            df[col] = pd.Series(regenerate({"k": shape}, len(df), self.offsets[name], None)["k"]).astype(
                df[col].dtype
            )
        elif shape["type"] == "counter":
            data_pk = [c for c in self.metadata.tables[name].primary_key if c != col]
            if not data_pk:
                df[col] = df[col] + self.offsets[name]
                return
            group = _text_index(df, data_pk)
            seen = self.groups.get(name, pd.Series(dtype="int64"))
            before = seen.reindex(group).fillna(0).to_numpy(dtype=np.int64)
            df[col] = df[col].to_numpy(dtype=np.int64) + before
            counts = pd.Series(1, index=group).groupby(level=0).sum()
            self.groups[name] = seen.add(counts, fill_value=0).astype("int64")


__all__ = ["UNIT_ROOTS", "KeyRenumbering", "UnitPlan", "plan_units", "shared_tables"]
