"""simulacra — synthetic data you can trust.

Learn from a private table and sample realistic synthetic rows (``TabularSynthesizer``), with
business rules kept and PII regenerated, then check the result on real held-out data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import SimulacraError

__version__ = "0.1.0"

# Heavy modules (scikit-learn, scipy) load on first use, so `simulacra --help` starts fast.
_LAZY = {
    "TabularSynthesizer": "simulacra.tabular",
    "ImageSynthesizer": "simulacra.images",
    "RelationalSynthesizer": "simulacra.relational",
    "Schema": "simulacra.schema",
    "infer_schema": "simulacra.schema",
    "load_schema": "simulacra.schema",
    "evaluate": "simulacra.evaluation.report",
    "finetune": "simulacra.finetune",
}

if TYPE_CHECKING:
    from .evaluation.report import evaluate
    from .finetune import finetune
    from .images import ImageSynthesizer
    from .relational import RelationalSynthesizer
    from .schema import Schema, infer_schema, load_schema
    from .tabular import TabularSynthesizer


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simulacra' has no attribute {name!r}")


__all__ = [
    "ImageSynthesizer",
    "RelationalSynthesizer",
    "Schema",
    "SimulacraError",
    "TabularSynthesizer",
    "__version__",
    "evaluate",
    "finetune",
    "infer_schema",
    "load_schema",
]
