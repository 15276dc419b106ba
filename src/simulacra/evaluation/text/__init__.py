"""Validation of LLM-made text datasets on real held-out examples.

``simulacra.evaluate(synthetic=..., train=..., holdout=..., text_field="text", target="label")`` routes
here and returns the same :class:`~simulacra.evaluation.report.Report` as the tabular checks, with four
sections: diversity, realism, utility (train-synthetic, test-real) and leakage. Each of ``diversity``,
``realism``, ``utility`` and ``leakage`` holds its metrics and builds its section; ``corpus`` reads the
texts, ``tokens`` and ``embed`` represent them, ``coverage`` checks attribute combinations and
``report`` assembles the sections. Sentence embeddings are optional (``pip install
'simulacra[embeddings]'``): without them every check runs on TF-IDF vectors and the report says what
was skipped.
"""

from __future__ import annotations

from typing import Any

TEXT_SECTIONS = ("diversity", "realism", "utility", "leakage")
"""The text report's sections, in the order they are shown."""

SECTION_ALIASES = {"fidelity": ("diversity", "realism"), "privacy": ("leakage",)}
"""The tabular section names, accepted for text too (``--sections fidelity,utility,privacy``)."""

__all__ = ["SECTION_ALIASES", "TEXT_SECTIONS", "evaluate_text"]


def evaluate_text(**kwargs: Any) -> Any:
    """Build the text validation report (see :func:`simulacra.evaluation.text.report.evaluate_text`)."""
    from .report import evaluate_text as _evaluate_text

    return _evaluate_text(**kwargs)
