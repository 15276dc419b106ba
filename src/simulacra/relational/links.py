"""How rows of two tables are linked: parent positions, sibling ranks, columns a child copies.

Key values are compared across tables as numbers (as floats) or as text, so an integer key in one
table finds a float or nullable-integer key in another.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metadata import ForeignKey


def sibling_index(pos: np.ndarray, order: pd.Series | None = None) -> np.ndarray:
    """Each row's rank among the rows with the same parent position (by ``order``, else as given)."""
    n = pos.shape[0]
    if order is None:
        perm = np.lexsort((np.arange(n), pos))
    else:
        perm = np.lexsort((np.arange(n), pd.factorize(key_values(order), sort=True)[0], pos))
    ranks = np.empty(pos.shape[0], dtype=np.int64)
    sorted_pos = pos[perm]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_pos)) + 1] if pos.size else np.zeros(0, dtype=np.int64)
    first = np.repeat(starts, np.diff(np.r_[starts, pos.size]))
    ranks[perm] = np.arange(pos.shape[0]) - first
    return ranks


def previous_sibling(pos: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Each row's previous sibling (same parent position, rank one lower) as a row index; -1 for a first."""
    if pos.size == 0:
        return np.zeros(0, dtype=np.int64)
    width = int(rank.max()) + 2
    key = pd.Index(pos.astype(np.int64) * width + rank.astype(np.int64))
    prev = key.get_indexer(pos.astype(np.int64) * width + rank.astype(np.int64) - 1)
    prev[rank == 0] = -1
    return prev.astype(np.int64)


def repeats_earlier(values: np.ndarray, mine: np.ndarray, pos: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Whether each row's value equals the last value of an earlier sibling whose ``mine`` is True
    (siblings share a parent position and are taken in rank order)."""
    order = np.lexsort((rank, pos))
    grp = pd.Series(pos[order])
    own = pd.Series(np.where(mine[order], values[order], None), dtype=object)
    last = own.groupby(grp.to_numpy()).shift(1)
    last = last.groupby(grp.to_numpy()).ffill()
    hit = (pd.Series(values[order], dtype=object).eq(last) & last.notna()).to_numpy()
    out = np.zeros(len(values), dtype=bool)
    out[order] = hit
    return out


def sibling_dependence(
    frame: pd.DataFrame, columns: list[str], prev: np.ndarray, minimum: float = 0.2
) -> list[str]:
    """``columns`` whose value depends on the previous sibling's at least ``minimum``, most dependent
    first: |Spearman's ρ| for numbers, agreement above chance (Cohen's κ) for categories."""
    has = prev >= 0
    if not has.any():
        return []
    scored = []
    for c in columns:
        now = frame[c].iloc[np.flatnonzero(has)].reset_index(drop=True)
        before = frame[c].iloc[prev[has]].reset_index(drop=True)
        num_now, num_before = pd.to_numeric(now, errors="coerce"), pd.to_numeric(before, errors="coerce")
        both = num_now.notna() & num_before.notna()
        if both.mean() > 0.5 and num_now[both].nunique() > 2:
            r = num_now[both].rank().corr(num_before[both].rank())
            score = abs(r) if pd.notna(r) else 0.0
        else:
            a, b = now.astype(str), before.astype(str)
            p = a.value_counts(normalize=True)
            chance = float((p**2).sum())
            agree = float((a == b).mean())
            score = (agree - chance) / (1 - chance) if chance < 1 else 0.0
        if score >= minimum:
            scored.append((score, c))
    return [c for _, c in sorted(scored, key=lambda t: -t[0])]


def with_dtype(values: np.ndarray, dtype: object) -> pd.Series:
    """``values`` as a Series of ``dtype`` when they fit it, else of objects."""
    try:
        return pd.Series(values).astype(dtype)
    except (TypeError, ValueError):
        return pd.Series(values, dtype=object)


AGREEMENT = 0.9  # a column shared with the parent counts as a copy when this share of rows agree


def agreeing_columns(
    child: pd.DataFrame, parent: pd.DataFrame, pos: np.ndarray, exclude: set[str]
) -> list[str]:
    """Columns that child and parent both carry (same name) and that agree on at least 90% of the
    real rows: copies such as a season's league, which the picked parent should then share."""
    out = []
    linked = pos >= 0
    if not linked.any():
        return out
    for c in child.columns:
        if c in exclude or c not in parent.columns:
            continue
        a = child[c].to_numpy()[linked]
        b = parent[c].to_numpy()[pos[linked]]
        try:
            same = pd.Series(a, dtype=object).eq(pd.Series(b, dtype=object)).to_numpy()
        except (TypeError, ValueError):
            continue
        if same.mean() >= AGREEMENT:
            out.append(c)
    return out


def parent_positions(child: pd.DataFrame, fk: ForeignKey, parent: pd.DataFrame) -> np.ndarray:
    """For each child row, the position of the parent row its key names (−1: null or not found)."""
    if child.empty:
        return np.zeros(0, dtype=np.int64)
    left = [key_values(child[c]) for c in fk.columns]
    right = [key_values(parent[c]) for c in fk.parent_columns]
    index = pd.MultiIndex.from_arrays(right) if len(right) > 1 else pd.Index(right[0])
    probe = pd.MultiIndex.from_arrays(left) if len(left) > 1 else pd.Index(left[0])
    pos = np.asarray(index.get_indexer(probe), dtype=np.int64)
    null = np.zeros(len(child), dtype=bool)
    for c in fk.columns:
        null |= child[c].isna().to_numpy()
    pos[null] = -1
    return pos


def key_values(s: pd.Series) -> np.ndarray:
    """Key values made comparable across tables (numbers as floats, everything else as text)."""
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype(float).to_numpy()
    return s.astype(str).to_numpy(dtype=object)


TIMELINE = 0.9  # a child date follows a parent date when they correlate at least this much


def _nanoseconds(s: pd.Series) -> np.ndarray:
    out = s.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
    out[s.isna().to_numpy()] = np.nan
    return out


def timeline_pairs(
    child: pd.DataFrame, parent: pd.DataFrame, pos: np.ndarray, columns: list[str], parent_columns: list[str]
) -> dict[str, str]:
    """Child date columns that follow one of their parent's dates (a card issued after its account
    opened): child column → the parent date it correlates with best, when that is ≥ 0.9. The child
    is then learned as the time since that parent date, so a parent's children stay close in time."""
    dates = [p for p in parent_columns if pd.api.types.is_datetime64_any_dtype(parent[p])]
    linked = pos >= 0
    out: dict[str, str] = {}
    if not dates or linked.sum() < 10:
        return out
    for c in columns:
        if not pd.api.types.is_datetime64_any_dtype(child[c]):
            continue
        x = _nanoseconds(child[c])[linked]
        best, best_r = None, TIMELINE
        for p in dates:
            y = _nanoseconds(parent[p])[pos[linked]]
            ok = ~(np.isnan(x) | np.isnan(y))
            if ok.sum() < 10 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
                continue
            r = float(np.corrcoef(x[ok], y[ok])[0, 1])
            if r >= best_r:
                best, best_r = p, r
        if best is not None:
            out[c] = best
    return out


def seconds_after(child: pd.Series, parent_values: pd.Series) -> np.ndarray:
    """Seconds from each parent date to its child's date (NaN where either is missing)."""
    return (_nanoseconds(child) - _nanoseconds(parent_values)) / 1e9


def add_seconds(parent_values: pd.Series, seconds: np.ndarray) -> pd.Series:
    """Parent dates moved by whole ``seconds`` (NaT where either is missing)."""
    secs = np.round(np.asarray(seconds, dtype=float))
    base = pd.to_datetime(parent_values.reset_index(drop=True))
    return base + pd.to_timedelta(secs, unit="s")


def take(column: pd.Series, pos: np.ndarray) -> pd.Series | np.ndarray:
    """The values of a parent column at ``pos`` (−1: null), in the parent column's dtype when none is null."""
    if (pos >= 0).all():
        return pd.Series(column.to_numpy()[pos], dtype=column.dtype) if len(column) else column.iloc[:0]
    vals = column.to_numpy(dtype=object)[np.clip(pos, 0, None)] if len(column) else np.full(len(pos), None)
    vals = np.array(vals, dtype=object)
    vals[pos < 0] = None
    return vals
