"""The registry of tabular models: name → class. The ``[torch]`` extra adds deep models here."""

from __future__ import annotations

from ...errors import UsageError
from .base import CodeModel, Conditions, LeafTable
from .copula import GaussianCopula
from .trees import SequentialTrees

REGISTRY: dict[str, type] = {"trees": SequentialTrees, "copula": GaussianCopula}
DEFAULT_MODEL = "trees"


def register(cls: type) -> type:
    """Add a model class (with a ``name`` attribute) to the registry; usable as a decorator."""
    REGISTRY[cls.name] = cls
    return cls


def get_model_class(name: str) -> type:
    """Look a model up by name; an unknown name raises a :class:`UsageError` listing the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(
            f"unknown synthesizer '{name}'; choose one of {', '.join(sorted(REGISTRY))}"
        ) from None


__all__ = [
    "DEFAULT_MODEL",
    "REGISTRY",
    "CodeModel",
    "Conditions",
    "GaussianCopula",
    "LeafTable",
    "SequentialTrees",
    "get_model_class",
    "register",
]
