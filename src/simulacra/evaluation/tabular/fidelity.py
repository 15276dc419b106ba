"""Statistical fidelity: how closely synthetic data reproduces the training distributions.

The measure follows mostlyai-qa's "accuracy": every column is discretised with bins learnt from the
*training* data, and for each column (univariate) and each pair of columns (bivariate) the accuracy is
``1 - TVD`` (total variation distance, half the L1 distance) between the discretised distributions.

Columns are binned as mostlyai-qa bins them (the rules: :mod:`.binning`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulacra.seeding import derive_rng

from ..scores import DETECTION_WARN, above_status, score, worst
from .binning import DEFAULT_BINS, NA_LABEL, OTHER_LABEL, ColumnBins, discretize, discretize_codes
from .columns import column_kind, to_datetime_ns, to_float, to_str

__all__ = [
    "NA_LABEL",
    "OTHER_LABEL",
    "accuracy",
    "bivariate_accuracy",
    "discretize",
    "equal_size",
    "fidelity_section",
    "univariate_accuracy",
]


# --------------------------------------------------------------------------------------------------
# accuracy
# --------------------------------------------------------------------------------------------------


def _one_minus_tvd(a: np.ndarray, b: np.ndarray, k: int) -> float:
    pa = np.bincount(a, minlength=k) / len(a)
    pb = np.bincount(b, minlength=k) / len(b)
    return float(1.0 - 0.5 * np.abs(pa - pb).sum())


def _univariate(trn: np.ndarray, syn: np.ndarray, specs: list[ColumnBins], columns: pd.Index) -> pd.Series:
    values = [_one_minus_tvd(trn[:, j], syn[:, j], spec.n_bins) for j, spec in enumerate(specs)]
    return pd.Series(values, index=columns, name="accuracy", dtype="float64")


def _joint_counts(codes: np.ndarray, i: int, j: int, ki: int, kj: int) -> np.ndarray:
    return np.bincount(codes[:, i] * kj + codes[:, j], minlength=ki * kj)


def _pair_index(columns: pd.Index, pairs: list[tuple[int, int]]) -> pd.MultiIndex:
    if not pairs:
        return pd.MultiIndex.from_arrays([[], []], names=["column_1", "column_2"])
    tuples = [(columns[i], columns[j]) for i, j in pairs]
    return pd.MultiIndex.from_tuples(tuples, names=["column_1", "column_2"])


def _all_pairs(n: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def _bivariate(trn: np.ndarray, syn: np.ndarray, specs: list[ColumnBins], columns: pd.Index) -> pd.Series:
    pairs = _all_pairs(len(specs))
    values = []
    for i, j in pairs:
        ki, kj = specs[i].n_bins, specs[j].n_bins
        ct, cs = _joint_counts(trn, i, j, ki, kj), _joint_counts(syn, i, j, ki, kj)
        values.append(float(1.0 - 0.5 * np.abs(ct / len(trn) - cs / len(syn)).sum()))
    return pd.Series(values, index=_pair_index(columns, pairs), name="accuracy", dtype="float64")


def _pair_stats(
    trn: np.ndarray, others: list[np.ndarray], specs: list[ColumnBins], columns: pd.Index
) -> tuple[list[pd.Series], list[float | None]]:
    """Each of ``others`` against ``trn``, from one joint count table per pair and frame: pair
    accuracies (``1 - TVD``) and the mean absolute Cramér's V gap."""
    pairs = _all_pairs(len(specs))
    acc: list[list[float]] = [[] for _ in others]
    gaps: list[list[float]] = [[] for _ in others]
    for i, j in pairs:
        ki, kj = specs[i].n_bins, specs[j].n_bins
        ct = _joint_counts(trn, i, j, ki, kj)
        vt = _cramers_v_table(ct, ki, kj)
        pt = ct / len(trn)
        for m, other in enumerate(others):
            co = _joint_counts(other, i, j, ki, kj)
            acc[m].append(float(1.0 - 0.5 * np.abs(pt - co / len(other)).sum()))
            gaps[m].append(abs(vt - _cramers_v_table(co, ki, kj)))
    index = _pair_index(columns, pairs)
    series = [pd.Series(a, index=index, name="accuracy", dtype="float64") for a in acc]
    return series, [float(np.mean(g)) if g else None for g in gaps]


def univariate_accuracy(
    train: pd.DataFrame, synthetic: pd.DataFrame, *, bins: int = DEFAULT_BINS
) -> pd.Series:
    """Per-column accuracy ``1 - TVD`` of the discretised synthetic vs training distribution (1 = equal)."""
    (trn, syn), specs = discretize_codes(train, (synthetic,), bins, roles=("synthetic",))
    return _univariate(trn, syn, specs, train.columns)


def bivariate_accuracy(
    train: pd.DataFrame, synthetic: pd.DataFrame, *, bins: int = DEFAULT_BINS
) -> pd.Series:
    """Per column pair (training column order, ``column_1`` before ``column_2``): ``1 - TVD`` of the
    discretised joint distributions."""
    (trn, syn), specs = discretize_codes(train, (synthetic,), bins, roles=("synthetic",))
    return _bivariate(trn, syn, specs, train.columns)


def accuracy(train: pd.DataFrame, synthetic: pd.DataFrame, *, bins: int = DEFAULT_BINS) -> dict[str, float]:
    """Mean univariate and bivariate accuracy and ``overall`` (the mean of the two; with a single column,
    the univariate mean)."""
    (trn, syn), specs = discretize_codes(train, (synthetic,), bins, roles=("synthetic",))
    uni = float(_univariate(trn, syn, specs, train.columns).mean())
    biv_series = _bivariate(trn, syn, specs, train.columns)
    biv = float(biv_series.mean()) if len(biv_series) else float("nan")
    overall = float(np.mean([uni, biv])) if len(biv_series) else uni
    return {"univariate": uni, "bivariate": biv, "overall": overall}


# --------------------------------------------------------------------------------------------------
# the report's fidelity section
# --------------------------------------------------------------------------------------------------

FIDELITY_WARN, FIDELITY_FAIL = 0.05, 0.15  # drop in accuracy below the holdout's
ASSOCIATION_WARN = 0.05  # association gap above the holdout's
VALIDITY_WARN = 0.99


def equal_size(
    holdout: pd.DataFrame, synthetic: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The holdout and the synthetic data cut to the same number of rows (a seeded sample of the larger).

    Accuracy rises with the number of rows (sampling noise shrinks), so a score is set beside the
    holdout's only when both are computed on equally many rows.
    """
    n = min(len(holdout), len(synthetic))
    rng = derive_rng(seed, "evaluate", "fidelity", "equal_size")
    out = []
    for frame in (holdout, synthetic):
        if len(frame) > n:
            frame = frame.iloc[np.sort(rng.choice(len(frame), n, replace=False))]
        out.append(frame)
    return out[0], out[1]


def _bin_labels(spec: ColumnBins) -> list[str]:
    """Bin labels without the real data's extreme values (the outer bins are open-ended)."""
    labels = list(spec.labels)
    if spec.kind in ("numeric", "datetime") and len(labels) > 3 and spec.edges is not None:
        inner = spec.edges[1:]
        fmt = (
            (lambda v: str(pd.Timestamp(int(v)).date()))
            if spec.kind == "datetime"
            else (lambda v: f"{v:.4g}")
        )
        labels[0] = f"< {fmt(inner[0])}"
        labels[-2] = f"≥ {fmt(inner[-1])}"
    return labels


def _half_scores(trn: np.ndarray, syn: np.ndarray, specs: list[ColumnBins], cols: pd.Index,
                 seed: int, splits: int = 2) -> list[list[tuple[float, float, float, float]]]:
    """(accuracy, univariate, bivariate, association gap) of the synthetic codes on the two halves of
    ``splits`` random halvings of the train and synthetic rows."""
    rng = derive_rng(seed, "evaluate", "fidelity", "halves")
    out = []
    for _ in range(splits):
        pt, ps = rng.permutation(len(trn)), rng.permutation(len(syn))
        pair = []
        for h in range(2):
            t, s = trn[pt[h::2]], syn[ps[h::2]]
            uni = float(_univariate(t, s, specs, cols).mean())
            (biv,), (gap,) = _pair_stats(t, [s], specs, cols)
            acc = float(np.mean([uni, biv.mean()])) if len(biv) else uni
            biv_mean = float(biv.mean()) if len(biv) else float("nan")
            pair.append((acc, uni, biv_mean, 0.0 if gap is None else gap))
        out.append(pair)
    return out


def _intervals(values: tuple, halvings: list, n_rows: tuple[int, int],
               full_rows: tuple[int, int]) -> list:
    """A 99% interval for each fidelity value, for the full tables' sizes (see :mod:`.intervals`)."""
    from .intervals import shift_interval

    def eff(nt: int, no: int) -> float:
        return 1.0 / (1.0 / nt + 1.0 / no)

    n, n_full = eff(*n_rows), eff(*full_rows)
    return [shift_interval(v, [(a[k], b[k]) for a, b in halvings], n, n_full, rises=k < 3)
            for k, v in enumerate(values)]


def fidelity_section(
    train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, *, seed: int, max_rows: int,
    full_rows: dict[str, int] | None = None,
) -> dict:
    """The report's fidelity section: accuracy, association, detection and validity, each beside the
    real holdout's score; accuracy and association on equally many synthetic and holdout rows.

    ``full_rows``: the tables' row counts before they were sampled; when a table was cut, each score
    carries a 99% interval for its value on every row."""
    from .detection import detection_check
    from .intervals import RERUN, Z, wilson

    z_rerun = Z * RERUN
    hol_eq, syn_eq = equal_size(holdout, synthetic, seed)
    n_eq = len(hol_eq)
    (trn, hol, syn), specs = discretize_codes(train, (hol_eq, syn_eq), 10, roles=("holdout", "synthetic"))
    cols = train.columns
    uni_s, uni_h = _univariate(trn, syn, specs, cols), _univariate(trn, hol, specs, cols)
    (biv_s, biv_h), (assoc_s, assoc_h) = _pair_stats(trn, [syn, hol], specs, cols)
    acc_s = float(np.mean([uni_s.mean(), biv_s.mean()])) if len(biv_s) else float(uni_s.mean())
    acc_h = float(np.mean([uni_h.mean(), biv_h.mean()])) if len(biv_h) else float(uni_h.mean())
    det = detection_check(train, synthetic, seed=seed)
    det_s, det_h = det["auc"], detection_check(train, holdout, seed=seed)["auc"]
    validity = _validity(train, synthetic)
    full = full_rows or {}
    n_full = min(full.get("holdout", len(holdout)), full.get("synthetic", len(synthetic)))
    t_full = full.get("train", len(train))
    ci: list = [None] * 5
    if n_full > n_eq or t_full > len(train):
        ci[:4] = _intervals((acc_s, float(uni_s.mean()), float(biv_s.mean()) if len(biv_s) else float("nan"),
                             assoc_s if assoc_s is not None else 0.0),
                            _half_scores(trn, syn, specs, cols, seed), (len(train), n_eq), (t_full, n_full))
        if t_full > len(train) and assoc_s is not None:
            # Cramér's V is biased upwards on few rows: with more train rows, the train side's V drops,
            # and the gap moves by what halving the train rows shows, carried to the rows left out as
            # 1/sqrt(n) (the slower, so the wider, of the rates a V's bias and noise shrink at)
            rng = derive_rng(seed, "evaluate", "fidelity", "train_halves")
            pt = rng.permutation(len(trn))
            g = [_pair_stats(trn[pt[h::2]], [syn], specs, cols)[1][0] or 0.0 for h in range(2)]
            drift = (abs(assoc_s - float(np.mean(g))) / (np.sqrt(2) - 1)
                     * (1 - np.sqrt(len(train) / t_full)))
            ci[3] = [ci[3][0] - drift, ci[3][1] + drift]
        if validity["share"] is not None:
            # a sampled train split may miss the extremes of the full one: then more cells are valid
            lo, hi = wilson(validity["share"] * len(synthetic), len(synthetic), z=z_rerun)
            ci[4] = [lo, 1.0 if t_full > len(train) else hi]

    drop = acc_h - acc_s
    acc_status = "fail" if drop > FIDELITY_FAIL else "warn" if drop > FIDELITY_WARN else "pass"
    equal = (
        f"Both sides are scored on {n_eq:,} rows (a seeded sample of the larger), as accuracy rises with "
        "the number of rows."
    )
    scores = [
        score(
            "accuracy",
            "Accuracy: 1 − TVD over columns and column pairs",
            acc_s,
            acc_h,
            ideal="higher",
            status=acc_status,
            ci=ci[0],
            explain="How closely the synthetic distributions of single columns and of column pairs match "
            "the training data, after binning (1 = identical). It does not see relations among "
            f"three or more columns, and copying the training data scores 1 too. {equal} "
            f"{FIDELITY_WARN} below the reference warns, {FIDELITY_FAIL} below fails.",
        ),
        score(
            "accuracy_univariate",
            "Accuracy of single columns",
            float(uni_s.mean()),
            float(uni_h.mean()),
            ideal="higher",
            status=acc_status,
            ci=ci[1],
            explain=f"1 − TVD of each column's binned distribution. {equal}",
        ),
        score(
            "accuracy_bivariate",
            "Accuracy of column pairs",
            float(biv_s.mean()) if len(biv_s) else None,
            float(biv_h.mean()) if len(biv_h) else None,
            ideal="higher",
            status=acc_status,
            ci=ci[2],
            explain=f"1 − TVD of each pair's binned joint distribution. {equal}",
            not_computable=None if len(biv_s) else "one column only",
        ),
        score(
            "association_gap",
            "Association gap (Cramér's V, mean absolute difference)",
            assoc_s,
            assoc_h,
            ideal="lower",
            status=above_status(assoc_s, assoc_h, ASSOCIATION_WARN),
            ci=ci[3],
            explain="How much the strength of association between pairs of columns differs from the "
            "training data (0 = same). Small gaps can still hide a wrong direction of effect. "
            f"{ASSOCIATION_WARN} above the reference warns.",
            not_computable=None if len(cols) > 1 else "one column only",
        ),
        score(
            "detection_auc",
            "Detection: can a classifier tell synthetic from real? (ROC-AUC)",
            det_s,
            det_h,
            ideal="0.5",
            status="warn" if det_s > DETECTION_WARN else "pass",
            ci=det["ci"],
            explain="A gradient-boosted classifier, cross-validated, tries to separate synthetic from "
            "training rows. 0.5 = indistinguishable, 1 = always told apart. It catches "
            "higher-order differences the accuracy misses; it says nothing about privacy. It sees "
            f"{det['rows_per_class']:,} rows of each (a seeded sample); the interval (99%) is where "
            "the same check on other rows may land.",
        ),
        score(
            "validity",
            "Validity: values within the training data's ranges and categories",
            validity["share"],
            1.0,
            ideal="higher",
            fmt="%",
            status="warn" if validity["share"] is not None and validity["share"] < VALIDITY_WARN else "pass",
            ci=ci[4],
            explain="Share of synthetic cells whose value lies in the training range (numbers, dates) or "
            "among the training categories. Unseen values are not always wrong, but they are "
            "the first thing to check.",
            not_computable=None if validity["share"] is not None else "the synthetic data has no values",
        ),
    ]
    columns = []
    for j, col in enumerate(cols):
        columns.append(
            {
                "column": str(col),
                "kind": specs[j].kind,
                "accuracy": float(uni_s.iloc[j]),
                "reference": float(uni_h.iloc[j]),
                "missing_train": float(train[col].isna().mean()),
                "missing_synthetic": float(synthetic[col].isna().mean()),
                "missing_holdout": float(holdout[col].isna().mean()),
                "validity": validity["columns"].get(str(col)),
            }
        )
    marginals = []
    for j, col in enumerate(cols):
        k = specs[j].n_bins
        shares = [np.bincount(c[:, j], minlength=k) / len(c) for c in (trn, syn, hol)]
        keep = [i for i in range(k) if shares[0][i] + shares[1][i] + shares[2][i] > 0]
        labels = _bin_labels(specs[j])
        marginals.append(
            {
                "column": str(col),
                "kind": "categorical" if specs[j].kind == "categorical" else "numeric",
                "labels": [labels[i] for i in keep],
                "train": [float(shares[0][i]) for i in keep],
                "synthetic": [float(shares[1][i]) for i in keep],
                "holdout": [float(shares[2][i]) for i in keep],
                "accuracy": float(uni_s.iloc[j]),
            }
        )
    pairs = _pair_matrix(cols, biv_s), _pair_matrix(cols, biv_h)
    return {
        "status": worst(s["status"] for s in scores),
        "summary": f"Synthetic data reaches {acc_s:.3f} accuracy where fresh real data reaches {acc_h:.3f} "
        f"(both on {n_eq:,} rows).",
        "compared_rows": n_eq,
        "scores": scores,
        "columns": columns,
        "figures": {
            "marginals": marginals,
            "pairs": {"columns": [str(c) for c in cols], "synthetic": pairs[0], "reference": pairs[1]},
        },
    }


def _pair_matrix(cols: pd.Index, biv: pd.Series) -> list[list[float | None]]:
    n = len(cols)
    m = np.eye(n)
    pos = {c: i for i, c in enumerate(cols)}
    for (a, b), v in biv.items():
        m[pos[a], pos[b]] = m[pos[b], pos[a]] = v
    return [[float(x) for x in row] for row in m]


def _cramers_v_table(counts: np.ndarray, ka: int, kb: int) -> float:
    table = counts.reshape(ka, kb).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    if min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = np.outer(table.sum(1), table.sum(0)) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / n / (min(table.shape) - 1)))


def _validity(train: pd.DataFrame, synthetic: pd.DataFrame) -> dict:
    per_col, total, ok = {}, 0, 0
    for col in train.columns:
        kind = column_kind(train[col])
        s = synthetic[col]
        if kind == "numeric":
            t, v = to_float(train[col]), to_float(s)
            lo, hi = (
                np.nanmin(t) if np.isfinite(t).any() else -np.inf,
                np.nanmax(t) if np.isfinite(t).any() else np.inf,
            )
            present = ~np.isnan(v)
            good = present & (v >= lo) & (v <= hi)
        elif kind == "datetime":
            (t, tna), (v, vna) = to_datetime_ns(train[col]), to_datetime_ns(s)
            lo, hi = (
                (t[~tna].min(), t[~tna].max())
                if (~tna).any()
                else (np.iinfo(np.int64).min, np.iinfo(np.int64).max)
            )
            present = ~vna
            good = present & (v >= lo) & (v <= hi)
        else:
            cats = set(to_str(train[col]).dropna().unique())
            st = to_str(s)
            present = st.notna().to_numpy()
            good = present & st.isin(cats).fillna(False).to_numpy(dtype=bool)
        n_present = int(present.sum())
        per_col[str(col)] = float(good.sum() / n_present) if n_present else None
        total += n_present
        ok += int(good.sum())
    return {"share": ok / total if total else None, "columns": per_col}
