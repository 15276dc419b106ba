"""Infer each column's kind from the data, and check data against a given schema.

Nothing is guessed silently: every inferred kind carries a ``note`` saying why, the schema can be
printed (``simulacra schema DATA``) and any column can be overridden.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..errors import SchemaError
from .kinds import Kind
from .model import ColumnSchema, Schema

DATETIME_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y",
    "%d-%b-%Y",
    "%b %d, %Y",
)
_BOOL_TOKENS = ({"true", "false"}, {"yes", "no"}, {"y", "n"}, {"t", "f"})
_ID_NAME = re.compile(r"(^|[_\-\s.])(id|uuid|guid|key|identifier)$|^id[_\-]|(?<=[a-z])Id$", re.IGNORECASE)
_SAMPLE = 5_000


def _sample(values: pd.Series) -> pd.Series:
    return values.head(_SAMPLE) if len(values) > _SAMPLE else values


def detect_datetime_format(values: pd.Series, threshold: float = 0.95) -> str | None:
    """Return the first format under which at least ``threshold`` of the non-null strings parse."""
    s = _sample(values.dropna().astype(str).str.strip())
    if s.empty or not s.str.contains(r"\d", regex=True).all():
        return None
    for fmt in DATETIME_FORMATS:
        parsed = pd.to_datetime(s, format=fmt, errors="coerce")
        if parsed.notna().mean() >= threshold:
            return fmt
    return None


def infer_column(name: str, values: pd.Series) -> ColumnSchema:
    """Infer the kind of one column; the returned ``note`` says why."""
    from .pii import detect_pii

    nonnull = values.dropna()
    n, k = len(nonnull), nonnull.nunique() if len(nonnull) else 0
    if n == 0:
        return ColumnSchema(kind=Kind.CATEGORICAL, note="all values missing; reproduced as missing")
    const = "constant; reproduced as is" if k == 1 else None
    if pd.api.types.is_bool_dtype(values):
        return ColumnSchema(kind=Kind.BOOLEAN, note=const)
    if pd.api.types.is_datetime64_any_dtype(values):
        return ColumnSchema(kind=Kind.DATETIME, note=const or "datetime values")
    if pd.api.types.is_numeric_dtype(values):
        pii = detect_pii(name, values)
        if pii is not None:
            return ColumnSchema(kind=Kind.PII, pii=pii, note="values look like personal data")
        arr = nonnull.to_numpy(dtype=float)
        integral = bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))
        if integral and k == n and n >= 20:
            consecutive = arr.max() - arr.min() + 1 == n
            if _ID_NAME.search(str(name)) or consecutive:
                why = "name looks like an id" if _ID_NAME.search(str(name)) else "consecutive integers"
                return ColumnSchema(kind=Kind.ID, note=f"unique integers, {why}; regenerated fresh")
        if integral:
            return ColumnSchema(kind=Kind.INTEGER, note=const)
        return ColumnSchema(kind=Kind.FLOAT, note=const)
    # strings (or mixed objects)
    strs = nonnull.astype(str)
    lowered = set(_sample(strs).str.strip().str.lower().unique())
    if 1 <= len(lowered) <= 2 and any(lowered <= t for t in _BOOL_TOKENS):
        return ColumnSchema(kind=Kind.BOOLEAN, note=const)
    pii = detect_pii(name, values)
    if pii is not None:
        return ColumnSchema(kind=Kind.PII, pii=pii, note="values look like personal data; regenerated fresh")
    fmt = detect_datetime_format(strs)
    if fmt is not None:
        return ColumnSchema(kind=Kind.DATETIME, format=fmt, note=const)
    numeric = pd.to_numeric(_sample(strs), errors="coerce")
    share_num = float(numeric.notna().mean())
    if 0 < share_num < 1:
        return ColumnSchema(
            kind=Kind.CATEGORICAL,
            note=f"mixed types ({share_num:.0%} numbers); learned as categories — override if that is wrong",
        )
    unique_share = k / n
    no_space = not strs.str.contains(r"\s", regex=True).any()
    if (
        k == n
        and n >= 20
        and no_space
        and (_ID_NAME.search(str(name)) or strs.str.contains(r"\d").mean() > 0.9)
    ):
        return ColumnSchema(kind=Kind.ID, note="unique codes; regenerated fresh in the same shape")
    words = _sample(strs).str.split().str.len()
    if unique_share >= 0.5 and float(words.mean()) >= 4 and n >= 10:
        return ColumnSchema(
            kind=Kind.TEXT, note="free text; not learned (use `simulacra text` for realistic text)"
        )
    if k == n and n >= 20 and unique_share == 1:
        return ColumnSchema(kind=Kind.ID, note="every value distinct; regenerated fresh")
    return ColumnSchema(kind=Kind.CATEGORICAL, note=const or (f"{k} distinct values" if k > 1000 else None))


def infer_schema(df: pd.DataFrame, overrides: dict | None = None) -> Schema:
    """Infer a :class:`Schema` for ``df``; ``overrides`` maps column → kind or column mapping."""
    cols = {str(name): infer_column(str(name), df[name]) for name in df.columns}
    schema = Schema(columns=cols)
    return schema.with_overrides(overrides) if overrides else schema


def complete_schema(df: pd.DataFrame, schema: Schema) -> Schema:
    """Fill columns the schema leaves out by inference; reject columns the data lacks."""
    missing = [c for c in schema.columns if c not in df.columns]
    if missing:
        raise SchemaError(
            f"schema names column '{missing[0]}' that the data does not have (data columns: "
            f"{', '.join(map(str, df.columns))})"
        )
    cols = {}
    for name in df.columns:
        cols[str(name)] = schema.columns.get(str(name)) or infer_column(str(name), df[name])
    try:
        full = Schema(version=schema.version, columns=cols, constraints=schema.constraints)
    except ValidationError as exc:
        raise SchemaError(f"schema: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    full.check_constraint_columns()
    return full


def coerce_column(name: str, values: pd.Series, col: ColumnSchema) -> pd.Series:
    """Convert a column to what its kind needs (floats, datetimes); raise naming the bad value."""
    if col.kind in (Kind.INTEGER, Kind.FLOAT):
        num = pd.to_numeric(values, errors="coerce")
        bad = num.isna() & values.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SchemaError(
                f"column '{name}': value {values.iloc[row]!r} (row {row + 1}) is not a number; "
                f"fix the value or set the column's kind to categorical"
            )
        return num.astype(float)
    if col.kind == Kind.DATETIME:
        if pd.api.types.is_datetime64_any_dtype(values):
            out = values
            if getattr(out.dt, "tz", None) is not None:
                out = out.dt.tz_convert("UTC").dt.tz_localize(None)
            return out.astype("datetime64[ns]")
        strs = values.where(values.isna(), values.astype(str).str.strip())
        if col.format:
            parsed = pd.to_datetime(strs, format=col.format, errors="coerce")
        else:
            parsed = pd.to_datetime(strs, errors="coerce", format="mixed")
        bad = parsed.isna() & values.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            fmt = f" with format '{col.format}'" if col.format else ""
            raise SchemaError(
                f"column '{name}': value {values.iloc[row]!r} (row {row + 1}) is not a date{fmt}; "
                f"fix the value or set the column's format in the schema"
            )
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        return parsed.astype("datetime64[ns]")
    return values
