"""Model columns: how data columns become the columns the model sees, and the values they carry.

A model column is a plain data column, a fixed combination of columns merged into one categorical
(``Fixed``), or the difference ``high - low`` of an inequality (``Inequality``); formula targets are
left out (they are computed after sampling). Each holds a fitted codec (values ⇄ bin codes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..schema.constraints import Fixed, Formula, Inequality
from ..schema.kinds import Kind
from ..schema.model import Schema
from .codecs import Codec, NumericCodec, codec_from_state

NUMERIC_KINDS = (Kind.INTEGER, Kind.FLOAT, Kind.DATETIME)
_UNITS = (("D", 86_400.0), ("min", 60.0), ("s", 1.0))

NewCodec = Callable[[str, str, Kind, Any], Codec]
"""``(name, role, kind, data) -> fitted codec`` for one model column."""


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
        """The column's JSON part and its arrays (under ``prefix``)."""
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
        """Rebuild a column written by :meth:`to_meta`."""
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


def to_float(values: pd.Series, kind: Kind, unit: float = 1.0) -> np.ndarray:
    """Numbers as floats; datetimes as seconds since 1970 divided by ``unit`` (NaN where missing)."""
    if kind == Kind.DATETIME:
        ns = values.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
        ns[values.isna().to_numpy()] = np.nan
        return ns / 1e9 / unit
    return values.to_numpy(dtype=float)


def datetime_unit(seconds: np.ndarray) -> float:
    """The coarsest of days, minutes and seconds that every (non-missing) value is a multiple of."""
    s = seconds[~np.isnan(seconds)]
    for _, u in _UNITS:
        if s.size == 0 or np.all(np.mod(s, u) == 0):
            return u
    return 1.0


def build_model_columns(
    schema: Schema, values: dict[str, pd.Series], new_codec: NewCodec
) -> list[ModelColumn]:
    """The model columns of a table's learned columns, each with a codec fitted by ``new_codec``."""
    cons = schema.constraints
    fixed_of = {col: c for c in cons if isinstance(c, Fixed) for col in c.fixed}
    diff_of = {c.parts()[0]: c for c in cons if isinstance(c, Inequality)}
    formula_targets = {c.target for c in cons if isinstance(c, Formula)}
    out: list[ModelColumn] = []
    done: set[str] = set()
    for name in schema.learned_columns():
        if name in done or name in formula_targets:
            continue
        kind = schema.columns[name].kind
        if name in fixed_of:
            cols = fixed_of[name].fixed
            frame = pd.DataFrame({k: values[k] for k in cols})
            ids = frame.groupby(cols, dropna=False, sort=False).ngroup().to_numpy()
            combos = frame.drop_duplicates()
            combo_list = [
                [None if pd.isna(v) else (v.item() if isinstance(v, np.generic) else v) for v in row]
                for row in combos.itertuples(index=False)
            ]
            codec = new_codec("+".join(cols), "fixed", Kind.CATEGORICAL, pd.Series(ids))
            out.append(
                ModelColumn("+".join(cols), "fixed", list(cols), Kind.CATEGORICAL, codec, combos=combo_list)
            )
            done.update(cols)
        elif name in diff_of:
            high, low, _ = diff_of[name].parts()
            unit = 1.0
            if kind == Kind.DATETIME:
                unit = datetime_unit(to_float(values[high], kind) - to_float(values[low], kind))
            diff = to_float(values[high], kind, unit) - to_float(values[low], kind, unit)
            dkind = Kind.INTEGER if kind in (Kind.INTEGER, Kind.DATETIME) else Kind.FLOAT
            codec = new_codec(name, "diff", dkind, diff)
            out.append(ModelColumn(name, "diff", [name], dkind, codec, unit=unit, low=low))
            done.add(name)
        elif kind in NUMERIC_KINDS:
            unit = datetime_unit(to_float(values[name], kind)) if kind == Kind.DATETIME else 1.0
            x = to_float(values[name], kind, unit)
            codec = new_codec(name, "plain", kind, x)
            out.append(ModelColumn(name, "plain", [name], kind, codec, unit=unit))
            done.add(name)
        else:
            codec = new_codec(name, "plain", kind, values[name])
            out.append(ModelColumn(name, "plain", [name], kind, codec))
            done.add(name)
    return out


def model_inputs(
    model_columns: list[ModelColumn], schema: Schema, values: dict[str, pd.Series]
) -> Iterator[tuple[ModelColumn, Any]]:
    """Each model column with the values its codec encodes (group ids, differences, floats, labels)."""
    for mc in model_columns:
        if mc.role == "fixed":
            frame = pd.DataFrame({k: values[k] for k in mc.sources})
            ids = frame.groupby(mc.sources, dropna=False, sort=False).ngroup()
            yield mc, ids
        elif mc.role == "diff":
            src = schema.columns[mc.name].kind
            yield mc, to_float(values[mc.name], src, mc.unit) - to_float(values[mc.low], src, mc.unit)
        elif isinstance(mc.codec, NumericCodec):
            yield mc, to_float(values[mc.name], mc.kind, mc.unit)
        else:
            yield mc, values[mc.name]
