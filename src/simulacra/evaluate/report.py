"""Transitional alias: :mod:`simulacra.evaluation.report` (and the number format of the CLI's table)."""

from __future__ import annotations

from simulacra.evaluation.report import MIN_ROWS, SECTIONS, Report, evaluate, read_frame
from simulacra.formatting import format_number

__all__ = ["MIN_ROWS", "SECTIONS", "Report", "evaluate", "read_frame"]


def _fmt(v: float | None, fmt: str) -> str:
    """Kept for the CLI until it calls ``simulacra.formatting.format_number(v, fmt, missing="n/a")``."""
    return format_number(v, fmt, missing="n/a")
