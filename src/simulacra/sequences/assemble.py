"""Sampled sequences back into a long table: keys, order values, context, events, regenerated columns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..schema.kinds import Kind
from ..seeding import derive_rng
from ..tabular.regenerate import regenerate
from .features import ENTITY_CHUNK, GAP


def assemble(
    synth: Any,
    etable: pd.DataFrame,
    L: np.ndarray,
    values: list[np.ndarray],
    start: np.ndarray | None,
    k: int,
    seed: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Chunk ``k`` of a fitted ``synth``'s sample in long format (one row per event, training order of
    columns): ``values[j]`` holds channel ``j`` as an (entities, steps) matrix, ``L`` the lengths."""
    n = len(L)
    lmax = values[0].shape[1] if values else int(L.max())
    mask = np.arange(lmax)[None, :] < L[:, None]
    ent = np.repeat(np.arange(n), L)
    gid = k * ENTITY_CHUNK + ent
    cols: dict[str, Any] = {}
    cols[synth.sequence_key_] = gid if synth.key_numeric_ else np.array([f"s{i}" for i in gid], dtype=object)
    by_name = {ch.name: j for j, ch in enumerate(synth.channels_)}
    if synth.order_by_ is not None:
        gaps = np.nan_to_num(values[by_name[GAP]])
        gaps[:, 0] = 0.0
        order = start[:, None] + np.cumsum(gaps, axis=1)
        cols[synth.order_by_] = restore_numeric(
            order[mask], Kind(synth.order_kind_), synth.order_format_, False
        )
    for c in synth.context_:
        cols[c] = np.repeat(etable[c].to_numpy(), L)
    for c in synth.learned_:
        j = by_name[c]
        ch = synth.channels_[j]
        col = synth.event_schema_[c]
        if ch.mode == "category":
            vals = ch.codec.decode(values[j][mask].astype(np.int64), rng)
            s = pd.Series(vals, dtype=object)
            if synth.out_dtypes_[c] == "bool" and not s.isna().any():
                s = s.astype(bool)
            cols[c] = s
        else:
            cols[c] = restore_numeric(
                values[j][mask], Kind(col["kind"]), col.get("format"), synth.out_missing_[c]
            )
    if synth.shapes_:
        regen = regenerate(
            synth.shapes_,
            int(mask.sum()),
            k * ENTITY_CHUNK * synth.max_length_,
            derive_rng(seed, "sequences", "regenerate", k),
        )
        cols.update(regen)
    return pd.DataFrame({c: pd.Series(cols[c]).reset_index(drop=True) for c in synth.columns_})


def restore_numeric(x: np.ndarray, kind: Kind, fmt: str | None, missing: bool) -> pd.Series:
    """Seconds or numbers back to the column's kind: dates (formatted if ``fmt``), integers, floats."""
    if kind == Kind.DATETIME:
        ts = pd.Series(pd.to_datetime(np.round(x * 1e9).astype("float64"), unit="ns")).dt.floor("s")
        if fmt:
            return ts.dt.strftime(fmt).where(ts.notna(), None).astype(object)
        return ts
    if kind == Kind.INTEGER:
        if missing or np.isnan(x).any():
            return pd.Series(pd.array(np.where(np.isnan(x), np.nan, np.round(x)), dtype="Int64"))
        return pd.Series(np.round(x).astype(np.int64))
    return pd.Series(x.astype(float))
