"""Transitional alias: :mod:`simulacra.evaluation.tabular.fidelity`."""

from simulacra.evaluation.tabular.fidelity import *  # noqa: F403
from simulacra.evaluation.tabular.fidelity import __all__  # noqa: F401
