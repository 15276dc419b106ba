"""The report's sequence section: are the synthetic histories shaped like real ones?

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

import math

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from ..errors import DataError, UsageError
from .fidelity import _column_kind, _to_datetime_ns, _to_float

MIN_ENTITIES = 5
KS_WARN, KS_FAIL = 0.10, 0.25  # above the holdout's mean KS
ACF_WARN, ACF_FAIL = 0.10, 0.25  # above the holdout's mean absolute autocorrelation difference
CCF_WARN = 0.10
FORECAST_WARN, FORECAST_FAIL = 0.10, 0.30  # R² below the real-trained model's
DETECTION_WARN = 0.80


class _Sequences:
    """Numeric channels of every entity, rows sorted by entity then order."""

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
    if _column_kind(s) == "numeric":
        return _to_float(s)
    ns, na = _to_datetime_ns(s)
    v = ns.astype(float) / 1e9
    v[na] = np.nan
    return v


def _channels(train: pd.DataFrame, key: str, order_by: str | None, context: list[str]) -> list[str]:
    out = []
    for c in train.columns:
        if c in (key, order_by) or c in context:
            continue
        if _column_kind(train[c]) in ("numeric", "datetime"):
            out.append(c)
    return out


def _read(
    df: pd.DataFrame,
    key: str,
    order_by: str | None,
    context: list[str],
    channels: list[str],
    use_gap: bool,
    role: str,
) -> _Sequences:
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
        if _column_kind(df[c]) == "datetime":
            ns, na = _to_datetime_ns(df[c])
            v = ns.astype(float) / 1e9
            v[na] = np.nan
        else:
            v = _to_float(df[c])
        cols.append(v[perm])
    if use_gap and o is not None:
        os_ = o[perm]
        gap = np.r_[np.nan, np.diff(os_)]
        gap[np.concatenate([[0], np.cumsum(lengths)])[:-1]] = np.nan
        cols.append(gap)
    values = np.column_stack(cols) if cols else np.zeros((len(df), 0))
    first = np.concatenate([[0], np.cumsum(lengths)])[:-1]
    extra = df.iloc[perm].iloc[first][context].reset_index(drop=True) if context else pd.DataFrame()
    return _Sequences(values, lengths, extra)


def _summaries(seq: _Sequences, names: list[str]) -> pd.DataFrame:
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


def _correlations(seq: _Sequences, max_lag: int, max_len: int = 256) -> np.ndarray:
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


def _ks(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float]:
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


def _mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    d = np.abs(a - b)
    d = d[np.isfinite(d)]
    return float(d.mean()) if d.size else float("nan")


def _subsample(df: pd.DataFrame, key: str, max_entities: int, seed: int) -> pd.DataFrame:
    keys = pd.unique(df[key])
    if keys.size <= max_entities:
        return df
    keep = np.random.default_rng(seed).choice(keys.size, max_entities, replace=False)
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
    chans = _channels(real, sequence_key, order_by, context)
    use_gap = order_by is not None and _gap_varies(real, sequence_key, order_by)
    names = chans + (["gap"] if use_gap else [])
    real = _subsample(real, sequence_key, max_entities, seed)
    other = _subsample(other, sequence_key, max_entities, seed)
    r = _read(real, sequence_key, order_by, [], chans, use_gap, "real")
    o = _read(other, sequence_key, order_by, [], chans, use_gap, "compared")
    ks = _ks(_summaries(r, names), _summaries(o, names))
    cr, co = _correlations(r, max_lag), _correlations(o, max_lag)
    c = len(names)
    off = ~np.eye(c, dtype=bool)
    acf = (
        _mean_abs(np.stack([np.diag(m) for m in cr[1:]]), np.stack([np.diag(m) for m in co[1:]]))
        if (max_lag >= 1 and c)
        else float("nan")
    )
    ccf = _mean_abs(cr[:, off], co[:, off]) if c > 1 else float("nan")
    return {
        "ks": float(np.mean(list(ks.values()))) if ks else float("nan"),
        "ks_by_stat": ks,
        "acf_diff": acf,
        "ccf_diff": ccf,
        "channels": names,
    }


def _gap_varies(df: pd.DataFrame, key: str, order_by: str) -> bool:
    ent, _ = pd.factorize(df[key], sort=False)
    o = _order_values(df[order_by])
    perm = np.lexsort((o, ent))
    d = np.diff(o[perm])[ent[perm][1:] == ent[perm][:-1]]
    d = d[np.isfinite(d)]
    return bool(d.size and np.nanstd(d) > 0)


def _forecast_r2(train: _Sequences, test: _Sequences, scale: tuple[np.ndarray, np.ndarray]) -> float | None:
    """R² (mean over channels) on ``test`` of a ridge model of the next change, fitted on ``train``."""
    from sklearn.linear_model import Ridge

    def design(seq: _Sequences) -> tuple[np.ndarray, np.ndarray]:
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
    pred = Ridge(alpha=1.0).fit(xt, yt).predict(xs)
    ss_res = ((ys - pred) ** 2).sum(axis=0)
    ss_tot = ((ys - ys.mean(axis=0)) ** 2).sum(axis=0)
    ok = ss_tot > 0
    return float(np.mean(1 - ss_res[ok] / ss_tot[ok])) if ok.any() else None


def _sequence_hashes(df: pd.DataFrame, key: str, order_by: str | None) -> set[int] | np.ndarray:
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


def sequence_section(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    sequence_key: str,
    order_by: str | None = None,
    context: list[str] | None = None,
    max_lag: int = 5,
    seed: int = 0,
    max_entities: int = 5_000,
) -> dict:
    """The report section for long-format sequences: every score beside the real holdout's."""
    from .detection import detection_auc
    from .privacy import dcr, membership_inference_auc
    from .report import DCR_FAIL, DCR_WARN, MIA_FAIL, _score, _worst

    context = list(context or [])
    if max_lag < 1:
        raise UsageError(f"max_lag must be at least 1, got {max_lag}")
    for role, df in (("train", train), ("holdout", holdout), ("synthetic", synthetic)):
        for c in [sequence_key, *([order_by] if order_by else []), *context]:
            if c not in df.columns:
                raise DataError(f"the {role} data has no column '{c}' (named by the sequence options)")
        n = df[sequence_key].nunique()
        if n < MIN_ENTITIES:
            raise DataError(
                f"the {role} data holds {n} sequences ('{sequence_key}' values); the sequence checks "
                f"need at least {MIN_ENTITIES}"
            )
    trn, hol, syn = (_subsample(d, sequence_key, max_entities, seed) for d in (train, holdout, synthetic))
    chans = _channels(trn, sequence_key, order_by, context)
    use_gap = order_by is not None and _gap_varies(trn, sequence_key, order_by)
    names = chans + (["gap"] if use_gap else [])
    seqs = {
        role: _read(d, sequence_key, order_by, context, chans, use_gap, role)
        for role, d in (("train", trn), ("holdout", hol), ("synthetic", syn))
    }
    summ = {role: _summaries(s, names) for role, s in seqs.items()}

    ks_s, ks_h = _ks(summ["train"], summ["synthetic"]), _ks(summ["train"], summ["holdout"])
    ks_sv = float(np.mean(list(ks_s.values())))
    ks_hv = float(np.mean(list(ks_h.values())))
    ks_status = "fail" if ks_sv > ks_hv + KS_FAIL else "warn" if ks_sv > ks_hv + KS_WARN else "pass"

    corr = {role: _correlations(s, max_lag) for role, s in seqs.items()}
    c = len(names)
    if c:
        diag = {r: np.stack([np.diag(m) for m in corr[r][1:]]) for r in corr}
        acf_s, acf_h = _mean_abs(diag["synthetic"], diag["train"]), _mean_abs(diag["holdout"], diag["train"])
    else:
        acf_s = acf_h = float("nan")
    off = ~np.eye(c, dtype=bool)
    if c > 1:
        ccf_s = _mean_abs(corr["synthetic"][:, off], corr["train"][:, off])
        ccf_h = _mean_abs(corr["holdout"][:, off], corr["train"][:, off])
    else:
        ccf_s = ccf_h = float("nan")
    acf_ok = math.isfinite(acf_s) and math.isfinite(acf_h)
    acf_status = (
        "fail"
        if acf_ok and acf_s > acf_h + ACF_FAIL
        else "warn"
        if acf_ok and acf_s > acf_h + ACF_WARN
        else "pass"
    )
    ccf_ok = math.isfinite(ccf_s) and math.isfinite(ccf_h)
    ccf_status = "warn" if ccf_ok and ccf_s > ccf_h + CCF_WARN else "pass"

    det_s = detection_auc(summ["train"], summ["synthetic"], seed=seed)
    det_h = detection_auc(summ["train"], summ["holdout"], seed=seed)

    if c:
        vals = seqs["train"].values
        mu = np.nanmean(vals, axis=0)
        sd = np.nanstd(vals, axis=0)
        scale = (np.nan_to_num(mu), np.where(np.nan_to_num(sd) > 0, np.nan_to_num(sd), 1.0))
        f_s = _forecast_r2(seqs["synthetic"], seqs["holdout"], scale)
        f_h = _forecast_r2(seqs["train"], seqs["holdout"], scale)
    else:
        f_s = f_h = None
    if f_s is None or f_h is None:
        f_status, f_why = "n/a", "too few sequences with three or more events, or no numeric channel"
    else:
        gap = f_h - f_s
        f_status, f_why = ("fail" if gap > FORECAST_FAIL else "warn" if gap > FORECAST_WARN else "pass"), None

    # privacy at the entity level
    h_trn = set(_sequence_hashes(trn, sequence_key, order_by).tolist())
    copies_s = float(np.isin(_sequence_hashes(syn, sequence_key, order_by), list(h_trn)).mean())
    copies_h = float(np.isin(_sequence_hashes(hol, sequence_key, order_by), list(h_trn)).mean())
    n_syn = len(summ["synthetic"])
    copy_tol = 3 * math.sqrt(max(copies_h, 1.0 / len(summ["holdout"])) / max(n_syn, 1))
    copy_status = "fail" if copies_s > copies_h + copy_tol else "pass"
    pcols = [col for col in summ["train"].columns if summ["train"][col].notna().any()]
    d = dcr(summ["train"][pcols], summ["holdout"][pcols], summ["synthetic"][pcols], seed=seed)
    share, p = d["share_closer_to_train"], d["p_value"]
    dcr_status = (
        "pass" if p >= 0.01 else "fail" if share > DCR_FAIL else "warn" if share > DCR_WARN else "pass"
    )
    mia = membership_inference_auc(
        summ["train"][pcols], summ["holdout"][pcols], summ["synthetic"][pcols], seed=seed
    )
    mia_status = "fail" if mia > MIA_FAIL else "pass"

    lag_txt = f"lags 1..{max_lag}"
    scores = [
        _score(
            "sequence_stats_ks",
            "Per-sequence statistics: mean KS distance (length, mean, std, first differences)",
            ks_sv,
            ks_hv,
            ideal="lower",
            status=ks_status,
            explain="For every sequence its length and, per numeric channel, its mean, standard deviation "
            "and the mean and standard deviation of its first differences; the synthetic and real "
            "distributions of each statistic are compared by the Kolmogorov–Smirnov distance (0 = same) "
            f"and averaged. {KS_WARN} above the holdout's warns, {KS_FAIL} above fails. It sees each "
            "statistic alone, not how they go together.",
        ),
        _score(
            "autocorrelation_diff",
            f"Autocorrelation difference ({lag_txt}, mean absolute)",
            acf_s,
            acf_h,
            ideal="lower",
            status=acf_status,
            explain="Within-sequence autocorrelation of every channel (each sequence standardised by its "
            "own mean and std), averaged over sequences, compared with the training data's. It shows "
            "whether smoothness, trends and oscillations survive; not whether the levels are right.",
            not_computable=None if acf_ok else "no numeric channel varies within sequences",
        ),
        _score(
            "cross_correlation_diff",
            f"Cross-correlation difference between channels (lags 0..{max_lag}, mean absolute)",
            ccf_s,
            ccf_h,
            ideal="lower",
            status=ccf_status,
            explain="Within-sequence correlation between every pair of channels, at the same step and at "
            "lags, compared with the training data's. Channels that move together in the real data "
            "should move together in the synthetic data.",
            not_computable=None if ccf_ok else "fewer than two numeric channels",
        ),
        _score(
            "sequence_detection_auc",
            "Detection on sequence summaries (ROC-AUC)",
            det_s,
            det_h,
            ideal="0.5",
            status="warn" if det_s > DETECTION_WARN else "pass",
            explain="A gradient-boosted classifier, cross-validated, tries to tell synthetic sequences from "
            "training sequences by their summaries (length, per-channel statistics, context). 0.5 = "
            "indistinguishable. It misses differences in the order of events that leave the summaries "
            "unchanged.",
        ),
        _score(
            "forecast_tstr",
            "Next-step forecast R² on the real holdout, model trained on synthetic sequences",
            f_s,
            f_h,
            ideal="reference",
            status=f_status,
            explain="A ridge model predicts each channel's next change from the last value and change of "
            "every channel; trained on the synthetic sequences (value) or on the real training "
            f"sequences (reference), tested on the real holdout. {FORECAST_WARN} below the reference "
            f"warns, {FORECAST_FAIL} below fails. A linear forecaster sees only part of the dynamics.",
            not_computable=f_why,
        ),
        _score(
            "sequence_copies",
            "Synthetic sequences identical to a training sequence",
            copies_s,
            copies_h,
            ideal="lower",
            fmt="%",
            status=copy_status,
            explain="Share of synthetic entities whose whole history (every event, every column but the "
            "key) equals a training entity's; the reference is the share of holdout entities that do. "
            "Above it means copying.",
        ),
        _score(
            "sequence_dcr_share",
            "Share of synthetic sequences closer to train than to holdout (DCR on summaries)",
            share,
            0.5,
            ideal="0.5",
            status=dcr_status,
            explain=f"Distance to the closest record between sequence summaries, against equal-sized train "
            f"and holdout samples (p = {p:.2g}). 0.5 means synthetic entities are as close to unseen "
            f"entities as to training ones; above {DCR_WARN} warns and above {DCR_FAIL} fails when "
            "p < 0.01.",
        ),
        _score(
            "sequence_mia_auc",
            "Membership inference on sequence summaries (ROC-AUC)",
            mia,
            0.5,
            ideal="0.5",
            status=mia_status,
            explain=f"An attacker guesses whether an entity was in the training data from the distance of "
            f"its summary to the closest synthetic one. 0.5 = a coin; above {MIA_FAIL} fails.",
        ),
    ]
    lens = {r: s.lengths for r, s in seqs.items()}
    return {
        "status": _worst([s["status"] for s in scores]),
        "summary": f"{len(lens['synthetic']):,} synthetic sequences (median length "
        f"{np.median(lens['synthetic']):.0f}) against {len(lens['train']):,} training and "
        f"{len(lens['holdout']):,} holdout sequences: per-sequence statistics differ by a mean KS of "
        f"{ks_sv:.3f} where fresh real sequences differ by {ks_hv:.3f}.",
        "scores": scores,
        "channels": names,
        "ks_by_stat": {k: {"synthetic": v, "reference": ks_h.get(k)} for k, v in ks_s.items()},
        "figures": {},
    }
