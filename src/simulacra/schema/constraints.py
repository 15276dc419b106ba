"""Business rules that every synthetic row must satisfy.

Written in a schema file as a list under ``constraints:``::

    constraints:
      - range: age            # min and/or max
        min: 17
        max: 90
      - inequality: checkout > checkin     # also >=, <, <=
      - fixed: [city, state]               # only combinations seen in the data
      - formula: total = price * qty       # + - * / ** ( ) numbers, columns, round/abs/min/max
      - formula: net = `capital-gain` - `capital-loss`   # backticks around names that are not identifiers
"""

from __future__ import annotations

import ast
import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from ..errors import ConstraintError

_QUOTED = re.compile(r"`([^`]+)`")
_INEQ = re.compile(r"^\s*([^<>=!]+?)\s*(>=|<=|>|<)\s*([^<>=!]+?)\s*$")


class Range(BaseModel):
    """``min <= column <= max`` (either bound may be left out)."""

    model_config = ConfigDict(extra="forbid")
    range: str
    min: float | str | None = None
    max: float | str | None = None

    @property
    def columns(self) -> list[str]:
        return [self.range]


class Inequality(BaseModel):
    """``high > low`` (or ``>=``) between two numeric or datetime columns."""

    model_config = ConfigDict(extra="forbid")
    inequality: str

    @field_validator("inequality")
    @classmethod
    def _parse(cls, v: str) -> str:
        if not _INEQ.match(v):
            raise ValueError(f"'{v}' is not of the form 'a > b' (or >=, <, <=)")
        return v

    def parts(self) -> tuple[str, str, bool]:
        """Return ``(high, low, strict)``."""
        m = _INEQ.match(self.inequality)
        assert m is not None
        left, op, right = m.group(1).strip(), m.group(2), m.group(3).strip()
        if op in ("<", "<="):
            left, right = right, left
        return left, right, op in (">", "<")

    @property
    def columns(self) -> list[str]:
        high, low, _ = self.parts()
        return [high, low]


class Fixed(BaseModel):
    """The listed categorical columns only take combinations seen together in the data."""

    model_config = ConfigDict(extra="forbid")
    fixed: list[str] = Field(min_length=2)

    @property
    def columns(self) -> list[str]:
        return list(self.fixed)


_ALLOWED_FUNCS = {"round", "abs", "min", "max"}
_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Call,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.Mod,
    ast.FloorDiv,
    ast.USub,
    ast.UAdd,
)


class Formula(BaseModel):
    """``target = expression`` over other numeric columns; the target is computed, never learned."""

    model_config = ConfigDict(extra="forbid")
    formula: str

    @field_validator("formula")
    @classmethod
    def _parse(cls, v: str) -> str:
        if v.count("=") != 1:
            raise ValueError(f"'{v}' is not of the form 'target = expression'")
        target, expr = (s.strip() for s in v.split("="))
        if not target:
            raise ValueError(f"'{v}' has no target column before '='")
        try:
            tree = ast.parse(_prepare(expr)[0], mode="eval")
        except SyntaxError:
            raise ValueError(f"'{expr}' is not a valid expression") from None
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED_NODES):
                raise ValueError(f"'{expr}' uses '{type(node).__name__}', which formulas do not allow")
            if isinstance(node, ast.Call) and not (
                isinstance(node.func, ast.Name) and node.func.id in _ALLOWED_FUNCS
            ):
                raise ValueError(f"'{expr}' calls a function other than {sorted(_ALLOWED_FUNCS)}")
        return v

    @property
    def target(self) -> str:
        return self.formula.split("=")[0].strip().strip("`")

    @property
    def expression(self) -> str:
        return self.formula.split("=", 1)[1].strip()

    @property
    def inputs(self) -> list[str]:
        code, names = _prepare(self.expression)
        tree = ast.parse(code, mode="eval")
        found = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _ALLOWED_FUNCS}
        return sorted(names.get(x, x) for x in found)

    @property
    def columns(self) -> list[str]:
        return [self.target, *self.inputs]

    def evaluate(self, df) -> object:  # noqa: ANN001 - pandas frame
        """Evaluate the expression over the columns of ``df`` (vectorised)."""
        import numpy as np

        code, names = _prepare(self.expression)
        tree = ast.parse(code, mode="eval")
        found = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _ALLOWED_FUNCS}
        env = {x: df[names.get(x, x)].to_numpy(dtype=float) for x in found}
        funcs = {"round": np.round, "abs": np.abs, "min": np.minimum, "max": np.maximum}
        return _eval(tree.body, env, funcs)


def _prepare(expr: str) -> tuple[str, dict[str, str]]:
    """Replace backtick-quoted column names by identifiers; return the code and the name map."""
    names: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        ident = f"_col{len(names)}"
        names[ident] = m.group(1)
        return ident

    return _QUOTED.sub(sub, expr), names


def _eval(node: ast.AST, env: dict, funcs: dict):  # noqa: ANN202
    import operator

    ops = {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
        ast.Pow: operator.pow,
        ast.Mod: operator.mod,
        ast.FloorDiv: operator.floordiv,
    }
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env, funcs)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        return ops[type(node.op)](_eval(node.left, env, funcs), _eval(node.right, env, funcs))
    if isinstance(node, ast.Call):
        args = [_eval(a, env, funcs) for a in node.args]
        return funcs[node.func.id](*args)
    raise ConstraintError(f"formula element {type(node).__name__} is not allowed")


def _constraint_type(value: object) -> str | None:
    if isinstance(value, dict):
        found = [k for k in ("range", "inequality", "fixed", "formula") if k in value]
        return found[0] if len(found) == 1 else None
    for cls, tag in ((Range, "range"), (Inequality, "inequality"), (Fixed, "fixed"), (Formula, "formula")):
        if isinstance(value, cls):
            return tag
    return None


Constraint = Annotated[
    Annotated[Range, Tag("range")]
    | Annotated[Inequality, Tag("inequality")]
    | Annotated[Fixed, Tag("fixed")]
    | Annotated[Formula, Tag("formula")],
    Discriminator(
        _constraint_type,
        custom_error_type="constraint_type",
        custom_error_message="a constraint needs exactly one of range:, inequality:, fixed:, formula:",
    ),
]


def constraint_label(c: Range | Inequality | Fixed | Formula) -> str:
    """A short human-readable form of a constraint, for messages and printed schemas."""
    if isinstance(c, Range):
        lo = "" if c.min is None else f"{c.min} <= "
        hi = "" if c.max is None else f" <= {c.max}"
        return f"range: {lo}{c.range}{hi}"
    if isinstance(c, Inequality):
        return f"inequality: {c.inequality}"
    if isinstance(c, Fixed):
        return f"fixed: [{', '.join(c.fixed)}]"
    return f"formula: {c.formula}"

