"""Attribute kinds of a task spec and how each is drawn: weighted values, ranges, taxonomies, personas.

Every draw takes one ``numpy`` generator, the one :meth:`TaskSpec.sample_attributes` derives from
``(seed, "text", index)``; :func:`parse_attributes` checks the spec's ``attributes`` mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .checking import Checker


def draw(rng: np.random.Generator, probs: np.ndarray) -> int:
    """One index drawn with probabilities ``probs`` (one uniform number: inverse of the cumulative sum)."""
    u = rng.random()
    acc = 0.0
    for i, p in enumerate(probs):
        acc += float(p)
        if u < acc:
            return i
    return len(probs) - 1


@dataclass(frozen=True)
class Choice:
    """One field drawn from weighted values."""

    name: str
    values: tuple[Any, ...]
    probs: np.ndarray

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.name,)

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {self.name: self.values[draw(rng, self.probs)]}


@dataclass(frozen=True)
class IntRange:
    """One integer field drawn uniformly from a closed range."""

    name: str
    low: int
    high: int

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.name,)

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {self.name: int(rng.integers(self.low, self.high + 1))}


@dataclass(frozen=True)
class Taxonomy:
    """Several fields drawn top-down from a tree: each level's value depends on the one above."""

    name: str
    levels: tuple[str, ...]
    tree: dict  # value -> (weight, subtree | None)

    @property
    def fields(self) -> tuple[str, ...]:
        return self.levels

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        out: dict[str, Any] = {}
        node = self.tree
        for level in self.levels:
            keys = list(node)
            weights = np.array([node[k][0] for k in keys], dtype=float)
            pick = keys[draw(rng, weights / weights.sum())]
            out[level] = pick
            node = node[pick][1]
        return out


@dataclass(frozen=True)
class Personas:
    """One field (the persona's name); its other keys are shown to the model as ``{field.key}``."""

    name: str
    personas: tuple[dict[str, Any], ...]
    probs: np.ndarray

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.name,)

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {self.name: self.personas[draw(rng, self.probs)]["name"]}

    def details(self, name: str) -> dict[str, Any]:
        for p in self.personas:
            if p["name"] == name:
                return p
        return {}


Attribute = Choice | IntRange | Taxonomy | Personas


def _weighted(ctx: Checker, path: str, values: Any) -> tuple[list[Any], np.ndarray]:
    if isinstance(values, list):
        if not values:
            raise ctx.error(path, "the list of values is empty")
        bad = [v for v in values if isinstance(v, dict | list)]
        if bad:
            raise ctx.error(path, f"values must be plain (text, numbers), got {bad[0]!r}")
        return list(values), np.full(len(values), 1.0 / len(values))
    if isinstance(values, dict):
        if not values:
            raise ctx.error(path, "the mapping of values to weights is empty")
        weights = []
        for key, w in values.items():
            if isinstance(w, bool) or not isinstance(w, int | float) or w < 0:
                raise ctx.error(f"{path}.{key}", f"weight must be a number >= 0, got {w!r}")
            weights.append(float(w))
        total = sum(weights)
        if total <= 0:
            raise ctx.error(path, "all weights are 0; give at least one positive weight")
        return list(values), np.array(weights) / total
    raise ctx.error(path, f"expected a list of values or a mapping value: weight, got {values!r}")


def parse_attributes(ctx: Checker, raw: Any) -> list[Attribute]:
    """The checked attributes of the spec's ``attributes`` mapping, in order."""
    ctx.mapping("attributes", raw)
    out: list[Attribute] = []
    for name, spec in raw.items():
        path = f"attributes.{name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)) or str(name).startswith("_"):
            raise ctx.error(path, "attribute names are identifiers (letters, digits, _; not starting with _)")
        name = str(name)
        if isinstance(spec, list):
            values, probs = _weighted(ctx, path, spec)
            out.append(Choice(name, tuple(values), probs))
        elif isinstance(spec, dict) and "values" in spec:
            ctx.mapping(path, spec, {"values", "description"})
            values, probs = _weighted(ctx, f"{path}.values", spec["values"])
            out.append(Choice(name, tuple(values), probs))
        elif isinstance(spec, dict) and "range" in spec:
            ctx.mapping(path, spec, {"range", "description"})
            rng = spec["range"]
            if not (
                isinstance(rng, list)
                and len(rng) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in rng)
                and rng[0] <= rng[1]
            ):
                raise ctx.error(
                    f"{path}.range", f"expected [low, high] whole numbers with low <= high, got {rng!r}"
                )
            out.append(IntRange(name, rng[0], rng[1]))
        elif isinstance(spec, dict) and "levels" in spec:
            out.append(_taxonomy(ctx, path, name, spec))
        elif isinstance(spec, dict) and "personas" in spec:
            out.append(_personas(ctx, path, name, spec))
        elif isinstance(spec, dict):
            values, probs = _weighted(ctx, path, spec)
            out.append(Choice(name, tuple(values), probs))
        else:
            raise ctx.error(
                path,
                "expected a list of values, a mapping value: weight, or one of "
                "{values: ...}, {range: [lo, hi]}, {levels: ..., tree: ...}, {personas: [...]}",
            )
    return out


def _taxonomy(ctx: Checker, path: str, name: str, spec: dict) -> Taxonomy:
    ctx.mapping(path, spec, {"levels", "tree", "description"})
    levels = spec["levels"]
    if not (isinstance(levels, list) and levels and all(isinstance(x, str) for x in levels)):
        raise ctx.error(
            f"{path}.levels", "expected a list of field names, one per level (e.g. [product, issue])"
        )
    if len(set(levels)) != len(levels):
        raise ctx.error(f"{path}.levels", "level names must differ")
    if "tree" not in spec:
        raise ctx.error(path, "a taxonomy needs 'tree': nested mappings, one level per entry of 'levels'")

    def build(node: Any, depth: int, where: str) -> dict:
        remaining = len(levels) - depth
        if remaining == 1:
            values, probs = _weighted(
                ctx,
                where,
                {k: v for k, v in node.items() if k != "_weight"} if isinstance(node, dict) else node,
            )
            if isinstance(node, dict) and any(isinstance(v, dict) for v in node.values()):
                raise ctx.error(where, f"too deep: level '{levels[depth]}' is the last one")
            return {v: (float(p), None) for v, p in zip(values, probs, strict=True)}
        if not isinstance(node, dict) or not node:
            raise ctx.error(
                where,
                f"expected a mapping of '{levels[depth]}' values to their "
                f"'{levels[depth + 1]}' entries, got {node!r}",
            )
        out = {}
        for key, sub in node.items():
            if key == "_weight":
                continue
            weight = 1.0
            if isinstance(sub, dict) and "_weight" in sub:
                w = sub["_weight"]
                if isinstance(w, bool) or not isinstance(w, int | float) or w <= 0:
                    raise ctx.error(f"{where}.{key}._weight", f"must be a number > 0, got {w!r}")
                weight = float(w)
            if sub is None:
                raise ctx.error(f"{where}.{key}", f"is empty; give its '{levels[depth + 1]}' values")
            out[key] = (weight, build(sub, depth + 1, f"{where}.{key}"))
        if not out:
            raise ctx.error(where, "has no values")
        return out

    return Taxonomy(name, tuple(levels), build(spec["tree"], 0, f"{path}.tree"))


def _personas(ctx: Checker, path: str, name: str, spec: dict) -> Personas:
    ctx.mapping(path, spec, {"personas", "description"})
    items = spec["personas"]
    if not isinstance(items, list) or not items:
        raise ctx.error(f"{path}.personas", "expected a list of personas, each with a 'name'")
    weights, personas = [], []
    for i, p in enumerate(items):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise ctx.error(
                f"{path}.personas.{i}", "each persona is a mapping with a 'name' (and any other keys)"
            )
        w = p.get("weight", 1)
        if isinstance(w, bool) or not isinstance(w, int | float) or w <= 0:
            raise ctx.error(f"{path}.personas.{i}.weight", f"must be a number > 0, got {w!r}")
        weights.append(float(w))
        personas.append({k: v for k, v in p.items() if k != "weight"})
    names = [p["name"] for p in personas]
    if len(set(names)) != len(names):
        raise ctx.error(f"{path}.personas", "persona names must differ")
    probs = np.array(weights) / sum(weights)
    return Personas(name, tuple(personas), probs)
