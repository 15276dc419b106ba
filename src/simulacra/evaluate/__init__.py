"""Transitional alias of :mod:`simulacra.evaluation` (the package was renamed so that
``simulacra.evaluate`` can be a plain function).

Old import paths (``simulacra.evaluate.fidelity``, ``.privacy``, ``.utility``, ``.detection``, ``.plots``,
``.html``, ``.report``, ``.sequences``, ``.text``, ``.text.report``) re-export the new modules' public
names until every caller imports from :mod:`simulacra.evaluation`; then this folder is deleted. While
it exists, importing one of these paths binds ``simulacra.evaluate`` to this module, so the module stays
callable to keep ``simulacra.evaluate(...)`` working.
"""

from __future__ import annotations

import sys
import types
from typing import Any


def evaluate(**kwargs: Any) -> Any:
    """:func:`simulacra.evaluation.report.evaluate`."""
    from simulacra.evaluation.report import evaluate as _evaluate

    return _evaluate(**kwargs)


class _CallableModule(types.ModuleType):
    def __call__(self, **kwargs: Any) -> Any:
        return evaluate(**kwargs)


sys.modules[__name__].__class__ = _CallableModule
