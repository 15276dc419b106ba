"""Private codecs: the bins and categories of a model fitted with ε, from noisy histograms only.

A private model splits its budget (ε, δ) by basic composition: ``CODEC_SHARE`` of it pays for the codecs
(bin edges of numbers and the list of categories, released with the Gaussian mechanism under
zero-concentrated DP: every column's histograms together), the rest for the model itself (DP-SGD for the
autoregressive network, noisy marginals for MST). Bounds of a number come from a ``range`` constraint
of the schema when there is one (free), else from a noisy histogram over a fixed, data-independent log
grid. Categories
come from noisy counts kept above a threshold set by δ (the stability histogram); the values that do
not pass it share one bin that decodes to ``OTHER``, never to a real rare value.

The noise comes from fresh OS entropy (:func:`simulacra.seeding.secret_rng`), never from the seed.
The number of histogram queries is counted from the schema before any data is read (a number column
learned as a difference of an inequality costs two, like one without a schema range); asking for more
than were planned is an error, so the budget cannot be overspent.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import erfc

from ...errors import UsageError
from ...schema.constraints import Formula, Inequality, Range
from ...schema.kinds import Kind
from ...seeding import secret_rng
from ..codecs import CategoricalCodec, Codec, NumericCodec

CODEC_SHARE = 0.2  # share of ε and δ spent on the codecs
OTHER = "(other)"
_GRID_PER_OCTAVE = 4  # coarse grid for bounds: 4 cells per doubling of |x|, both signs
_GRID_MAX = 50 * _GRID_PER_OCTAVE  # up to 2**50
_FINE_CELLS = 160  # cells of the fine histogram between the bounds
_INT_EXACT = 160  # integer columns spanning at most this many values get one cell per value
_NUMBERS = (Kind.INTEGER, Kind.FLOAT, Kind.DATETIME)


def check_budget(epsilon: float | None, delta: float) -> None:
    """One clear error for an impossible privacy budget."""
    if epsilon is None:
        return
    if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon > 0):
        raise UsageError(f"epsilon must be a positive number, got {epsilon!r}")
    if not (0 < delta < 1):
        raise UsageError(f"delta must be between 0 and 1 (e.g. 1e-5), got {delta!r}")


def rho_for(epsilon: float, delta: float) -> float:
    """The zCDP ρ whose (ε, δ) conversion ρ + 2·sqrt(ρ·ln(1/δ)) equals ``epsilon``."""
    log_d = math.log(1.0 / delta)
    s = -math.sqrt(log_d) + math.sqrt(log_d + epsilon)
    return s * s


def _tail(x: float) -> float:
    """P(N(0,1) > x)."""
    return 0.5 * erfc(x / math.sqrt(2.0))


class CodecBudget:
    """Splits the codecs' share of the budget over the columns' histogram queries."""

    def __init__(self, epsilon: float, delta: float, n_queries: int, n_categorical: int) -> None:
        self.epsilon, self.delta = epsilon, delta
        self.rho = rho_for(epsilon, delta / 2)  # δ/2 for the zCDP conversion
        self.n_queries = max(n_queries, 1)
        # a Gaussian query of L2 sensitivity 1 costs 1/(2σ²); all queries share ρ equally
        self.sigma = math.sqrt(self.n_queries / (2.0 * self.rho))
        # δ/2 for the categories: a value held by one row passes the threshold with at most this chance
        per = (delta / 2) / max(n_categorical, 1)
        z = 1.0
        while _tail(z) > per:
            z += 0.05
        self.threshold = 1.0 + z * self.sigma
        self.rng = secret_rng()  # noise must not be reproducible from a public seed
        self.used = 0

    def charge(self, queries: int) -> None:
        """Count ``queries`` histogram releases against the plan; more than planned is an error."""
        self.used += queries
        if self.used > self.n_queries:
            raise RuntimeError(
                f"the private codecs asked for {self.used} histograms but the budget was split over "
                f"{self.n_queries}; this is a bug in simulacra, please report it"
            )

    def noisy(self, counts: np.ndarray) -> np.ndarray:
        return counts + self.rng.normal(0.0, self.sigma, size=np.shape(counts))


def count_queries(schema: Any) -> tuple[int, int]:
    """Histogram queries the private codecs will make, and how many are of categories, from the schema
    alone: 2 per number without schema bounds (or learned as a difference), else 1."""
    cons = getattr(schema, "constraints", [])
    diffs = {c.parts()[0] for c in cons if isinstance(c, Inequality)}
    computed = {c.target for c in cons if isinstance(c, Formula)}
    q, cats = 0, 0
    for name in schema.learned_columns():
        if name in computed:
            continue
        if schema.columns[name].kind in _NUMBERS:
            q += 1 if (name not in diffs and _schema_bounds(schema, name) != (None, None)) else 2
        else:
            q += 1
            cats += 1
    return q, cats


def _schema_bounds(schema: Any, name: str) -> tuple[float | None, float | None]:
    lo = hi = None
    for c in getattr(schema, "constraints", []):
        if isinstance(c, Range) and c.range == name:
            try:
                lo = float(c.min) if c.min is not None else lo
                hi = float(c.max) if c.max is not None else hi
            except (TypeError, ValueError):  # datetimes: leave to the private histogram
                return None, None
    return (lo, hi) if lo is not None and hi is not None else (None, None)


def _grid_index(x: np.ndarray) -> np.ndarray:
    mag = np.ceil(_GRID_PER_OCTAVE * np.log2(1.0 + np.abs(x)))
    return (np.sign(x) * np.minimum(mag, _GRID_MAX)).astype(np.int64) + _GRID_MAX


def _grid_edges(idx: int) -> tuple[float, float]:
    k = idx - _GRID_MAX
    if k == 0:
        return 0.0, 0.0
    a = 2.0 ** ((abs(k) - 1) / _GRID_PER_OCTAVE) - 1.0
    b = 2.0 ** (abs(k) / _GRID_PER_OCTAVE) - 1.0
    return (a, b) if k > 0 else (-b, -a)


def private_numeric_codec(
    x: np.ndarray, kind: Kind, budget: CodecBudget, bounds: tuple[float | None, float | None]
) -> NumericCodec:
    """A :class:`NumericCodec` whose bins come from noisy histograms only (see the module docstring)."""
    codec = NumericCodec(kind)
    nan = np.isnan(x)
    finite = x[~nan]
    integral = kind in (Kind.INTEGER, Kind.DATETIME)
    lo, hi = bounds
    budget.charge(1 if lo is not None and hi is not None else 2)
    if lo is None or hi is None:
        counts = np.bincount(_grid_index(finite), minlength=2 * _GRID_MAX + 1).astype(float)
        noisy = budget.noisy(counts)
        # 4.5σ: with 401 empty cells, a false bound happens with chance about 1e-3
        keep = np.flatnonzero(noisy > 4.5 * budget.sigma)
        if keep.size == 0:
            keep = np.array([int(np.argmax(noisy))])
        lo, hi = _grid_edges(int(keep[0]))[0], _grid_edges(int(keep[-1]))[1]
    if integral:
        lo, hi = math.floor(lo), math.ceil(hi)
    # the fine histogram: one cell per integer when few, else cells even in asinh space
    if integral and hi - lo + 1 <= _INT_EXACT:
        edges = np.arange(lo, hi + 2, dtype=float) - 0.5
        points = np.arange(lo, hi + 1, dtype=float)
    else:
        scale = max(1.0, 0.01 * max(abs(lo), abs(hi)))
        t = np.linspace(np.arcsinh(lo / scale), np.arcsinh(hi / scale), _FINE_CELLS + 1)
        edges = np.unique(np.sinh(t) * scale)
        edges[0], edges[-1] = lo, hi
        if lo <= 0 <= hi:  # zero often carries a lot of mass: give it a point cell
            edges = np.unique(np.concatenate([edges, [-1e-9, 1e-9]]))
        points = None
    clipped = np.clip(finite, edges[0], edges[-1])
    cell = np.clip(np.searchsorted(edges, clipped, side="right") - 1, 0, edges.size - 2)
    counts = np.bincount(cell, minlength=edges.size - 1).astype(float)
    noisy = np.clip(budget.noisy(counts), 0, None)
    total = max(noisy.sum(), 1.0)
    los, his, inner = [], [], []
    is_point = np.zeros(edges.size - 1, dtype=bool)
    if points is not None:
        is_point = noisy >= max(codec.point_share * total, 3 * budget.sigma)
    elif lo <= 0 <= hi:
        zero = int(np.searchsorted(edges, 0.0, side="right") - 1)
        is_point[zero] = noisy[zero] >= max(codec.point_share * total, 3 * budget.sigma)
    for c in np.flatnonzero(is_point):
        v = points[c] if points is not None else 0.0
        los.append(v)
        his.append(v)
        inner.append(np.full(codec.n_inner + 1, v))
    # the other cells merge into intervals of about equal noisy mass
    rest = np.flatnonzero(~is_point)
    if rest.size:
        target = noisy[rest].sum() / codec.n_bins
        start, acc = 0, 0.0
        groups = []
        for i, c in enumerate(rest):
            acc += noisy[c]
            contiguous = i + 1 < rest.size and rest[i + 1] == c + 1
            if acc >= target or not contiguous or i + 1 == rest.size:
                groups.append(rest[start : i + 1])
                start, acc = i + 1, 0.0
        for g in groups:
            a, b = edges[g[0]], edges[g[-1] + 1]
            if integral:
                a, b = math.ceil(a), math.floor(b)
                if b < a:
                    continue
            los.append(a)
            his.append(b)
            inner.append(np.linspace(a, b, codec.n_inner + 1))
    order = np.argsort(np.asarray(los, dtype=float), kind="stable")
    codec.lo_ = np.asarray(los, dtype=float)[order]
    codec.hi_ = np.asarray(his, dtype=float)[order]
    codec.inner_ = np.asarray(inner, dtype=float).reshape(-1, codec.n_inner + 1)[order]
    if codec.lo_.size == 0:
        codec.lo_ = codec.hi_ = np.array([lo], dtype=float)
        codec.inner_ = np.full((1, codec.n_inner + 1), lo, dtype=float)
    codec.integral_ = integral
    # a row is either missing or in one cell: the count of missing values is one more cell of the same
    # histogram (no extra query); likewise for categories below
    codec.has_missing_ = bool(budget.noisy(np.array([nan.sum()]))[0] > 4 * budget.sigma)
    return codec


def private_categorical_codec(values: pd.Series, budget: CodecBudget) -> CategoricalCodec:
    """A :class:`CategoricalCodec` keeping the categories whose noisy count clears the threshold."""
    codec = CategoricalCodec()
    budget.charge(1)
    counts = values.value_counts(dropna=True)
    noisy = budget.noisy(counts.to_numpy(dtype=float))
    keep = (noisy >= budget.threshold) & (noisy >= codec.rare_count)
    order = np.argsort(-noisy[keep], kind="stable")
    codec.categories_ = [v.item() if isinstance(v, np.generic) else v for v in counts.index[keep][order]]
    rest = noisy[~keep].sum() if (~keep).any() else 0.0
    # the pooled bin exists when the noisy mass outside the kept values is clearly there
    if rest > 3 * budget.sigma * math.sqrt(max(int((~keep).sum()), 1)) or not codec.categories_:
        codec.rare_values_, codec.rare_weights_ = [OTHER], np.ones(1)
    else:
        codec.rare_values_, codec.rare_weights_ = [], np.zeros(0)
    codec.has_missing_ = bool(budget.noisy(np.array([values.isna().sum()]))[0] > 4 * budget.sigma)
    codec._lookup = None
    return codec


class PrivateCodecs:
    """The ``make_codec`` hook of a model fitted with ε: every codec from noisy histograms."""

    def __init__(self, epsilon: float, delta: float) -> None:
        self.epsilon, self.delta = epsilon, delta
        self.budget: CodecBudget | None = None
        self.columns: list[dict[str, Any]] = []

    def plan(self, schema: Any) -> None:
        """Split the budget over the histograms the schema implies (before any data is read)."""
        queries, cats = count_queries(schema)
        self.budget = CodecBudget(self.epsilon, self.delta, queries, cats)

    def make(self, name: str, role: str, kind: Kind, data: Any, schema: Any) -> Codec:
        if role == "fixed":
            raise UsageError(
                "fixed-combination constraints list combinations taken from the data, which a private "
                "model cannot do; drop the constraint or fit without --epsilon"
            )
        assert self.budget is not None
        if kind in _NUMBERS:
            bounds = _schema_bounds(schema, name) if role == "plain" else (None, None)
            x = np.asarray(data, dtype=float)
            codec = private_numeric_codec(x, kind, self.budget, bounds)
            src = "schema range" if bounds != (None, None) else "DP histogram"
            self.columns.append({"column": name, "bins": int(codec.n_codes), "bounds": src})
            return codec
        codec = private_categorical_codec(pd.Series(data), self.budget)
        self.columns.append(
            {
                "column": name,
                "categories_kept": len(codec.categories_),
                "pooled_as": OTHER if codec.has_rare else None,
            }
        )
        return codec

    def ledger(self) -> dict[str, Any]:
        b = self.budget
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "mechanism": "Gaussian mechanism, zCDP over all column histograms",
            "histograms": None if b is None else b.n_queries,
            "histograms_released": None if b is None else b.used,
            "noise_sigma": None if b is None else round(b.sigma, 3),
            "category_threshold": None if b is None else round(b.threshold, 1),
            "columns": self.columns,
        }
