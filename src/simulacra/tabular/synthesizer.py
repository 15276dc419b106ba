"""``TabularSynthesizer``: learn from a table, sample as much synthetic data as wanted.

The pipeline: schema (inferred or given) → constraint transforms (fixed combinations merged,
``high > low`` modelled as a positive difference, formula targets dropped) → codecs (values ⇄ bin
codes) → a model from the registry over the codes. Sampling runs the way back, chunk by chunk, with
one generator per chunk derived from the seed, so the output does not depend on how it is split.
PII, id and free-text columns are never learned: fresh values are made for them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConditionError, ConstraintError, DataError, UsageError
from ..schema.constraints import Fixed, Formula, Inequality, Range, constraint_label
from ..schema.infer import coerce_column, complete_schema, infer_schema
from ..schema.kinds import Kind
from ..schema.model import Schema, load_schema
from ..seeding import CHUNK_ROWS, chunk_sizes, derive_rng
from .codecs import CategoricalCodec, Codec, NumericCodec, codec_from_state
from .conditions import RangeCond, normalise
from .models import DEFAULT_MODEL, get_model_class
from .persistence import read_model_dir, write_model_dir
from .regenerate import learn_shape, regenerate

MIN_ROWS = 10
_NUMERIC = (Kind.INTEGER, Kind.FLOAT, Kind.DATETIME)
_UNITS = (("D", 86_400.0), ("min", 60.0), ("s", 1.0))


@dataclass
class ModelColumn:
    """One column the model sees: a data column, a merged fixed combination, or a difference."""

    name: str
    role: str  # "plain" | "fixed" | "diff"
    sources: list[str]
    kind: Kind
    codec: Codec
    unit: float = 1.0
    combos: list[list[Any]] = field(default_factory=list)
    low: str | None = None

    def to_meta(self, prefix: str) -> tuple[dict, dict[str, np.ndarray]]:
        cmeta, arrays = self.codec.to_state(prefix)
        meta = {
            "name": self.name,
            "role": self.role,
            "sources": self.sources,
            "kind": self.kind.value,
            "unit": self.unit,
            "combos": self.combos,
            "low": self.low,
            "codec": cmeta,
        }
        return meta, arrays

    @classmethod
    def from_meta(cls, meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> ModelColumn:
        return cls(
            name=meta["name"],
            role=meta["role"],
            sources=meta["sources"],
            kind=Kind(meta["kind"]),
            codec=codec_from_state(meta["codec"], arrays, prefix),
            unit=meta["unit"],
            combos=meta["combos"],
            low=meta["low"],
        )


def to_pandas(data: Any) -> pd.DataFrame:
    """Accept pandas, polars or pyarrow tables (or a path) and return a pandas DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str | os.PathLike):
        from ..io import read_table

        return read_table(data)
    if hasattr(data, "to_pandas"):
        return data.to_pandas()
    raise UsageError(f"expected a pandas/polars/pyarrow table or a file path, got {type(data).__name__}")


def _to_float(values: pd.Series, kind: Kind, unit: float = 1.0) -> np.ndarray:
    if kind == Kind.DATETIME:
        ns = values.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
        ns[values.isna().to_numpy()] = np.nan
        return ns / 1e9 / unit
    return values.to_numpy(dtype=float)


def _datetime_unit(seconds: np.ndarray) -> float:
    s = seconds[~np.isnan(seconds)]
    for _, u in _UNITS:
        if s.size == 0 or np.all(np.mod(s, u) == 0):
            return u
    return 1.0


class TabularSynthesizer:
    """Learn a table's joint distribution and sample synthetic rows.

    Parameters
    ----------
    model: name of a registered model (``"trees"``, the default, or ``"copula"``; the ``[torch]``
        extra adds deep models).
    seed: the default seed for fitting and sampling.
    **model_params: passed to the model (e.g. ``min_samples_leaf=20`` for ``"trees"``).
    """

    def __init__(self, model: str = DEFAULT_MODEL, seed: int = 0, **model_params: Any) -> None:
        self.model = model
        self.seed = seed
        self.model_params = model_params
        get_model_class(model)  # fail early on an unknown name

    # ------------------------------------------------------------------------------ fitting
    def fit(
        self,
        data: Any,
        schema: Schema | str | os.PathLike | None = None,
        overrides: dict | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> TabularSynthesizer:
        """Learn from ``data``. ``schema`` (object or YAML path) and ``overrides`` fix column kinds."""
        df = to_pandas(data)
        df.columns = [str(c) for c in df.columns]
        if len(df.columns) != len(set(df.columns)):
            dup = next(c for c in df.columns if list(df.columns).count(c) > 1)
            raise DataError(f"column '{dup}' appears twice; give every column a distinct name")
        if len(df) < MIN_ROWS:
            raise DataError(
                f"the table has {len(df)} row{'s' if len(df) != 1 else ''}; "
                f"simulacra needs at least {MIN_ROWS} rows to learn from"
            )
        if isinstance(schema, str | os.PathLike):
            schema = load_schema(schema)
        schema = complete_schema(df, schema) if schema is not None else infer_schema(df)
        if overrides:
            schema = schema.with_overrides(overrides)
        self.schema_ = schema
        self.columns_ = list(df.columns)
        self.n_train_ = len(df)

        values = {
            name: coerce_column(name, df[name], schema.columns[name]) for name in schema.learned_columns()
        }
        self._check_constraints(values)
        cls = get_model_class(self.model)
        params = dict(self.model_params)
        if "seed" in cls.__init__.__code__.co_varnames:
            params.setdefault("seed", self.seed)
        self.model_ = cls(**params)
        self.model_columns_ = self._build_model_columns(values)
        codes = (
            np.column_stack([mc.codec.encode(arr) for mc, arr in self._model_inputs(values)])
            if self.model_columns_
            else np.zeros((len(df), 0), dtype=np.int32)
        )
        self.shapes_ = {
            name: learn_shape(df[name], col) for name, col in schema.columns.items() if not col.learned
        }
        self.out_kinds_ = {name: col.kind.value for name, col in schema.columns.items()}
        self.out_dtypes_ = {name: str(df[name].dtype) for name in df.columns}
        self.out_missing_ = {name: bool(df[name].isna().any()) for name in df.columns}
        if codes.shape[1]:
            self.model_.fit(
                codes.astype(np.int32), [mc.codec.n_codes for mc in self.model_columns_], progress=progress
            )
        return self

    def _check_constraints(self, values: dict[str, pd.Series]) -> None:
        for c in self.schema_.constraints:
            bad = self._violations(c, values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ConstraintError(
                    f"constraint '{constraint_label(c)}' is violated by {int(bad.sum())} training rows "
                    f"(first: row {row + 1}); fix the data or the constraint"
                )

    @staticmethod
    def _violations(c: Any, values: dict[str, pd.Series]) -> np.ndarray:
        if isinstance(c, Range):
            x = values[c.range]
            lo = pd.Timestamp(c.min) if c.min is not None and x.dtype.kind == "M" else c.min
            hi = pd.Timestamp(c.max) if c.max is not None and x.dtype.kind == "M" else c.max
            bad = np.zeros(len(x), dtype=bool)
            if lo is not None:
                bad |= (x < lo).to_numpy()
            if hi is not None:
                bad |= (x > hi).to_numpy()
            return bad & x.notna().to_numpy()
        if isinstance(c, Inequality):
            high, low, strict = c.parts()
            h, lo_ = values[high], values[low]
            ok = (h > lo_) if strict else (h >= lo_)
            return (~ok & h.notna() & lo_.notna()).to_numpy()
        if isinstance(c, Formula):
            frame = pd.DataFrame({k: _to_float(values[k], Kind.FLOAT) for k in c.columns})
            expect = np.asarray(c.evaluate(frame), dtype=float)
            got = frame[c.target].to_numpy()
            tol = 1e-6 * np.maximum(1.0, np.abs(expect))
            bad = np.abs(got - expect) > np.maximum(tol, 0.5 if values[c.target].dtype.kind != "f" else tol)
            return bad & ~np.isnan(got) & ~np.isnan(expect)
        return np.zeros(len(next(iter(values.values()))), dtype=bool)

    def _build_model_columns(self, values: dict[str, pd.Series]) -> list[ModelColumn]:
        cons = self.schema_.constraints
        fixed_of = {col: c for c in cons if isinstance(c, Fixed) for col in c.fixed}
        diff_of = {c.parts()[0]: c for c in cons if isinstance(c, Inequality)}
        formula_targets = {c.target for c in cons if isinstance(c, Formula)}
        out: list[ModelColumn] = []
        done: set[str] = set()
        for name in self.schema_.learned_columns():
            if name in done or name in formula_targets:
                continue
            kind = self.schema_.columns[name].kind
            if name in fixed_of:
                cols = fixed_of[name].fixed
                frame = pd.DataFrame({k: values[k] for k in cols})
                ids = frame.groupby(cols, dropna=False, sort=False).ngroup().to_numpy()
                combos = frame.drop_duplicates()
                combo_list = [
                    [None if pd.isna(v) else (v.item() if isinstance(v, np.generic) else v) for v in row]
                    for row in combos.itertuples(index=False)
                ]
                codec = self._new_codec("+".join(cols), "fixed", Kind.CATEGORICAL, pd.Series(ids))
                out.append(
                    ModelColumn(
                        "+".join(cols), "fixed", list(cols), Kind.CATEGORICAL, codec, combos=combo_list
                    )
                )
                done.update(cols)
            elif name in diff_of:
                high, low, _ = diff_of[name].parts()
                unit = 1.0
                if kind == Kind.DATETIME:
                    unit = _datetime_unit(_to_float(values[high], kind) - _to_float(values[low], kind))
                diff = _to_float(values[high], kind, unit) - _to_float(values[low], kind, unit)
                dkind = Kind.INTEGER if kind in (Kind.INTEGER, Kind.DATETIME) else Kind.FLOAT
                codec = self._new_codec(name, "diff", dkind, diff)
                out.append(ModelColumn(name, "diff", [name], dkind, codec, unit=unit, low=low))
                done.add(name)
            elif kind in _NUMERIC:
                unit = _datetime_unit(_to_float(values[name], kind)) if kind == Kind.DATETIME else 1.0
                x = _to_float(values[name], kind, unit)
                codec = self._new_codec(name, "plain", kind, x)
                out.append(ModelColumn(name, "plain", [name], kind, codec, unit=unit))
                done.add(name)
            else:
                codec = self._new_codec(name, "plain", kind, values[name])
                out.append(ModelColumn(name, "plain", [name], kind, codec))
                done.add(name)
        return out

    def _new_codec(self, name: str, role: str, kind: Kind, data: Any) -> Codec:
        """A fitted codec for one model column; a model may make its own (``make_codec``, e.g. private)."""
        make = getattr(self.model_, "make_codec", None)
        codec = make(name, role, kind, data, self.schema_) if make is not None else None
        if codec is not None:
            return codec
        if kind in _NUMERIC:
            return NumericCodec(kind).fit(data)
        return CategoricalCodec().fit(data)

    def _model_inputs(self, values: dict[str, pd.Series]) -> Iterator[tuple[ModelColumn, Any]]:
        for mc in self.model_columns_:
            if mc.role == "fixed":
                frame = pd.DataFrame({k: values[k] for k in mc.sources})
                ids = frame.groupby(mc.sources, dropna=False, sort=False).ngroup()
                yield mc, ids
            elif mc.role == "diff":
                src = self.schema_.columns[mc.name].kind
                yield mc, _to_float(values[mc.name], src, mc.unit) - _to_float(values[mc.low], src, mc.unit)
            elif isinstance(mc.codec, NumericCodec):
                yield mc, _to_float(values[mc.name], mc.kind, mc.unit)
            else:
                yield mc, values[mc.name]

    # ------------------------------------------------------------------------------ conditions
    def _resolve_conditions(self, conditions: dict[str, Any]) -> tuple[dict[int, np.ndarray], dict, dict]:
        """Map user conditions to code weights per model column, value ranges and forced rare values."""
        weights: dict[int, np.ndarray] = {}
        ranges: dict[int, tuple] = {}
        forced: dict[int, Any] = {}
        index = {mc.name: i for i, mc in enumerate(self.model_columns_)}
        member = {
            src: i for i, mc in enumerate(self.model_columns_) if mc.role == "fixed" for src in mc.sources
        }
        for col, raw in conditions.items():
            cond = normalise(raw)
            if col not in self.out_kinds_:
                raise ConditionError(
                    f"--where names unknown column '{col}' (columns: {', '.join(self.columns_)})"
                )
            kind = Kind(self.out_kinds_[col])
            if col in member:
                i = member[col]
                mc = self.model_columns_[i]
                pos = mc.sources.index(col)
                wanted = self._categorical_targets(col, cond, [c[pos] for c in mc.combos])
                combo_w = np.array(
                    [1.0 if mc.combos[k][pos] in wanted else 0.0 for k in range(len(mc.combos))]
                )
                w = np.zeros(mc.codec.n_codes)
                for code, cid in enumerate(mc.codec.categories_):
                    w[code] = combo_w[int(cid)]
                if mc.codec.has_rare:
                    rare = [int(r) for r in mc.codec.rare_values_]
                    w[mc.codec.rare_code] = float(any(combo_w[r] for r in rare))
                weights[i] = weights[i] * w if i in weights else w
                continue
            if col not in index or self.model_columns_[index[col]].role != "plain":
                why = (
                    "regenerated fresh (PII, id or free text)"
                    if kind not in (*_NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN)
                    else "computed from other columns by a constraint"
                )
                raise ConditionError(f"cannot condition on column '{col}': it is {why}")
            i = index[col]
            mc = self.model_columns_[i]
            if isinstance(mc.codec, NumericCodec):
                lo, hi = self._numeric_bounds(col, mc, cond)
                w = mc.codec.range_weights(lo, hi)
                if mc.codec.has_missing_ and (
                    cond is None or (isinstance(cond, str) and cond.lower() in ("", "nan"))
                ):
                    w[:] = 0
                    w[mc.codec.missing_code] = 1
                if not w.any():
                    raise ConditionError(
                        f"condition {col}={cond!r} is impossible: no training value of "
                        f"'{col}' lies there; widen it (e.g. {col}=lo..hi)"
                    )
                weights[i] = w
                ranges[i] = (lo, hi)
            else:
                codec = mc.codec
                known = list(codec.categories_) + list(codec.rare_values_)
                wanted = self._categorical_targets(col, cond, known)
                w = np.zeros(codec.n_codes)
                rare_hits = []
                for v in wanted:
                    code = codec.code_of(v)
                    if code is not None:
                        w[code] = 1.0
                    else:
                        rare_hits.append(v)
                if rare_hits:
                    if len(rare_hits) > 1 or w.any():
                        raise ConditionError(
                            f"column '{col}': rare values ({rare_hits[0]!r}) can only be "
                            "asked for one at a time"
                        )
                    w[codec.rare_code] = 1.0
                    forced[i] = rare_hits[0]
                weights[i] = w
        return weights, ranges, forced

    def _categorical_targets(self, col: str, cond: Any, known: list[Any]) -> list[Any]:
        if isinstance(cond, RangeCond):
            raise ConditionError(
                f"column '{col}' is categorical; a range ({cond!r}) does not apply, list values as a|b"
            )
        wanted = cond if isinstance(cond, list) else [cond]
        out = []
        for v in wanted:
            match = [
                k
                for k in known
                if k == v
                or str(k) == str(v)
                or (isinstance(k, bool | np.bool_) and str(k).lower() == str(v).lower())
            ]
            if not match:
                shown = ", ".join(map(str, known[:12])) + (" ..." if len(known) > 12 else "")
                raise ConditionError(f"value {v!r} never occurs in column '{col}' (values: {shown})")
            out.extend(match)
        return out

    def _numeric_bounds(self, col: str, mc: ModelColumn, cond: Any) -> tuple[float | None, float | None]:
        def conv(v: Any) -> float | None:
            if v is None:
                return None
            if mc.kind == Kind.DATETIME:
                fmt = self.schema_.columns[col].format
                ts = (
                    pd.to_datetime(str(v), format=fmt, errors="coerce")
                    if fmt
                    else pd.to_datetime(str(v), errors="coerce")
                )
                if pd.isna(ts):
                    ts = pd.to_datetime(str(v), errors="coerce")
                if pd.isna(ts):
                    raise ConditionError(f"column '{col}': {v!r} is not a date")
                return ts.value / 1e9 / mc.unit
            try:
                return float(v)
            except (TypeError, ValueError):
                raise ConditionError(f"column '{col}' is numeric; {v!r} is not a number") from None

        if isinstance(cond, RangeCond):
            lo, hi = conv(cond.lo), conv(cond.hi)
            if lo is not None and hi is not None and lo > hi:
                raise ConditionError(f"column '{col}': range {cond!r} is empty (low end above high end)")
            return lo, hi
        if isinstance(cond, list):
            raise ConditionError(f"column '{col}' is numeric; use a range lo..hi instead of a list")
        v = conv(cond)
        return v, v

    # ------------------------------------------------------------------------------ sampling
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise UsageError("the synthesizer is not fitted yet; call fit(data) first")

    def iter_sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        rebalance: str | None = None,
        seed: int | None = None,
        chunk_rows: int = CHUNK_ROWS,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield the synthetic table in chunks of ``chunk_rows`` (same rows as :meth:`sample`)."""
        self._check_fitted()
        if not isinstance(n, int | np.integer) or isinstance(n, bool) or n <= 0:
            raise UsageError(f"the number of rows must be a positive integer, got {n!r}")
        seed = self.seed if seed is None else seed
        if seed < 0:
            raise UsageError(f"the seed must be a non-negative integer, got {seed}")
        resolved = self._resolve_plans(conditions, rebalance)
        sizes = chunk_sizes(n, chunk_rows)
        for k, size in enumerate(sizes):
            frame = self._chunk(resolved, seed, k, size, k * chunk_rows)
            if progress:
                progress(size)
            yield frame

    def _resolve_plans(self, conditions: dict[str, Any] | None, rebalance: str | None) -> list:
        """Conditions resolved to code weights, one plan per rebalanced category (errors raise here)."""
        base = dict(conditions or {})
        plans = self._rebalance_plans(rebalance, base) if rebalance else [(base, 1.0)]
        return [(self._resolve_conditions(c) if c else ({}, {}, {}), share) for c, share in plans]

    def sample_chunk(
        self,
        n: int,
        k: int,
        conditions: dict[str, Any] | None = None,
        rebalance: str | None = None,
        seed: int | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ) -> pd.DataFrame:
        """Chunk ``k`` of ``sample(n, ...)`` on its own: the same rows, made from the seed alone."""
        self._check_fitted()
        seed = self.seed if seed is None else seed
        sizes = chunk_sizes(n, chunk_rows)
        if not 0 <= k < len(sizes):
            raise UsageError(f"chunk {k} is out of range: {n:,} rows make {len(sizes)} chunks")
        return self._chunk(self._resolve_plans(conditions, rebalance), seed, k, sizes[k], k * chunk_rows)

    def _chunk(self, resolved: list, seed: int, k: int, size: int, row: int) -> pd.DataFrame:
        parts = []
        counts = _split_counts(size, [s for _, s in resolved])
        for p, (((weights, ranges, forced), _), cnt) in enumerate(zip(resolved, counts, strict=True)):
            if cnt:
                parts.append(self._sample_chunk(cnt, seed, k, p, weights, ranges, forced))
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            perm = derive_rng(seed, "tabular", "shuffle", k).permutation(size)
            frame = frame.iloc[perm].reset_index(drop=True)
        return self._finish(frame, seed, k, row)

    def sample(
        self,
        n: int,
        conditions: dict[str, Any] | None = None,
        rebalance: str | None = None,
        seed: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> pd.DataFrame:
        """Sample ``n`` synthetic rows.

        ``conditions`` maps columns to a value, a list of values, or a ``(low, high)`` range (ends may be
        None); every returned row satisfies them. ``rebalance`` names a categorical column whose values
        are made equally frequent.
        """
        return pd.concat(
            list(self.iter_sample(n, conditions, rebalance, seed, progress=progress)), ignore_index=True
        )

    def _rebalance_plans(self, col: str, base: dict) -> list[tuple[dict, float]]:
        if col not in self.out_kinds_:
            raise ConditionError(
                f"--rebalance names unknown column '{col}' (columns: {', '.join(self.columns_)})"
            )
        mc = next((m for m in self.model_columns_ if m.role == "plain" and m.name == col), None)
        if mc is None or not isinstance(mc.codec, CategoricalCodec):
            raise ConditionError(f"--rebalance needs a categorical column; '{col}' is {self.out_kinds_[col]}")
        if col in base:
            raise ConditionError(f"column '{col}' is both rebalanced and conditioned; choose one")
        cats = list(mc.codec.categories_)
        return [({**base, col: c}, 1.0 / len(cats)) for c in cats]

    def _sample_chunk(
        self, n: int, seed: int, chunk: int, part: int, weights: dict, ranges: dict, forced: dict
    ) -> pd.DataFrame:
        rng = derive_rng(seed, "tabular", "model", chunk, part)
        codes = self.model_.sample_codes(n, rng, weights or None)
        cols: dict[str, Any] = {}
        for i, mc in enumerate(self.model_columns_):
            drng = derive_rng(seed, "tabular", "decode", mc.name, chunk, part)
            c = codes[:, i]
            if isinstance(mc.codec, NumericCodec):
                lo, hi = ranges.get(i, (None, None))
                cols[mc.name] = mc.codec.decode(c, drng, lo, hi) * mc.unit  # datetimes as seconds
            else:
                vals = mc.codec.decode(c, drng, forced.get(i))
                if mc.role == "fixed":
                    combos = np.empty(len(mc.combos), dtype=object)
                    combos[:] = [tuple(x) for x in mc.combos]
                    picked = combos[vals.astype(np.int64)]
                    for pos, src in enumerate(mc.sources):
                        cols[src] = np.array([t[pos] for t in picked], dtype=object)
                else:
                    cols[mc.name] = vals
        return pd.DataFrame(cols)

    def _finish(self, frame: pd.DataFrame, seed: int, chunk: int, row: int) -> pd.DataFrame:
        """Undo constraint transforms, add regenerated columns, restore order and types, enforce rules."""
        n = len(frame)
        for mc in self.model_columns_:
            if mc.role == "diff":
                frame[mc.name] = frame[mc.low].to_numpy(dtype=float) + frame[mc.name].to_numpy(dtype=float)
        self._enforce(frame)
        for c in self.schema_.constraints:  # after the ranges, so a clipped input feeds the formula
            if isinstance(c, Formula):
                frame[c.target] = np.asarray(c.evaluate(frame), dtype=float)
        if any(isinstance(c, Formula) for c in self.schema_.constraints):
            self._enforce(frame)  # a range on a formula's target
        regen = regenerate(self.shapes_, n, row, derive_rng(seed, "tabular", "regenerate", chunk))
        for name, vals in regen.items():
            frame[name] = vals
        out = pd.DataFrame({name: self._restore(name, frame[name]) for name in self.columns_})
        return out

    def _is_dt(self, name: str) -> bool:
        return self.out_kinds_.get(name) == Kind.DATETIME.value

    def _enforce(self, frame: pd.DataFrame) -> None:
        """Guarantee every constraint on every row (the model keeps them already; this mends rounding)."""
        for c in self.schema_.constraints:
            if not all(col in frame for col in c.columns):
                continue  # a formula's target, computed later
            if isinstance(c, Range):
                lo = self._bound(c.range, c.min)
                hi = self._bound(c.range, c.max)
                frame[c.range] = np.clip(frame[c.range].to_numpy(dtype=float), lo, hi)
            elif isinstance(c, Inequality):
                high, low, strict = c.parts()
                h, lo_ = frame[high].to_numpy(dtype=float), frame[low].to_numpy(dtype=float)
                bad = (h <= lo_) if strict else (h < lo_)
                if bad.any():
                    step = 1.0 if Kind(self.out_kinds_[high]) in (Kind.INTEGER, Kind.DATETIME) else 0.0
                    fix = np.where(step > 0, lo_ + step, np.nextafter(lo_, np.inf)) if strict else lo_
                    frame[high] = np.where(bad, fix, h)

    def _bound(self, col: str, v: Any) -> float | None:
        if v is None:
            return None
        if self._is_dt(col):
            return pd.Timestamp(v).value / 1e9
        return float(v)

    def _restore(self, name: str, values: pd.Series) -> pd.Series:
        kind = Kind(self.out_kinds_[name])
        col = self.schema_.columns[name]
        if kind == Kind.DATETIME:
            secs = values.to_numpy(dtype=float)
            ts = pd.to_datetime(np.where(np.isnan(secs), np.nan, secs * 1e9).astype("float64"), unit="ns")
            ts = pd.Series(ts).dt.floor("s")
            if col.format:
                return ts.dt.strftime(col.format).where(ts.notna(), None).astype(object)
            return ts
        if kind == Kind.INTEGER:
            x = values.to_numpy(dtype=float)
            if self.out_missing_[name]:
                return (
                    pd.Series(pd.array(np.round(x), dtype="Int64"))
                    if not np.isnan(x).all()
                    else pd.Series(pd.array([pd.NA] * len(x), dtype="Int64"))
                )
            return pd.Series(np.round(np.nan_to_num(x)).astype(np.int64))
        if kind == Kind.FLOAT:
            return pd.Series(values.to_numpy(dtype=float))
        if kind == Kind.ID and self.shapes_[name].get("type") == "int":
            return pd.Series(values.to_numpy(dtype=np.int64))
        dtype = self.out_dtypes_[name]
        s = pd.Series(values.to_numpy(dtype=object), dtype=object)
        if dtype == "bool" and not s.isna().any():
            return s.astype(bool)
        return s

    # ------------------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to a directory (``model.json`` + ``arrays.npz``; no pickle)."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {}
        cols_meta = []
        for i, mc in enumerate(self.model_columns_):
            m, a = mc.to_meta(f"col{i}")
            cols_meta.append(m)
            arrays.update(a)
        model_meta, model_arrays = self.model_.to_state() if self.model_columns_ else ({}, {})
        arrays.update({f"model.{k}": v for k, v in model_arrays.items()})
        from .. import __version__

        meta = {
            "simulacra_version": __version__,
            "synthesizer": self.model,
            "seed": self.seed,
            "model_params": self.model_params,
            "schema": self.schema_.to_dict(),
            "columns": self.columns_,
            "n_train": self.n_train_,
            "out_kinds": self.out_kinds_,
            "out_dtypes": self.out_dtypes_,
            "out_missing": self.out_missing_,
            "regenerated": self.shapes_,
            "model_columns": cols_meta,
            "model": model_meta,
        }
        return write_model_dir(path, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TabularSynthesizer:
        """Load a model directory written by :meth:`save`."""
        meta, arrays = read_model_dir(path)
        from ..errors import ModelFormatError

        try:
            self = cls(meta["synthesizer"], seed=meta["seed"], **meta["model_params"])
            self.schema_ = Schema.from_dict(meta["schema"], source=str(path))
            self.columns_ = meta["columns"]
            self.n_train_ = meta["n_train"]
            self.out_kinds_, self.out_dtypes_ = meta["out_kinds"], meta["out_dtypes"]
            self.out_missing_, self.shapes_ = meta["out_missing"], meta["regenerated"]
            self.model_columns_ = [
                ModelColumn.from_meta(m, arrays, f"col{i}") for i, m in enumerate(meta["model_columns"])
            ]
            model_arrays = {k[len("model.") :]: v for k, v in arrays.items() if k.startswith("model.")}
            mcls = get_model_class(meta["synthesizer"])
            self.model_ = (
                mcls.from_state(meta["model"], model_arrays)
                if self.model_columns_
                else mcls(**meta["model_params"])
            )
        except (KeyError, TypeError, IndexError) as exc:
            raise ModelFormatError(f"{path}: the model is incomplete ({exc!r} missing); refit it") from None
        return self


def _split_counts(n: int, shares: list[float]) -> list[int]:
    """Split n into integer parts proportional to shares, deterministically (largest remainders)."""
    raw = np.asarray(shares, dtype=float) * n / sum(shares)
    base = np.floor(raw).astype(int)
    rest = n - base.sum()
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rest]] += 1
    return base.tolist()
