"""The database report: a relational section and one section per table, assembled into one
:class:`~simulacra.evaluation.report.Report` with its verdict."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from ...errors import DataError, UsageError
from ...progress import ProgressLike, as_progress
from ...relational.metadata import Metadata
from ..report import Report, read_frame
from ..scores import jsonable, verdict
from .section import relational_section
from .tables import table_section

__all__ = ["evaluate_database"]

ROLES = ("synthetic", "train", "holdout")
REASONS = {
    ("relational", "fail"): "The synthetic tables do not fit together as the real ones do (orphan or "
    "duplicate keys, children per parent, trends across tables, or parent rows told apart by their "
    "children): check the relational scores below.",
    ("relational", "warn"): "Some relations between the synthetic tables differ noticeably from the real "
    "data's: check the relational scores below.",
}
"""The verdict's reason for the relational section's statuses (tables get theirs by name)."""
REASON_KEYS = ("referential_integrity", "primary_key_uniqueness", "cardinality", "trends",
               "aggregation_detection")
"""Relational scores quoted in the verdict's reasons when they warn or fail."""
PASS_TEXT = (
    "The synthetic database keeps every key and is as faithful and private, table by table and across "
    "tables, as the checks below can tell, judged against real held-out data."
)


def _tables(data: Any, role: str, metadata: Metadata) -> dict[str, pd.DataFrame]:
    if not isinstance(data, dict):
        raise UsageError(f"the {role} database must be a dict of table name to table (with metadata=)")
    missing = [t for t in metadata.tables if t not in data]
    if missing:
        raise DataError(f"the {role} database lacks table '{missing[0]}' of the metadata")
    return {t: read_frame(data[t], f"{role} table '{t}'", min_rows=0) for t in metadata.tables}


def _same_columns(train: dict[str, pd.DataFrame], other: dict[str, pd.DataFrame], role: str) -> None:
    for t, trn in train.items():
        df = other[t]
        missing = [c for c in trn.columns if c not in df.columns]
        extra = [c for c in df.columns if c not in trn.columns]
        if missing:
            raise DataError(f"the {role} table '{t}' lacks column '{missing[0]}' of the train table")
        if extra:
            raise DataError(f"the {role} table '{t}' has column '{extra[0]}' that the train table lacks")
        other[t] = df[list(trn.columns)]


def _key_columns(metadata: Metadata, train: dict[str, pd.DataFrame]) -> None:
    for t in metadata.tables:
        missing = [c for c in sorted(metadata.key_columns(t)) if c not in train[t].columns]
        if missing:
            raise DataError(f"key column '{missing[0]}' of table '{t}' is not in the train table")


def _table_reasons(sections: dict[str, dict]) -> dict[tuple[str, str], str]:
    out = {}
    for name, sec in sections.items():
        if not name.startswith("table:") or sec["status"] not in ("warn", "fail"):
            continue
        bad = [s["label"] for s in sec["scores"] if s["status"] == sec["status"]]
        what = "fail" if sec["status"] == "fail" else "differ noticeably"
        out[(name, sec["status"])] = f"{sec['heading']}: {'; '.join(bad)} {what} (see its section)."
    return out


def evaluate_database(
    *,
    synthetic: dict,
    train: dict,
    holdout: dict,
    metadata: Metadata | str | os.PathLike,
    seed: int = 0,
    max_rows: int = 10_000,
    progress: ProgressLike = None,
    sources: dict[str, str] | None = None,
) -> Report:
    """Compare a synthetic database with the real ``train`` database it was made from, on the real
    ``holdout`` (a split by root entity, :func:`simulacra.relational.split_by_root`).

    Each argument is a dict of table name to table (a frame or a file), described by ``metadata`` (a
    :class:`~simulacra.relational.Metadata` or the path of its YAML). The report has a ``relational``
    section (keys, children per parent, inter-table trends, aggregation detection) and one section per
    table (fidelity and privacy of its non-key columns), every score beside the real holdout's.
    ``max_rows`` caps the rows of distance and classifier checks. The same inputs and seed give the
    same report.
    """
    if not isinstance(metadata, Metadata):
        metadata = Metadata.load(metadata)
    trn = _tables(train, "train", metadata)
    hol, syn = _tables(holdout, "holdout", metadata), _tables(synthetic, "synthetic", metadata)
    _key_columns(metadata, trn)
    _same_columns(trn, hol, "holdout")
    _same_columns(trn, syn, "synthetic")
    step = as_progress(progress)
    step.status("relational")
    step(1)
    out: dict[str, dict] = {"relational": relational_section(metadata, trn, hol, syn, seed=seed,
                                                             max_rows=max_rows)}
    for t in metadata.order:
        step.status(f"table {t}")
        step(1)
        out[f"table:{t}"] = table_section(metadata, t, trn[t], hol[t], syn[t], seed=seed, max_rows=max_rows)
    decision = verdict(out, reasons={**REASONS, **_table_reasons(out)}, reason_keys=REASON_KEYS,
                       pass_text=PASS_TEXT)
    from ... import __version__

    def rows(frames: dict[str, pd.DataFrame]) -> int:
        return sum(len(f) for f in frames.values())

    data = {
        "title": "Synthetic database report",
        "simulacra_version": __version__,
        "seed": seed,
        "created_from": sources or {},
        "inputs": {
            "kind": "database",
            "train_rows": rows(trn),
            "holdout_rows": rows(hol),
            "synthetic_rows": rows(syn),
            "columns": [],
            "target": None,
            "tables": {t: {"train_rows": len(trn[t]), "holdout_rows": len(hol[t]),
                           "synthetic_rows": len(syn[t]), "columns": [str(c) for c in trn[t].columns]}
                       for t in metadata.order},
            "foreign_keys": [fk.label + (" (context)" if fk.context else "") for fk in metadata.foreign_keys],
        },
        "verdict": decision,
        "sections": out,
    }
    return Report(jsonable(data))
