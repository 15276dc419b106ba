"""One error hierarchy for everything simulacra raises on purpose.

Every message is meant to be shown to a user as one line: it names the file, column or
field at fault and says what to do about it.
"""

from __future__ import annotations


class SimulacraError(Exception):
    """Base of every error simulacra raises deliberately (the CLI exits 2 on these)."""


class DataError(SimulacraError):
    """The input data cannot be used as it is (empty, unreadable, too few rows ...)."""


class SchemaError(SimulacraError):
    """A schema file or override is malformed or contradicts the data."""


class SpecError(SchemaError):
    """A rules or text task spec is malformed: the message names the file, the line and the field path."""


class ConstraintError(SchemaError):
    """A constraint is malformed, or the training data violates it."""


class ConditionError(SimulacraError):
    """A sampling condition names an unknown column or an impossible value."""


class ModelFormatError(SimulacraError):
    """A saved model directory is missing, damaged or from a newer format version."""


class UsageError(SimulacraError):
    """An option has an impossible value (for example ``-n 0``)."""
