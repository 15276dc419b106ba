"""The registry of tabular models: name → class. The ``[torch]`` extra adds deep models here."""

from __future__ import annotations

from ...errors import UsageError
from ..estimator import init_params
from .aim import AIMModel
from .base import CodeModel, Conditions, LeafTable
from .copula import GaussianCopula
from .mst import MSTModel
from .trees import SequentialTrees

REGISTRY: dict[str, type] = {
    "trees": SequentialTrees,
    "copula": GaussianCopula,
    "mst": MSTModel,
    "aim": AIMModel,
}
DEFAULT_MODEL = "trees"
# models of the [torch] extra: name -> (module under .deep, class); imported on first use only
LAZY: dict[str, tuple[str, str]] = {
    "autoregressive": ("autoregressive", "AutoregressiveModel"),
    "diffusion": ("diffusion", "DiffusionModel"),
    "gan": ("gan", "GANModel"),
}
TORCH_HINT = (
    "pip install 'simulacra[torch]' (first install the torch build for your machine, "
    "e.g. the CPU one: pip install torch --index-url https://download.pytorch.org/whl/cpu)"
)


def register(cls: type) -> type:
    """Add a model class (with a ``name`` attribute) to the registry; usable as a decorator."""
    REGISTRY[cls.name] = cls
    return cls


def get_model_class(name: str) -> type:
    """Look a model up by name; an unknown name raises a :class:`UsageError` listing the known ones."""
    if name not in REGISTRY and name in LAZY:
        module, cls = LAZY[name]
        try:
            import importlib

            REGISTRY[name] = getattr(importlib.import_module(f".deep.{module}", __name__), cls)
        except ImportError as exc:
            missing = (getattr(exc, "name", None) or "torch").split(".")[0]
            if missing not in ("torch", "safetensors", "opacus"):
                raise
            raise UsageError(
                f"model '{name}' needs the [torch] extra ({missing} is not installed): {TORCH_HINT}"
            ) from None
    try:
        return REGISTRY[name]
    except KeyError:
        raise UsageError(
            f"unknown synthesizer '{name}'; choose one of {', '.join(sorted({*REGISTRY, *LAZY}))}"
        ) from None


def model_params(name: str) -> list[str]:
    """The parameter names model ``name`` takes (read from its constructor's signature)."""
    return init_params(get_model_class(name))


__all__ = [
    "DEFAULT_MODEL",
    "AIMModel",
    "LAZY",
    "REGISTRY",
    "CodeModel",
    "Conditions",
    "GaussianCopula",
    "LeafTable",
    "SequentialTrees",
    "get_model_class",
    "model_params",
    "register",
]
