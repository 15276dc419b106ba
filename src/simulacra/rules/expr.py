"""A small, safe, vectorised expression language over numpy arrays.

Only a whitelist of Python syntax is accepted (arithmetic, comparisons, ``and``/``or``/``not``,
``in [...]``, numbers, strings, column names and a few functions); nothing is ever passed to
``eval``. Categorical columns (:class:`Cat`) compare against string literals through their codes.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

FUNCTIONS = ("where", "abs", "round", "min", "max", "log", "exp", "sqrt")


@dataclass
class Cat:
    """A categorical column: integer ``codes`` into the object array ``labels``."""

    codes: np.ndarray
    labels: np.ndarray

    def values(self) -> np.ndarray:
        """The labels, one per row (an object array)."""
        return self.labels[self.codes]

    def take(self, idx: np.ndarray) -> Cat:
        """The rows at ``idx``."""
        return Cat(self.codes[idx], self.labels)

    def __len__(self) -> int:
        return len(self.codes)


_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def parse(text: str) -> ast.Expression:
    """Parse and check ``text``; raise ``ValueError`` naming the first construct not allowed."""
    try:
        tree = ast.parse(str(text).strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot parse expression {text!r} ({exc.msg})") from None
    for node in ast.walk(tree):
        ok = (
            isinstance(
                node,
                ast.Expression
                | ast.BoolOp
                | ast.And
                | ast.Or
                | ast.UnaryOp
                | ast.Not
                | ast.USub
                | ast.UAdd
                | ast.BinOp
                | ast.Compare
                | ast.Constant
                | ast.Name
                | ast.Load
                | ast.Call
                | ast.List
                | ast.Tuple
                | ast.In
                | ast.NotIn,
            )
            or type(node) in _BINOPS
            or type(node) in _CMPOPS
        )
        if not ok:
            raise ValueError(f"'{type(node).__name__}' is not allowed in expression {text!r}")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float | str | bool):
            raise ValueError(f"constant {node.value!r} is not allowed in expression {text!r}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                name = node.func.id if isinstance(node.func, ast.Name) else "?"
                raise ValueError(f"unknown function '{name}' (use one of {', '.join(FUNCTIONS)})")
            if node.func.id == "where" and len(node.args) != 3:
                raise ValueError("where() takes three arguments: where(condition, a, b)")
        if isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=True):
                if isinstance(op, ast.In | ast.NotIn) and not isinstance(right, ast.List | ast.Tuple):
                    raise ValueError(f"'in' needs a literal list, as in x in ['a', 'b'] ({text!r})")
    return tree


def names(tree: ast.Expression) -> list[str]:
    """Column names used in ``tree`` (function names excluded), in order of appearance."""
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    out: list[str] = []
    for node in ast.walk(tree):
        plain = isinstance(node, ast.Name) and id(node) not in funcs and node.id not in ("True", "False")
        if plain and node.id not in out:
            out.append(node.id)
    return out


def _plain(value: Any) -> Any:
    return value.values() if isinstance(value, Cat) else value


def _compare(op: ast.cmpop, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Eq | ast.NotEq):
        cat, lit = (left, right) if isinstance(left, Cat) else (right, left)
        if isinstance(cat, Cat) and isinstance(lit, str):
            hits = np.flatnonzero(cat.labels == lit)
            eq = cat.codes == hits[0] if len(hits) else np.zeros(len(cat), dtype=bool)
            return eq if isinstance(op, ast.Eq) else ~eq
    left, right = _plain(left), _plain(right)
    if isinstance(left, np.ndarray) and left.dtype.kind == "S" and isinstance(right, str):
        right = right.encode("utf-8")
    if isinstance(right, np.ndarray) and right.dtype.kind == "S" and isinstance(left, str):
        left = left.encode("utf-8")
    for a, b in ((left, right), (right, left)):
        if isinstance(a, np.ndarray) and a.dtype.kind == "M" and isinstance(b, str):
            b = np.datetime64(b)
            left, right = (a, b) if a is left else (b, a)
    return _CMPOPS[type(op)](left, right)


def _isin(value: Any, items: list[Any]) -> np.ndarray:
    if isinstance(value, Cat):
        return np.isin(value.codes, np.flatnonzero(np.isin(value.labels, np.array(items, dtype=object))))
    return np.isin(
        np.asarray(value), np.array(items, dtype=object if any(isinstance(i, str) for i in items) else float)
    )


def evaluate(tree: ast.Expression, env: dict[str, Any]) -> Any:
    """Evaluate a tree from :func:`parse` over the column arrays in ``env``."""
    with np.errstate(all="ignore"):
        return _eval(tree.body, env)


def _eval(node: ast.AST, env: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):
            return node.id == "True"
        return env[node.id]
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(e, env) for e in node.elts]
    if isinstance(node, ast.BoolOp):
        values = [np.asarray(_plain(_eval(v, env)), dtype=bool) for v in node.values]
        func = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        return func.reduce(np.broadcast_arrays(*values)) if len(values) > 1 else values[0]
    if isinstance(node, ast.UnaryOp):
        value = _plain(_eval(node.operand, env))
        if isinstance(node.op, ast.Not):
            return np.logical_not(value)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_plain(_eval(node.left, env)), _plain(_eval(node.right, env)))
    if isinstance(node, ast.Compare):
        result = None
        left = _eval(node.left, env)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, env)
            if isinstance(op, ast.In | ast.NotIn):
                part = _isin(left, right)
                part = part if isinstance(op, ast.In) else ~part
            else:
                part = _compare(op, left, right)
            result = part if result is None else np.logical_and(result, part)
            left = right
        return result
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]
        args = [_plain(_eval(a, env)) for a in node.args]
        if name == "where":
            return np.where(np.asarray(args[0], dtype=bool), args[1], args[2])
        if name == "round":
            return np.round(args[0], int(args[1]) if len(args) > 1 else 0)
        if name in ("min", "max"):
            func = np.minimum if name == "min" else np.maximum
            out = args[0]
            for a in args[1:]:
                out = func(out, a)
            return out
        return {"abs": np.abs, "log": np.log, "exp": np.exp, "sqrt": np.sqrt}[name](args[0])
    raise ValueError(f"'{type(node).__name__}' is not allowed")  # pragma: no cover - parse() rejects it
