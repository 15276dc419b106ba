"""Column kinds, inference, PII kinds, constraints and schema files."""

from .constraints import Fixed, Formula, Inequality, Range
from .infer import complete_schema, infer_schema
from .kinds import Kind, PiiKind
from .model import ColumnSchema, Schema, load_schema

__all__ = [
    "ColumnSchema",
    "Fixed",
    "Formula",
    "Inequality",
    "Kind",
    "PiiKind",
    "Range",
    "Schema",
    "complete_schema",
    "infer_schema",
    "load_schema",
]
