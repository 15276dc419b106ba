"""Transitional alias: :mod:`simulacra.evaluation.tabular.utility`."""

from simulacra.evaluation.tabular.utility import *  # noqa: F403
from simulacra.evaluation.tabular.utility import __all__  # noqa: F401
