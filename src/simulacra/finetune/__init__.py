"""Close the loop: fine-tune a small student (LoRA) on the synthetic set and test it on real held-out data.

The ``[finetune]`` extra (torch, transformers>=5, peft, gguf). ``simulacra.finetune(...)`` is
:func:`simulacra.finetune.run.finetune`; this package is itself callable, so the name means the same
whether or not the package has been imported.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .run import StudentResult, finetune


class _CallableModule(types.ModuleType):
    """``simulacra.finetune(...)`` calls :func:`finetune` even after the package is imported."""

    def __call__(self, *args: Any, **kwargs: Any) -> StudentResult:
        return finetune(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["StudentResult", "finetune"]
