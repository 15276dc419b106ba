"""Transitional alias: :mod:`simulacra.evaluation.tabular.privacy`."""

from simulacra.evaluation.tabular.privacy import *  # noqa: F403
from simulacra.evaluation.tabular.privacy import __all__  # noqa: F401
