"""Transitional alias: :mod:`simulacra.evaluation.text`."""

from simulacra.evaluation.text import SECTION_ALIASES, TEXT_SECTIONS, evaluate_text  # noqa: F401
