"""Reading and checking a task spec: :func:`load_task` (a YAML file or a dict) → :class:`TaskSpec`.

Shape and types are checked by the pydantic sections of :mod:`.spec`; meaning here (placeholders
name attributes, output fields are not attributes, the JSON schema stays within what every backend
can constrain). Every problem raises one :class:`SpecError` naming the file, the line and the field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..yamlerrors import read_yaml
from .attributes import Personas, parse_attributes
from .checking import Checker
from .seeds import check_seeds
from .spec import PLACEHOLDER, Conversation, Generation, Quality, TaskModel, TaskSpec

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
        raw, lines = read_yaml(text, src, SpecError)
        base = path.resolve().parent
    ctx = Checker(src, lines, base)
    if not isinstance(raw, dict):
        raise SpecError(f"{src}: a text task spec must be a mapping with 'instruction' and 'output' keys")
    return _check(raw, ctx, default_name=Path(src).stem if not isinstance(spec, dict) else "task")


def _check(raw: dict, ctx: Checker, default_name: str) -> TaskSpec:
    shape = {k: v for k, v in raw.items() if k != "output"}  # output may be a pydantic class
    model: TaskModel = ctx.model(TaskModel, {**shape, "output": None})
    name = str(model.name or default_name)
    instruction = model.instruction
    if not instruction.strip():
        raise ctx.error("instruction", "missing: say in plain words what one example is (a string)")
    attributes = parse_attributes(ctx, model.attributes or {})
    fields = [f for a in attributes for f in a.fields]
    dupes = sorted({f for f in fields if fields.count(f) > 1})
    if dupes:
        raise ctx.error("attributes", f"field '{dupes[0]}' is set by two attributes; rename one")
    conversation = model.conversation
    output_schema = _output(ctx, raw.get("output"), conversation)
    clash = sorted(set(fields) & set(output_schema["properties"]))
    if clash:
        raise ctx.error(
            f"output.{clash[0]}",
            f"'{clash[0]}' is also an attribute; the program sets attributes, "
            "the model writes output fields: rename one",
        )
    _check_placeholders(ctx, instruction, fields, {a.name: a for a in attributes if isinstance(a, Personas)})
    quality = model.quality or Quality()
    if quality.label_field is not None and quality.label_field not in fields:
        raise ctx.error(
            "quality.label_check.field",
            f"{quality.label_field!r} is not an attribute (attributes: {', '.join(fields) or 'none'})",
        )
    seeds = (
        check_seeds(ctx, model.seeds, fields, output_schema, conversation, attributes)
        if model.seeds is not None and raw.get("seeds")
        else None
    )
    if quality.label_field is not None and seeds is None:
        raise ctx.error("quality.label_check", "the label check compares with seed examples: add 'seeds'")
    return TaskSpec(
        ctx.source,
        name,
        model.n,
        model.seed,
        instruction.strip(),
        attributes,
        output_schema,
        conversation,
        seeds,
        model.generation or Generation(),
        quality,
        raw=json.loads(json.dumps(raw, default=str)),
    )


def _check_placeholders(ctx: Checker, instruction: str, fields: list[str], personas: dict) -> None:
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


def _check_schema(ctx: Checker, path: str, node: Any) -> dict:
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
            ctx.whole(f"{path}.{key}", node[key], 0)
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


def _output(ctx: Checker, raw: Any, conversation: Conversation | None) -> dict:
    if raw is None:
        if conversation is None:
            raise ctx.error("output", "missing: list the fields the model writes (e.g. text: {type: string})")
        raw = {}
    if isinstance(raw, type) and hasattr(raw, "model_json_schema"):  # a pydantic model (Python API)
        raw = _flat_pydantic_schema(ctx, raw)
    ctx.mapping("output", raw)
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


def _flat_pydantic_schema(ctx: Checker, model: Any) -> dict:
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
