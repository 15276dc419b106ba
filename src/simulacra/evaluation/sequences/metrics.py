"""Sequence measures: long tables read as per-entity numeric channels, per-sequence summaries,
within-sequence correlations, next-step forecasts and whole-sequence hashes.

Every table is read in long format (one row per event, an entity key, an optional order column).
Each entity becomes a sequence of numeric channels (numeric and datetime event columns, plus the gap
between events when there is an order column). The checks, each beside the real holdout's score:

- per-sequence statistics (length; each channel's mean, std, mean and std of first differences)
  compared by the two-sample Kolmogorov–Smirnov statistic;
- autocorrelation at lags 1..k and cross-correlation between channels at lags 0..k, within
  sequences (each sequence standardised by its own mean and std);
- a classifier that tries to tell synthetic from real sequences by their summaries;
- train-synthetic/test-real next-step forecasting (a ridge model of the next change);
- privacy at the entity level: whole sequences copied, and distances between sequence summaries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from ...errors import DataError
from ...seeding import derive_rng
from ..tabular.columns import column_kind, to_datetime_ns, to_float

__all__ = [
    "Sequences",
    "channels",
    "compare_sequences",
    "correlations",
    "forecast_r2",
    "gap_varies",
    "ks_distances",
    "mean_abs",
    "read_sequences",
    "sequence_hashes",
    "subsample",
    "summaries",
]



class Sequences:
    """Numeric channels of every entity, rows sorted by entity then order (see :func:`read_sequences`)."""

    def __init__(self, values: np.ndarray, lengths: np.ndarray, summary_extra: pd.DataFrame) -> None:
        self.values = values  # (rows, channels)
        self.lengths = lengths
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.extra = summary_extra  # context columns, one row per entity

    @property
    def entity(self) -> np.ndarray:
        return np.repeat(np.arange(self.lengths.size), self.lengths)

    def padded(self, max_len: int) -> np.ndarray:
        """(entities, max_len, channels) with NaN after each sequence's end (longer ones cut)."""
        n, c = self.lengths.size, self.values.shape[1]
        out = np.full((n, max_len, c), np.nan)
        pos = np.arange(self.values.shape[0]) - np.repeat(self.offsets[:-1], self.lengths)
        keep = pos < max_len
        out[self.entity[keep], pos[keep]] = self.values[keep]
        return out


def _order_values(s: pd.Series) -> np.ndarray:
    if column_kind(s) == "numeric":
        return to_float(s)
    ns, na = to_datetime_ns(s)
    v = ns.astype(float) / 1e9
    v[na] = np.nan
    return v


def channels(train: pd.DataFrame, key: str, order_by: str | None, context: list[str]) -> list[str]:
    """The numeric and datetime event columns (not the key, the order column or context columns)."""
    out = []
    for c in train.columns:
        if c in (key, order_by) or c in context:
            continue
        if column_kind(train[c]) in ("numeric", "datetime"):
            out.append(c)
    return out


def read_sequences(
    df: pd.DataFrame,
    key: str,
    order_by: str | None,
    context: list[str],
    channels: list[str],
    use_gap: bool,
    role: str,
) -> Sequences:
    """``df`` (long format) as :class:`Sequences`; ``role`` names the data in error messages."""
    if key not in df.columns:
        raise DataError(f"the {role} data has no sequence key column '{key}'")
    if df[key].isna().any():
        raise DataError(f"the {role} data has rows without a sequence key ('{key}' is missing)")
    ent, _ = pd.factorize(df[key], sort=False)
    if order_by is not None:
        if order_by not in df.columns:
            raise DataError(f"the {role} data has no order column '{order_by}'")
        o = _order_values(df[order_by])
        if np.isnan(o).any():
            raise DataError(
                f"the {role} data has rows whose order value ('{order_by}') is missing or unreadable"
            )
        perm = np.lexsort((o, ent))
    else:
        o = None
        perm = np.argsort(ent, kind="stable")
    ent_s = ent[perm]
    lengths = np.bincount(ent_s)
    cols = []
    for c in channels:
        if column_kind(df[c]) == "datetime":
            ns, na = to_datetime_ns(df[c])
            v = ns.astype(float) / 1e9
            v[na] = np.nan
        else:
            v = to_float(df[c])
        cols.append(v[perm])
    if use_gap and o is not None:
        os_ = o[perm]
        gap = np.r_[np.nan, np.diff(os_)]
        gap[np.concatenate([[0], np.cumsum(lengths)])[:-1]] = np.nan
        cols.append(gap)
    values = np.column_stack(cols) if cols else np.zeros((len(df), 0))
    first = np.concatenate([[0], np.cumsum(lengths)])[:-1]
    extra = df.iloc[perm].iloc[first][context].reset_index(drop=True) if context else pd.DataFrame()
    return Sequences(values, lengths, extra)


def summaries(seq: Sequences, names: list[str]) -> pd.DataFrame:
    """One row per entity: length and, per channel, mean, std, mean and std of first differences."""
    ent = seq.entity
    frame = pd.DataFrame(seq.values, columns=names)
    diffs = frame.groupby(ent, sort=True).diff()
    g, gd = frame.groupby(ent, sort=True), diffs.groupby(ent, sort=True)
    out = {"length": seq.lengths.astype(float)}
    mean, std, dmean, dstd = g.mean(), g.std(ddof=0), gd.mean(), gd.std(ddof=0)
    for c in names:
        out[f"{c}: mean"] = mean[c].to_numpy()
        out[f"{c}: std"] = std[c].to_numpy()
        out[f"{c}: diff mean"] = dmean[c].to_numpy()
        out[f"{c}: diff std"] = dstd[c].to_numpy()
    summ = pd.DataFrame(out)
    if len(seq.extra.columns):
        summ = pd.concat([summ, seq.extra], axis=1)
    return summ


def correlations(seq: Sequences, max_lag: int, max_len: int = 256) -> np.ndarray:
    """(max_lag + 1, C, C): mean of z_a(t) z_b(t + lag) within sequences, z standardised per sequence."""
    z = seq.padded(max_len)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.nanmean(z, axis=1, keepdims=True)
        sd = np.nanstd(z, axis=1, keepdims=True)
        z = (z - mu) / np.where(sd > 0, sd, np.nan)
    c = z.shape[2]
    out = np.full((max_lag + 1, c, c), np.nan)
    valid = ~np.isnan(z)
    z0 = np.nan_to_num(z)
    for lag in range(max_lag + 1):
        if lag >= z.shape[1]:
            break
        a, b = z0[:, : z.shape[1] - lag], z0[:, lag:]
        va, vb = valid[:, : z.shape[1] - lag].astype(float), valid[:, lag:].astype(float)
        s = np.einsum("ntc,ntd->cd", a, b)
        cnt = np.einsum("ntc,ntd->cd", va, vb)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lag] = np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)
    return out


def ks_distances(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float]:
    """Two-sample KS statistic of every numeric summary column of ``a`` against ``b``."""
    out = {}
    for c in a.columns:
        if not pd.api.types.is_numeric_dtype(a[c]):
            continue
        x, y = a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float)
        x, y = x[np.isfinite(x)], y[np.isfinite(y)]
        if x.size and y.size:
            out[c] = float(ks_2samp(x, y).statistic)
        elif x.size or y.size:
            out[c] = 1.0
    return out


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference over the finite entries (NaN when there are none)."""
    d = np.abs(a - b)
    d = d[np.isfinite(d)]
    return float(d.mean()) if d.size else float("nan")


def subsample(df: pd.DataFrame, key: str, max_entities: int, seed: int) -> pd.DataFrame:
    """At most ``max_entities`` whole sequences of ``df`` (a seeded sample of its keys)."""
    keys = pd.unique(df[key])
    if keys.size <= max_entities:
        return df
    rng = derive_rng(seed, "evaluate", "sequences", "subsample")
    keep = rng.choice(keys.size, max_entities, replace=False)
    return df[df[key].isin(keys[np.sort(keep)])]


def compare_sequences(
    real: pd.DataFrame,
    other: pd.DataFrame,
    *,
    sequence_key: str,
    order_by: str | None = None,
    context: list[str] | None = None,
    max_lag: int = 5,
    max_entities: int = 5_000,
    seed: int = 0,
) -> dict:
    """Distances between two long tables' sequences (0 = the same).

    Returns ``ks`` (mean KS statistic over per-sequence statistics) with ``ks_by_stat``, ``acf_diff``
    (mean absolute difference of within-sequence autocorrelations at lags 1..max_lag) and ``ccf_diff``
    (the same for cross-correlations between channels at lags 0..max_lag).
    """
    context = list(context or [])
    chans = channels(real, sequence_key, order_by, context)
    use_gap = order_by is not None and gap_varies(real, sequence_key, order_by)
    names = chans + (["gap"] if use_gap else [])
    real = subsample(real, sequence_key, max_entities, seed)
    other = subsample(other, sequence_key, max_entities, seed)
    r = read_sequences(real, sequence_key, order_by, [], chans, use_gap, "real")
    o = read_sequences(other, sequence_key, order_by, [], chans, use_gap, "compared")
    ks = ks_distances(summaries(r, names), summaries(o, names))
    cr, co = correlations(r, max_lag), correlations(o, max_lag)
    c = len(names)
    off = ~np.eye(c, dtype=bool)
    acf = (
        mean_abs(np.stack([np.diag(m) for m in cr[1:]]), np.stack([np.diag(m) for m in co[1:]]))
        if (max_lag >= 1 and c)
        else float("nan")
    )
    ccf = mean_abs(cr[:, off], co[:, off]) if c > 1 else float("nan")
    return {
        "ks": float(np.mean(list(ks.values()))) if ks else float("nan"),
        "ks_by_stat": ks,
        "acf_diff": acf,
        "ccf_diff": ccf,
        "channels": names,
    }


def gap_varies(df: pd.DataFrame, key: str, order_by: str) -> bool:
    """Whether the step between consecutive order values varies within sequences."""
    ent, _ = pd.factorize(df[key], sort=False)
    o = _order_values(df[order_by])
    perm = np.lexsort((o, ent))
    d = np.diff(o[perm])[ent[perm][1:] == ent[perm][:-1]]
    d = d[np.isfinite(d)]
    return bool(d.size and np.nanstd(d) > 0)


def forecast_r2(train: Sequences, test: Sequences, scale: tuple[np.ndarray, np.ndarray]) -> float | None:
    """R² (mean over channels) on ``test`` of a ridge model of the next change, fitted on ``train``."""
    from sklearn.linear_model import Ridge

    def design(seq: Sequences) -> tuple[np.ndarray, np.ndarray]:
        v = (seq.values - scale[0]) / scale[1]
        ent = seq.entity
        same1 = np.r_[False, ent[1:] == ent[:-1]]
        same2 = np.r_[False, same1[:-1]] & same1
        idx = np.flatnonzero(same2)
        x = np.hstack([v[idx - 1], v[idx - 1] - v[idx - 2]])
        y = v[idx] - v[idx - 1]
        ok = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
        return x[ok], y[ok]

    xt, yt = design(train)
    xs, ys = design(test)
    if len(xt) < 10 or len(xs) < 10:
        return None
    pred = Ridge(alpha=1.0).fit(xt, yt).predict(xs).reshape(ys.shape)  # one channel: Ridge gives 1-D
    ss_res = ((ys - pred) ** 2).sum(axis=0)
    ss_tot = ((ys - ys.mean(axis=0)) ** 2).sum(axis=0)
    ok = ss_tot > 0
    return float(np.mean(1 - ss_res[ok] / ss_tot[ok])) if ok.any() else None


def sequence_hashes(df: pd.DataFrame, key: str, order_by: str | None) -> np.ndarray:
    """One hash per entity of its whole history (every column but the key, in order)."""
    cols = [c for c in df.columns if c != key]
    frame = df[cols].astype(str)
    frame[key] = df[key].to_numpy()
    if order_by is not None:
        o = _order_values(df[order_by])
        frame = frame.assign(__o=o).sort_values([key, "__o"], kind="stable").drop(columns="__o")
    row_h = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()
    return (
        pd.Series(row_h).groupby(frame[key].to_numpy(), sort=False).agg(lambda h: hash(tuple(h))).to_numpy()
    )
