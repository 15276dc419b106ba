"""Metadata for a folder of files: primary keys and foreign keys inferred from names and values.

A primary key is a unique, non-null, id-like column; a foreign key is a column of another table whose
name matches a parent's key and whose values are (almost all) found among that key's values. Each
guess carries its evidence as a reason, so that a user can check it before anything is learned.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..io import read_table
from .checks import family, normalized
from .metadata import ForeignKey, Metadata, Table

FOLDER_SUFFIXES = (".csv", ".parquet", ".jsonl")
CONTAINMENT = 0.99  # share of a column's values that must be found in the parent key
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
    reference wins over one that none does. Foreign key: a column whose name matches a parent's primary
    key (or ``<parent>_id`` / ``<parent singular>ID``) and whose non-null values are at least 99%
    found among the parent key's values. Composite keys are not inferred: declare them in the metadata
    YAML (``simulacra schema`` writes one to edit).
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

    metas: list[Table] = []
    pks: dict[str, str] = {}
    for name, df in tables.items():
        cols = list(map(str, df.columns))
        scored = []
        for col in candidates[name]:
            refs = references(name, col)
            named = col.lower() in own_id_names(name)
            scored.append(((bool(refs), named, len(refs), -cols.index(col)), col, refs, named))
        if not scored:
            metas.append(Table(name, [], reason="no unique, non-null id-like column", rows=len(df)))
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
        metas.append(Table(name, [col], reason="; ".join(why), rows=len(df)))

    # foreign keys: each child column to its best parent, no cycles
    proposals = []
    for parent, key in pks.items():
        for child, col, share, n in references(parent, key):
            proposals.append((share, len(tables[parent]), child, col, parent, key, n))
    proposals.sort(key=lambda p: (-p[0], -p[1]))
    fks: list[ForeignKey] = []
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
    return Metadata(metas, fks, source=source)


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
