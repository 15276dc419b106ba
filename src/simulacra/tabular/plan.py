"""The sampling plan of a tabular model: conditions and rebalancing resolved to code weights.

A condition becomes, per model column, a weight for every code (1 allowed, 0 excluded, a fraction
for a partly covered bin), the value range numbers are drawn from, and a rare value asked for by
name. ``--rebalance col`` becomes one part per category of ``col`` with an equal share of the rows.
Everything here raises :class:`~simulacra.errors.ConditionError` before any row is sampled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConditionError
from ..schema.kinds import Kind
from .codecs import CategoricalCodec, NumericCodec
from .columns import NUMERIC_KINDS, ModelColumn
from .conditions import RangeCond, normalise

Resolved = tuple[dict[int, np.ndarray], dict, dict]
"""Per model column: code weights, value ranges ``(lo, hi)`` and forced rare values."""


def resolve_parts(synth: Any, conditions: dict[str, Any] | None, rebalance: str | None) -> list:
    """``[(resolved conditions, share), ...]`` for a fitted synthesizer: one part, or one per rebalanced
    category (errors raise here)."""
    base = dict(conditions or {})
    parts = rebalance_parts(synth, rebalance, base) if rebalance else [(base, 1.0)]
    return [(resolve_conditions(synth, c) if c else ({}, {}, {}), share) for c, share in parts]


def resolve_conditions(synth: Any, conditions: dict[str, Any]) -> tuple[dict[int, np.ndarray], dict, dict]:
    """Map user conditions to code weights per model column, value ranges and forced rare values."""
    weights: dict[int, np.ndarray] = {}
    ranges: dict[int, tuple] = {}
    forced: dict[int, Any] = {}
    index = {mc.name: i for i, mc in enumerate(synth.model_columns_)}
    member = {src: i for i, mc in enumerate(synth.model_columns_) if mc.role == "fixed" for src in mc.sources}
    for col, raw in conditions.items():
        cond = normalise(raw)
        if col not in synth.out_kinds_:
            raise ConditionError(
                f"--where names unknown column '{col}' (columns: {', '.join(synth.columns_)})"
            )
        kind = Kind(synth.out_kinds_[col])
        if col in member:
            i = member[col]
            mc = synth.model_columns_[i]
            pos = mc.sources.index(col)
            wanted = categorical_targets(col, cond, [c[pos] for c in mc.combos])
            combo_w = np.array([1.0 if mc.combos[k][pos] in wanted else 0.0 for k in range(len(mc.combos))])
            w = np.zeros(mc.codec.n_codes)
            for code, cid in enumerate(mc.codec.categories_):
                w[code] = combo_w[int(cid)]
            if mc.codec.has_rare:
                rare = [int(r) for r in mc.codec.rare_values_]
                w[mc.codec.rare_code] = float(any(combo_w[r] for r in rare))
            weights[i] = weights[i] * w if i in weights else w
            continue
        if col not in index or synth.model_columns_[index[col]].role != "plain":
            why = (
                "regenerated fresh (PII, id or free text)"
                if kind not in (*NUMERIC_KINDS, Kind.CATEGORICAL, Kind.BOOLEAN)
                else "computed from other columns by a constraint"
            )
            raise ConditionError(f"cannot condition on column '{col}': it is {why}")
        i = index[col]
        mc = synth.model_columns_[i]
        if isinstance(mc.codec, NumericCodec):
            lo, hi = numeric_bounds(synth, col, mc, cond)
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
            wanted = categorical_targets(col, cond, known)
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
                        f"column '{col}': rare values ({rare_hits[0]!r}) can only be asked for one at a time"
                    )
                w[codec.rare_code] = 1.0
                forced[i] = rare_hits[0]
            weights[i] = w
    return weights, ranges, forced


def categorical_targets(col: str, cond: Any, known: list[Any]) -> list[Any]:
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


def numeric_bounds(synth: Any, col: str, mc: ModelColumn, cond: Any) -> tuple[float | None, float | None]:
    def conv(v: Any) -> float | None:
        if v is None:
            return None
        if mc.kind == Kind.DATETIME:
            fmt = synth.schema_.columns[col].format
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


def rebalance_parts(synth: Any, col: str, base: dict) -> list[tuple[dict, float]]:
    if col not in synth.out_kinds_:
        raise ConditionError(
            f"--rebalance names unknown column '{col}' (columns: {', '.join(synth.columns_)})"
        )
    mc = next((m for m in synth.model_columns_ if m.role == "plain" and m.name == col), None)
    if mc is None or not isinstance(mc.codec, CategoricalCodec):
        raise ConditionError(f"--rebalance needs a categorical column; '{col}' is {synth.out_kinds_[col]}")
    if col in base:
        raise ConditionError(f"column '{col}' is both rebalanced and conditioned; choose one")
    cats = list(mc.codec.categories_)
    return [({**base, col: c}, 1.0 / len(cats)) for c in cats]


def split_counts(n: int, shares: list[float]) -> list[int]:
    """Split n into integer parts proportional to shares, deterministically (largest remainders)."""
    raw = np.asarray(shares, dtype=float) * n / sum(shares)
    base = np.floor(raw).astype(int)
    rest = n - base.sum()
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:rest]] += 1
    return base.tolist()
