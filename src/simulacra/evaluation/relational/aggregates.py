"""Parent rows seen through their children: children counts per parent and child aggregates.

Children are matched to their parent by the context foreign key (composite keys joined, see
:func:`simulacra.relational.split.key_strings`); parents without children count 0, children whose
parent is missing are left out (referential integrity counts them). Numbers and dates are aggregated
as numbers, every other column as categories.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...relational.metadata import ForeignKey, Metadata
from ...relational.split import key_strings
from ..tabular.columns import column_kind, fresh_columns, to_datetime_ns, to_float

__all__ = ["as_number", "child_aggregates", "child_counts", "enriched", "value_columns"]


def value_columns(metadata: Metadata, table: str, df: pd.DataFrame) -> list[str]:
    """Columns of ``df`` that are not key columns of ``table``, not made fresh by design
    (:func:`fresh_columns`) and have at least one value."""
    keys = metadata.key_columns(table)
    fresh = fresh_columns(df)
    return [str(c) for c in df.columns if c not in keys and c not in fresh and df[c].notna().any()]


def as_number(s: pd.Series, kind: str | None = None) -> np.ndarray | None:
    """Numbers and dates (as nanoseconds) as float64 with NaN for missing; ``None`` for categories.
    ``kind`` (default: the column's own) lets another side's values be read as the train column's."""
    kind = kind or column_kind(s)
    if kind == "numeric":
        return to_float(s)
    if kind == "datetime":
        values, na = to_datetime_ns(s)
        out = values.astype("float64")
        out[na] = np.nan
        return out
    return None


def child_counts(parent: pd.DataFrame, child: pd.DataFrame, fk: ForeignKey) -> np.ndarray:
    """How many rows of ``child`` point at each row of ``parent`` through ``fk`` (0 included)."""
    counts = key_strings(child, fk.columns).value_counts(dropna=True)
    keys = key_strings(parent, fk.parent_columns)
    return keys.map(counts).fillna(0).to_numpy(dtype="float64")


def child_aggregates(
    parent: pd.DataFrame,
    child: pd.DataFrame,
    fk: ForeignKey,
    columns: list[str],
    *,
    spread: bool = True,
    train_child: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per parent row: the children count, the mean (and with ``spread`` the standard deviation) of each
    numeric child column, and with ``spread`` the distinct count of each categorical child column.
    Column kinds follow ``train_child`` (default ``child``), so every side gets the same features."""
    kinds_from = child if train_child is None else train_child
    keys = key_strings(child, fk.columns)
    numbers, cats = {}, {}
    for c in columns:
        values = as_number(child[c], column_kind(kinds_from[c]))
        if values is not None:
            numbers[c] = values
        elif spread:
            cats[c] = child[c].astype("string").to_numpy(dtype=object, na_value=None)
    frame = pd.DataFrame({"__key": keys.to_numpy(dtype=object, na_value=None), **numbers, **cats})
    frame = frame[frame["__key"].notna()]
    groups = frame.groupby("__key", sort=False)
    prefix = fk.child
    out = {f"{prefix}: count": groups.size()}
    for c in numbers:
        out[f"{prefix}: mean {c}"] = groups[c].mean()
        if spread:
            out[f"{prefix}: std {c}"] = groups[c].std()
    for c in cats:
        out[f"{prefix}: distinct {c}"] = groups[c].nunique()
    agg = pd.DataFrame(out)
    parent_keys = key_strings(parent, fk.parent_columns).to_numpy(dtype=object, na_value=None)
    result = agg.reindex(parent_keys).reset_index(drop=True)
    result[f"{prefix}: count"] = result[f"{prefix}: count"].fillna(0.0)
    for c in cats:
        result[f"{prefix}: distinct {c}"] = result[f"{prefix}: distinct {c}"].fillna(0.0)
    return result.astype("float64")


def enriched(
    metadata: Metadata, tables: dict[str, pd.DataFrame], table: str, train: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """The rows of ``table`` (non-key columns, as in ``train``) beside the aggregates of every table
    learned in their context: counts, means and standard deviations, distinct counts."""
    cols = value_columns(metadata, table, train[table])
    parts = [tables[table][cols].reset_index(drop=True)]
    for fk in metadata.context_children(table):
        child_cols = value_columns(metadata, fk.child, train[fk.child])
        parts.append(
            child_aggregates(tables[table], tables[fk.child], fk, child_cols, train_child=train[fk.child])
        )
    return pd.concat(parts, axis=1)
