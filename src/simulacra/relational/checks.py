"""Check a database's tables against its metadata before anything is learned from them.

Every table and key column present; primary keys non-null and unique; foreign key columns of types
that can match their parent's; and orphans (child rows whose key is not in the parent) reported, or
dropped, or set to null, as the user chose. Each problem is one line that says what to do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, SchemaError, UsageError
from .metadata import ForeignKey, Metadata

ORPHAN_CHOICES = ("error", "drop", "null")
SEP = "\x1f"


def family(series: pd.Series) -> str:
    """number | text | datetime | bool: what kind of values a column holds, as keys compare them."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
            return "number"
        if inferred == "boolean":
            return "bool"
        if inferred in ("datetime", "datetime64", "date"):
            return "datetime"
    return "text"


def normalized(series: pd.Series) -> pd.Series:
    """The column's values as comparable text (whole numbers without ``.0``, ISO date-times); NA kept."""
    kind = family(series)
    if kind == "number":
        if pd.api.types.is_integer_dtype(series.dtype):
            return series.astype("Int64").astype("string")
        num = pd.to_numeric(series, errors="coerce").astype("float64")
        whole = num.notna() & (num == num.round()) & (num.abs() < 2**53)
        out = num.astype("string")
        out[whole] = num[whole].astype("int64").astype("string")
        return out
    if kind == "datetime":
        stamps = pd.to_datetime(series, errors="coerce")
        return pd.Series(
            [v.isoformat() if not pd.isna(v) else pd.NA for v in stamps], index=series.index, dtype="string"
        )
    out = series.astype("string")
    out[series.isna()] = pd.NA
    return out


def key_text(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One comparable text per row for a (composite) key; NA where any key column is missing."""
    parts = [normalized(df[c]) for c in columns]
    out = parts[0]
    for part in parts[1:]:
        out = out.str.cat(part, sep=SEP)
    return out


def check_tables(
    metadata: Metadata, tables: dict[str, pd.DataFrame], orphans: str = "error"
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Check ``tables`` against ``metadata``; return the cleaned tables and notes on what was changed.

    ``orphans``: "error" (one line with the count), "drop" (remove orphan child rows, and then the rows
    of their own children that became orphans) or "null" (set the key to null; refused for a key column
    that is part of the child's primary key). A foreign key column whose values are of another type
    than its parent's (text vs number) is converted to the parent's type where the values match.
    """
    if orphans not in ORPHAN_CHOICES:
        raise UsageError(f"orphans must be one of {', '.join(ORPHAN_CHOICES)}, not {orphans!r}")
    source = metadata.source
    missing = [t for t in metadata.order if t not in tables]
    if missing:
        raise DataError(
            f"{source}: no data for table(s) {', '.join(missing)} of the metadata "
            f"(tables given: {', '.join(tables) or 'none'})"
        )
    out = {t: tables[t] for t in metadata.order}
    _check_columns(metadata, out)
    for name in metadata.order:
        _check_primary_key(name, metadata.tables[name].primary_key, out[name])
    for fk in metadata.foreign_keys:
        _check_types(fk, out)
    notes: list[str] = []
    out = _orphans(metadata, out, orphans, notes)
    for fk in metadata.foreign_keys:
        out[fk.child] = _align_types(fk, out[fk.child], out[fk.parent], notes)
    return out, notes


def _check_columns(metadata: Metadata, tables: dict[str, pd.DataFrame]) -> None:
    for name in metadata.order:
        needed = list(metadata.tables[name].primary_key)
        for fk in metadata.parents(name):
            needed += fk.columns
        have = set(map(str, tables[name].columns))
        absent = [c for c in dict.fromkeys(needed) if c not in have]
        if absent:
            raise SchemaError(
                f"{name}: key column(s) {', '.join(absent)} named in the metadata are not in the data "
                f"(columns: {', '.join(map(str, tables[name].columns))}); fix the metadata"
            )


def _check_primary_key(name: str, pk: list[str], df: pd.DataFrame) -> None:
    if not pk:
        return
    for col in pk:
        empty = int(df[col].isna().sum())
        if empty:
            raise DataError(
                f"{name}: primary key column {col} is empty in {empty:,} row(s); a primary key needs a value "
                "in every row: fill it, or declare another key (or none) in the metadata"
            )
    dup = df.duplicated(subset=pk, keep=False)
    if dup.any():
        first = df.loc[dup, pk].iloc[0]
        example = ", ".join(f"{c}={first[c]}" for c in pk)
        raise DataError(
            f"{name}: primary key ({', '.join(pk)}) is not unique: {int(dup.sum()):,} rows share a value "
            f"with another (e.g. {example}); fix the data, or declare the right key (or none) in the metadata"
        )


def _check_types(fk: ForeignKey, tables: dict[str, pd.DataFrame]) -> None:
    child, parent = tables[fk.child], tables[fk.parent]
    for col, pcol in zip(fk.columns, fk.parent_columns, strict=True):
        kind, pkind = family(child[col]), family(parent[pcol])
        if kind == pkind:
            continue
        overlap = set(normalized(child[col]).dropna()) & set(normalized(parent[pcol]).dropna())
        if not overlap:
            raise SchemaError(
                f"{fk.label}: {fk.child}.{col} holds {kind} values and {fk.parent}.{pcol} holds {pkind} "
                "values, with none in common, so the key cannot match; fix the column types or the metadata"
            )


def _orphan_mask(fk: ForeignKey, child: pd.DataFrame, parent: pd.DataFrame) -> pd.Series:
    """Child rows whose key (all columns given) is not among the parent's keys."""
    keys = key_text(child, fk.columns)
    known = set(key_text(parent, fk.parent_columns).dropna())
    return (keys.notna() & ~keys.isin(known)).to_numpy()


def _orphans(
    metadata: Metadata, tables: dict[str, pd.DataFrame], choice: str, notes: list[str]
) -> dict[str, pd.DataFrame]:
    found = []
    for name in metadata.order:  # parents first: a dropped parent row orphans its children in turn
        for fk in metadata.parents(name):
            df = tables[name]
            mask = _orphan_mask(fk, df, tables[fk.parent])
            n = int(mask.sum())
            if not n:
                continue
            cols = ", ".join(fk.columns)
            rows = "row" if n == 1 else "rows"
            if choice == "error":
                found.append(f"{name}: {n:,} {rows} whose {cols} is not in {fk.parent}")
            elif choice == "drop":
                tables[name] = df.loc[~mask].reset_index(drop=True)
                notes.append(f"{name}: {n:,} orphan {rows} dropped ({cols} not in {fk.parent})")
            else:
                in_pk = [c for c in fk.columns if c in metadata.tables[name].primary_key]
                if in_pk:
                    raise DataError(
                        f"{name}: {n:,} orphan {rows} ({cols} not in {fk.parent}) cannot keep a null key: "
                        f"{', '.join(in_pk)} is part of its primary key; use --orphans drop"
                    )
                df = df.copy()
                for col in fk.columns:
                    dtype = df[col].dtype
                    if isinstance(dtype, np.dtype) and dtype.kind in "iub":  # numpy ints/bools hold no null
                        df[col] = df[col].astype("boolean" if dtype.kind == "b" else "Int64")
                    df.loc[mask, col] = None
                tables[name] = df
                notes.append(f"{name}: {n:,} orphan {rows} kept with {cols} set to null (not in {fk.parent})")
    if found:
        raise DataError(
            f"{metadata.source}: orphan rows: {'; '.join(found)}; drop them with --orphans drop, or keep "
            "them with the key set to null with --orphans null"
        )
    return tables


def _align_types(fk: ForeignKey, child: pd.DataFrame, parent: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Give the child's key columns the parent's type where they hold another kind of value."""
    for col, pcol in zip(fk.columns, fk.parent_columns, strict=True):
        kind, pkind = family(child[col]), family(parent[pcol])
        if kind == pkind:
            continue
        lookup = pd.Series(parent[pcol].to_numpy(), index=normalized(parent[pcol]).to_numpy())
        lookup = lookup[~lookup.index.duplicated()]
        values = normalized(child[col]).map(lookup)
        dtype = parent[pcol].dtype
        if values.isna().any() and pd.api.types.is_integer_dtype(dtype):
            dtype = "Int64"
        child = child.copy()
        child[col] = values.astype(dtype) if values.notna().any() else values
        notes.append(f"{fk.child}.{col}: {kind} values converted to {pkind} to match {fk.parent}.{pcol}")
    return child
