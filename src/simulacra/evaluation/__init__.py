"""Validation of synthetic data against real train and holdout data, by data kind.

``simulacra.evaluate(synthetic=..., train=..., holdout=..., target=...)`` (:func:`.report.evaluate`)
returns a :class:`~simulacra.evaluation.report.Report`. The checks live by data kind, each section
builder beside its metrics: :mod:`.tabular` (fidelity, utility, privacy, detection), :mod:`.sequences`
(long-format histories) and :mod:`.text` (diversity, realism, utility, leakage); :mod:`.scores` holds
the shapes and rules every section shares, :mod:`.html` and ``templates/`` the page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .report import SECTIONS, Report, evaluate

__all__ = ["SECTIONS", "Report", "evaluate"]


def __getattr__(name: str) -> Any:
    if name in __all__:  # heavy modules (scikit-learn, scipy) load on first use
        from . import report

        return getattr(report, name)
    raise AttributeError(f"module 'simulacra.evaluation' has no attribute {name!r}")
