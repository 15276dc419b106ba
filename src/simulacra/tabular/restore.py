"""The way back from codes to a table: decode, undo the constraint transforms, restore the types.

:func:`sample_part` draws codes from the model and decodes every model column (numbers fresh inside
their bins, fixed combinations split back into their columns); :func:`finish` adds differences back
to their low column, computes formula targets, mends constraints, makes the regenerated columns
(PII, ids, free text) and gives every column the order, kind and dtype of the training table. Every
generator is derived from ``(seed, "tabular", purpose, ..., chunk, part)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..schema.constraints import Formula
from ..schema.kinds import Kind
from ..seeding import derive_rng
from .codecs import NumericCodec
from .constraints import enforce
from .regenerate import regenerate


def sample_part(
    synth: Any, n: int, seed: int, chunk: int, part: int, weights: dict, ranges: dict, forced: dict
) -> pd.DataFrame:
    """``n`` rows of one part of chunk ``chunk``: codes drawn under ``weights``, decoded column by column."""
    rng = derive_rng(seed, "tabular", "model", chunk, part)
    codes = synth.model_.sample_codes(n, rng, weights or None)
    return decode_codes(synth, codes, seed, chunk, part, ranges, forced)


def decode_codes(
    synth: Any, codes: np.ndarray, seed: int, chunk: int, part: int, ranges: dict, forced: dict
) -> pd.DataFrame:
    """Decode every model column of ``codes`` (numbers fresh inside their bins, combinations split)."""
    cols: dict[str, Any] = {}
    for i, mc in enumerate(synth.model_columns_):
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


def finish(synth: Any, frame: pd.DataFrame, seed: int, chunk: int, row: int) -> pd.DataFrame:
    """Undo constraint transforms, add regenerated columns, restore order and types, enforce rules."""
    n = len(frame)
    for mc in synth.model_columns_:
        if mc.role == "diff":
            frame[mc.name] = frame[mc.low].to_numpy(dtype=float) + frame[mc.name].to_numpy(dtype=float)
    enforce(synth.schema_.constraints, frame, synth.out_kinds_)
    for c in synth.schema_.constraints:  # after the ranges, so a clipped input feeds the formula
        if isinstance(c, Formula):
            frame[c.target] = np.asarray(c.evaluate(frame), dtype=float)
    if any(isinstance(c, Formula) for c in synth.schema_.constraints):
        enforce(synth.schema_.constraints, frame, synth.out_kinds_)  # a range on a formula's target
    regen = regenerate(synth.shapes_, n, row, derive_rng(seed, "tabular", "regenerate", chunk))
    for name, vals in regen.items():
        frame[name] = vals
    out = pd.DataFrame({name: restore_column(synth, name, frame[name]) for name in synth.columns_})
    return out


def restore_column(synth: Any, name: str, values: pd.Series) -> pd.Series:
    """Column ``name`` with the kind, format and dtype it had in the training table."""
    kind = Kind(synth.out_kinds_[name])
    col = synth.schema_.columns[name]
    if kind == Kind.DATETIME:
        secs = values.to_numpy(dtype=float)
        ts = pd.to_datetime(np.where(np.isnan(secs), np.nan, secs * 1e9).astype("float64"), unit="ns")
        ts = pd.Series(ts).dt.floor("s")
        if col.format:
            return ts.dt.strftime(col.format).where(ts.notna(), None).astype(object)
        return ts
    if kind == Kind.INTEGER:
        x = values.to_numpy(dtype=float)
        if synth.out_missing_[name]:
            return (
                pd.Series(pd.array(np.round(x), dtype="Int64"))
                if not np.isnan(x).all()
                else pd.Series(pd.array([pd.NA] * len(x), dtype="Int64"))
            )
        return pd.Series(np.round(np.nan_to_num(x)).astype(np.int64))
    if kind == Kind.FLOAT:
        return pd.Series(values.to_numpy(dtype=float))
    if kind == Kind.ID and synth.shapes_[name].get("type") == "int":
        return pd.Series(values.to_numpy(dtype=np.int64))
    dtype = synth.out_dtypes_[name]
    s = pd.Series(values.to_numpy(dtype=object), dtype=object)
    if dtype == "bool" and not s.isna().any():
        return s.astype(bool)
    return s
