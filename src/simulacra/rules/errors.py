"""The error a bad rules spec raises."""

from __future__ import annotations

from ..errors import SchemaError


class SpecError(SchemaError):
    """A rules spec is malformed: the message names the file, the line and the field path."""
