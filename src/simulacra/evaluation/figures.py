"""Small, deterministic SVG figures for the validation report (matplotlib, no GUI, no pyplot): the
shared drawing rules and the bar chart of shares that every data kind uses (tabular figures live in
:mod:`.tabular.plots`, text figures in :mod:`.text.plots`).

Every function takes one figure's data from the report dict and returns an ``<svg ...>...</svg>`` string
ready to be inlined in HTML: no XML prolog, no DOCTYPE, no metadata block, no document-wide ``<style>``,
and every ``id`` scoped by a prefix derived from the figure's content, so that many figures can live in one
page without id clashes. Text stays text (``svg.fonttype = none``), so figures are small and the page's
font is used. Output is byte-identical for identical input (fixed ``svg.hashsalt``, no date).

The per-column bar charts, the most numerous figures, are written as SVG elements directly (a fixed,
small cost each, whatever the column); the others are drawn on a bare
:class:`matplotlib.figure.Figure` rendered by the non-interactive backends (Agg for layout, SVG for
output): pyplot and the global backend are never touched, nothing needs closing, and importing this
module inside a notebook does not change how the notebook draws its own plots.

Palette, the same in every figure: real training data grey, real holdout blue, synthetic orange.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib import style as mpl_style
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator

__all__ = [
    "COLORS",
    "FIGSIZE",
    "SERIES_LABELS",
    "add_legend",
    "figure_style",
    "floats",
    "marginal_svg",
    "matrix",
    "new_figure",
    "percent_axis",
    "to_svg",
    "truncate_label",
]

COLORS = {
    "train": "#9a9a9a",  # real training data
    "holdout": "#3d7cc9",  # real holdout data
    "synthetic": "#f0892b",  # synthetic data
    "text": "#2b2f36",
    "muted": "#6b7280",
    "grid": "#e5e7eb",
}
SERIES_LABELS = {"train": "real train", "holdout": "real holdout", "synthetic": "synthetic"}

LABEL_CHARS = 18  # longest category / feature label before it is cut with an ellipsis
TITLE_CHARS = 40
MAX_BINS = 30  # a marginal with more bins keeps the MAX_BINS largest ones
FIGSIZE = (4.5, 2.6)  # inches, for the small figures

_RC: dict[str, Any] = {
    "svg.hashsalt": "simulacra-report",
    "svg.fonttype": "none",
    "svg.id": None,
    "text.parse_math": False,  # a "$" in a category label is a dollar sign, not mathtext
    "text.usetex": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 8.0,
    "axes.titlesize": 8.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 4.0,
    "axes.labelsize": 7.5,
    "axes.labelcolor": COLORS["text"],
    "axes.edgecolor": "#9ca3af",
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "axes.grid": False,
    "grid.color": COLORS["grid"],
    "grid.linewidth": 0.6,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "xtick.color": COLORS["muted"],
    "ytick.color": COLORS["muted"],
    "xtick.labelcolor": COLORS["text"],
    "ytick.labelcolor": COLORS["text"],
    "xtick.major.size": 2.0,
    "ytick.major.size": 2.0,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "legend.fontsize": 7.0,
    "legend.frameon": False,
    "legend.handlelength": 1.0,
    "legend.handleheight": 0.8,
    "legend.borderaxespad": 0.2,
    "legend.columnspacing": 1.0,
    "legend.handletextpad": 0.4,
    "figure.facecolor": "white",
    "figure.dpi": 72.0,
    "savefig.facecolor": "white",
    "savefig.bbox": None,
    "path.simplify": True,
}

_ID_RE = re.compile(r'\bid="([^"]+)"')


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """matplotlib's defaults plus ``_RC``, whatever the caller's own settings or style; restored on exit."""
    with mpl.rc_context():
        mpl_style.use("default")
        mpl.rcParams.update(_RC)
        yield


def truncate_label(label: object, limit: int = LABEL_CHARS) -> str:
    """``str(label)`` on one line, cut to ``limit`` characters with a trailing ellipsis when longer."""
    text = " ".join(str(label).split())
    return text if len(text) <= limit else text[: max(limit - 1, 1)].rstrip() + "…"


def floats(values: Any, name: str, n: int | None = None) -> np.ndarray:
    """A 1-d float array; ``None`` entries become NaN. Raises ``ValueError`` on a wrong length."""
    if values is None:
        raise ValueError(f"{name} is missing")
    try:
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a list of numbers") from exc
    if n is not None and len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} values, expected {n}")
    return arr


def matrix(values: Any, name: str, n: int) -> np.ndarray:
    """An ``n x n`` float matrix; raises ``ValueError`` on a wrong shape."""
    if values is None:
        raise ValueError(f"{name} is missing")
    rows = [floats(row, f"{name} row {i}", n) for i, row in enumerate(values)]
    if len(rows) != n:
        raise ValueError(f"{name} has {len(rows)} rows, expected {n}")
    return np.vstack(rows) if rows else np.zeros((0, 0))


class _Percent(Formatter):
    """Fractions as percentages, with as many decimals as the tick spacing needs (0.05 → "5%")."""

    _ticks: Sequence[float] = ()

    def set_locs(self, locs: Sequence[float]) -> None:
        self._ticks = list(locs)

    def __call__(self, x: float, pos: int | None = None) -> str:
        steps = np.diff(np.asarray(self._ticks, dtype=float))
        step = float(steps[steps > 0].min()) if (steps > 0).any() else (abs(x) or 1.0)
        decimals = max(0, -math.floor(math.log10(step * 100) + 1e-9))
        text = f"{x * 100:.{decimals}f}%"
        return "0%" if float(text[:-1]) == 0 else text


def percent_axis(axis: Any) -> None:
    """Ticks as percentages, at most five."""
    axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10]))
    axis.set_major_formatter(_Percent())


def _scope_ids(svg: str, prefix: str) -> str:
    """Prefix every ``id`` defined in ``svg`` and every reference to it (``url(#…)``, ``href="#…"``)."""
    ids = set(_ID_RE.findall(svg))
    if not ids:
        return svg

    def ref(match: re.Match[str]) -> str:
        name = match.group(2)
        return f"{match.group(1)}{prefix}{name}" if name in ids else match.group(0)

    svg = _ID_RE.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return re.sub(r'(url\(#|href="#)([^")]+)', ref, svg)


def to_svg(fig: Figure, title: str) -> str:
    """Serialise ``fig`` to a clean, self-contained, id-scoped ``<svg>`` element."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, count=1, flags=re.S)
    # matplotlib's document-wide "*{stroke-linejoin…}" rule would leak into the page: the report's CSS
    # sets the same, scoped to its figures
    svg = re.sub(r'<defs>\s*<style type="text/css">[^<]*</style>\s*</defs>\s*', "", svg, count=1)
    prefix = "f" + hashlib.sha256(svg.encode("utf-8")).hexdigest()[:8] + "-"
    svg = _scope_ids(svg, prefix)
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1).rstrip() + "\n"


def new_figure(width: float, height: float) -> Figure:
    """A bare figure with constrained layout (no pyplot)."""
    return Figure(figsize=(width, height), layout="constrained")


def add_legend(fig: Figure, handles: list, labels: list[str]) -> None:
    """One legend row below the axes."""
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))


# --------------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------------


def marginal_svg(fig_data: Mapping[str, Any], *, legend: bool = True) -> str:
    """One column's distribution: share of rows per bin or category, real train vs real holdout vs
    synthetic as grouped bars (``fig_data``: ``column``, ``labels`` and the ``train`` / ``holdout`` /
    ``synthetic`` shares, any of the three may be missing; optional ``accuracy``).

    Bins that are empty in every series are left out; with more than ``MAX_BINS`` bins the largest are
    kept. ``legend=False`` leaves the legend out (for a gallery with one shared legend).
    Raises ``ValueError`` on unusable data.
    """
    column = str(fig_data.get("column", ""))
    labels = [truncate_label(x) for x in (fig_data.get("labels") or [])]
    n = len(labels)
    if n == 0:
        raise ValueError(f"marginal of {column!r} has no bins")
    series = {k: floats(fig_data[k], f"{k} shares of {column!r}", n)
              for k in ("train", "holdout", "synthetic") if fig_data.get(k) is not None}
    if not series:
        raise ValueError(f"marginal of {column!r} has no shares")
    stacked = np.nan_to_num(np.vstack(list(series.values())), nan=0.0)
    keep = np.flatnonzero(stacked.max(axis=0) > 0)
    if len(keep) == 0:
        keep = np.arange(n)
    if len(keep) > MAX_BINS:
        keep = np.sort(keep[np.argsort(-stacked[:, keep].max(axis=0), kind="stable")[:MAX_BINS]])
    labels = [labels[i] for i in keep]
    return _bars_svg(column, labels, {k: np.nan_to_num(v[keep]) for k, v in series.items()},
                     fig_data.get("accuracy"), legend)


def _esc(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _nice_step(top: float) -> float:
    """A tick step of 1, 2 or 5 times a power of ten giving at most five ticks up to ``top``."""
    raw = max(top, 1e-12) / 5
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _bars_svg(column: str, labels: list[str], series: dict[str, np.ndarray], acc: Any, legend: bool) -> str:
    """Grouped bars written as SVG elements directly: a fixed, small cost per figure (a few dozen
    rectangles and labels), the same drawing rules as the matplotlib figures (palette, fonts, grid)."""
    width, height = FIGSIZE[0] * 72, FIGSIZE[1] * 72
    m = len(labels)
    longest = max(len(x) for x in labels)
    rotate = m * max(longest, 3) > 42
    left, right, top = 40.0, 8.0, 18.0
    bottom = (12 + 2.6 * min(longest, LABEL_CHARS) if rotate else 16.0) + (14.0 if legend else 0.0)
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = float(max((v.max() for v in series.values()), default=0.0)) or 1.0
    step = _nice_step(peak)
    y_max = math.ceil(peak / step - 1e-9) * step
    decimals = max(0, -math.floor(math.log10(step * 100) + 1e-9))

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    slot = plot_w / m
    out = [f'<svg role="img" aria-label="Distribution of {_esc(column)}" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width:.0f}pt" height="{height:.1f}pt" viewBox="0 0 {width:.0f} {height:.1f}" '
           f'font-family="DejaVu Sans, sans-serif">',
           f'<rect width="{width:.0f}" height="{height:.1f}" fill="#ffffff"/>']
    ticks = [k * step for k in range(int(round(y_max / step)) + 1)]
    for t in ticks:
        ty = y(t)
        text = f"{t * 100:.{decimals}f}%"
        out.append(f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{ty:.1f}" y2="{ty:.1f}" '
                   f'stroke="{COLORS["grid"]}" stroke-width="0.6"/>')
        out.append(f'<text x="{left - 4:.1f}" y="{ty + 2.5:.1f}" font-size="7" text-anchor="end" '
                   f'fill="{COLORS["text"]}">{"0%" if t == 0 else text}</text>')
    out.append(f'<text transform="translate(10 {top + plot_h / 2:.1f}) rotate(-90)" font-size="7.5" '
               f'text-anchor="middle" fill="{COLORS["text"]}">share of rows</text>')
    bar_w = slot * 0.8 / len(series)
    for j, (key, values) in enumerate(series.items()):
        offset = (j - (len(series) - 1) / 2) * bar_w
        rects = []
        for i, v in enumerate(values):
            if v <= 0:
                continue
            x0 = left + slot * (i + 0.5) + offset - bar_w / 2
            rects.append(f'<rect x="{x0:.2f}" y="{y(float(v)):.2f}" width="{bar_w:.2f}" '
                         f'height="{plot_h * float(v) / y_max:.2f}"/>')
        out.append(f'<g fill="{COLORS[key]}">{"".join(rects)}</g>')
    base = top + plot_h
    out.append(f'<line x1="{left:.1f}" x2="{left:.1f}" y1="{top:.1f}" y2="{base:.1f}" stroke="#9ca3af" '
               f'stroke-width="0.6"/><line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{base:.1f}" '
               f'y2="{base:.1f}" stroke="#9ca3af" stroke-width="0.6"/>')
    for i, label in enumerate(labels):
        cx, cy = left + slot * (i + 0.5), top + plot_h + 9
        if rotate:
            out.append(f'<text transform="translate({cx:.1f} {cy - 2:.1f}) rotate(-35)" font-size="7" '
                       f'text-anchor="end" fill="{COLORS["text"]}">{_esc(label)}</text>')
        else:
            out.append(f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="7" text-anchor="middle" '
                       f'fill="{COLORS["text"]}">{_esc(label)}</text>')
    out.append(f'<text x="{left:.1f}" y="11" font-size="8.5" font-weight="bold" fill="{COLORS["text"]}">'
               f'{_esc(truncate_label(column, TITLE_CHARS))}</text>')
    if isinstance(acc, int | float) and math.isfinite(acc):
        out.append(f'<text x="{left + plot_w:.1f}" y="11" font-size="7.5" text-anchor="end" '
                   f'fill="{COLORS["muted"]}">accuracy {acc:.1%}</text>')
    if legend:
        names = [SERIES_LABELS[k] for k in series]
        widths = [12 + 4.3 * len(n) + 10 for n in names]
        x0, ly = (width - sum(widths)) / 2, height - 6
        for key, name, w in zip(series, names, widths, strict=True):
            out.append(f'<rect x="{x0:.1f}" y="{ly - 6:.1f}" width="7" height="6" fill="{COLORS[key]}"/>'
                       f'<text x="{x0 + 10:.1f}" y="{ly:.1f}" font-size="7" fill="{COLORS["text"]}">'
                       f'{_esc(name)}</text>')
            x0 += w
    out.append("</svg>")
    return "\n".join(out) + "\n"
