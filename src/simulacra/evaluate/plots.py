"""Transitional alias: :mod:`simulacra.evaluation.figures` and :mod:`simulacra.evaluation.tabular.plots`."""

from simulacra.evaluation.figures import *  # noqa: F403
from simulacra.evaluation.tabular.plots import dcr_histogram_svg, importance_svg, pairs_heatmap_svg  # noqa: F401
