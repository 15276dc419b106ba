"""Loading and checking a rules spec (YAML).

The YAML is composed once to keep a map from each field path to its line, then validated with
pydantic for shape and by hand for meaning. Every problem raises one :class:`SpecError` naming the
file, the line and the field path, before any row is generated.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from ..yamlerrors import located, pydantic_problem, read_yaml
from . import expr as ex
from .errors import SpecError
from .shapes import (
    COLUMN_TYPES,
    DISTRIBUTIONS,
    PERSON_FIELDS,
    ChoiceCol,
    DatetimeCol,
    ExpressionCol,
    ForeignKeyCol,
    NumberCol,
    NumberSpec,
    PerParent,
    PersonCol,
    SequenceCol,
    TimelineCol,
    UniqueIdCol,
    _Model,
    _SpecModel,
)

# --------------------------------------------------------------------------------------------------
# The checked spec


@dataclass
class Choice:
    """A checked choice: label set, default cdf and conditional cdfs (as parsed expressions)."""

    labels: np.ndarray
    cdf: np.ndarray
    when: list[tuple[ast.Expression, np.ndarray]]


@dataclass
class Column:
    """One checked column: its model plus anything precomputed (parsed expressions, cdfs)."""

    name: str
    spec: Any
    path: str
    tree: ast.Expression | None = None
    choice: Choice | None = None
    ref: tuple[str, str] | None = None


@dataclass
class Table:
    """One checked table, with its columns in generation order."""

    name: str
    rows: int | None
    parent: str | None
    count: PerParent | None
    columns: dict[str, Column]
    children: list[str] = field(default_factory=list)


@dataclass
class Spec:
    """A checked rules spec: tables in generation order (each parent before its children)."""

    source: str
    seed: int | None
    tables: dict[str, Table]
    lines: dict[tuple[str, ...], int]
    hooks: Any = None  # a domain pack's Python module (see ``pack_hooks``), or None
    params: dict[str, Any] = field(default_factory=dict)  # a pack's knobs (``--set name=value``)

    def error(self, path: str, message: str) -> SpecError:
        """A :class:`SpecError` for ``path`` (dotted), with the line when known."""
        return SpecError(located(self.source, self.lines, tuple(path.split(".")), message))

    @property
    def roots(self) -> list[str]:
        """Tables without a parent, in spec order."""
        return [t.name for t in self.tables.values() if t.parent is None]


def _validate(model: type[_Model], raw: Any, prefix: tuple[str, ...], source: str, lines: dict) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        loc, msg = pydantic_problem(exc, model)
        if loc and loc[0] == "if_":
            loc = ("if", *loc[1:])
        raise SpecError(located(source, lines, prefix + loc, msg)) from None


# --------------------------------------------------------------------------------------------------
# Loading


def load_spec(spec: str | Path | dict, overrides: dict[str, str] | None = None) -> Spec:
    """Load and check a spec from a YAML file path, YAML text or a dict; apply ``overrides``.

    ``overrides`` maps a dotted field path (``customers.rows`` or ``tables.customers.rows``) to a
    YAML value. Raises :class:`SpecError` naming the file, line and field on any problem.
    """
    lines: dict[tuple[str, ...], int] = {}
    if isinstance(spec, dict):
        source, raw = "<spec>", spec
    else:
        text, source = _read_text(spec)
        raw, lines = read_yaml(text, source, SpecError)
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: a rules spec must be a mapping with a 'tables' key")
    for key, value in (overrides or {}).items():
        _apply_override(raw, key, value, source)
    checked = check_spec(raw, source, lines)
    if not isinstance(spec, dict):
        checked.hooks = pack_hooks(str(spec))
    return checked


def pack_hooks(name: str) -> Any:
    """The Python half of a domain pack (``packs/<name>.py``), or None for plain specs.

    A pack module may define ``postprocess(table, data, k, seed, parent) -> data``: called on every
    generated chunk of every table, in the spec's order, with the chunk's columns (numpy arrays or
    categorical ``Cat``), the chunk index, the seed and the parent chunk (child tables). It must draw
    its randomness from ``derive_rng(seed, ...)`` keyed by the chunk, so output stays chunk-exact.
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or not (PACKS_DIR / f"{name}.py").is_file():
        return None
    import importlib

    return importlib.import_module(f"simulacra.rules.packs.{name}")


PACKS_DIR = Path(__file__).resolve().parent / "packs"
"""Bundled specs, loadable by name (``simulacra rules shop``)."""


def list_packs() -> list[str]:
    """Names of the bundled specs."""
    return sorted(p.stem for p in PACKS_DIR.glob("*.yaml"))


def _read_text(spec: str | Path) -> tuple[str, str]:
    text = str(spec)
    if "\n" in text or (text.lstrip().startswith(("tables:", "seed:"))):
        return text, "<spec>"
    path = Path(text)
    if not path.exists():
        pack = PACKS_DIR / f"{text}.yaml"
        if "/" not in text and "\\" not in text and pack.is_file():
            return pack.read_text(encoding="utf-8"), f"pack '{text}' ({pack.name})"
        raise SpecError(f"{path}: no such spec file or pack (packs: {', '.join(list_packs()) or 'none'})")
    if path.is_dir():
        raise SpecError(f"{path}: is a directory, expected a rules spec (.yaml)")
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot be read ({exc})") from None


def _apply_override(raw: dict, key: str, value: str, source: str) -> None:
    parts = key.split(".")
    if len(parts) == 1 and parts[0] in (raw.get("params") or {}):
        parts = ["params", *parts]  # a pack's declared knob, e.g. fraud_rate
    elif parts[0] not in ("seed", "tables", "params"):
        parts = ["tables", *parts]
    node: Any = raw
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            raise SpecError(f"{source}: override {key}: no field '{part}' in the spec")
        node = node[part]
    if not isinstance(node, dict):
        raise SpecError(f"{source}: override {key}: '{parts[-2]}' is not a mapping")
    try:
        node[parts[-1]] = yaml.safe_load(value)
    except yaml.YAMLError:
        node[parts[-1]] = value


def check_spec(raw: dict, source: str = "<spec>", lines: dict | None = None) -> Spec:
    """Check a parsed spec dict; return the :class:`Spec` or raise :class:`SpecError`."""
    lines = lines or {}
    model = _validate(_SpecModel, raw, (), source, lines)
    if not model.tables:
        raise SpecError(located(source, lines, ("tables",), "the spec defines no tables"))
    spec = Spec(source, model.seed, {}, lines, params=dict(model.params))
    tables: dict[str, Table] = {}
    for tname, tmodel in model.tables.items():
        tpath = f"tables.{tname}"
        if tmodel.per_parent is not None and tmodel.rows is not None:
            raise spec.error(f"{tpath}.rows", "give either rows or per_parent, not both")
        cols: dict[str, Column] = {}
        for cname, craw in tmodel.columns.items():
            cols[cname] = _check_column(spec, tname, cname, craw, cols)
        if not cols:
            raise spec.error(f"{tpath}.columns", "a table needs at least one column")
        count = tmodel.per_parent
        if count is not None:
            _check_number(spec, f"{tpath}.per_parent", count)
        tables[tname] = Table(tname, tmodel.rows, count.parent if count else None, count, cols)
    _check_tables(spec, tables)
    return spec


def _check_column(spec: Spec, tname: str, cname: str, raw: Any, earlier: dict[str, Column]) -> Column:
    path = f"tables.{tname}.columns.{cname}"
    if not isinstance(raw, dict):
        raise spec.error(path, "a column must be a mapping with a 'type'")
    if None in raw:
        raise spec.error(
            path, "YAML reads the key 'null' as no value; for missing values write 'missing: share'"
        )
    ctype = raw.get("type")
    if ctype is None:
        raise spec.error(path, f"missing required parameter 'type' (use one of {', '.join(COLUMN_TYPES)})")
    if ctype not in COLUMN_TYPES:
        raise spec.error(
            f"{path}.type", f"unknown column type '{ctype}' (use one of {', '.join(COLUMN_TYPES)})"
        )
    prefix = tuple(path.split("."))
    model = _validate(COLUMN_TYPES[ctype], raw, prefix, spec.source, spec.lines)
    col = Column(cname, model, path)
    if isinstance(model, NumberCol):
        _check_number(spec, path, model)
    elif isinstance(model, ChoiceCol):
        col.choice = _check_choice(spec, path, model, earlier)
    elif isinstance(model, DatetimeCol):
        _check_datetime(spec, path, model)
    elif isinstance(model, PersonCol):
        if model.field not in PERSON_FIELDS:
            raise spec.error(
                f"{path}.field",
                f"unknown person field '{model.field}' (use one of {', '.join(PERSON_FIELDS)})",
            )
    elif isinstance(model, ExpressionCol):
        col.tree = _check_expr(spec, f"{path}.expr", model.expr, earlier)
    elif isinstance(model, ForeignKeyCol):
        col.ref = _split_ref(spec, f"{path}.references", model.references)
    elif isinstance(model, TimelineCol):
        col.ref = _split_ref(spec, f"{path}.parent_column", model.parent_column)
        _check_number(spec, f"{path}.gap", model.gap)
    return col


def _split_ref(spec: Spec, path: str, ref: str) -> tuple[str, str]:
    parts = str(ref).split(".")
    if len(parts) != 2 or not all(parts):
        raise spec.error(path, f"'{ref}' must name a table and a column as table.column")
    return parts[0], parts[1]


def _check_expr(spec: Spec, path: str, text: str, earlier: dict[str, Column]) -> ast.Expression:
    try:
        tree = ex.parse(text)
    except ValueError as exc:
        raise spec.error(path, str(exc)) from None
    for name in ex.names(tree):
        if name not in earlier:
            known = ", ".join(earlier) or "none"
            raise spec.error(path, f"unknown column '{name}' in {text!r} (earlier columns: {known})")
    return tree


def _weights(spec: Spec, path: str, values: dict | list) -> tuple[list[Any], np.ndarray]:
    if isinstance(values, list):
        if not values:
            raise spec.error(path, "give at least one value")
        return list(values), np.full(len(values), 1.0 / len(values))
    if not values:
        raise spec.error(path, "give at least one value")
    w = np.array(list(values.values()), dtype=float)
    if (w < 0).any() or not np.isfinite(w).all():
        raise spec.error(path, "weights must be non-negative numbers")
    if abs(w.sum() - 1.0) > 1e-9:
        raise spec.error(path, f"weights must sum to 1 (they sum to {w.sum():.10g})")
    return list(values.keys()), w


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def _check_choice(spec: Spec, path: str, model: ChoiceCol, earlier: dict[str, Column]) -> Choice:
    labels, w = _weights(spec, f"{path}.values", model.values)
    parts = [(labels, w)]
    trees = []
    for i, clause in enumerate(model.when):
        trees.append(_check_expr(spec, f"{path}.when.{i}.if", clause.if_, earlier))
        parts.append(_weights(spec, f"{path}.when.{i}.values", clause.values))
    all_labels: list[Any] = []
    for labs, _ in parts:
        all_labels += [x for x in labs if x not in all_labels]
    as_str = all(isinstance(x, str) for x in all_labels)
    label_arr = np.array(all_labels, dtype=object if as_str else None)

    def full_cdf(labs: list[Any], weights: np.ndarray) -> np.ndarray:
        full = np.zeros(len(all_labels))
        for lab, wt in zip(labs, weights, strict=True):
            full[all_labels.index(lab)] += wt
        return _cdf(full)

    return Choice(
        label_arr,
        full_cdf(*parts[0]),
        [(t, full_cdf(*p)) for t, p in zip(trees, parts[1:], strict=True)],
    )


def _check_number(spec: Spec, path: str, m: NumberSpec) -> None:
    if m.distribution not in DISTRIBUTIONS:
        raise spec.error(
            f"{path}.distribution",
            f"unknown distribution '{m.distribution}' (use one of {', '.join(DISTRIBUTIONS)})",
        )
    for param in DISTRIBUTIONS[m.distribution]:
        if getattr(m, param) is None:
            raise spec.error(path, f"distribution '{m.distribution}' needs parameter '{param}'")
    positive = {"sd": m.sd, "sigma": m.sigma, "shape": m.shape, "scale": m.scale}
    if m.distribution == "beta":
        positive |= {"a": m.a, "b": m.b}
    for name, value in positive.items():
        if value is not None and not value > 0:
            raise spec.error(f"{path}.{name}", f"{name} must be > 0 (got {value})")
    if m.lam is not None and not m.lam >= 0:
        raise spec.error(f"{path}.lam", f"lam must be >= 0 (got {m.lam})")
    if m.distribution == "zipf" and not m.a > 1:  # type: ignore[operator]
        raise spec.error(f"{path}.a", f"zipf needs a > 1 (got {m.a})")
    if m.min is not None and m.max is not None and m.min > m.max:
        raise spec.error(f"{path}.min", f"min ({m.min:g}) is greater than max ({m.max:g})")
    if m.round is not None and not 0 <= m.round <= 12:
        raise spec.error(f"{path}.round", f"round must be between 0 and 12 (got {m.round})")
    if m.distribution == "empirical":
        if not m.values:
            raise spec.error(f"{path}.values", "give at least one value")
        if m.weights is not None:
            if len(m.weights) != len(m.values):
                raise spec.error(f"{path}.weights", f"{len(m.weights)} weights for {len(m.values)} values")
            _weights(spec, f"{path}.weights", dict(enumerate(m.weights)))
    elif m.values is not None or m.weights is not None:
        raise spec.error(f"{path}.values", "values/weights belong to the 'empirical' distribution only")


def _check_datetime(spec: Spec, path: str, m: DatetimeCol) -> None:
    bounds = []
    for name in ("start", "end"):
        try:
            bounds.append(pd.Timestamp(getattr(m, name)))
        except (ValueError, TypeError):
            raise spec.error(f"{path}.{name}", f"'{getattr(m, name)}' is not a date or time") from None
    if bounds[0] > bounds[1]:
        raise spec.error(f"{path}.start", f"start ({m.start}) is after end ({m.end})")
    if m.seasonality is not None:
        for name, size in (("weekday", 7), ("hour", 24), ("month", 12)):
            w = getattr(m.seasonality, name)
            if w is None:
                continue
            where = f"{path}.seasonality.{name}"
            if len(w) != size:
                raise spec.error(where, f"give {size} weights (got {len(w)})")
            if min(w) < 0 or sum(w) <= 0:
                raise spec.error(where, "weights must be non-negative with a positive sum")


def _check_tables(spec: Spec, tables: dict[str, Table]) -> None:
    for t in tables.values():
        if t.parent is not None and t.parent not in tables:
            raise spec.error(
                f"tables.{t.name}.per_parent.parent",
                f"unknown table '{t.parent}' (tables: {', '.join(tables)})",
            )
    for t in tables.values():  # cycles in parent chains
        chain = [t.name]
        cur = t
        while cur.parent is not None:
            if cur.parent in chain:
                loop = " -> ".join([*chain[chain.index(cur.parent) :], cur.parent])
                raise spec.error(f"tables.{t.name}.per_parent.parent", f"parent cycle: {loop}")
            chain.append(cur.parent)
            cur = tables[cur.parent]
    for t in tables.values():
        if t.parent is not None:
            tables[t.parent].children.append(t.name)
        for col in t.columns.values():
            if col.ref is None:
                continue
            rt, rc = col.ref
            key = "references" if isinstance(col.spec, ForeignKeyCol) else "parent_column"
            where = f"{col.path}.{key}"
            if rt not in tables:
                raise spec.error(where, f"unknown table '{rt}' (tables: {', '.join(tables)})")
            if rc not in tables[rt].columns:
                raise spec.error(
                    where, f"table '{rt}' has no column '{rc}' (columns: {', '.join(tables[rt].columns)})"
                )
            target = tables[rt].columns[rc].spec
            if target.missing > 0:
                raise spec.error(where, f"'{rt}.{rc}' has missing values, so it cannot be referenced")
            if isinstance(col.spec, TimelineCol):
                if rt != t.parent:
                    raise spec.error(
                        where,
                        f"a timeline needs a column of this table's per_parent parent "
                        f"('{t.parent or 'none'}'), not '{rt}'",
                    )
                if not isinstance(target, DatetimeCol | TimelineCol):
                    raise spec.error(where, f"'{rt}.{rc}' is not a datetime or timeline column")
            elif rt != t.parent and not isinstance(target, SequenceCol | UniqueIdCol):
                raise spec.error(
                    where,
                    f"a foreign key to a table other than the parent must reference a "
                    f"sequence or unique_id column ('{rt}.{rc}' is {target.type})",
                )
    order: list[str] = []

    def visit(name: str) -> None:
        order.append(name)
        for child in tables[name].children:
            visit(child)

    for t in tables.values():
        if t.parent is None:
            visit(t.name)
    spec.tables = {name: tables[name] for name in order}
