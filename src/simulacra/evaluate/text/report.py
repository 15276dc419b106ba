"""Transitional alias: :mod:`simulacra.evaluation.text.report`."""

from simulacra.evaluation.text.report import evaluate_text  # noqa: F401
