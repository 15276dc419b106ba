"""simulacra — synthetic data you can trust.

Learn from a private table and sample realistic synthetic rows (``TabularSynthesizer``), with
business rules kept and PII regenerated, then check the result on real held-out data.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import SimulacraError
from .schema import Schema, infer_schema, load_schema
from .tabular import TabularSynthesizer

__all__ = ["Schema", "SimulacraError", "TabularSynthesizer", "__version__", "infer_schema", "load_schema"]
