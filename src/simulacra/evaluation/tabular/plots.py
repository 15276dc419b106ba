"""The tabular report's figures (inline SVG, drawn with :mod:`simulacra.evaluation.figures`): pairwise
accuracy heatmaps, the distance-to-closest-record histogram and feature importances; and which figure
goes with which data and caption (:func:`figure_specs`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..figures import (
    COLORS,
    FIGSIZE,
    add_legend,
    figure_style,
    floats,
    matrix,
    new_figure,
    percent_axis,
    to_svg,
    truncate_label,
)

__all__ = ["dcr_histogram_svg", "figure_specs", "importance_svg", "pairs_heatmap_svg"]

MAX_FEATURES = 20  # an importance chart keeps the MAX_FEATURES most important features


def pairs_heatmap_svg(fig_data: Mapping[str, Any]) -> str:
    """Pairwise accuracy (``1 − TVD`` of each pair of columns) as two heatmaps sharing one colour scale:
    synthetic vs train beside the reference, real holdout vs train (``fig_data``: ``columns``,
    ``synthetic`` and optional ``reference``, square matrices). Only the lower triangle is drawn.
    Raises ``ValueError`` on unusable data."""
    columns = [truncate_label(c, 14) for c in (fig_data.get("columns") or [])]
    n = len(columns)
    if n < 2:
        raise ValueError("a pair heatmap needs at least two columns")
    panels = [("synthetic vs train", matrix(fig_data.get("synthetic"), "synthetic matrix", n))]
    if fig_data.get("reference") is not None:
        panels.append(("real holdout vs train (reference)",
                       matrix(fig_data.get("reference"), "reference matrix", n)))
    lower = np.tril(np.ones((n, n), dtype=bool), k=-1)
    finite = np.concatenate([m[lower & np.isfinite(m)] for _, m in panels])
    # the scale starts at a low quantile, not at the minimum, so that one very poor pair does not wash
    # out every other cell; cells below it take the palest colour
    low = float(np.quantile(finite, 0.05)) if finite.size else 0.9
    vmin = min(math.floor(min(low, 0.9) * 20) / 20, 0.95)
    clipped = bool(finite.size and finite.min() < vmin)

    side = min(max(3.2, 0.2 * n + 1.4), 5.2)  # inches per panel; labels take about 1.2 of them
    cell_pt = (side - 1.2) * 72 / max(n - 1, 1)
    fontsize = min(7.0, cell_pt * 0.8)
    with figure_style():
        fig = new_figure(side * len(panels) + 0.8, side + 0.3)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        cmap = mpl.colormaps["YlGnBu"].with_extremes(bad="#ffffff")
        image = None
        for ax, (name, mat) in zip(axes, panels, strict=True):
            shown = np.where(lower, mat, np.nan)
            image = ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=1.0, interpolation="nearest", aspect="equal")
            ax.set_title(name)
            if fontsize >= 4:
                ax.set_xticks(np.arange(n - 1))
                ax.set_xticklabels(columns[:-1], rotation=90, fontsize=fontsize)
                ax.set_yticks(np.arange(1, n))
                ax.set_yticklabels(columns[1:], fontsize=fontsize)
            else:  # too many columns to label
                ax.set_xticks([])
                ax.set_yticks([])
            ax.set_xlim(-0.5, n - 1.5)
            ax.set_ylim(n - 0.5, 0.5)
            ax.tick_params(length=0)
            for spine in ax.spines.values():
                spine.set_visible(False)
        assert image is not None
        bar = fig.colorbar(image, ax=list(axes), shrink=0.7, aspect=25, pad=0.02,
                           extend="min" if clipped else "neither")
        bar.ax.tick_params(labelsize=6.5, length=2)
        percent_axis(bar.ax.yaxis)
        bar.outline.set_visible(False)
        bar.set_label("pair accuracy (higher = more faithful)", fontsize=6.5)
        return to_svg(fig, "Pairwise accuracy heatmaps")


def dcr_histogram_svg(fig_data: Mapping[str, Any]) -> str:
    """Histogram of the distance to the closest training record, for synthetic rows and for real holdout
    rows (the reference for a fresh record), each as a share of its rows (``fig_data``: bin ``edges`` and
    per-bin ``synthetic`` / ``holdout`` counts). Raises ``ValueError`` on unusable data."""
    edges = floats(fig_data.get("edges"), "DCR bin edges")
    if len(edges) < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError("DCR bin edges must be at least two increasing numbers")
    n = len(edges) - 1
    series = {k: floats(fig_data[k], f"{k} DCR counts", n)
              for k in ("holdout", "synthetic") if fig_data.get(k) is not None}
    if not series:
        raise ValueError("DCR histogram has no counts")

    with figure_style():
        fig = new_figure(*FIGSIZE)
        ax = fig.add_subplot()
        handles = []
        for key, counts in series.items():
            counts = np.nan_to_num(counts)
            total = counts.sum()
            shares = counts / total if total > 0 else counts
            if key == "holdout":  # the reference as a light area, synthetic as a bold outline on top
                ax.stairs(shares, edges, fill=True, color=COLORS[key], alpha=0.25, linewidth=0)
                ax.stairs(shares, edges, color=COLORS[key], linewidth=1.0)
                handles.append(Patch(facecolor=mpl.colors.to_rgba(COLORS[key], 0.25), edgecolor=COLORS[key],
                                     linewidth=1.0, label="real holdout → train (reference)"))
            else:
                handles.append(ax.stairs(shares, edges, color=COLORS[key], linewidth=1.8,
                                         label="synthetic → train"))
        percent_axis(ax.yaxis)
        ax.yaxis.grid(True)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(bottom=0)
        ax.set_xlabel("distance to the closest training record (0 = exact copy)")
        ax.set_ylabel("share of rows")
        ax.set_title("Distance to closest training record")
        add_legend(fig, handles, [h.get_label() for h in handles])
        return to_svg(fig, "Distance to closest training record")


def importance_svg(fig_data: Mapping[str, Any]) -> str:
    """Feature importance of a model trained on real data vs one trained on synthetic data, as
    horizontal grouped bars, most important (on real data) first (``fig_data``: ``features``, ``real``,
    ``synthetic``; at most ``MAX_FEATURES`` are shown). Raises ``ValueError`` on unusable data."""
    features = [str(f) for f in (fig_data.get("features") or [])]
    n = len(features)
    if n == 0:
        raise ValueError("feature importance has no features")
    series = {k: floats(fig_data[k], f"{k} importances", n)
              for k in ("real", "synthetic") if fig_data.get(k) is not None}
    if not series:
        raise ValueError("feature importance has no values")
    key = series.get("real", next(iter(series.values())))
    order = np.argsort(-np.nan_to_num(key, nan=-np.inf), kind="stable")[:MAX_FEATURES]
    names = [truncate_label(features[i]) for i in order]
    m = len(order)

    with figure_style():
        fig = new_figure(FIGSIZE[0], max(FIGSIZE[1], 0.75 + 0.2 * m))
        ax = fig.add_subplot()
        height = 0.8 / len(series)
        y = np.arange(m)
        handles = []
        colors = {"real": COLORS["train"], "synthetic": COLORS["synthetic"]}
        labels = {"real": "model trained on real", "synthetic": "model trained on synthetic"}
        for j, (name, values) in enumerate(series.items()):
            offset = (j - (len(series) - 1) / 2) * height
            handles.append(ax.barh(y + offset, np.nan_to_num(values[order]), height=height,
                                   color=colors[name], linewidth=0, label=labels[name]))
        ax.set_yticks(y)
        ax.set_yticklabels(names)
        ax.set_ylim(m - 0.5, -0.5)
        ax.tick_params(axis="y", length=0)
        ax.xaxis.grid(True)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.axvline(0, color=COLORS["muted"], linewidth=0.6)
        ax.set_xlabel("importance")
        ax.set_title("Feature importance")
        add_legend(fig, handles, [h.get_label() for h in handles])
        return to_svg(fig, "Feature importance, real vs synthetic")


def figure_specs(figures: Mapping[str, Any]) -> list[tuple[Callable[..., str], Any, str]]:
    """(render function, figure data, caption) for each tabular figure present in ``figures``."""
    out = []
    if "pairs" in figures:
        out.append((
            pairs_heatmap_svg,
            figures.get("pairs"),
            "Accuracy of every pair of columns. Left: synthetic data compared with the training "
            "data. Right: the real holdout compared with the training data, the level a fresh real sample "
            "reaches. Similar colours on both sides are good; a pale cell only on the left marks a "
            "relationship between two columns that the generator did not learn.",
        ))
    if "importance" in figures:
        out.append((
            importance_svg,
            figures.get("importance"),
            "How much each column drives the predictions of a model trained on real data (grey) "
            "and of the same kind of model trained on synthetic data (orange). Similar bars mean the "
            "synthetic data teaches the same patterns.",
        ))
    if "dcr" in figures:
        out.append((
            dcr_histogram_svg,
            figures.get("dcr"),
            "For every synthetic row (orange) and every real holdout row (blue), the distance "
            "to the most similar training row. The holdout shows what genuinely new records look like. "
            "If the orange mass sits clearly to the left of the blue — especially at 0, exact copies — "
            "the synthetic data is too close to the training rows.",
        ))
    return out
