"""Transitional alias: :mod:`simulacra.evaluation.sequences`."""

from simulacra.evaluation.sequences import compare_sequences, sequence_section  # noqa: F401
