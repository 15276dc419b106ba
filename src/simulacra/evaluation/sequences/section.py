"""The report's sequence section: are the synthetic histories shaped like real ones?

Each score stands beside the real holdout's (see :mod:`.metrics` for the measures): per-sequence
statistics, autocorrelation and cross-correlation, detection on sequence summaries, next-step
forecasting trained on synthetic sequences, and privacy at the entity level.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...errors import DataError, UsageError
from ..scores import DCR_FAIL, DCR_WARN, DETECTION_WARN, MIA_FAIL, dcr_status, score, worst
from .metrics import (
    channels,
    correlations,
    forecast_r2,
    gap_varies,
    ks_distances,
    mean_abs,
    read_sequences,
    sequence_hashes,
    subsample,
    summaries,
)

__all__ = ["MIN_ENTITIES", "sequence_section"]

MIN_ENTITIES = 5
KS_WARN, KS_FAIL = 0.10, 0.25  # above the holdout's mean KS
ACF_WARN, ACF_FAIL = 0.10, 0.25  # above the holdout's mean absolute autocorrelation difference
CCF_WARN = 0.10
FORECAST_WARN, FORECAST_FAIL = 0.10, 0.30  # R² below the real-trained model's


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
    from ..tabular.detection import detection_auc
    from ..tabular.privacy import dcr, membership_inference_auc

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
    trn, hol, syn = (subsample(d, sequence_key, max_entities, seed) for d in (train, holdout, synthetic))
    chans = channels(trn, sequence_key, order_by, context)
    use_gap = order_by is not None and gap_varies(trn, sequence_key, order_by)
    names = chans + (["gap"] if use_gap else [])
    seqs = {
        role: read_sequences(d, sequence_key, order_by, context, chans, use_gap, role)
        for role, d in (("train", trn), ("holdout", hol), ("synthetic", syn))
    }
    summ = {role: summaries(s, names) for role, s in seqs.items()}

    ks_s, ks_h = ks_distances(summ["train"], summ["synthetic"]), ks_distances(summ["train"], summ["holdout"])
    ks_sv = float(np.mean(list(ks_s.values()))) if ks_s else float("nan")
    ks_hv = float(np.mean(list(ks_h.values()))) if ks_h else float("nan")
    ks_status = "fail" if ks_sv > ks_hv + KS_FAIL else "warn" if ks_sv > ks_hv + KS_WARN else "pass"

    corr = {role: correlations(s, max_lag) for role, s in seqs.items()}
    c = len(names)
    if c:
        diag = {r: np.stack([np.diag(m) for m in corr[r][1:]]) for r in corr}
        acf_s, acf_h = mean_abs(diag["synthetic"], diag["train"]), mean_abs(diag["holdout"], diag["train"])
    else:
        acf_s = acf_h = float("nan")
    off = ~np.eye(c, dtype=bool)
    if c > 1:
        ccf_s = mean_abs(corr["synthetic"][:, off], corr["train"][:, off])
        ccf_h = mean_abs(corr["holdout"][:, off], corr["train"][:, off])
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
        f_s = forecast_r2(seqs["synthetic"], seqs["holdout"], scale)
        f_h = forecast_r2(seqs["train"], seqs["holdout"], scale)
    else:
        f_s = f_h = None
    if f_s is None or f_h is None:
        f_status, f_why = "n/a", "too few sequences with three or more events, or no numeric channel"
    else:
        gap = f_h - f_s
        f_status, f_why = ("fail" if gap > FORECAST_FAIL else "warn" if gap > FORECAST_WARN else "pass"), None

    # privacy at the entity level
    h_trn = set(sequence_hashes(trn, sequence_key, order_by).tolist())
    copies_s = float(np.isin(sequence_hashes(syn, sequence_key, order_by), list(h_trn)).mean())
    copies_h = float(np.isin(sequence_hashes(hol, sequence_key, order_by), list(h_trn)).mean())
    n_syn = len(summ["synthetic"])
    copy_tol = 3 * math.sqrt(max(copies_h, 1.0 / len(summ["holdout"])) / max(n_syn, 1))
    copy_status = "fail" if copies_s > copies_h + copy_tol else "pass"
    pcols = [col for col in summ["train"].columns if summ["train"][col].notna().any()]
    d = dcr(summ["train"][pcols], summ["holdout"][pcols], summ["synthetic"][pcols], seed=seed)
    share, p = d["share_closer_to_train"], d["p_value"]
    mia = membership_inference_auc(
        summ["train"][pcols], summ["holdout"][pcols], summ["synthetic"][pcols], seed=seed
    )
    mia_status = "fail" if mia > MIA_FAIL else "pass"

    lag_txt = f"lags 1..{max_lag}"
    scores = [
        score(
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
        score(
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
        score(
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
        score(
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
        score(
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
        score(
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
        score(
            "sequence_dcr_share",
            "Share of synthetic sequences closer to train than to holdout (DCR on summaries)",
            share,
            0.5,
            ideal="0.5",
            status=dcr_status(share, p),
            explain=f"Distance to the closest record between sequence summaries, against equal-sized train "
            f"and holdout samples (p = {p:.2g}). 0.5 means synthetic entities are as close to unseen "
            f"entities as to training ones; above {DCR_WARN} warns and above {DCR_FAIL} fails when "
            "p < 0.01.",
        ),
        score(
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
        "status": worst(s["status"] for s in scores),
        "summary": f"{len(lens['synthetic']):,} synthetic sequences (median length "
        f"{np.median(lens['synthetic']):.0f}) against {len(lens['train']):,} training and "
        f"{len(lens['holdout']):,} holdout sequences: per-sequence statistics differ by a mean KS of "
        f"{ks_sv:.3f} where fresh real sequences differ by {ks_hv:.3f}.",
        "scores": scores,
        "channels": names,
        "ks_by_stat": {k: {"synthetic": v, "reference": ks_h.get(k)} for k, v in ks_s.items()},
        "figures": {},
    }
