"""The tabular report: fidelity, utility and privacy sections (and sequences for long-format data),
assembled into one :class:`~simulacra.evaluation.report.Report` with its verdict."""

from __future__ import annotations

from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from ...errors import DataError, UsageError
from ...progress import ProgressLike, as_progress
from ..report import SECTIONS, Report, read_frame
from ..scores import jsonable, verdict
from .columns import check_frame, fresh_by_design
from .sampling import DEFAULT_MAX_ROWS, cap_frame, sampling_statement

__all__ = ["evaluate_table"]

REASONS = {
    ("fidelity", "fail"): "The synthetic data's distributions are far from the real data's: models "
    "trained on it will learn a different world.",
    ("fidelity", "warn"): "Some distributions or relations differ noticeably from the real data: check the "
    "columns with the lowest accuracy below.",
    ("utility", "fail"): "A model trained on the synthetic data does much worse on real held-out rows than "
    "one trained on real data: do not train on it.",
    ("utility", "warn"): "A model trained on the synthetic data does somewhat worse on real held-out rows "
    "than one trained on real data.",
    ("sequences", "fail"): "The synthetic sequences move differently from the real ones (lengths, levels, "
    "dynamics) or copy training histories: check the sequence scores below.",
    ("sequences", "warn"): "Some properties of the synthetic sequences (statistics, autocorrelation, "
    "cross-correlation) differ noticeably from the real ones.",
    ("privacy", "fail"): "The synthetic data sits too close to the training rows (copies, near-copies or "
    "leaked personal values): do not share it.",
}
"""The verdict's reason for each (section, status) pair."""

REASON_KEYS = (
    "dcr_share",
    "identical_match_share",
    "mia_auc",
    "pii_leaks",
    "detection_auc",
    "validity",
    "dcr_median",
    "nndr",
    "sequence_copies",
    "sequence_dcr_share",
    "sequence_mia_auc",
    "singling_out_risk",
    "linkability_risk",
    "inference_risk",
)
"""Scores quoted in the verdict's reasons when they warn or fail."""

PASS_TEXT = (
    "The synthetic data is as faithful, useful and private as the checks below can tell, judged against "
    "real held-out data."
)


def _same_columns(trn: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> None:
    for role, df in frames.items():
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


def _check_caps(sections: dict[str, dict], max_rows: int, n_train: int) -> dict[str, str]:
    """What each check of the computed sections samples, in words."""
    from .detection import DETECTION_ROWS

    out = {}
    if "fidelity" in sections:
        n = sections["fidelity"].get("compared_rows")
        out["accuracy"] = (f"binned counts on {n:,} holdout and {n:,} synthetic rows against {n_train:,} "
                           "train rows")
        out["detection"] = f"a classifier on at most {DETECTION_ROWS:,} rows of each side, 2-fold"
    if "utility" in sections:
        out["utility"] = str(sections["utility"].get("sampling") or "every row")
    if "privacy" in sections:
        from .attacks import MAX_CANDIDATES
        from .privacy import DCR_REFERENCE_ROWS, MIA_SYNTHETIC_ROWS

        out["distances"] = (f"nearest neighbours of at most {max_rows:,} synthetic rows among at most "
                            f"{DCR_REFERENCE_ROWS:,} train and as many holdout rows")
        out["membership"] = (f"at most 5,000 train and 5,000 holdout rows against at most "
                             f"{MIA_SYNTHETIC_ROWS:,} synthetic rows")
        out["attacks"] = f"neighbour searches among at most {MAX_CANDIDATES:,} synthetic rows"
    return out


def evaluate_table(
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
    progress: ProgressLike = None,
    sequence_key: str | None = None,
    order_by: str | None = None,
    context: list[str] | None = None,
    attacks: int = 2000,
    max_table_rows: int | None = None,
    table_rows: dict[str, int] | None = None,
) -> Report:
    """The report for tables (see :func:`simulacra.evaluate` for the arguments).

    ``max_table_rows`` caps each table at that many rows (a seeded sample; ``None``:
    :data:`~.sampling.DEFAULT_MAX_ROWS`, 0: every row; sequences are never cut). ``table_rows`` gives
    the full row counts when the caller already sampled while reading (:func:`~.sampling.read_capped`)."""
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        raise UsageError(
            f"unknown report section '{unknown[0] if unknown else ''}'; choose from {', '.join(SECTIONS)}"
        )
    trn, hol = read_frame(train, "train"), read_frame(holdout, "holdout")
    syn = read_frame(synthetic, "synthetic")
    cap = DEFAULT_MAX_ROWS if max_table_rows is None else max(int(max_table_rows), 0)
    if sequence_key is not None:
        cap = 0  # rows of one sequence belong together: a row sample would cut sequences
    rows = {role: int((table_rows or {}).get(role, len(f)))
            for role, f in (("train", trn), ("holdout", hol), ("synthetic", syn))}
    trn, hol, syn = (cap_frame(f, cap, seed, role)
                     for role, f in (("train", trn), ("holdout", hol), ("synthetic", syn)))
    used = {"train": len(trn), "holdout": len(hol), "synthetic": len(syn)}
    _same_columns(trn, {"holdout": hol, "synthetic": syn})
    hol, syn = hol[trn.columns], syn[trn.columns]
    # ids and free text are made fresh by any good generator: comparing them only measures that
    # they are new (a fresh id is closer to the training ids than to the holdout's)
    keep = {target, sequence_key, order_by, *(context or [])}
    fresh = [c for c in fresh_by_design(trn, seed) if c not in keep]
    trn, hol, syn = (f.drop(columns=fresh) for f in (trn, hol, syn))
    step = as_progress(progress)
    seq_section = None
    if sequence_key is not None:
        from ..sequences.section import sequence_section

        step.status("sequences")
        step(1)
        seq_section = sequence_section(
            trn, hol, syn, sequence_key=sequence_key, order_by=order_by, context=context, seed=seed
        )
        trn, hol, syn = (f.drop(columns=[sequence_key]) for f in (trn, hol, syn))
    check_frame(trn)
    empty = [c for c in trn.columns if trn[c].isna().all()]
    use = [c for c in trn.columns if c not in empty]
    if not use:
        raise DataError("every column of the train data is empty")
    if target is not None and target not in trn.columns:
        raise DataError(f"target column '{target}' is not in the data (columns: {', '.join(trn.columns)})")
    if target is not None and target in empty:
        raise DataError(f"target column '{target}' has no values in the train data")
    trn, hol, syn = trn[use], hol[use], syn[use]

    out: dict[str, dict] = {}
    # one thread for OpenMP and BLAS: every check works on capped samples, where threads barely help,
    # and on a busy machine they wait on one another far longer than they save
    with threadpool_limits(1):
        if "fidelity" in sections:
            step.status("fidelity")
            step(1)
            from .fidelity import fidelity_section  # each section's models load only when it runs

            out["fidelity"] = fidelity_section(trn, hol, syn, seed=seed, max_rows=max_rows, full_rows=rows)
        if "utility" in sections:
            step.status("utility")
            step(1)
            from .utility import utility_section

            out["utility"] = utility_section(trn, hol, syn, target, seed=seed)
        if "privacy" in sections:
            step.status("privacy")
            step(1)
            from .privacy import privacy_section

            out["privacy"] = privacy_section(trn, hol, syn, seed=seed, max_rows=max_rows,
                                             pii_columns=pii_columns, n_attacks=attacks, target=target)
    if seq_section is not None:
        out["sequences"] = seq_section

    decision = verdict(out, reasons=REASONS, reason_keys=REASON_KEYS, pass_text=PASS_TEXT)
    if empty:
        decision["reasons"].append(
            f"Columns with no values in the train data were left out: {', '.join(empty)}."
        )
    if fresh:
        decision["reasons"].append(
            f"Id and free-text columns, made fresh by design, were left out of the comparison: "
            f"{', '.join(fresh)}."
        )
    from ... import __version__

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
            "task": out.get("utility", {}).get("task"),
        },
        "sampling": sampling_statement(cap, seed, rows, used, _check_caps(out, max_rows, len(trn))),
        "verdict": decision,
        "sections": out,
    }
    return Report(jsonable(data))
