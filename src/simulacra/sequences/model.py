"""The step model: how a sequence moves from one event to the next.

Each event column is a *channel*. A numeric channel is modelled by its change from the last observed
value (``level`` mode), the time gap between events by its value (``value`` mode), a categorical
channel by its category. For every channel a regression tree is grown on the rank of the target's
bin code (robust to heavy tails), from lagged features: the step, the length, the context, every
channel's last value, last two changes, running mean and first value, calendar features of the
previous event's time, and the current step's targets of the channels before it (cross-channel
correlation). Each leaf keeps the distribution of the bin codes that fell in it; sampling walks the
tree, draws a code from the leaf and a fresh value inside its bin, so no training step is replayed.
The same code builds features when fitting (teacher forcing on the real sequences) and when sampling,
so what the trees saw is exactly what they are asked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from ..schema.kinds import Kind
from ..tabular.codecs import CategoricalCodec, Codec, NumericCodec, codec_from_state
from ..tabular.estimator import Estimator
from ..tabular.models.base import LeafTable
from ..tabular.models.coarsen import coarsen
from ..tabular.models.tree_arrays import tree_from_arrays, tree_to_arrays

NA = -1e30
"""Feature value for "not known yet" (float32-safe, far below any real value)."""
_DAY = 86_400.0


@dataclass
class Channel:
    """One event column (or the time gap) as the step model sees it."""

    name: str
    mode: str  # "level" | "value" | "category"
    codec: Codec
    lo: float = 0.0
    hi: float = 0.0
    fill: float = 0.0

    @property
    def numeric(self) -> bool:
        return self.mode != "category"

    def to_meta(self, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
        cmeta, arrays = self.codec.to_state(prefix)
        meta = {"name": self.name, "mode": self.mode, "lo": self.lo, "hi": self.hi, "fill": self.fill}
        return {**meta, "codec": cmeta}, arrays

    @classmethod
    def from_meta(cls, meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> Channel:
        codec = codec_from_state(meta["codec"], arrays, prefix)
        return cls(meta["name"], meta["mode"], codec, meta["lo"], meta["hi"], meta["fill"])


def make_channel(name: str, mode: str, values: np.ndarray, targets: np.ndarray, integral: bool) -> Channel:
    """A channel whose codec is fitted on its step ``targets`` (changes, gaps or category values)."""
    if mode == "category":
        import pandas as pd

        return Channel(name, mode, CategoricalCodec().fit(pd.Series(targets)))
    finite = values[~np.isnan(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    fill = float(np.median(finite)) if finite.size else 0.0
    codec = NumericCodec(Kind.INTEGER if integral else Kind.FLOAT).fit(targets.astype(float))
    return Channel(name, mode, codec, lo, hi, fill)


class StepState:
    """What is known about every sequence of a batch after some steps (one row per sequence)."""

    def __init__(
        self,
        channels: list[Channel],
        first: list[np.ndarray],
        start: np.ndarray | None,
        calendar: bool,
        grid: str | None = None,
    ) -> None:
        n = first[0].shape[0] if first else (start.shape[0] if start is not None else 0)
        self.channels = channels
        self.calendar = calendar
        self.grid = grid
        self.time = None if start is None else np.asarray(start, dtype=float).copy()
        self.s, self.x0, self.d1, self.d2, self.mean, self.cnt = [], [], [], [], [], []
        for ch, f in zip(channels, first, strict=True):
            f = np.asarray(f, dtype=float)
            if ch.mode == "level":
                s = np.where(np.isnan(f), ch.fill, f)
                x0 = np.where(np.isnan(f), NA, f)
                cnt = (~np.isnan(f)).astype(float)
            elif ch.mode == "value":
                s = np.full(n, np.nan)
                x0 = np.full(n, NA)
                cnt = np.zeros(n)
            else:
                s, x0, cnt = f.copy(), f.copy(), np.ones(n)
            self.s.append(s)
            self.x0.append(x0)
            self.d1.append(np.zeros(n))
            self.d2.append(np.zeros(n))
            self.mean.append(s.copy())
            self.cnt.append(cnt)

    def take(self, m: int) -> None:
        """Keep the first ``m`` sequences (the others have ended; batches are sorted by length)."""
        for attr in ("s", "x0", "d1", "d2", "mean", "cnt"):
            setattr(self, attr, [a[:m] for a in getattr(self, attr)])
        if self.time is not None:
            self.time = self.time[:m]

    def features(self, t: int, length: np.ndarray, ctx: np.ndarray) -> np.ndarray:
        """The shared part of every channel's features at step ``t`` (before any channel is drawn)."""
        m = length.shape[0]
        cols = [np.full(m, float(t)), length, length - t, t / length]
        for j, ch in enumerate(self.channels):
            s = np.where(np.isnan(self.s[j]), NA, self.s[j])
            if ch.numeric:
                mean = np.where(np.isnan(self.mean[j]), NA, self.mean[j])
                cols += [s, self.x0[j], self.d1[j], self.d2[j], mean]
                if ch.mode == "level":
                    cols.append(np.where(self.x0[j] == NA, 0.0, s - self.x0[j]))
            else:
                cols += [s, self.x0[j]]
        if self.calendar and self.time is not None:
            cols += list(_calendar(self.time))
        out = np.column_stack(cols) if cols else np.zeros((m, 0))
        if ctx.shape[1]:
            out = np.hstack([out, ctx])
        return out

    def update(self, j: int, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply channel ``j``'s step target; return (the event's value, the realised target)."""
        ch = self.channels[j]
        if ch.mode == "category":
            self.s[j] = target.astype(float)
            return target, target.astype(float)
        if ch.mode == "value":
            v = np.clip(target, ch.lo, ch.hi)
            if self.time is not None and self.grid is not None:
                v = snap(self.time + np.nan_to_num(v), self.grid, after=self.time) - self.time
            prev = self.s[j]
            self.d2[j] = self.d1[j]
            self.d1[j] = np.where(np.isnan(prev) | np.isnan(v), 0.0, v - prev)
            self.s[j] = np.where(np.isnan(v), prev, v)
            self._mean(j, v)
            if self.time is not None:
                self.time = self.time + np.nan_to_num(v)
            return v, v
        s = self.s[j]
        x = np.clip(s + target, ch.lo, ch.hi)
        real = x - s
        self.d2[j] = self.d1[j]
        self.d1[j] = np.nan_to_num(real)
        self.s[j] = np.where(np.isnan(x), s, x)
        self._mean(j, x)
        return x, real

    def _mean(self, j: int, v: np.ndarray) -> None:
        obs = ~np.isnan(v)
        cnt = self.cnt[j] + obs
        old = np.nan_to_num(self.mean[j]) * self.cnt[j]
        self.mean[j] = np.where(cnt > 0, (old + np.nan_to_num(v)) / np.maximum(cnt, 1), np.nan)
        self.cnt[j] = cnt


_GRIDS = ("year", "quarter", "month", "day", "hour", "minute", "second")
_FIXED = {"day": _DAY, "hour": 3600.0, "minute": 60.0, "second": 1.0}


def _floor_to(seconds: np.ndarray, grid: str) -> np.ndarray:
    if grid in _FIXED:
        u = _FIXED[grid]
        return np.floor(seconds / u) * u
    months = np.floor(seconds / _DAY).astype("int64").astype("datetime64[D]").astype("datetime64[M]")
    m = months.astype(np.int64)
    step = {"year": 12, "quarter": 3, "month": 1}[grid]
    m = (m // step) * step
    return m.astype("datetime64[M]").astype("datetime64[s]").astype(np.int64).astype(float)


def _next_on(seconds: np.ndarray, grid: str) -> np.ndarray:
    """The grid point after ``seconds`` (which lie on the grid)."""
    if grid in _FIXED:
        return seconds + _FIXED[grid]
    step = {"year": 12, "quarter": 3, "month": 1}[grid]
    m = (
        np.floor(seconds / _DAY)
        .astype("int64")
        .astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype(np.int64)
    )
    return (m + step).astype("datetime64[M]").astype("datetime64[s]").astype(np.int64).astype(float)


def detect_grid(seconds: np.ndarray) -> str | None:
    """The coarsest calendar grid (year starts, quarter starts, ..., whole seconds) all times lie on."""
    x = seconds[np.isfinite(seconds)]
    if x.size == 0:
        return None
    for grid in _GRIDS:
        if np.array_equal(_floor_to(x, grid), x):
            return grid
    return None


def snap(seconds: np.ndarray, grid: str | None, after: np.ndarray | None = None) -> np.ndarray:
    """Times moved to the nearest grid point (strictly after ``after`` when given)."""
    if grid is None:
        return seconds
    x = np.nan_to_num(seconds)
    lo = _floor_to(x, grid)
    hi = _next_on(lo, grid)
    out = np.where(x - lo <= hi - x, lo, hi)
    if after is not None:
        a = np.nan_to_num(after)
        out = np.where(out <= a, _next_on(_floor_to(a, grid), grid), out)
    return np.where(np.isnan(seconds), np.nan, out)


def _calendar(seconds: np.ndarray) -> tuple[np.ndarray, ...]:
    """Month, day of year, weekday and hour of timestamps given in seconds since 1970."""
    secs = np.nan_to_num(seconds)
    days = np.floor(secs / _DAY)
    dt = days.astype("int64").astype("datetime64[D]")
    month = (dt.astype("datetime64[M]").astype(np.int64) % 12).astype(float)
    doy = (dt - dt.astype("datetime64[Y]")).astype(np.int64).astype(float)
    weekday = ((days + 3) % 7).astype(float)
    hour = np.floor((secs - days * _DAY) / 3600.0)
    return month, doy, weekday, hour


class StepTrees(Estimator):
    """One regression tree per channel with a code distribution per leaf (see the module docstring)."""

    def __init__(self, min_samples_leaf: int = 20, max_depth: int | None = None) -> None:
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth

    def fit(
        self, features: list[np.ndarray], codes: list[np.ndarray], n_codes: list[int], ordinal: list[bool]
    ) -> StepTrees:
        """``features[j]`` and ``codes[j]``: channel ``j``'s training rows and bin codes; ordinal codes
        (numbers) get a regression tree on their rank, categories a classification tree."""
        self.trees_, self.leaf_maps_, self.tables_, self.n_features_ = [], [], [], []
        for x, y, k, ordered in zip(features, codes, n_codes, ordinal, strict=True):
            params = {
                "min_samples_leaf": self.min_samples_leaf,
                "max_depth": self.max_depth,
                "random_state": 0,
            }
            x32 = np.ascontiguousarray(x, dtype=np.float32)
            if ordered:
                est = DecisionTreeRegressor(**params).fit(x32, _ranks(y, k))
            else:
                est = DecisionTreeClassifier(**params).fit(x32, coarsen(y, k))
            tree = est.tree_
            nodes = tree.apply(x32)
            leaf_map = np.full(tree.node_count, -1, dtype=np.int64)
            leaves = np.flatnonzero(tree.children_left == -1)
            leaf_map[leaves] = np.arange(leaves.size)
            self.trees_.append(tree)
            self.leaf_maps_.append(leaf_map)
            self.tables_.append(LeafTable.from_counts(leaf_map[nodes], y.astype(np.int64), leaves.size, k))
            self.n_features_.append(x.shape[1])
        return self

    def sample(self, j: int, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One bin code per row of ``x`` for channel ``j``."""
        nodes = self.trees_[j].apply(np.ascontiguousarray(x, dtype=np.float32))
        return self.tables_[j].sample(self.leaf_maps_[j][nodes], rng)

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        meta = []
        for j, tree in enumerate(self.trees_):
            p = f"step{j}"
            arrays.update(self.tables_[j].to_state(p))
            size, node_arrays = tree_to_arrays(tree, p)
            arrays.update(node_arrays)
            arrays[f"{p}.leaf_map"] = self.leaf_maps_[j]
            meta.append({"n_features": self.n_features_[j], **size})
        return {"params": self.get_params(), "trees": meta}, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> StepTrees:
        self = cls(**meta["params"])
        self.trees_, self.leaf_maps_, self.tables_, self.n_features_ = [], [], [], []
        for j, tm in enumerate(meta["trees"]):
            p = f"step{j}"
            tree = tree_from_arrays(
                arrays, p, tm["n_features"], tm["max_depth"], tm["node_count"], f"step tree {j}"
            )
            self.trees_.append(tree)
            self.leaf_maps_.append(arrays[f"{p}.leaf_map"])
            self.tables_.append(LeafTable.from_state(arrays, p))
            self.n_features_.append(tm["n_features"])
        return self


def _ranks(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Mid-rank (0..1) of each code in the training distribution: a robust regression target."""
    counts = np.bincount(codes, minlength=n_codes).astype(float)
    cum = np.cumsum(counts) - counts / 2
    return cum[codes] / max(codes.size, 1)


class JointStepTree(Estimator):
    """One multi-output tree over all channels; a step's targets are drawn together from its leaf.

    The tree is grown on every channel's target at once (ranks for numbers, one-hot shares for
    categories). Each leaf keeps the bin codes of its training steps as whole vectors: sampling picks
    one vector of the leaf (so the innovations of all channels keep their joint law) and each code
    is decoded to a fresh value inside its bin. Leaves hold at least ``min_samples_leaf`` steps from
    the training data, so a step is drawn from a crowd, never from one sequence.
    """

    def __init__(self, min_samples_leaf: int = 20, max_depth: int | None = None) -> None:
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth

    def fit(self, x: np.ndarray, codes: np.ndarray, n_codes: list[int], ordinal: list[bool]) -> JointStepTree:
        """``x``: features of every training step; ``codes``: (steps, channels) bin codes."""
        targets = []
        for j, (k, ordered) in enumerate(zip(n_codes, ordinal, strict=True)):
            y = codes[:, j]
            if ordered:
                targets.append(_ranks(y, k)[:, None])
            else:
                top = coarsen(y, k)
                hot = np.zeros((y.size, int(top.max()) + 1))
                hot[np.arange(y.size), top] = 1.0
                targets.append(hot / np.sqrt(2.0))
        y = np.hstack(targets) if targets else np.zeros((codes.shape[0], 1))
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        est = DecisionTreeRegressor(
            min_samples_leaf=self.min_samples_leaf, max_depth=self.max_depth, random_state=0
        ).fit(x32, y)
        tree = est.tree_
        nodes = tree.apply(x32)
        leaf_map = np.full(tree.node_count, -1, dtype=np.int64)
        leaves = np.flatnonzero(tree.children_left == -1)
        leaf_map[leaves] = np.arange(leaves.size)
        leaf = leaf_map[nodes]
        order = np.argsort(leaf, kind="stable")
        self.tree_, self.leaf_map_, self.n_features_ = tree, leaf_map, x.shape[1]
        self.offsets_ = np.concatenate([[0], np.cumsum(np.bincount(leaf, minlength=leaves.size))])
        self.codes_ = np.ascontiguousarray(codes[order].astype(np.int32))
        return self

    def sample(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A (rows, channels) matrix of bin codes, one training step vector per row from its leaf."""
        leaf = self.leaf_map_[self.tree_.apply(np.ascontiguousarray(x, dtype=np.float32))]
        lo, hi = self.offsets_[leaf], self.offsets_[leaf + 1]
        pick = lo + np.floor(rng.random(leaf.size) * (hi - lo)).astype(np.int64)
        return self.codes_[np.minimum(pick, hi - 1)]

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        size, arrays = tree_to_arrays(self.tree_, "joint")
        arrays.update(
            {"joint.leaf_map": self.leaf_map_, "joint.offsets": self.offsets_, "joint.codes": self.codes_}
        )
        meta = {
            "params": self.get_params(),
            "n_features": self.n_features_,
            **size,
        }
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> JointStepTree:
        self = cls(**meta["params"])
        tree = tree_from_arrays(
            arrays, "joint", meta["n_features"], meta["max_depth"], meta["node_count"], "the step tree"
        )
        self.tree_, self.n_features_ = tree, meta["n_features"]
        self.leaf_map_, self.offsets_ = arrays["joint.leaf_map"], arrays["joint.offsets"]
        self.codes_ = arrays["joint.codes"]
        return self
