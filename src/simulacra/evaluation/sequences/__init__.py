"""Checks for sequences in long format (one row per event): :mod:`.metrics` holds the measures,
:mod:`.section` builds the report's ``sequences`` section from them."""

from __future__ import annotations

from .metrics import compare_sequences
from .section import sequence_section

__all__ = ["compare_sequences", "sequence_section"]
