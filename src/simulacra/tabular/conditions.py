"""Sampling conditions: ``--where col=value``, ``col=a|b``, ``col=lo..hi`` and their Python forms."""

from __future__ import annotations

from typing import Any

from ..errors import ConditionError

Condition = Any  # a value, a list/set of values, a (lo, hi) tuple, or {"min": .., "max": ..}


def parse_where(items: list[str] | tuple[str, ...]) -> dict[str, Condition]:
    """Parse ``col=value`` strings. ``a|b`` means any of; ``lo..hi`` a range (either end may be empty)."""
    out: dict[str, Condition] = {}
    for raw in items:
        if "=" not in raw:
            raise ConditionError(f"--where '{raw}' is not of the form column=value (or column=lo..hi)")
        col, value = (s.strip() for s in raw.split("=", 1))
        if not col:
            raise ConditionError(f"--where '{raw}' has no column name before '='")
        if value == "":
            raise ConditionError(f"--where '{raw}' has no value after '='")
        if ".." in value:
            lo, hi = (s.strip() or None for s in value.split("..", 1))
            out[col] = RangeCond(lo, hi)
        elif "|" in value:
            out[col] = [v.strip() for v in value.split("|") if v.strip()]
        else:
            out[col] = value
    return out


class RangeCond:
    """A closed range condition; either end may be None."""

    def __init__(self, lo: Any = None, hi: Any = None) -> None:
        if lo is None and hi is None:
            raise ConditionError("a range condition needs at least one end (lo..hi)")
        self.lo, self.hi = lo, hi

    def __repr__(self) -> str:
        return f"{'' if self.lo is None else self.lo}..{'' if self.hi is None else self.hi}"


def normalise(value: Condition) -> Condition:
    """Turn the Python forms into a value, a list of values, or a :class:`RangeCond`."""
    if isinstance(value, RangeCond):
        return value
    if isinstance(value, dict) and set(value) <= {"min", "max"}:
        return RangeCond(value.get("min"), value.get("max"))
    if isinstance(value, tuple) and len(value) == 2:
        return RangeCond(*value)
    if isinstance(value, list | set | frozenset):
        return list(value)
    return value
