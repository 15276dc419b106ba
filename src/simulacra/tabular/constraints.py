"""Constraints on both sides of a tabular model: training rows are checked, sampled rows are mended.

The constraints themselves are declared in :mod:`simulacra.schema.constraints`; the model keeps them
already (fixed combinations merged, inequalities as positive differences, formulas computed), so
:func:`enforce` only mends what rounding moved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConstraintError
from ..schema.constraints import Formula, Inequality, Range, constraint_label
from ..schema.kinds import Kind
from .columns import to_float


def check_constraints(constraints: list[Any], values: dict[str, pd.Series]) -> None:
    """Raise a :class:`ConstraintError` naming the first training row that violates a constraint."""
    for c in constraints:
        bad = violations(c, values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ConstraintError(
                f"constraint '{constraint_label(c)}' is violated by {int(bad.sum())} training rows "
                f"(first: row {row + 1}); fix the data or the constraint"
            )


def violations(c: Any, values: dict[str, pd.Series]) -> np.ndarray:
    """A boolean mask of the rows that break constraint ``c`` (missing values break nothing)."""
    if isinstance(c, Range):
        x = values[c.range]
        lo = pd.Timestamp(c.min) if c.min is not None and x.dtype.kind == "M" else c.min
        hi = pd.Timestamp(c.max) if c.max is not None and x.dtype.kind == "M" else c.max
        bad = np.zeros(len(x), dtype=bool)
        if lo is not None:
            bad |= (x < lo).to_numpy()
        if hi is not None:
            bad |= (x > hi).to_numpy()
        return bad & x.notna().to_numpy()
    if isinstance(c, Inequality):
        high, low, strict = c.parts()
        h, lo_ = values[high], values[low]
        ok = (h > lo_) if strict else (h >= lo_)
        return (~ok & h.notna() & lo_.notna()).to_numpy()
    if isinstance(c, Formula):
        frame = pd.DataFrame({k: to_float(values[k], Kind.FLOAT) for k in c.columns})
        expect = np.asarray(c.evaluate(frame), dtype=float)
        got = frame[c.target].to_numpy()
        tol = 1e-6 * np.maximum(1.0, np.abs(expect))
        bad = np.abs(got - expect) > np.maximum(tol, 0.5 if values[c.target].dtype.kind != "f" else tol)
        return bad & ~np.isnan(got) & ~np.isnan(expect)
    return np.zeros(len(next(iter(values.values()))), dtype=bool)


def enforce(constraints: list[Any], frame: pd.DataFrame, out_kinds: dict[str, str]) -> None:
    """Guarantee every constraint on every sampled row, in place (datetimes as seconds)."""
    for c in constraints:
        if not all(col in frame for col in c.columns):
            continue  # a formula's target, computed later
        if isinstance(c, Range):
            dt = out_kinds.get(c.range) == Kind.DATETIME.value
            lo, hi = _bound(c.min, dt), _bound(c.max, dt)
            frame[c.range] = np.clip(frame[c.range].to_numpy(dtype=float), lo, hi)
        elif isinstance(c, Inequality):
            high, low, strict = c.parts()
            h, lo_ = frame[high].to_numpy(dtype=float), frame[low].to_numpy(dtype=float)
            bad = (h <= lo_) if strict else (h < lo_)
            if bad.any():
                step = 1.0 if Kind(out_kinds[high]) in (Kind.INTEGER, Kind.DATETIME) else 0.0
                fix = np.where(step > 0, lo_ + step, np.nextafter(lo_, np.inf)) if strict else lo_
                frame[high] = np.where(bad, fix, h)


def _bound(v: Any, is_datetime: bool) -> float | None:
    if v is None:
        return None
    if is_datetime:
        return pd.Timestamp(v).value / 1e9
    return float(v)
