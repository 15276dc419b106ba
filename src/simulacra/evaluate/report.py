"""One report that tests synthetic data on real held-out examples: fidelity, utility, privacy.

Every score stands beside its reference: the same score computed for the real holdout against the
real train split, i.e. what "as good as fresh real data" looks like for this table. The verdict on top
says pass, warn or fail with reasons a non-statistician can act on.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, UsageError
from .fidelity import _bivariate, _check_train, _discretize_codes, _univariate

SECTIONS = ("fidelity", "utility", "privacy")
MIN_ROWS = 20

# thresholds of the verdict (documented in each score's explanation)
DCR_WARN, DCR_FAIL = 0.52, 0.55  # share of synthetic rows closer to train than to holdout (p < 0.01)
MIA_FAIL = 0.60
DETECTION_WARN = 0.80
UTILITY_WARN, UTILITY_FAIL = 0.95, 0.80
FIDELITY_WARN, FIDELITY_FAIL = 0.05, 0.15  # drop in accuracy below the holdout's


def _score(
    key: str,
    label: str,
    value: float | None,
    reference: float | None,
    *,
    ideal: str,
    status: str,
    explain: str,
    ci: list[float] | None = None,
    fmt: str = "0.000",
    not_computable: str | None = None,
) -> dict:
    def clean(v: Any) -> Any:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return None
        return float(v)

    return {
        "key": key,
        "label": label,
        "value": clean(value),
        "reference": clean(reference),
        "ci": [clean(c) for c in ci] if ci else None,
        "ideal": ideal,
        "format": fmt,
        "status": "n/a" if not_computable else status,
        "explain": explain,
        "not_computable": not_computable,
    }


def _worst(statuses: list[str]) -> str:
    order = {"fail": 3, "warn": 2, "pass": 1, "n/a": 0}
    worst = max(statuses, key=lambda s: order[s], default="n/a")
    return worst if worst != "n/a" else "pass"


# ----------------------------------------------------------------------------------------- fidelity


def _bin_labels(spec: Any) -> list[str]:
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


def _fidelity(
    train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, seed: int, max_rows: int
) -> dict:
    from .detection import detection_auc

    (trn, hol, syn), specs = _discretize_codes(
        train, (holdout, synthetic), 10, roles=("holdout", "synthetic")
    )
    cols = train.columns
    uni_s, uni_h = _univariate(trn, syn, specs, cols), _univariate(trn, hol, specs, cols)
    biv_s, biv_h = _bivariate(trn, syn, specs, cols), _bivariate(trn, hol, specs, cols)
    acc_s = float(np.mean([uni_s.mean(), biv_s.mean()])) if len(biv_s) else float(uni_s.mean())
    acc_h = float(np.mean([uni_h.mean(), biv_h.mean()])) if len(biv_h) else float(uni_h.mean())
    assoc_s, assoc_h = _association_gap(trn, syn, specs), _association_gap(trn, hol, specs)
    det_s = detection_auc(train, synthetic, max_rows=max_rows, seed=seed)
    det_h = detection_auc(train, holdout, max_rows=max_rows, seed=seed)
    validity = _validity(train, synthetic)

    drop = acc_h - acc_s
    acc_status = "fail" if drop > FIDELITY_FAIL else "warn" if drop > FIDELITY_WARN else "pass"
    scores = [
        _score(
            "accuracy",
            "Accuracy: 1 − TVD over columns and column pairs",
            acc_s,
            acc_h,
            ideal="higher",
            status=acc_status,
            explain="How closely the synthetic distributions of single columns and of column pairs match "
            "the training data, after binning (1 = identical). It does not see relations among "
            "three or more columns, and copying the training data scores 1 too.",
        ),
        _score(
            "accuracy_univariate",
            "Accuracy of single columns",
            float(uni_s.mean()),
            float(uni_h.mean()),
            ideal="higher",
            status=acc_status,
            explain="1 − TVD of each column's binned distribution.",
        ),
        _score(
            "accuracy_bivariate",
            "Accuracy of column pairs",
            float(biv_s.mean()) if len(biv_s) else None,
            float(biv_h.mean()) if len(biv_h) else None,
            ideal="higher",
            status=acc_status,
            explain="1 − TVD of each pair's binned joint distribution.",
            not_computable=None if len(biv_s) else "one column only",
        ),
        _score(
            "association_gap",
            "Association gap (Cramér's V, mean absolute difference)",
            assoc_s,
            assoc_h,
            ideal="lower",
            status="warn" if assoc_s > assoc_h + 0.05 else "pass",
            explain="How much the strength of association between pairs of columns differs from the "
            "training data (0 = same). Small gaps can still hide a wrong direction of effect.",
        ),
        _score(
            "detection_auc",
            "Detection: can a classifier tell synthetic from real? (ROC-AUC)",
            det_s,
            det_h,
            ideal="0.5",
            status="warn" if det_s > DETECTION_WARN else "pass",
            explain="A gradient-boosted classifier, cross-validated, tries to separate synthetic from "
            "training rows. 0.5 = indistinguishable, 1 = always told apart. It catches "
            "higher-order differences the accuracy misses; it says nothing about privacy.",
        ),
        _score(
            "validity",
            "Validity: values within the training data's ranges and categories",
            validity["share"],
            1.0,
            ideal="higher",
            fmt="%",
            status="warn" if validity["share"] < 0.99 else "pass",
            explain="Share of synthetic cells whose value lies in the training range (numbers, dates) or "
            "among the training categories. Unseen values are not always wrong, but they are "
            "the first thing to check.",
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
        "status": _worst([s["status"] for s in scores]),
        "summary": f"Synthetic data reaches {acc_s:.3f} accuracy where fresh real data reaches {acc_h:.3f}.",
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


def _cramers_v(a: np.ndarray, b: np.ndarray, ka: int, kb: int) -> float:
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    if min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = np.outer(table.sum(1), table.sum(0)) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(np.sqrt(chi2 / n / (min(table.shape) - 1)))


def _association_gap(trn: np.ndarray, other: np.ndarray, specs: list) -> float:
    gaps = []
    m = len(specs)
    for i in range(m):
        for j in range(i + 1, m):
            ki, kj = specs[i].n_bins, specs[j].n_bins
            gaps.append(
                abs(_cramers_v(trn[:, i], trn[:, j], ki, kj) - _cramers_v(other[:, i], other[:, j], ki, kj))
            )
    return float(np.mean(gaps)) if gaps else 0.0


def _validity(train: pd.DataFrame, synthetic: pd.DataFrame) -> dict:
    from .fidelity import _column_kind, _to_datetime_ns, _to_float, _to_str

    per_col, total, ok = {}, 0, 0
    for col in train.columns:
        kind = _column_kind(train[col])
        s = synthetic[col]
        if kind == "numeric":
            t, v = _to_float(train[col]), _to_float(s)
            lo, hi = (
                np.nanmin(t) if np.isfinite(t).any() else -np.inf,
                np.nanmax(t) if np.isfinite(t).any() else np.inf,
            )
            present = ~np.isnan(v)
            good = present & (v >= lo) & (v <= hi)
        elif kind == "datetime":
            (t, tna), (v, vna) = _to_datetime_ns(train[col]), _to_datetime_ns(s)
            lo, hi = (
                (t[~tna].min(), t[~tna].max())
                if (~tna).any()
                else (np.iinfo(np.int64).min, np.iinfo(np.int64).max)
            )
            present = ~vna
            good = present & (v >= lo) & (v <= hi)
        else:
            cats = set(_to_str(train[col]).dropna().unique())
            st = _to_str(s)
            present = st.notna().to_numpy()
            good = present & st.isin(cats).fillna(False).to_numpy(dtype=bool)
        n_present = int(present.sum())
        per_col[str(col)] = float(good.sum() / n_present) if n_present else None
        total += n_present
        ok += int(good.sum())
    return {"share": ok / total if total else 1.0, "columns": per_col}


# ------------------------------------------------------------------------------------------ utility


def _utility(
    train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, target: str | None, seed: int
) -> dict:
    from .utility import tstr

    if target is None:
        return {
            "status": "n/a",
            "summary": "No target column was given, so no model was trained.",
            "scores": [
                _score(
                    "tstr",
                    "Train-synthetic, test-real",
                    None,
                    None,
                    ideal="higher",
                    status="n/a",
                    explain="Needs --target.",
                    not_computable="no target column given (use --target)",
                )
            ],
            "figures": {},
        }
    try:
        r = tstr(train, synthetic, holdout, target, seed=seed, n_boot=200)
    except DataError as exc:
        return {
            "status": "n/a",
            "summary": f"Utility could not be computed: {exc}",
            "scores": [
                _score(
                    "tstr",
                    "Train-synthetic, test-real",
                    None,
                    None,
                    ideal="higher",
                    status="n/a",
                    explain="",
                    not_computable=str(exc),
                )
            ],
            "figures": {},
        }
    metric = "ROC-AUC" if r["metric"] == "roc_auc" else "R²"
    ratio = r["ratio"]
    status = "fail" if ratio < UTILITY_FAIL else "warn" if ratio < UTILITY_WARN else "pass"
    imp = r.get("importance") or {}
    scores = [
        _score(
            "tstr",
            f"{metric} on the real holdout of a model trained on synthetic data",
            r["synthetic"],
            r["real"],
            ideal="reference",
            status=status,
            ci=r["ci_synthetic"],
            explain=f"A gradient-boosted model predicting '{target}' is trained on the synthetic data and "
            f"tested on real held-out rows; the reference is the same model trained on the real "
            f"train split. Close values mean the synthetic data teaches what the real data "
            f"teaches for this target; they say nothing about other targets.",
        ),
        _score(
            "tstr_ratio",
            "Utility ratio (synthetic-trained ÷ real-trained)",
            ratio,
            1.0,
            ideal="higher",
            status=status,
            ci=r["ci_ratio"],
            explain=f"Below {UTILITY_WARN:.2f} warns, below {UTILITY_FAIL:.2f} fails. The interval is a "
            "bootstrap over holdout rows.",
        ),
    ]
    if imp:
        sp = imp.get("spearman")
        scores.append(
            _score(
                "importance_agreement",
                "Feature-importance agreement (Spearman rank correlation)",
                sp,
                1.0,
                ideal="higher",
                status="warn" if sp is not None and sp < 0.5 else "pass",
                explain="Whether the model trained on synthetic data relies on the same features as the real "
                "one (permutation importance on the holdout). Low agreement means right answers "
                "for wrong reasons.",
                not_computable=None if sp is not None else "importances are constant",
            )
        )
    return {
        "status": status,
        "summary": f"Trained on synthetic data, the model reaches {r['synthetic']:.3f} {metric} on real "
        f"held-out rows; trained on real data, {r['real']:.3f}.",
        "task": r["task"],
        "scores": scores,
        "figures": {
            "importance": {
                "features": imp.get("features", []),
                "real": imp.get("real", []),
                "synthetic": imp.get("synthetic", []),
            }
        }
        if imp
        else {},
    }


# ------------------------------------------------------------------------------------------ privacy


def _privacy(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    seed: int,
    max_rows: int,
    pii_columns: list[str] | None,
) -> dict:
    from .privacy import dcr, identical_match_share, membership_inference_auc, pii_leaks

    ims_s, ims_h = identical_match_share(train, synthetic), identical_match_share(train, holdout)
    d = dcr(train, holdout, synthetic, max_rows=max_rows, seed=seed)
    mia = membership_inference_auc(train, holdout, synthetic, seed=seed)
    leaks = pii_leaks(train, synthetic, pii_columns)
    share, p = d["share_closer_to_train"], d["p_value"]
    n = d["n_synthetic"]
    half = 1.96 * math.sqrt(max(share * (1 - share), 1e-12) / max(n, 1))
    # identical matches fail only when clearly above what a fresh real sample shows
    ims_tol = 3 * math.sqrt(max(ims_h, 1.0 / len(holdout)) / max(len(synthetic), 1))
    ims_status = "fail" if ims_s > ims_h + ims_tol else "pass"
    dcr_status = (
        "pass" if p >= 0.01 else "fail" if share > DCR_FAIL else "warn" if share > DCR_WARN else "pass"
    )
    mia_status = "fail" if mia > MIA_FAIL else "pass"
    leak_total = sum(leaks.values())
    scores = [
        _score(
            "identical_match_share",
            "Synthetic rows identical to a training row",
            ims_s,
            ims_h,
            ideal="lower",
            fmt="%",
            status=ims_status,
            explain="Share of synthetic rows that equal a training row in every column; the reference "
            "is the share of real holdout rows that do (people can share every attribute). "
            "Above the reference means copying. Zero does not prove privacy: near-copies pass it.",
        ),
        _score(
            "dcr_share",
            "Share of synthetic rows closer to train than to holdout (DCR)",
            share,
            0.5,
            ideal="0.5",
            ci=[share - half, share + half],
            status=dcr_status,
            explain=f"Distance to closest record, against equal-sized train and holdout samples. Data "
            f"that does not copy is as close to unseen rows as to training rows (0.5). With p < 0.01 "
            f"(binomial test, here p = {p:.2g}), above {DCR_WARN} warns and above {DCR_FAIL} fails: "
            "it catches perturbed copies that fidelity alone rewards. Any model learned from a small "
            "table inherits some of its quirks, so small excesses are expected there.",
        ),
        _score(
            "dcr_median",
            "Median distance to the closest training row",
            d["dcr_synthetic_train"]["q50"],
            d["dcr_holdout_train"]["q50"],
            ideal="reference",
            status="pass",
            explain="Typical distance from a synthetic row to its nearest training row, beside the same "
            "for real holdout rows. Much smaller than the reference means rows hug the training "
            "data.",
        ),
        _score(
            "nndr",
            "Nearest-neighbour distance ratio (median)",
            d["nndr"]["synthetic_train"],
            d["nndr"]["holdout_train"],
            ideal="reference",
            status="pass",
            explain="Distance to the closest training row divided by the distance to the second closest. "
            "Values near 0 mean a synthetic row sits on one particular real record.",
        ),
        _score(
            "mia_auc",
            "Membership-inference attack (ROC-AUC)",
            mia,
            0.5,
            ideal="0.5",
            status=mia_status,
            explain=f"An attacker holding the synthetic data guesses whether a record was used for "
            f"training from its distance to the closest synthetic row. 0.5 = no better than a "
            f"coin; above {MIA_FAIL} fails. Stronger attacks exist: passing is necessary, not "
            "sufficient.",
        ),
        _score(
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
    hist = d.get("histogram", {})
    return {
        "status": _worst([s["status"] for s in scores]),
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


# -------------------------------------------------------------------------------------------- report

_REASONS = {
    (
        "fidelity",
        "fail",
    ): "The synthetic data's distributions are far from the real data's: models trained on "
    "it will learn a different world.",
    ("fidelity", "warn"): "Some distributions or relations differ noticeably from the real data: check the "
    "columns with the lowest accuracy below.",
    (
        "utility",
        "fail",
    ): "A model trained on the synthetic data does much worse on real held-out rows than one "
    "trained on real data: do not train on it.",
    (
        "utility",
        "warn",
    ): "A model trained on the synthetic data does somewhat worse on real held-out rows than "
    "one trained on real data.",
    ("sequences", "fail"): "The synthetic sequences move differently from the real ones (lengths, levels, "
    "dynamics) or copy training histories: check the sequence scores below.",
    ("sequences", "warn"): "Some properties of the synthetic sequences (statistics, autocorrelation, "
    "cross-correlation) differ noticeably from the real ones.",
    ("privacy", "fail"): "The synthetic data sits too close to the training rows (copies, near-copies or "
    "leaked personal values): do not share it.",
}


class Report:
    """The validation report: ``to_dict()``, ``save_json()``, ``save_html()``, and notebook display."""

    def __init__(self, data: dict) -> None:
        self.data = data

    @property
    def verdict(self) -> str:
        return self.data["verdict"]["status"]

    def to_dict(self) -> dict:
        """Every number of the report as plain JSON-able data."""
        return self.data

    def save_json(self, path: str | os.PathLike) -> Path:
        """Write the report's numbers as JSON (atomically)."""
        from ..io import atomic_path

        p = Path(path)
        with atomic_path(p) as tmp:
            tmp.write_text(json.dumps(self.data, indent=1, ensure_ascii=False))
        return p

    def save_html(self, path: str | os.PathLike) -> Path:
        """Write one self-contained HTML file (opens offline)."""
        from ..io import atomic_path
        from .html import render_html

        p = Path(path)
        html = render_html(self.data)
        with atomic_path(p) as tmp:
            tmp.write_text(html, encoding="utf-8")
        return p

    def _repr_html_(self) -> str:
        from .html import render_fragment

        return render_fragment(self.data)

    def __repr__(self) -> str:
        return f"<simulacra Report verdict={self.verdict}: {'; '.join(self.data['verdict']['reasons'])}>"


def _frame(data: Any, role: str) -> pd.DataFrame:
    from ..tabular.synthesizer import to_pandas

    if data is None:
        raise UsageError(f"the {role} data is required")
    df = to_pandas(data)
    df.columns = [str(c) for c in df.columns]
    if len(df) < MIN_ROWS:
        raise DataError(f"the {role} data has {len(df)} rows; the report needs at least {MIN_ROWS}")
    return df


def evaluate(
    *,
    synthetic: Any,
    train: Any,
    holdout: Any,
    target: str | None = None,
    sections: tuple[str, ...] | list[str] = SECTIONS,
    seed: int = 0,
    max_rows: int = 10_000,
    pii_columns: list[str] | None = None,
    sources: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
    sequence_key: str | None = None,
    order_by: str | None = None,
    context: list[str] | None = None,
    text_field: str | None = None,
    embeddings: Any = True,
) -> Report:
    """Compare ``synthetic`` with the real ``train`` split it was made from, on the real ``holdout``.

    With ``text_field`` the data are texts (one per row, in that field; ``target`` is the label):
    the text report runs instead (:func:`simulacra.evaluate.text.report.evaluate_text`: diversity,
    realism, utility, leakage; ``embeddings=False`` skips sentence embeddings).

    With ``sequence_key`` the tables are read as sequences in long format (``order_by`` orders each
    entity's events, ``context`` names per-entity columns): a ``sequences`` section is added and the
    row-level sections leave the key column out.

    Frames or file paths are accepted. ``target`` enables the utility section. ``sections`` picks
    among fidelity, utility and privacy. ``max_rows`` caps the rows used by distance and classifier
    checks. The same inputs and seed give the same report.
    """
    if text_field is not None:
        if sequence_key is not None:
            raise UsageError("--text-field and --sequence-key cannot be combined; check texts or sequences")
        from .text.report import evaluate_text

        return evaluate_text(synthetic=synthetic, train=train, holdout=holdout, text_field=text_field,
                             target=target, sections=sections, seed=seed, max_rows=max_rows,
                             embeddings=embeddings, sources=sources, progress=progress)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        raise UsageError(
            f"unknown report section '{unknown[0] if unknown else ''}'; choose from {', '.join(SECTIONS)}"
        )
    trn, hol, syn = _frame(train, "train"), _frame(holdout, "holdout"), _frame(synthetic, "synthetic")
    for role, df in (("holdout", hol), ("synthetic", syn)):
        missing = [c for c in trn.columns if c not in df.columns]
        extra = [c for c in df.columns if c not in trn.columns]
        if missing:
            raise DataError(
                f"the {role} data lacks column '{missing[0]}' of the train data; "
                "all three tables need the same columns"
            )
        if extra:
            raise DataError(
                f"the {role} data has column '{extra[0]}' that the train data lacks; "
                "all three tables need the same columns"
            )
    hol, syn = hol[trn.columns], syn[trn.columns]
    seq_section = None
    if sequence_key is not None:
        from .sequences import sequence_section

        if progress:
            progress("sequences")
        seq_section = sequence_section(
            trn, hol, syn, sequence_key=sequence_key, order_by=order_by, context=context, seed=seed
        )
        trn, hol, syn = (f.drop(columns=[sequence_key]) for f in (trn, hol, syn))
    _check_train(trn)
    empty = [c for c in trn.columns if trn[c].isna().all()]
    use = [c for c in trn.columns if c not in empty]
    if not use:
        raise DataError("every column of the train data is empty")
    if target is not None and target not in trn.columns:
        raise DataError(f"target column '{target}' is not in the data (columns: {', '.join(trn.columns)})")
    if target is not None and target in empty:
        raise DataError(f"target column '{target}' has no values in the train data")
    trn, hol, syn = trn[use], hol[use], syn[use]

    out_sections: dict[str, dict] = {}
    step = progress or (lambda _m: None)
    if "fidelity" in sections:
        step("fidelity")
        out_sections["fidelity"] = _fidelity(trn, hol, syn, seed, max_rows)
    if "utility" in sections:
        step("utility")
        out_sections["utility"] = _utility(trn, hol, syn, target, seed)
    if "privacy" in sections:
        step("privacy")
        out_sections["privacy"] = _privacy(trn, hol, syn, seed, max_rows, pii_columns)
    if seq_section is not None:
        out_sections["sequences"] = seq_section

    reasons = [
        _REASONS[(name, sec["status"])]
        for name, sec in out_sections.items()
        if (name, sec["status"]) in _REASONS
    ]
    for sec in out_sections.values():
        for s in sec["scores"]:
            if s["status"] in ("fail", "warn") and s["key"] in (
                "dcr_share",
                "identical_match_share",
                "mia_auc",
                "pii_leaks",
                "detection_auc",
                "validity",
                "sequence_copies",
                "sequence_dcr_share",
                "sequence_mia_auc",
            ):
                reasons.append(
                    f"{s['label']}: {_fmt(s['value'], s['format'])} "
                    f"(reference {_fmt(s['reference'], s['format'])})."
                )
    if empty:
        reasons.append(f"Columns with no values in the train data were left out: {', '.join(empty)}.")
    status = _worst([sec["status"] for sec in out_sections.values()])
    if status == "pass":
        reasons.insert(
            0,
            "The synthetic data is as faithful, useful and private as the checks below can tell, "
            "judged against real held-out data.",
        )
    from .. import __version__

    data = {
        "title": "Synthetic data report",
        "simulacra_version": __version__,
        "seed": seed,
        "created_from": sources or {},
        "inputs": {
            "train_rows": len(trn),
            "holdout_rows": len(hol),
            "synthetic_rows": len(syn),
            "columns": list(trn.columns),
            "target": target,
            **({"sequence_key": sequence_key} if sequence_key is not None else {}),
            "task": out_sections.get("utility", {}).get("task"),
        },
        "verdict": {"status": status, "reasons": reasons},
        "sections": out_sections,
    }
    return Report(_jsonable(data))


def _fmt(v: float | None, fmt: str) -> str:
    if v is None:
        return "n/a"
    if fmt == "%":
        return f"{v:.2%}"
    if fmt == "0":
        return f"{v:.0f}"
    return f"{v:.3f}"


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
