"""Validation of synthetic data against real train and holdout data.

``simulacra.evaluate(synthetic=..., train=..., holdout=..., target=...)`` returns a
:class:`~simulacra.evaluate.report.Report`; the metric functions live in ``fidelity``, ``utility``,
``privacy`` and ``detection``.
"""

from __future__ import annotations

import sys
import types
from typing import Any


def evaluate(**kwargs: Any) -> Any:
    """Build the validation report (see :func:`simulacra.evaluate.report.evaluate`)."""
    from .report import evaluate as _evaluate

    return _evaluate(**kwargs)


class _CallableModule(types.ModuleType):
    """Lets ``simulacra.evaluate(...)`` be called like a function while staying a package."""

    def __call__(self, **kwargs: Any) -> Any:
        return evaluate(**kwargs)


sys.modules[__name__].__class__ = _CallableModule
