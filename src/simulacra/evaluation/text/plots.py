"""Figures of the text report, drawn like the tabular ones (:mod:`simulacra.evaluation.figures`: inline SVG,
no pyplot, deterministic): the 2-D embedding map, macro-F1 per training set, and — through the shared
bar chart — words per text and label shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from matplotlib.lines import Line2D

from ..figures import (
    COLORS,
    FIGSIZE,
    add_legend,
    figure_style,
    floats,
    marginal_svg,
    new_figure,
    to_svg,
    truncate_label,
)

MARKERS = ("o", "^", "s", "D", "v", "P")
GROUPS = {"holdout": "real holdout", "synthetic": "synthetic", "train": "real train (seeds)"}
SETUP_COLORS = {"real": COLORS["train"], "synthetic": COLORS["synthetic"], "both": "#a64d00"}


def embedding_map_svg(fig_data: Mapping[str, Any]) -> str:
    """Scatter of real holdout, synthetic and train texts on the first two principal components
    (``fig_data``: ``groups`` of ``x``, ``y`` and optional ``label`` lists; ``explained`` variance
    shares). Marker shape shows the label when there are at most six. Raises ``ValueError`` on
    unusable data."""
    groups = fig_data.get("groups") or {}
    if not groups:
        raise ValueError("the embedding map has no points")
    labels = sorted({lab for g in groups.values() for lab in (g.get("label") or [])})
    marker = {lab: MARKERS[i] for i, lab in enumerate(labels)} if 0 < len(labels) <= len(MARKERS) else {}
    with figure_style():
        fig = new_figure(FIGSIZE[0] + 0.6, FIGSIZE[1] + 1.2)
        ax = fig.add_subplot()
        handles = []
        for name in ("holdout", "synthetic", "train"):
            g = groups.get(name)
            if not g:
                continue
            x, y = floats(g.get("x"), f"{name} x"), floats(g.get("y"), f"{name} y")
            if len(x) != len(y):
                raise ValueError(f"{name} has {len(x)} x and {len(y)} y values")
            lab = g.get("label") or [None] * len(x)
            size, alpha = (28, 0.95) if name == "train" else (9, 0.45)
            edge = "#333333" if name == "train" else "none"
            for value in dict.fromkeys(lab):
                idx = np.array([i for i, v in enumerate(lab) if v == value], dtype=int)
                ax.scatter(
                    x[idx],
                    y[idx],
                    s=size,
                    alpha=alpha,
                    c=COLORS[name],
                    marker=marker.get(value, "o"),
                    linewidths=0.6 if name == "train" else 0,
                    edgecolors=edge,
                )
            handles.append(Line2D([], [], linestyle="", marker="o", color=COLORS[name], label=GROUPS[name]))
        for value, m in marker.items():
            handles.append(
                Line2D([], [], linestyle="", marker=m, color=COLORS["muted"], label=truncate_label(value, 14))
            )
        explained = fig_data.get("explained") or []
        if len(explained) == 2:
            ax.set_xlabel(f"component 1 ({explained[0]:.0%} of variance)")
            ax.set_ylabel(f"component 2 ({explained[1]:.0%})")
        ax.tick_params(labelbottom=False, labelleft=False, length=0)
        rep = str(fig_data.get("representation") or "embeddings")
        ax.set_title(f"Map of the texts ({truncate_label(rep, 30)})")
        add_legend(fig, handles, [h.get_label() for h in handles])
        return to_svg(fig, "Map of real and synthetic texts")


def macro_f1_svg(fig_data: Mapping[str, Any]) -> str:
    """Macro-F1 on the real holdout per training set (real only, synthetic only, both) and per
    classifier, with bootstrap intervals (``fig_data``: ``featurizers`` → setup → ``macro_f1``,
    ``ci``; ``setups``: names). Raises ``ValueError`` on unusable data."""
    feats = fig_data.get("featurizers") or {}
    names = fig_data.get("setups") or {}
    if not feats:
        raise ValueError("no classifier results")
    setups = ("real", "synthetic", "both")
    with figure_style():
        fig = new_figure(FIGSIZE[0], max(FIGSIZE[1], 1.0 + 0.7 * len(feats)))
        ax = fig.add_subplot()
        height = 0.8 / len(setups)
        handles = []
        for j, setup in enumerate(setups):
            vals = [(feats[f].get(setup) or {}).get("macro_f1") for f in feats]
            cis = [(feats[f].get(setup) or {}).get("ci") or [None, None] for f in feats]
            v = floats(vals, f"{setup} macro-F1")
            y = np.arange(len(feats)) + (j - 1) * height
            handles.append(
                ax.barh(
                    y,
                    np.nan_to_num(v),
                    height=height,
                    color=SETUP_COLORS[setup],
                    linewidth=0,
                    label=str(names.get(setup, setup)),
                )
            )
            lo = floats([c[0] for c in cis], f"{setup} interval")
            hi = floats([c[1] for c in cis], f"{setup} interval")
            ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(v)
            if ok.any():
                ax.errorbar(
                    v[ok],
                    y[ok],
                    xerr=[v[ok] - lo[ok], hi[ok] - v[ok]],
                    fmt="none",
                    ecolor=COLORS["text"],
                    elinewidth=0.7,
                    capsize=2,
                )
        ax.set_yticks(np.arange(len(feats)))
        ax.set_yticklabels([truncate_label(f, 22) for f in feats])
        ax.set_ylim(len(feats) - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.xaxis.grid(True)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel("macro-F1 on the real holdout")
        ax.set_title("Did the synthetic data help?")
        add_legend(fig, handles, [h.get_label() for h in handles])
        return to_svg(fig, "Macro-F1 on the real holdout by training set")


def figure_specs(figures: Mapping[str, Any]) -> list[tuple[Callable[..., str], Any, str]]:
    """The text figures of one section as ``(render, data, caption)``, in the order they are shown."""
    out: list[tuple[Callable[..., str], Any, str]] = []
    if "macro_f1" in figures:
        out.append(
            (
                macro_f1_svg,
                figures["macro_f1"],
                "Macro-F1 on the real held-out texts of the same classifier (logistic regression on "
                "sentence embeddings or on TF-IDF) trained on the real train texts "
                "alone (grey), on the synthetic texts alone (orange) and on both (brown); the lines are 95% "
                "bootstrap intervals. The synthetic data helped where brown beats grey.",
            )
        )
    if "embedding_map" in figures:
        out.append(
            (
                embedding_map_svg,
                figures["embedding_map"],
                "Every text as a point on the two main directions of variation of the real holdout and "
                "synthetic texts. Orange points should spread over the blue cloud: an orange cluster off to "
                "one side is a topic or style real texts lack, a blue region without orange is one the "
                "generator missed. Seeds are the outlined points.",
            )
        )
    if "labels" in figures:
        out.append(
            (
                marginal_svg,
                figures["labels"],
                "Share of texts per label in the real train (seed) texts, the real holdout and the synthetic "
                "texts.",
            )
        )
    for item in figures.get("lengths") or []:
        out.append(
            (
                marginal_svg,
                item,
                "Words per text, binned at the real holdout's deciles: synthetic bars should follow the "
                "blue ones.",
            )
        )
    return out
