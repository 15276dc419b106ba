"""The error a bad rules spec raises: :class:`simulacra.errors.SpecError`, shared with text task specs."""

from __future__ import annotations

from ..errors import SpecError

__all__ = ["SpecError"]
