"""Transitional alias: :mod:`simulacra.evaluation.tabular.detection`."""

from simulacra.evaluation.tabular.detection import *  # noqa: F403
from simulacra.evaluation.tabular.detection import __all__  # noqa: F401
