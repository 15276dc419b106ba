"""A database's shape: its tables, their primary keys and the foreign keys between them.

``Metadata`` is the first-class, saved object of relational synthesis (as SDV's metadata is): read
from a database catalog (:mod:`.catalog`), inferred for a folder of files (:mod:`.infer`), or loaded
from YAML that a user edited. Each table and key carries a ``reason`` saying where it came from.

Every child table has one *context* foreign key: its rows are learned in the context of that
parent (how many children a parent has, and what they look like given the parent's columns).
Every other foreign key of the table is filled by matching a plausible parent row. Foreign keys
form a directed acyclic graph; self-references and cycles are refused with one line that says
which keys to drop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import SchemaError
from ..yamlerrors import located, read_yaml

METADATA_VERSION = 1


@dataclass
class Table:
    """One table: its name, primary key columns (may be empty), and optional per-column kinds."""

    name: str
    primary_key: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    order_by: str | None = None
    reason: str = ""
    rows: int = 0  # row count when known (catalog or files); guides the choice of context parents

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"primary_key": list(self.primary_key)}
        if self.rows:
            out["rows"] = self.rows
        if self.kinds:
            out["kinds"] = dict(self.kinds)
        if self.order_by:
            out["order_by"] = self.order_by
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class ForeignKey:
    """``child(columns) → parent(parent_columns)``; ``context`` marks the child's context parent."""

    child: str
    columns: list[str]
    parent: str
    parent_columns: list[str]
    context: bool = False
    reason: str = ""

    @property
    def label(self) -> str:
        """``child(a, b) -> parent(x, y)``, as messages show it."""
        return f"{self.child}({', '.join(self.columns)}) -> {self.parent}({', '.join(self.parent_columns)})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "child": self.child,
            "columns": list(self.columns),
            "parent": self.parent,
            "parent_columns": list(self.parent_columns),
            "context": self.context,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


class Metadata:
    """Tables and foreign keys of one database (see the module docstring)."""

    def __init__(self, tables: list[Table], foreign_keys: list[ForeignKey], source: str = "metadata") -> None:
        self.tables: dict[str, Table] = {t.name: t for t in tables}
        self.foreign_keys: list[ForeignKey] = list(foreign_keys)
        self.source = source
        self._check_shape()
        self._choose_contexts()
        self._order = self._topological_order()

    # ------------------------------------------------------------------ structure
    def parents(self, table: str) -> list[ForeignKey]:
        """Foreign keys of ``table`` (the table is their child)."""
        return [fk for fk in self.foreign_keys if fk.child == table]

    def children(self, table: str) -> list[ForeignKey]:
        """Foreign keys that point at ``table``."""
        return [fk for fk in self.foreign_keys if fk.parent == table]

    def context_of(self, table: str) -> ForeignKey | None:
        """The context foreign key of ``table`` (None for a root table)."""
        return next((fk for fk in self.parents(table) if fk.context), None)

    def context_children(self, table: str) -> list[ForeignKey]:
        """Foreign keys whose child is learned in the context of ``table``."""
        return [fk for fk in self.children(table) if fk.context]

    @property
    def roots(self) -> list[str]:
        """Tables with no context parent, in dependency order."""
        return [t for t in self._order if self.context_of(t) is None]

    @property
    def order(self) -> list[str]:
        """All tables, every parent before its children (ties in declaration order)."""
        return list(self._order)

    def root_of(self, table: str) -> str:
        """The root table reached by following context keys upwards from ``table``."""
        fk = self.context_of(table)
        while fk is not None:
            table = fk.parent
            fk = self.context_of(table)
        return table

    def key_columns(self, table: str) -> set[str]:
        """Primary and foreign key columns of ``table``: regenerated, never learned."""
        cols = set(self.tables[table].primary_key)
        for fk in self.parents(table):
            cols.update(fk.columns)
        return cols

    # ------------------------------------------------------------------ checks
    def _fail(self, path: tuple[str, ...], message: str, lines: dict | None = None) -> SchemaError:
        return SchemaError(located(self.source, lines or getattr(self, "_lines", {}), path, message))

    def _check_shape(self) -> None:
        if not self.tables:
            raise SchemaError(f"{self.source}: no tables; a database needs at least one table")
        for i, fk in enumerate(self.foreign_keys):
            where = ("foreign_keys", str(i))
            for name in (fk.child, fk.parent):
                if name not in self.tables:
                    raise self._fail(
                        where,
                        f"table '{name}' is not in tables ({', '.join(self.tables)}); add it or fix the key",
                    )
            if not fk.columns or len(fk.columns) != len(fk.parent_columns):
                raise self._fail(
                    where,
                    f"{fk.label}: a foreign key needs as many columns as the parent columns it points at",
                )
            if fk.child == fk.parent:
                raise self._fail(
                    where,
                    f"{fk.label} points at its own table; self-references are not supported: remove this "
                    "key from the metadata and the column is learned as an ordinary id",
                )
            parent_pk = self.tables[fk.parent].primary_key
            if sorted(fk.parent_columns) != sorted(parent_pk):
                pk = f"({', '.join(parent_pk)})" if parent_pk else "no primary key"
                raise self._fail(
                    where,
                    f"{fk.label} points at columns that are not the primary key of '{fk.parent}' ({pk}); "
                    "a foreign key must point at its parent's primary key",
                )
            # align the key's column order with the parent's primary key
            pairs = dict(zip(fk.parent_columns, fk.columns, strict=True))
            fk.parent_columns = list(parent_pk)
            fk.columns = [pairs[c] for c in parent_pk]
        seen: set[tuple[str, tuple[str, ...]]] = set()
        for i, fk in enumerate(self.foreign_keys):
            key = (fk.child, tuple(fk.columns))
            if key in seen:
                raise self._fail(("foreign_keys", str(i)), f"{fk.label} is declared twice; keep one")
            seen.add(key)

    def _choose_contexts(self) -> None:
        for name in self.tables:
            fks = self.parents(name)
            declared = [fk for fk in fks if fk.context]
            if len(declared) > 1:
                raise SchemaError(
                    f"{self.source}: table '{name}' has {len(declared)} context foreign keys "
                    f"({'; '.join(fk.label for fk in declared)}); mark exactly one with 'context: true'"
                )
            if fks and not declared:
                # The finest parent (most rows, so fewest children each) is the entity whose history the
                # child rows are: Batting's player rather than its team. Catalog order breaks ties.
                best = max(fks, key=lambda fk: (self.tables[fk.parent].rows, -fks.index(fk)))
                best.context = True
                why = "context: the parent with the most rows" if len(fks) > 1 else "context: the only parent"
                best.reason = f"{best.reason}; {why}" if best.reason else why

    def _topological_order(self) -> list[str]:
        names = list(self.tables)
        indeg = {t: 0 for t in names}
        for fk in self.foreign_keys:
            indeg[fk.child] += 1
        out: list[str] = []
        ready = [t for t in names if indeg[t] == 0]
        while ready:
            t = ready.pop(0)
            out.append(t)
            for fk in self.children(t):
                indeg[fk.child] -= 1
                if indeg[fk.child] == 0:
                    ready.append(fk.child)
            ready.sort(key=names.index)
        if len(out) < len(names):
            stuck = [t for t in names if t not in out]
            cycle = [fk.label for fk in self.foreign_keys if fk.child in stuck and fk.parent in stuck]
            raise SchemaError(
                f"{self.source}: the foreign keys form a cycle ({'; '.join(cycle)}); simulacra learns "
                "databases whose keys form no cycle: remove one of these keys from the metadata"
            )
        return out

    # ------------------------------------------------------------------ YAML
    def to_dict(self) -> dict[str, Any]:
        """A plain dict (what :meth:`save` writes)."""
        return {
            "version": METADATA_VERSION,
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
            "foreign_keys": [fk.to_dict() for fk in self.foreign_keys],
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the metadata as YAML."""
        path = Path(path)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))
        return path

    @classmethod
    def from_dict(cls, data: Any, source: str = "metadata", lines: dict | None = None) -> Metadata:
        """Build from a dict as :meth:`to_dict` writes it; problems name the field (and line)."""
        lines = lines or {}

        def fail(path: tuple[str, ...], message: str) -> SchemaError:
            return SchemaError(located(source, lines, path, message))

        if not isinstance(data, dict):
            raise fail((), "expected a mapping with 'tables' and 'foreign_keys'")
        unknown = set(data) - {"version", "tables", "foreign_keys"}
        if unknown:
            raise fail((sorted(unknown)[0],), "unknown key (expected version, tables, foreign_keys)")
        if data.get("version", METADATA_VERSION) != METADATA_VERSION:
            raise fail(
                ("version",), f"unsupported version {data.get('version')!r} (expected {METADATA_VERSION})"
            )
        raw_tables = data.get("tables")
        if not isinstance(raw_tables, dict) or not raw_tables:
            raise fail(("tables",), "expected a mapping of table name to its primary key")
        tables = []
        for name, spec in raw_tables.items():
            spec = spec if spec is not None else {}
            if not isinstance(spec, dict):
                raise fail(("tables", str(name)), "expected a mapping (primary_key, kinds, order_by, reason)")
            extra = set(spec) - {"primary_key", "kinds", "order_by", "reason", "rows"}
            if extra:
                raise fail(
                    ("tables", str(name), sorted(extra)[0]),
                    "unknown key (expected primary_key, kinds, order_by, rows, reason)",
                )
            pk = spec.get("primary_key", [])
            pk = [pk] if isinstance(pk, str) else pk
            if not isinstance(pk, list) or not all(isinstance(c, str) for c in pk):
                raise fail(("tables", str(name), "primary_key"), "expected a column name or a list of them")
            kinds = spec.get("kinds", {}) or {}
            if not isinstance(kinds, dict):
                raise fail(("tables", str(name), "kinds"), "expected a mapping of column to kind")
            order_by = spec.get("order_by")
            if order_by is not None and not isinstance(order_by, str):
                raise fail(("tables", str(name), "order_by"), "expected one column name")
            rows = spec.get("rows", 0) or 0
            if not isinstance(rows, int):
                raise fail(("tables", str(name), "rows"), "expected a whole number of rows")
            tables.append(
                Table(
                    str(name),
                    list(pk),
                    {str(k): str(v) for k, v in kinds.items()},
                    order_by,
                    str(spec.get("reason", "")),
                    rows,
                )
            )
        raw_fks = data.get("foreign_keys", []) or []
        if not isinstance(raw_fks, list):
            raise fail(("foreign_keys",), "expected a list of foreign keys")
        fks = []
        for i, spec in enumerate(raw_fks):
            where = ("foreign_keys", str(i))
            if not isinstance(spec, dict):
                raise fail(where, "expected a mapping (child, columns, parent, parent_columns, context)")
            missing = [k for k in ("child", "columns", "parent") if k not in spec]
            if missing:
                raise fail(where, f"missing required key '{missing[0]}'")
            extra = set(spec) - {"child", "columns", "parent", "parent_columns", "context", "reason"}
            if extra:
                raise fail((*where, sorted(extra)[0]), "unknown key")
            cols = spec["columns"]
            cols = [cols] if isinstance(cols, str) else cols
            parent = str(spec["parent"])
            pcols = spec.get("parent_columns")
            if pcols is None:
                pcols = (
                    raw_tables.get(parent, {}).get("primary_key", [])
                    if isinstance(raw_tables.get(parent), dict)
                    else []
                )
            pcols = [pcols] if isinstance(pcols, str) else pcols
            fks.append(
                ForeignKey(
                    str(spec["child"]),
                    [str(c) for c in cols],
                    parent,
                    [str(c) for c in pcols],
                    bool(spec.get("context", False)),
                    str(spec.get("reason", "")),
                )
            )
        self = cls.__new__(cls)
        self._lines = lines
        cls.__init__(self, tables, fks, source)
        return self

    @classmethod
    def load(cls, path: str | os.PathLike) -> Metadata:
        """Read a metadata YAML file (one located line per problem)."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise SchemaError(f"{path}: cannot read the metadata file ({exc.strerror})") from None
        data, lines = read_yaml(text, str(path), SchemaError)
        return cls.from_dict(data, str(path), lines)
