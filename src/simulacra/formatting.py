"""Numbers as the report, its HTML page and the terminal show them: one set of rules for everyone.

A format code says how a score is shown: ``"%"`` (percent, two decimals), a pattern of zeros such
as ``"0"``, ``"0.0"``, ``"0.000"`` or ``"0.0%"`` (that many decimals; ``%`` multiplies by 100), or
``None`` (three decimals below 1,000, whole numbers with thousands separators above).
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

__all__ = ["MISSING", "format_number", "as_finite"]

MISSING = "—"
"""What a missing, NaN or infinite value is shown as, unless the caller asks for another mark."""

_PATTERN = re.compile(r"^0(?:\.(0+))?(%)?$")


def as_finite(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` (booleans, strings, NaN and infinities are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def format_number(value: Any, fmt: str | None = None, *, missing: str = MISSING) -> str:
    """Format ``value`` with the format code ``fmt`` (see the module's docstring).

    ``None``, NaN and infinities give ``missing``; a string is returned as it is; booleans give
    ``"yes"`` / ``"no"``. Large numbers get thousands separators (``1,234.5``).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    x = as_finite(value)
    if x is None:
        return missing
    code = (fmt or "").strip()
    if code == "%":
        return f"{x * 100:.2f}%"
    match = _PATTERN.match(code)
    if match:
        decimals = len(match.group(1) or "")
        if match.group(2):
            return f"{x * 100:.{decimals}f}%"
        return f"{x:,.{decimals}f}"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3f}"
