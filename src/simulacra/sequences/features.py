"""What the step model sees, built the same way when fitting and when sampling.

The entity table (one row per entity: context, length, start, first event) gives every sequence its
context features, first values and start time; :func:`teacher_forcing` walks the real sequences step
by step through :class:`~simulacra.sequences.model.StepState` and records each step's features and
realised targets, the rows the step trees learn from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..schema.infer import coerce_column
from ..schema.kinds import Kind
from ..tabular.codecs import CategoricalCodec
from .model import NA, Channel, StepState, make_channel, snap

ENTITY_CHUNK = 4096
"""Entities per sampling chunk. Fixed: changing it changes the bytes a seed produces."""
LENGTH, START, FIRST, GAP = "__length__", "__start__", "__first__:", "__gap__"
"""Columns of the entity table (length, start, ``FIRST + column``) and the time-gap channel."""
NUMERIC_KINDS = (Kind.INTEGER, Kind.FLOAT, Kind.DATETIME)


def seconds(values: pd.Series, kind: Kind) -> np.ndarray:
    """Numbers as floats, datetimes as seconds since 1970 (NaN where missing)."""
    if kind == Kind.DATETIME:
        ns = values.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
        ns[values.isna().to_numpy()] = np.nan
        return ns / 1e9
    return values.to_numpy(dtype=float)


def clean(x: np.ndarray) -> np.ndarray:
    """Missing feature values as the model's "not known" marker."""
    return np.where(np.isnan(x), NA, x)


def context_features(
    context: list[str], entity_schema: Any, etable: pd.DataFrame
) -> tuple[list[tuple[str, str]], dict[str, CategoricalCodec]]:
    """How context columns become numeric features: ``[(column, kind)]`` and codecs of categories."""
    feats: list[tuple[str, str]] = []
    codecs: dict[str, CategoricalCodec] = {}
    for c in context:
        kind = entity_schema.columns[c].kind
        if not entity_schema.columns[c].learned:
            continue
        if kind in NUMERIC_KINDS:
            feats.append((c, kind.value))
        else:
            codecs[c] = CategoricalCodec().fit(etable[c])
            feats.append((c, "categorical"))
    return feats, codecs


def context_matrix(
    feats: list[tuple[str, str]], codecs: dict[str, CategoricalCodec], etable: pd.DataFrame
) -> np.ndarray:
    """The context features of every entity of ``etable`` (one row each)."""
    cols = []
    for c, kind in feats:
        if kind == "categorical":
            cols.append(codecs[c].encode(etable[c]).astype(float))
        else:
            k = Kind(kind)
            vals = etable[c]
            if k == Kind.DATETIME:
                vals = pd.to_datetime(vals, errors="coerce")
            else:
                vals = pd.to_numeric(vals, errors="coerce")
            cols.append(clean(seconds(vals, k)))
    return np.column_stack(cols) if cols else np.zeros((len(etable), 0))


def first_values(etable: pd.DataFrame, channels: list[Channel], event_schema: dict) -> list[np.ndarray]:
    """Every channel's first value per entity (codes for categories, seconds for dates; NaN gaps)."""
    out = []
    for ch in channels:
        if ch.name == GAP:
            out.append(np.full(len(etable), np.nan))
            continue
        vals = etable[FIRST + ch.name]
        if ch.mode == "category":
            out.append(ch.codec.encode(vals).astype(float))
        else:
            kind = Kind(event_schema[ch.name]["kind"])
            if kind == Kind.DATETIME:
                vals = pd.to_datetime(vals, errors="coerce")
            out.append(seconds(vals, kind))
    return out


def start_times(etable: pd.DataFrame, order_kind: str | None, grid: str | None) -> np.ndarray | None:
    """Each entity's first order value in seconds, on the calendar grid (None without an order column)."""
    if order_kind is None:
        return None
    kind = Kind(order_kind)
    vals = etable[START]
    vals = pd.to_datetime(vals, errors="coerce") if kind == Kind.DATETIME else vals
    return snap(seconds(vals, kind), grid)


def teacher_forcing(
    channels: list[Channel],
    flat: list[np.ndarray],
    lengths: np.ndarray,
    offsets: np.ndarray,
    start: np.ndarray | None,
    ctx: np.ndarray,
    calendar: bool,
    grid: str | None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Features and realised targets of every step t >= 1 of the real sequences.

    ``flat[j]``: channel ``j``'s value on every (sorted) row; ``offsets``: where each entity starts;
    ``start``: each entity's first order value; ``ctx``: its context features.
    """
    firsts = [f[offsets[:-1]] for f in flat]
    by_len = np.argsort(-lengths, kind="stable")
    rows, tgts = [], [[] for _ in channels]
    for b in range(0, by_len.size, ENTITY_CHUNK):
        idx = by_len[b : b + ENTITY_CHUNK]
        L = lengths[idx].astype(float)
        state = StepState(
            channels,
            [f[idx] for f in firsts],
            None if start is None else start[idx],
            calendar,
            grid,
        )
        for t in range(1, int(L[0])):
            m = int(np.searchsorted(-L, -t, side="left"))  # rows with L > t (L sorted descending)
            if m == 0:
                break
            state.take(m)
            base = state.features(t, L[:m], ctx[idx[:m]])
            cur = []
            pos = offsets[idx[:m]] + t
            for j, ch in enumerate(channels):
                x = flat[j][pos]
                target = x - state.s[j] if ch.mode == "level" else x
                _, real = state.update(j, target)
                cur.append(real)
                tgts[j].append(real)
            rows.append(np.hstack([base, np.column_stack(cur)]) if cur else base)
    feats = clean(np.vstack(rows))
    return feats, [np.concatenate(t) for t in tgts]


def event_channels(
    sdf: pd.DataFrame, learned: list[str], schema: Any, order: np.ndarray | None, firsts: np.ndarray
) -> tuple[list[np.ndarray], list[Channel], list[bool]]:
    """The channels of a sorted long table: the time gap (when ``order`` is given, in seconds) and
    every learned event column; per channel its value on every row and whether it is integral."""
    flat: list[np.ndarray] = []  # per channel: the value of every (sorted) row
    channels: list[Channel] = []
    integral: list[bool] = []
    if order is not None:
        gaps = np.r_[np.nan, np.diff(order)]
        gaps[firsts] = np.nan
        flat.append(gaps)
        channels.append(make_channel(GAP, "value", gaps, np.empty(0), False))
        integral.append(bool(np.all(np.nan_to_num(gaps) == np.round(np.nan_to_num(gaps)))))
    for c in learned:
        kind = schema.columns[c].kind
        vals = coerce_column(c, sdf[c], schema.columns[c])
        if kind in NUMERIC_KINDS:
            x = seconds(vals, kind)
            flat.append(x)
            fin = x[~np.isnan(x)]
            integral.append(bool(kind != Kind.FLOAT and np.all(fin == np.round(fin))))
            channels.append(make_channel(c, "level", x, np.empty(0), False))
        else:
            codec = CategoricalCodec().fit(vals)
            flat.append(codec.encode(vals).astype(float))
            integral.append(True)
            channels.append(Channel(c, "category", codec))
    return flat, channels, integral
