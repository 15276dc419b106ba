"""Metadata for a folder of files: primary keys and foreign keys inferred from names and values.

A primary key is a unique, non-null, id-like column, or else the fewest key-like columns (ids and
ordinal names such as ``year`` or ``stint``) that are unique together; a foreign key is a column (or
the columns of a composite key, by the same names) of another table whose values are (almost all)
found among that key's values. Each guess carries its evidence as a reason, so that a user can check
it before anything is learned.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..io import read_table
from .checks import family, normalized
from .metadata import ForeignKey, Metadata, Table

FOLDER_SUFFIXES = (".csv", ".parquet", ".jsonl")
CONTAINMENT = 0.99  # share of a column's values that must be found in the parent key
COMPOSITE_MAX = 3  # columns in an inferred composite key
COMPOSITE_CANDIDATES = 8  # key-like columns tried for one
# ordinal names: a column that numbers rows within a parent (a season, a stint, a line of an order)
ORDINAL = re.compile(
    r"(^|_)(year|yr|season|stint|seq|sequence|line|no|num|number|idx|index|rank|round|step|period|"
    r"month|week|day|date|version|position|pos)$"
)
IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman", "data": "datum"}


def read_folder(path: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Every .csv/.parquet/.jsonl file of a folder as a table named by the file's stem."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder" if not folder.exists() else f"{folder}: is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no {', '.join(FOLDER_SUFFIXES)} files in the folder; one file per table")
    seen: dict[str, Path] = {}
    for p in files:
        if p.stem in seen:
            raise DataError(
                f"{folder}: two files for table '{p.stem}' ({seen[p.stem].name}, {p.name}); "
                "keep one file per table"
            )
        seen[p.stem] = p
    return {stem: read_table(p) for stem, p in seen.items()}


def singular(name: str) -> str:
    """A table name's singular, lower case (``people`` -> ``person``, ``schools`` -> ``school``)."""
    n = name.lower()
    if n in IRREGULAR:
        return IRREGULAR[n]
    if n.endswith("ies") and len(n) > 4:
        return n[:-3] + "y"
    if n.endswith(("sses", "shes", "ches", "xes")):
        return n[:-2]
    if n.endswith("s") and not n.endswith("ss"):
        return n[:-1]
    return n


def id_like(name: str) -> bool:
    """``id``, ``*_id``, ``*ID``, ``*Id`` or ``*_key``."""
    low = name.lower()
    return low == "id" or low.endswith(("_id", "_key")) or name.endswith(("ID", "Id"))


def own_id_names(table: str) -> set[str]:
    """The names (lower case) an id column of ``table`` typically has."""
    t, s = table.lower(), singular(table)
    return {"id", f"{t}_id", f"{t}id", f"{s}_id", f"{s}id"}


def reference_names(table: str, key: str) -> set[str]:
    """Names (lower case) a column pointing at ``table.key`` typically has in another table."""
    t, s = table.lower(), singular(table)
    names = {f"{t}_id", f"{s}_id", f"{s}id"}
    if key.lower() != "id":
        names.add(key.lower())
    return names


def ordinal_name(name: str) -> bool:
    """Names of columns that number rows within a parent: ``year``, ``yearID``, ``stint``, ``line_no``…"""
    low = name.lower()
    for suffix in ("_id", "id"):
        if low.endswith(suffix) and len(low) > len(suffix) and ORDINAL.search(low[: -len(suffix)]):
            return True
    return bool(ORDINAL.search(low))


def _key_values(series: pd.Series) -> pd.Series | None:
    """The column as comparable text when it can hold keys (whole numbers or text), else None."""
    kind = family(series)
    if kind not in ("number", "text"):
        return None
    values = series.dropna()
    if kind == "number" and not bool((pd.to_numeric(values) % 1 == 0).all()):
        return None
    return normalized(series)


def _containment(child: pd.Series, parent_values: set[str]) -> tuple[float, int]:
    values = child.dropna()
    if not len(values):
        return 0.0, 0
    return float(values.isin(parent_values).mean()), len(values)


def infer_metadata(tables: dict[str, pd.DataFrame], source: str = "files") -> Metadata:
    """Guess primary and foreign keys of ``tables``, each with its evidence as the reason.

    Primary key: a unique, non-null column named like ``id``, ``<table>_id``, ``<table>ID`` or
    ``<singular>_id`` (or the first unique, non-null id-like column); a candidate that other tables
    reference wins over one that none does. A table with no such column gets a composite key: the
    fewest (2 or 3) non-null key-like columns — id-like or with an ordinal name (``year``, ``stint``…) —
    that are unique together and are not all of its columns; a combination that another table holds by
    the same names wins, then the earliest columns. Foreign key: a column whose name matches a parent's
    primary key (or ``<parent>_id`` / ``<parent singular>ID``) and whose non-null values are at least
    99% found among the parent key's values; for a composite key, the same columns by name, their
    combinations 99% found.
    """
    if not tables:
        raise DataError(f"{source}: no tables")
    texts: dict[tuple[str, str], pd.Series | None] = {}

    def text(table: str, col: str) -> pd.Series | None:
        if (table, col) not in texts:
            texts[(table, col)] = _key_values(tables[table][col])
        return texts[(table, col)]

    # candidate keys: unique, non-null, id-like, of a key type
    candidates: dict[str, list[str]] = {}
    for name, df in tables.items():
        candidates[name] = [
            str(c)
            for c in df.columns
            if id_like(str(c)) and df[c].notna().all() and df[c].is_unique and text(name, str(c)) is not None
        ]

    def references(parent: str, key: str) -> list[tuple[str, str, float, int]]:
        names = reference_names(parent, key)
        known = set(text(parent, key).dropna())
        found = []
        for child, df in tables.items():
            if child == parent:
                continue
            for col in map(str, df.columns):
                if col.lower() == "id" or col.lower() not in names or text(child, col) is None:
                    continue
                share, n = _containment(text(child, col), known)
                if n and share >= CONTAINMENT:
                    found.append((child, col, share, n))
        return found

    metas: dict[str, Table] = {}
    pks: dict[str, str] = {}
    composite: dict[str, list[str]] = {}
    for name, df in tables.items():
        cols = list(map(str, df.columns))
        scored = []
        for col in candidates[name]:
            refs = references(name, col)
            named = col.lower() in own_id_names(name)
            scored.append(((bool(refs), named, len(refs), -cols.index(col)), col, refs, named))
        if not scored:
            metas[name] = Table(name, [], reason="no unique, non-null id-like column", rows=len(df))
            continue
        _, col, refs, named = max(scored)
        why = ["unique and non-null"]
        if named:
            why.append(f"named like an id of '{name}'")
        if refs:
            why.append(f"referenced by {', '.join(sorted({r[0] for r in refs}))}")
        if not named and not refs:
            why.append("the first id-like column")
        pks[name] = col
        metas[name] = Table(name, [col], reason="; ".join(why), rows=len(df))

    # composite keys where no single column is one, knowing which columns point at single keys
    single_fks: dict[str, set[str]] = {name: set() for name in tables}
    for parent, key in pks.items():
        for child, col, _share, _n in references(parent, key):
            single_fks[child].add(col)
    for name, table in metas.items():
        if table.primary_key:
            continue
        found = _composite_key(name, tables, text, single_fks[name])
        if found is not None:
            composite[name], table.reason = found
            table.primary_key = list(composite[name])

    # foreign keys: each child column to its best parent, no cycles
    proposals = []
    for parent, key in pks.items():
        for child, col, share, n in references(parent, key):
            proposals.append((share, len(tables[parent]), child, col, parent, key, n))
    proposals.sort(key=lambda p: (-p[0], -p[1]))
    fks: list[ForeignKey] = []
    for parent, keys in composite.items():
        for child, share, n in _composite_references(parent, keys, tables):
            if _reaches(fks, parent, child):
                continue
            pct = "100%" if share == 1 else f"{math.floor(share * 1000) / 10:.1f}%"
            fks.append(
                ForeignKey(
                    child,
                    list(keys),
                    parent,
                    list(keys),
                    reason=f"columns match {parent}'s key; {pct} of {n:,} combinations found there",
                )
            )
    taken: set[tuple[str, str]] = set()
    for share, _, child, col, parent, key, n in proposals:
        if (child, col) in taken or _reaches(fks, parent, child):
            continue
        taken.add((child, col))
        pct = "100%" if share == 1 else f"{math.floor(share * 1000) / 10:.1f}%"  # never rounds up to 100
        fks.append(
            ForeignKey(
                child,
                [col],
                parent,
                [key],
                reason=f"name matches {parent}.{key}; {pct} of {n:,} values found there",
            )
        )
    order = {name: i for i, name in enumerate(tables)}
    fks.sort(key=lambda fk: (order[fk.child], list(map(str, tables[fk.child].columns)).index(fk.columns[0])))
    return Metadata(list(metas.values()), fks, source=source)


def _key_like(table: str, df: pd.DataFrame, text) -> list[str]:
    """Non-null columns of a key type that are id-like or have an ordinal name, ids first."""
    cols = [str(c) for c in df.columns]
    ok = [
        c
        for c in cols
        if df[c].notna().all() and (id_like(c) or ordinal_name(c)) and text(table, c) is not None
    ]
    return sorted(ok, key=lambda c: (not id_like(c), cols.index(c)))[:COMPOSITE_CANDIDATES]


def is_counter(df: pd.DataFrame, group: list[str], col: str) -> bool:
    """Whole numbers that count 1, 2, … (from one start for all) within the groups of ``group``: what
    a synthetic table can number afresh (Batting's ``stint`` within a player and year)."""
    values = df[col]
    if not pd.api.types.is_integer_dtype(values) or values.isna().any() or not len(values):
        return False
    ranked = df[[*group, col]].sort_values([*group, col])
    rank = ranked.groupby(group, sort=False).cumcount() if group else pd.Series(range(len(df)))
    return bool((ranked[col].to_numpy() - int(values.min()) == rank.to_numpy()).all())


def _composite_key(
    table: str, tables: dict[str, pd.DataFrame], text, fk_cols: set[str]
) -> tuple[list[str], str] | None:
    """The fewest key-like columns of ``table`` unique together (see :func:`infer_metadata`). Its last
    column that is not a foreign key is made fresh in synthetic tables, so it must be id-like or a
    counter within the others (:func:`is_counter`); a year is kept as data, never renumbered."""
    df = tables[table]
    cols = [str(c) for c in df.columns]
    like = _key_like(table, df, text)
    for size in range(2, COMPOSITE_MAX + 1):
        found = []
        for combo in itertools.combinations(like, size):
            if len(combo) >= len(cols) or df.duplicated(subset=list(combo)).any():
                continue
            keys = sorted(combo, key=cols.index)
            own = [c for c in keys if c not in fk_cols]
            fresh = own[-1] if own else None
            fresh_ok = fresh is None or (id_like(fresh) and not ordinal_name(fresh))
            if not fresh_ok and not is_counter(df, [c for c in keys if c != fresh], fresh):
                continue
            refs = _composite_references(table, keys, tables)
            found.append((not refs, sum(cols.index(c) for c in keys), keys, refs))
        if found:
            _, _, keys, refs = min(found)
            why = [f"no single id column; {', '.join(keys)} are unique and non-null together"]
            if refs:
                why.append(f"held by {', '.join(sorted({r[0] for r in refs}))}")
            return keys, "; ".join(why)
    return None


def _composite_references(
    parent: str, keys: list[str], tables: dict[str, pd.DataFrame]
) -> list[tuple[str, float, int]]:
    """Tables holding all of ``keys`` by name whose combinations are 99% found in ``parent``."""

    def as_text(df: pd.DataFrame) -> pd.MultiIndex:
        return pd.MultiIndex.from_arrays([normalized(df[k]).astype(str) for k in keys])

    known = as_text(tables[parent])
    found = []
    for child, df in tables.items():
        if child == parent or not all(k in df.columns for k in keys):
            continue
        values = df[keys].dropna()
        if not len(values):
            continue
        share = float(as_text(values).isin(known).mean())
        if share >= CONTAINMENT:
            found.append((child, share, len(values)))
    return found


def _reaches(fks: list[ForeignKey], start: str, goal: str) -> bool:
    """True when ``goal`` is ``start`` or an ancestor-by-key of it (adding goal -> start would cycle)."""
    stack, seen = [start], set()
    while stack:
        table = stack.pop()
        if table == goal:
            return True
        if table in seen:
            continue
        seen.add(table)
        stack.extend(fk.parent for fk in fks if fk.child == table)
    return False
