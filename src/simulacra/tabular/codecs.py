"""Reversible transforms between a column's values and integer bin codes.

Every learned column becomes codes ``0..K-1``: numeric columns (and datetimes, as seconds) become
point bins for frequent exact values plus quantile intervals, ordered by value; categorical columns
become their frequent categories plus one pooled bin for rare ones. Missing values get a bin of their
own, so missingness is learned like any other value, conditional on the other columns. Decoding
draws a fresh value inside the bin (piecewise-uniform along inner quantiles), so numbers are never
copied from training rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..schema.kinds import Kind


def _json_value(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


class NumericCodec:
    """Integer, float or datetime column ⇄ ordinal bin codes."""

    def __init__(
        self, kind: Kind, n_bins: int = 40, n_inner: int = 8, exact_max: int = 60, point_share: float = 0.01
    ) -> None:
        self.kind = kind
        self.n_bins = n_bins
        self.n_inner = n_inner
        self.exact_max = exact_max
        self.point_share = point_share

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, x: np.ndarray) -> NumericCodec:
        """Learn bins from float values ``x`` (NaN = missing)."""
        finite = x[~np.isnan(x)]
        self.has_missing_ = bool(np.isnan(x).any())
        self.integral_ = bool(
            self.kind == Kind.INTEGER
            or self.kind == Kind.DATETIME
            and finite.size
            and np.all(finite == np.round(finite))
        )
        uniq, counts = np.unique(finite, return_counts=True)
        if uniq.size <= self.exact_max:
            points, rest = uniq, np.empty(0)
        else:
            frequent = counts >= max(2, self.point_share * finite.size)
            points = uniq[frequent]
            rest = finite[~np.isin(finite, points)]
        lo, hi, inner = [], [], []
        for p in points:
            lo.append(p)
            hi.append(p)
            inner.append(np.full(self.n_inner + 1, p))
        if rest.size:
            edges = np.unique(np.quantile(rest, np.linspace(0, 1, self.n_bins + 1)))
            if edges.size == 1:
                edges = np.array([edges[0], edges[0]])
            for a, b in zip(edges[:-1], edges[1:], strict=True):
                last = b == edges[-1]
                sel = rest[(rest >= a) & ((rest <= b) if last else (rest < b))]
                if sel.size == 0:
                    continue
                lo.append(a)
                hi.append(b)
                q = np.quantile(sel, np.linspace(0, 1, self.n_inner + 1))
                q[0], q[-1] = a, b
                inner.append(q)
        order = np.argsort(np.asarray(lo, dtype=float), kind="stable")
        self.lo_ = np.asarray(lo, dtype=float)[order]
        self.hi_ = np.asarray(hi, dtype=float)[order]
        self.inner_ = np.asarray(inner, dtype=float).reshape(-1, self.n_inner + 1)[order]
        if self.lo_.size == 0:  # all missing
            self.lo_ = self.hi_ = np.zeros(0)
            self.inner_ = np.zeros((0, self.n_inner + 1))
        return self

    @property
    def n_codes(self) -> int:
        return int(self.lo_.size + (1 if self.has_missing_ else 0))

    @property
    def missing_code(self) -> int | None:
        return int(self.lo_.size) if self.has_missing_ else None

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Bin codes of float values (NaN → the missing code)."""
        codes = np.zeros(x.shape[0], dtype=np.int32)
        nan = np.isnan(x)
        if self.lo_.size:
            v = x[~nan]
            point = self.lo_ == self.hi_
            # exact point bins win; otherwise the interval whose lower edge is the last <= v
            pos = np.searchsorted(self.lo_, v, side="right") - 1
            pos = np.clip(pos, 0, self.lo_.size - 1)
            # step back over point bins that v does not equal
            for _ in range(3):
                wrong = point[pos] & (self.lo_[pos] != v) & (pos > 0)
                if not wrong.any():
                    break
                pos = np.where(wrong, pos - 1, pos)
            codes[~nan] = pos
        if nan.any():
            codes[nan] = self.missing_code if self.missing_code is not None else 0
        return codes

    def decode(
        self, codes: np.ndarray, rng: np.random.Generator, lo: float | None = None, hi: float | None = None
    ) -> np.ndarray:
        """Fresh float values for codes (missing code → NaN), optionally kept within [lo, hi]."""
        out = np.full(codes.shape[0], np.nan)
        valid = codes < self.lo_.size
        c = codes[valid]
        if c.size:
            sub = rng.integers(0, self.n_inner, size=c.size)
            a = self.inner_[c, sub]
            b = self.inner_[c, sub + 1]
            u = rng.random(c.size)
            if lo is not None or hi is not None:
                a_cl = np.maximum(a, lo) if lo is not None else a
                b_cl = np.minimum(b, hi) if hi is not None else b
                # when the condition cuts the drawn sub-interval away, draw inside the bin's cut instead
                empty = a_cl > b_cl
                if empty.any():
                    bl, bh = self.lo_[c], self.hi_[c]
                    a_cl = np.where(empty, np.maximum(bl, lo) if lo is not None else bl, a_cl)
                    b_cl = np.where(empty, np.minimum(bh, hi) if hi is not None else bh, b_cl)
                a, b = a_cl, b_cl
            vals = a + u * (b - a)
            if self.integral_:
                vals = np.floor(vals + rng.random(c.size))
                vals = np.clip(vals, np.ceil(a), np.floor(b))
                vals = np.where(np.ceil(a) > np.floor(b), np.round(a), vals)
            out[valid] = vals
        return out

    def range_weights(self, lo: float | None, hi: float | None) -> np.ndarray:
        """Share of each code's mass inside [lo, hi] (uniform within bins), for conditions."""
        w = np.zeros(self.n_codes)
        lo_v = -np.inf if lo is None else lo
        hi_v = np.inf if hi is None else hi
        for i in range(self.lo_.size):
            a, b = self.lo_[i], self.hi_[i]
            if a == b:
                w[i] = float(lo_v <= a <= hi_v)
            else:
                inner = self.inner_[i]
                pieces = np.clip(np.minimum(inner[1:], hi_v) - np.maximum(inner[:-1], lo_v), 0, None)
                widths = inner[1:] - inner[:-1]
                with np.errstate(invalid="ignore", divide="ignore"):
                    frac = np.where(
                        widths > 0,
                        pieces / np.where(widths > 0, widths, 1),
                        ((inner[:-1] >= lo_v) & (inner[:-1] <= hi_v)).astype(float),
                    )
                w[i] = float(frac.mean())
        return w

    # -- persistence ----------------------------------------------------------------------------
    def to_state(self, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {
            "type": "numeric",
            "kind": self.kind.value,
            "n_bins": self.n_bins,
            "n_inner": self.n_inner,
            "exact_max": self.exact_max,
            "point_share": self.point_share,
            "has_missing": self.has_missing_,
            "integral": self.integral_,
        }
        return meta, {f"{prefix}.lo": self.lo_, f"{prefix}.hi": self.hi_, f"{prefix}.inner": self.inner_}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> NumericCodec:
        c = cls(Kind(meta["kind"]), meta["n_bins"], meta["n_inner"], meta["exact_max"], meta["point_share"])
        c.has_missing_, c.integral_ = meta["has_missing"], meta["integral"]
        c.lo_, c.hi_, c.inner_ = arrays[f"{prefix}.lo"], arrays[f"{prefix}.hi"], arrays[f"{prefix}.inner"]
        return c


class CategoricalCodec:
    """Categorical or boolean column ⇄ codes: frequent categories, one pooled rare bin, missing."""

    def __init__(self, max_categories: int = 1000, rare_count: int = 5, rare_pool: int = 10_000) -> None:
        self.max_categories = max_categories
        self.rare_count = rare_count
        self.rare_pool = rare_pool

    def fit(self, values: pd.Series) -> CategoricalCodec:
        """Learn categories (by frequency) from a column of any hashable values."""
        counts = values.value_counts(dropna=True)
        self.has_missing_ = bool(values.isna().any())
        keep = counts[counts >= self.rare_count].head(self.max_categories)
        rare = counts.drop(keep.index)
        if keep.empty and not rare.empty:  # every value is rare: keep the most common ones anyway
            keep, rare = rare.head(self.max_categories), rare.iloc[self.max_categories :]
        self.categories_ = [_json_value(v) for v in keep.index]
        pool = rare.head(self.rare_pool)
        self.rare_values_ = [_json_value(v) for v in pool.index]
        self.rare_weights_ = (pool.to_numpy(dtype=float) / pool.sum()) if len(pool) else np.zeros(0)
        self._lookup = None
        return self

    @property
    def has_rare(self) -> bool:
        return len(self.rare_values_) > 0

    @property
    def n_codes(self) -> int:
        return len(self.categories_) + int(self.has_rare) + int(self.has_missing_)

    @property
    def rare_code(self) -> int | None:
        return len(self.categories_) if self.has_rare else None

    @property
    def missing_code(self) -> int | None:
        return len(self.categories_) + int(self.has_rare) if self.has_missing_ else None

    def _index(self) -> pd.Index:
        if self._lookup is None:
            self._lookup = pd.Index(self.categories_)
        return self._lookup

    def encode(self, values: pd.Series) -> np.ndarray:
        """Codes for values; unseen values go to the rare bin (or the last category)."""
        idx = self._index().get_indexer(values)
        other = self.rare_code if self.rare_code is not None else max(len(self.categories_) - 1, 0)
        codes = np.where(idx >= 0, idx, other).astype(np.int32)
        if self.has_missing_:
            codes[values.isna().to_numpy()] = self.missing_code
        return codes

    def code_of(self, value: Any) -> int | None:
        """The code of one category, or None if it is not a learned category."""
        for i, c in enumerate(self.categories_):
            if c == value or str(c) == str(value):
                return i
        return None

    def decode(self, codes: np.ndarray, rng: np.random.Generator, rare_value: Any = None) -> np.ndarray:
        """Values for codes (an object array); the rare bin draws from the pool of rare values."""
        cats = np.empty(len(self.categories_) + 2, dtype=object)
        cats[: len(self.categories_)] = self.categories_
        cats[len(self.categories_) :] = None
        out = cats[np.minimum(codes, len(self.categories_) + 1)]
        if self.has_rare:
            sel = codes == self.rare_code
            if sel.any():
                if rare_value is not None:
                    out[sel] = rare_value
                else:
                    pool = np.empty(len(self.rare_values_), dtype=object)
                    pool[:] = self.rare_values_
                    out[sel] = pool[rng.choice(len(pool), size=int(sel.sum()), p=self.rare_weights_)]
        return out

    def to_state(self, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {
            "type": "categorical",
            "max_categories": self.max_categories,
            "rare_count": self.rare_count,
            "rare_pool": self.rare_pool,
            "has_missing": self.has_missing_,
            "categories": self.categories_,
            "rare_values": self.rare_values_,
        }
        return meta, {f"{prefix}.rare_weights": self.rare_weights_}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> CategoricalCodec:
        c = cls(meta["max_categories"], meta["rare_count"], meta["rare_pool"])
        c.has_missing_ = meta["has_missing"]
        c.categories_, c.rare_values_ = list(meta["categories"]), list(meta["rare_values"])
        c.rare_weights_ = arrays[f"{prefix}.rare_weights"]
        c._lookup = None
        return c


Codec = NumericCodec | CategoricalCodec


def codec_from_state(meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> Codec:
    """Rebuild a codec saved with ``to_state``."""
    if meta["type"] == "numeric":
        return NumericCodec.from_state(meta, arrays, prefix)
    return CategoricalCodec.from_state(meta, arrays, prefix)
