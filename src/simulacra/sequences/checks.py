"""Checks of a long table before a sequence model learns from it: columns, order column, context."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, SchemaError, UsageError
from ..schema.infer import infer_column
from ..schema.kinds import Kind
from ..schema.model import ColumnSchema

NUMERIC_KINDS = (Kind.INTEGER, Kind.FLOAT, Kind.DATETIME)


def check_columns(df: pd.DataFrame, key: str, order_by: str | None, context: list[str], kinds: dict) -> None:
    """Raise a one-line error for a missing, repeated, reserved or doubly used column."""
    if len(df.columns) != len(set(df.columns)):
        dup = next(c for c in df.columns if list(df.columns).count(c) > 1)
        raise DataError(f"column '{dup}' appears twice; give every column a distinct name")
    shown = ", ".join(df.columns)
    if key not in df.columns:
        raise DataError(f"sequence key column '{key}' is not in the data (columns: {shown})")
    if order_by is not None and order_by not in df.columns:
        raise DataError(f"order column '{order_by}' is not in the data (columns: {shown})")
    if order_by == key:
        raise UsageError(f"'{key}' cannot be both the sequence key and the order column")
    for c in context:
        if c not in df.columns:
            raise DataError(f"context column '{c}' is not in the data (columns: {shown})")
        if c in (key, order_by):
            raise UsageError(f"'{c}' cannot be a context column: it is the sequence key or order column")
    for c in kinds:
        if c not in df.columns:
            raise DataError(f"--kind names unknown column '{c}' (columns: {shown})")
    if any(c.startswith("__") for c in df.columns):
        bad = next(c for c in df.columns if c.startswith("__"))
        raise DataError(f"column '{bad}': names starting with '__' are reserved; rename the column")


def order_schema(df: pd.DataFrame, order_by: str, kinds: dict) -> ColumnSchema:
    """The order column's kind (given by ``kinds`` or inferred); it must be numbers or dates."""
    if order_by in kinds:
        try:
            col = ColumnSchema(kind=Kind(kinds[order_by]))
        except ValueError:
            raise SchemaError(
                f"--kind {order_by}={kinds[order_by]}: unknown kind; the order column needs "
                "integer, float or datetime"
            ) from None
    else:
        col = infer_column(order_by, df[order_by])
        if col.kind == Kind.ID and pd.api.types.is_numeric_dtype(df[order_by]):
            col = ColumnSchema(kind=Kind.INTEGER)
    if col.kind not in NUMERIC_KINDS:
        seen = df[order_by].dropna()
        example = f" (e.g. {seen.iloc[0]!r})" if len(seen) else ""
        raise DataError(
            f"order column '{order_by}' must hold numbers or dates; its values look {col.kind.value}{example}"
        )
    return col


def check_context(sdf: pd.DataFrame, context: list[str], ent: np.ndarray, uniques: Any) -> None:
    """Raise a :class:`DataError` if a context column takes several values within one entity."""
    for c in context:
        vals = sdf[c]
        varies = pd.Series(vals.astype(str).where(vals.notna(), "\0na")).groupby(ent).nunique()
        if (varies > 1).any():
            e = int(varies.index[np.flatnonzero(varies.to_numpy() > 1)[0]])
            shown = ", ".join(map(str, pd.unique(vals[ent == e])[:3]))
            raise DataError(
                f"context column '{c}' takes several values ({shown}) within entity {uniques[e]!r}; "
                "a context column holds one value per entity (move it out of --context)"
            )
