"""Privacy checks: exact copies of real rows and distance to closest record (DCR).

DCR compares, for every synthetic row, the distance to its nearest *training* row with the distance to
its nearest *holdout* row, using equal-sized samples of both. Synthetic data that does not copy its
training data is as close to the holdout as to the training rows, so the share of synthetic rows closer
to training is about 0.5; a share well above 0.5 means the generator reproduces training records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.neighbors import NearestNeighbors

from simulacra.errors import DataError
from simulacra.seeding import derive_rng

from ..scores import DCR_FAIL, DCR_WARN, MIA_FAIL, dcr_status, ratio_status, score, worst
from .attacks import N_ATTACKS, attack_risks, attack_scores
from .columns import align, check_frame, column_kind, to_datetime_ns, to_float, to_str
from .intervals import cluster_se

__all__ = ["dcr", "identical_match_share", "membership_inference_auc", "pii_leaks", "privacy_section"]

# one-hot columns per categorical column (most frequent training categories; the rest is "other")
MAX_CATEGORIES = 20
# distances this close count as a tie
_TIE_TOL = 1e-9
# NNDR smoothing, as in mostlyai-qa
_NNDR_EPS = 1e-8
# median DCR and NNDR under this share of the real holdout's warn (rows hug particular training records)
DISTANCE_WARN = 0.5


# --------------------------------------------------------------------------------------------------
# identical matches
# --------------------------------------------------------------------------------------------------


def _harmonised(df: pd.DataFrame, kinds: list[str]) -> pd.DataFrame:
    """One comparable representation per column kind, so that equal values hash equally."""
    cols: dict[str, object] = {}
    for j, kind in enumerate(kinds):
        s = df.iloc[:, j]
        if kind == "numeric":
            values = to_float(s)
            # canonical NaN and +0.0, so that bit patterns of equal values agree
            cols[f"c{j}"] = np.where(np.isnan(values), np.nan, values + 0.0)
        elif kind == "datetime":
            values, na = to_datetime_ns(s)
            values[na] = np.iinfo(np.int64).min
            cols[f"c{j}"] = values
        else:
            st = to_str(s)
            cols[f"c{j}"] = st.astype(object).where(st.notna(), None).to_numpy()
    return pd.DataFrame(cols)


def _row_hashes(df: pd.DataFrame, kinds: list[str]) -> np.ndarray:
    return pd.util.hash_pandas_object(_harmonised(df, kinds), index=False).to_numpy()


def identical_match_share(reference: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Share of synthetic rows equal, in every column, to some reference row (missing equals missing).

    Columns are compared by the reference column's kind: numbers as floats (``1 == 1.0``), datetimes as
    instants, everything else as text.
    """
    check_frame(reference, role="reference")
    syn = align(reference, synthetic, "synthetic")
    kinds = [column_kind(reference[c]) for c in reference.columns]
    ref_hash = _row_hashes(reference, kinds)
    syn_hash = _row_hashes(syn, kinds)
    return float(np.isin(syn_hash, ref_hash).mean())


# --------------------------------------------------------------------------------------------------
# mixed-type encoding for distances
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ColumnEncoding:
    kind: str
    sorted_values: np.ndarray | None  # numeric / datetime: training values for the rank transform
    categories: list[str] | None  # categorical: one-hot categories (the last slot is "other")
    na_indicator: bool


def _numeric_values(s: pd.Series, kind: str) -> np.ndarray:
    if kind == "numeric":
        return to_float(s)
    values, na = to_datetime_ns(s)
    out = values.astype("float64")
    out[na] = np.nan
    return out


def _fit_encoding(
    train: pd.DataFrame, frames: list[pd.DataFrame], max_categories: int
) -> list[_ColumnEncoding]:
    specs = []
    for j, col in enumerate(train.columns):
        kind = column_kind(train[col])
        if kind == "categorical":
            counts = to_str(train[col]).value_counts(dropna=True)
            cats = [str(c) for c in counts.index[:max_categories]]
            specs.append(_ColumnEncoding(kind, None, cats, na_indicator=False))
        else:
            values = _numeric_values(train[col], kind)
            finite = np.sort(values[~np.isnan(values)])
            has_na = any(bool(f.iloc[:, j].isna().any()) for f in frames)
            specs.append(_ColumnEncoding(kind, finite, None, na_indicator=has_na))
    return specs


def _encode(df: pd.DataFrame, specs: list[_ColumnEncoding]) -> np.ndarray:
    """Numeric columns as training mid-ranks in [0, 1] (missing: 0.5 plus an indicator of weight 1);
    categorical columns as one-hot over the top training categories, "other" and missing, scaled so that
    two different categories are at distance 1."""
    blocks: list[np.ndarray] = []
    n = len(df)
    for j, spec in enumerate(specs):
        s = df.iloc[:, j]
        if spec.kind == "categorical":
            assert spec.categories is not None
            st = to_str(s)
            codes = pd.Categorical(st, categories=spec.categories).codes.astype(np.int64)
            k = len(spec.categories)
            codes[codes < 0] = k  # other
            codes[st.isna().to_numpy()] = k + 1  # missing
            block = np.zeros((n, k + 2))
            block[np.arange(n), codes] = 1.0 / np.sqrt(2.0)
            blocks.append(block)
            continue
        assert spec.sorted_values is not None
        values = _numeric_values(s, spec.kind)
        na = np.isnan(values)
        ref = spec.sorted_values
        if len(ref) == 0:
            rank = np.full(n, 0.5)
        else:
            filled = np.where(na, ref[0], values)
            lo = np.searchsorted(ref, filled, side="left")
            hi = np.searchsorted(ref, filled, side="right")
            rank = (lo + hi) / (2.0 * len(ref))
        rank[na] = 0.5
        blocks.append(rank[:, None])
        if spec.na_indicator:
            blocks.append(na.astype("float64")[:, None])
    return np.ascontiguousarray(np.hstack(blocks), dtype="float64")


# --------------------------------------------------------------------------------------------------
# DCR
# --------------------------------------------------------------------------------------------------


def _sample(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if n >= len(df):
        return df
    return df.iloc[np.sort(rng.choice(len(df), size=n, replace=False))]


def _nearest(reference: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean distances from each query row to its ``k`` nearest reference rows (ascending), and
    the positions of those rows."""
    k = min(k, len(reference))
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="euclidean", n_jobs=-1)
    nn.fit(reference)
    _, idx = nn.kneighbors(query)
    # recompute the distances directly: the matrix-product shortcut leaves ~1e-8 noise on exact copies
    dist = np.sqrt(((query[:, None, :] - reference[idx]) ** 2).sum(axis=2))
    order = np.argsort(dist, axis=1, kind="stable")
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(idx, order, axis=1)


def _quantiles(d: np.ndarray) -> dict[str, float]:
    return {"q05": float(np.quantile(d, 0.05)), "q50": float(np.quantile(d, 0.50))}


def _median_ci(values: np.ndarray, z: float = 2.576 * math.sqrt(2)) -> list[float] | None:
    """A distribution-free 99% interval for the median of ``values`` (order statistics around n/2), wide
    enough for the median of a second, independent sample (hence the square root of two)."""
    v = np.sort(values[np.isfinite(values)])
    n = len(v)
    if n < 2:
        return None
    half = z * math.sqrt(n) / 2
    lo, hi = max(int(math.floor(n / 2 - half)), 0), min(int(math.ceil(n / 2 + half)), n - 1)
    return [float(v[lo]), float(v[hi])]


def _nndr_median(d: np.ndarray) -> float:
    if d.shape[1] < 2:
        return float("nan")
    return float(np.median((d[:, 0] + _NNDR_EPS) / (d[:, 1] + _NNDR_EPS)))


def dcr(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    max_rows: int = 10_000,
    max_reference_rows: int = 50_000,
    seed: int = 0,
) -> dict[str, object]:
    """Distance to closest record of synthetic rows in training vs holdout data.

    Train and holdout are subsampled to the same size ``min(len(train), len(holdout),
    max_reference_rows)`` and synthetic to at most ``max_rows`` rows (seeded). Rows are encoded by
    :func:`_encode` (fitted on the full training data) and compared by Euclidean distance.

    Returns a dict with ``share_closer_to_train`` (ties count half; about 0.5 when nothing is copied),
    ``share_se`` (its standard error over draws of the synthetic and the reference rows),
    ``p_value`` (one-sided binomial test of that share against 0.5, ties left out), ``n_synthetic``,
    ``n_reference``, quantiles ``{'q05', 'q50'}`` of ``dcr_synthetic_train``, ``dcr_synthetic_holdout`` and
    ``dcr_holdout_train`` (holdout rows' distance to training rows, the reference for a fresh record),
    and ``nndr``: median nearest-neighbour distance ratio for ``synthetic_train`` and ``holdout_train``.
    """
    check_frame(train)
    holdout = align(train, holdout, "holdout")
    synthetic = align(train, synthetic, "synthetic")
    if max_rows < 1 or max_reference_rows < 2:
        raise DataError(
            f"max_rows must be at least 1 and max_reference_rows at least 2, got {max_rows}, "
            f"{max_reference_rows}"
        )
    rng = derive_rng(seed, "evaluate", "privacy", "dcr")
    n_ref = min(len(train), len(holdout), max_reference_rows)
    trn_s = _sample(train, n_ref, rng)
    hol_s = _sample(holdout, n_ref, rng)
    syn_s = _sample(synthetic, max_rows, rng)
    hol_q = _sample(hol_s, max_rows, rng)

    specs = _fit_encoding(train, [train, holdout, synthetic], MAX_CATEGORIES)
    x_trn, x_hol, x_syn, x_holq = (_encode(f, specs) for f in (trn_s, hol_s, syn_s, hol_q))

    d_syn_trn, near_trn = _nearest(x_trn, x_syn, 2)
    d_syn_hol, near_hol = _nearest(x_hol, x_syn, 1)
    d_hol_trn = _nearest(x_trn, x_holq, 2)[0]

    to_trn, to_hol = d_syn_trn[:, 0], d_syn_hol[:, 0]
    tie = np.abs(to_trn - to_hol) <= _TIE_TOL
    closer = (to_trn < to_hol) & ~tie
    n_closer, n_tie = int(closer.sum()), int(tie.sum())
    share = (n_closer + 0.5 * n_tie) / len(to_trn)
    n_untied = len(to_trn) - n_tie
    p_value = float(binomtest(n_closer, n_untied, 0.5, alternative="greater").pvalue) if n_untied else 1.0

    return {
        "share_closer_to_train": float(share),
        # synthetic rows with the same closest record stand or fall with it (drawn into the other
        # reference sample, it turns them all): clusters, one per closest record, a tie with its train one
        "share_se": cluster_se(np.where(closer, 1.0, np.where(tie, 0.5, 0.0)),
                               np.where(closer | tie, near_trn[:, 0], n_ref + near_hol[:, 0])),
        "p_value": p_value,
        "n_synthetic": len(syn_s),
        "n_reference": n_ref,
        "dcr_synthetic_train": _quantiles(to_trn),
        "dcr_synthetic_holdout": _quantiles(to_hol),
        "dcr_holdout_train": _quantiles(d_hol_trn[:, 0]),
        "nndr": {"synthetic_train": _nndr_median(d_syn_trn), "holdout_train": _nndr_median(d_hol_trn)},
        "ci": {"dcr_median": _median_ci(to_trn),
               "nndr": _median_ci((d_syn_trn[:, 0] + _NNDR_EPS) / (d_syn_trn[:, 1] + _NNDR_EPS))
               if d_syn_trn.shape[1] > 1 else None},
        "histogram": _histogram(to_trn, d_hol_trn[:, 0]),
    }


def _histogram(synthetic: np.ndarray, holdout: np.ndarray, bins: int = 24) -> dict[str, list]:
    """Shares of distances to the closest training record, on common edges (for the report's plot)."""
    top = float(np.quantile(np.r_[synthetic, holdout], 0.99)) or 1.0
    edges = np.linspace(0.0, top, bins + 1)

    def shares(d: np.ndarray) -> list[float]:
        return (np.histogram(np.clip(d, 0, top), edges)[0] / max(len(d), 1)).tolist()

    return {"edges": edges.tolist(), "synthetic": shares(synthetic), "holdout": shares(holdout)}


def membership_inference_auc(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    max_rows: int = 5_000,
    seed: int = 0,
    max_synthetic_rows: int | None = None,
) -> float:
    """AUC of a distance-based membership-inference attack (0.5 = the attacker learns nothing).

    The attacker holds the synthetic data and guesses that a record was in the training data when a
    synthetic row lies close to it. Candidates are equal-sized samples of training rows (members) and
    holdout rows (non-members); the score is minus the distance to the closest synthetic row, among at
    most ``max_synthetic_rows`` synthetic rows (default: four times ``max_rows``).
    """
    check_frame(train)
    holdout = align(train, holdout, "holdout")
    synthetic = align(train, synthetic, "synthetic")
    rng = derive_rng(seed, "evaluate", "privacy", "membership")
    n = min(len(train), len(holdout), max_rows)
    members, others = _sample(train, n, rng), _sample(holdout, n, rng)
    syn = _sample(synthetic, max_synthetic_rows or max(max_rows * 4, n), rng)
    specs = _fit_encoding(train, [train, holdout, synthetic], MAX_CATEGORIES)
    x_syn = _encode(syn, specs)
    d_mem = _nearest(x_syn, _encode(members, specs), 1)[0][:, 0]
    d_oth = _nearest(x_syn, _encode(others, specs), 1)[0][:, 0]
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(n), np.zeros(n)]
    return float(roc_auc_score(y, -np.r_[d_mem, d_oth]))


def pii_leaks(
    train: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str] | None = None
) -> dict[str, int]:
    """Per PII column of ``train``: how many synthetic cells (in any column) repeat one of its values.

    PII columns are the given ``columns`` or those :func:`simulacra.schema.pii.detect_pii` finds. Every
    count should be 0: a fresh generator has no reason to produce a real person's email or card number.
    """
    from simulacra.schema.pii import detect_pii

    if columns is None:
        columns = [c for c in train.columns if detect_pii(str(c), train[c]) is not None]
    cells = (
        pd.concat(
            [
                synthetic[c].dropna().astype(str)
                for c in synthetic.columns
                if not pd.api.types.is_float_dtype(synthetic[c])
            ],
            ignore_index=True,
        )
        if len(synthetic.columns)
        else pd.Series(dtype=str)
    )
    out = {}
    for col in columns:
        values = set(train[col].dropna().astype(str))
        out[str(col)] = int(cells.isin(values).sum()) if values else 0
    return out


# --------------------------------------------------------------------------------------------------
# the report's privacy section
# --------------------------------------------------------------------------------------------------


# the report's DCR searches among at most this many train and as many holdout rows (a seeded sample), and
# its membership inference among at most MIA_SYNTHETIC_ROWS synthetic rows: the cost of the distance
# checks is bounded whatever the tables' sizes
DCR_REFERENCE_ROWS = 10_000
MIA_SYNTHETIC_ROWS = 10_000


def privacy_section(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    seed: int,
    max_rows: int,
    pii_columns: list[str] | None,
    n_attacks: int = N_ATTACKS,
    target: str | None = None,
) -> dict:
    """The report's privacy section: copies, distances to the closest record, membership inference,
    PII leaks and (``n_attacks`` > 0) the singling-out, linkability and inference attacks on ``target``
    (else a random column per attack), each beside what real held-out rows show."""
    ims_s, ims_h = identical_match_share(train, synthetic), identical_match_share(train, holdout)
    d = dcr(train, holdout, synthetic, max_rows=max_rows, max_reference_rows=DCR_REFERENCE_ROWS, seed=seed)
    mia = membership_inference_auc(train, holdout, synthetic, seed=seed,
                                   max_synthetic_rows=MIA_SYNTHETIC_ROWS)
    leaks = pii_leaks(train, synthetic, pii_columns)
    share, p = d["share_closer_to_train"], d["p_value"]
    n = d["n_synthetic"]
    # 99%, for the share of the same check run again on other (or every) rows: two draws, twice the
    # variance, each draw's own from both its synthetic and its reference rows
    half = 2.576 * math.sqrt(2) * max(d["share_se"], math.sqrt(1e-12 / max(n, 1)))
    # identical matches fail only when clearly above what a fresh real sample shows
    ims_tol = 3 * math.sqrt(max(ims_h, 1.0 / len(holdout)) / max(len(synthetic), 1))
    ims_status = "fail" if ims_s > ims_h + ims_tol else "pass"
    med_s, med_h = d["dcr_synthetic_train"]["q50"], d["dcr_holdout_train"]["q50"]
    nndr_s, nndr_h = d["nndr"]["synthetic_train"], d["nndr"]["holdout_train"]
    mia_status = "fail" if mia > MIA_FAIL else "pass"
    leak_total = sum(leaks.values())
    from .detection import auc_interval
    from .intervals import wilson

    n_mia = min(len(train), len(holdout), 5_000)
    ci = d.get("ci", {})
    scores = [
        score(
            "identical_match_share",
            "Synthetic rows identical to a training row",
            ims_s,
            ims_h,
            ideal="lower",
            fmt="%",
            status=ims_status,
            ci=wilson(ims_s * len(synthetic), len(synthetic)),
            explain="Share of synthetic rows that equal a training row in every column; the reference "
            "is the share of real holdout rows that do (people can share every attribute). "
            "Above the reference means copying. Zero does not prove privacy: near-copies pass it.",
        ),
        score(
            "dcr_share",
            "Share of synthetic rows closer to train than to holdout (DCR)",
            share,
            0.5,
            ideal="0.5",
            ci=[share - half, share + half],
            status=dcr_status(share, p),
            explain=f"Distance to closest record, against equal-sized train and holdout samples. Data "
            f"that does not copy is as close to unseen rows as to training rows (0.5). With p < 0.01 "
            f"(binomial test, here p = {p:.2g}), above {DCR_WARN} warns and above {DCR_FAIL} fails: "
            "it catches perturbed copies that fidelity alone rewards. Any model learned from a small "
            "table inherits some of its quirks, so small excesses are expected there.",
        ),
        score(
            "dcr_median",
            "Median distance to the closest training row",
            med_s,
            med_h,
            ideal="reference",
            status=ratio_status(med_s, med_h, DISTANCE_WARN) if med_h else "pass",
            ci=ci.get("dcr_median"),
            explain="Typical distance from a synthetic row to its nearest training row, beside the same "
            "for real holdout rows. Much smaller than the reference means rows hug the training "
            f"data: under {DISTANCE_WARN:.0%} of the reference warns (a reference of 0, where real rows "
            "repeat training rows too, cannot be undercut).",
        ),
        score(
            "nndr",
            "Nearest-neighbour distance ratio (median)",
            nndr_s,
            nndr_h,
            ideal="reference",
            status=ratio_status(nndr_s, nndr_h, DISTANCE_WARN) if nndr_h else "pass",
            ci=ci.get("nndr"),
            explain="Distance to the closest training row divided by the distance to the second closest. "
            "Values near 0 mean a synthetic row sits on one particular real record; under "
            f"{DISTANCE_WARN:.0%} of the real holdout's value warns.",
            not_computable=None if np.isfinite(nndr_h) else "fewer than two training rows",
        ),
        score(
            "mia_auc",
            "Membership-inference attack (ROC-AUC)",
            mia,
            0.5,
            ideal="0.5",
            status=mia_status,
            ci=auc_interval(mia, n_mia, n_mia, z=2.576 * math.sqrt(2)),
            explain=f"An attacker holding the synthetic data guesses whether a record was used for "
            f"training from its distance to the closest synthetic row. 0.5 = no better than a "
            f"coin; above {MIA_FAIL} fails. Stronger attacks exist: passing is necessary, not "
            "sufficient.",
        ),
        score(
            "pii_leaks",
            "Training PII values found verbatim in the synthetic data",
            float(leak_total),
            0.0,
            ideal="lower",
            fmt="0",
            status="fail" if leak_total else "pass",
            explain="Every value of the training data's PII columns (emails, phones, names, card "
            "numbers, ...) is looked up in the synthetic cells. Any hit fails.",
            not_computable=None if leaks else "no PII column found in the training data",
        ),
    ]
    attacks = attack_risks(train, holdout, synthetic, n_attacks=n_attacks, target=target, seed=seed) \
        if n_attacks else None
    scores += attack_scores(attacks) if attacks else []
    hist = d.get("histogram", {})
    return {
        **({"attacks": attacks} if attacks else {}),
        "status": worst(s["status"] for s in scores),
        "summary": f"{share:.1%} of synthetic rows are closer to a training row than to a holdout row "
        f"(0.5 means no copying); {ims_s:.2%} are exact copies against {ims_h:.2%} for real data.",
        "scores": scores,
        "pii": leaks,
        "figures": {
            "dcr": {
                "edges": hist.get("edges", []),
                "synthetic": hist.get("synthetic", []),
                "holdout": hist.get("holdout", []),
            }
        },
    }

