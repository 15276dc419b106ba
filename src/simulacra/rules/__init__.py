"""Rule-based generation: a declarative YAML spec of tables and columns → synthetic data.

Fast (vectorised numpy) and deterministic at any scale: every value is a function of the seed, the
table, the column and the fixed-size chunk it falls in. See :mod:`simulacra.rules.spec` for the spec
language, :mod:`simulacra.rules.generate` for generation and :func:`run_rules` for writing.
"""

from __future__ import annotations

from .errors import SpecError
from .generate import RULES_CHUNK_ROWS, generate, plan
from .shapes import DISTRIBUTIONS
from .spec import Spec, list_packs, load_spec
from .writer import FORMATS, run_rules

__all__ = [
    "DISTRIBUTIONS",
    "FORMATS",
    "RULES_CHUNK_ROWS",
    "Spec",
    "SpecError",
    "generate",
    "list_packs",
    "load_spec",
    "plan",
    "run_rules",
]
