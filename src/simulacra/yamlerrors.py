"""YAML files read with every problem as one line that names the file, the line and the field.

The one place for this formatting, shared by schema files, rules specs and text task specs:

- :func:`read_yaml` parses the text and keeps a map from each field path to its line;
- :func:`located` writes ``"FILE: line N: field.path: what to do"``;
- :func:`pydantic_problem` turns a pydantic ``ValidationError`` into a field path and one sentence.
"""

from __future__ import annotations

import typing
from typing import Any

import yaml

LineMap = dict[tuple[str, ...], int]
"""Field path (keys and list positions as strings) → the 1-based line where it starts."""


def line_map(text: str) -> LineMap:
    """Every field path of the YAML ``text`` with its line (a key's own line for mapping entries)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    out: LineMap = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        out.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                out[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                walk(value, (*path, str(i)))

    if root is not None:
        walk(root, ())
    return out


def located(source: str, lines: LineMap, path: tuple[str, ...] | str, message: str) -> str:
    """``"SOURCE: line N: PATH: MESSAGE"``; the line of the nearest enclosing field that has one."""
    if isinstance(path, str):
        path = tuple(p for p in path.split(".") if p)
    line = None
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            line = lines[path[:cut]]
            break
    where = ".".join(path)
    head = f"{source}: line {line}: " if line is not None else f"{source}: "
    return f"{head}{where}: {message}" if where else f"{head}{message}"


def yaml_problem(source: str, exc: yaml.YAMLError) -> str:
    """``"SOURCE: line N: invalid YAML (problem)"`` for a parse error."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}: " if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{source}: {where}invalid YAML ({problem})"


def read_yaml(text: str, source: str, error: type[Exception]) -> tuple[Any, LineMap]:
    """The parsed ``text`` and its line map; a parse error raises ``error`` with one located line."""
    try:
        return yaml.safe_load(text), line_map(text)
    except yaml.YAMLError as exc:
        raise error(yaml_problem(source, exc)) from None


def pydantic_problem(exc: Any, model: Any = None, noun: str = "parameter") -> tuple[tuple[str, ...], str]:
    """The first error of a pydantic ``ValidationError``: its field path and one sentence.

    An unknown key lists the fields accepted where it was found (``model`` is the pydantic model class
    validated); ``noun`` names what a field is called in the message (parameter, key).
    """
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"] if not str(p).startswith("function-"))
    if err["type"] == "missing":
        return loc, f"missing required {noun} '{loc[-1]}'"
    if err["type"] == "extra_forbidden":
        allowed = ""
        where = _model_at(model, loc[:-1])
        if where is not None:
            names = [f.alias or name for name, f in where.model_fields.items() if name != "type"]
            allowed = f" (expected one of {', '.join(sorted(names) if noun == 'key' else names)})"
        return loc, f"unknown {noun} '{loc[-1]}'{allowed}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return loc, f"{msg} (got {err.get('input')!r})"


def _model_at(model: Any, loc: tuple[str, ...]) -> Any:
    """The nested pydantic model class at field path ``loc`` of ``model`` (None when not a model)."""
    for part in loc:
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return None
        args = typing.get_args(field.annotation) or (field.annotation,)
        model = next((a for a in args if isinstance(a, type) and hasattr(a, "model_fields")), None)
    return model
