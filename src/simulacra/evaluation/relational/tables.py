"""Per-table sections of the database report: the tabular fidelity and privacy checks on each table's
non-key columns (keys are regenerated, never learned, so they are left out)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...relational.metadata import Metadata
from ...seeding import derive_rng
from ..report import MIN_ROWS
from ..scores import score, worst
from ..tabular.columns import fresh_columns
from ..tabular.fidelity import fidelity_section
from ..tabular.privacy import privacy_section
from .aggregates import value_columns

__all__ = ["REFERENCE_SHARE", "table_section"]

REFERENCE_SHARE = 0.2  # a table kept whole on both sides: share of its train rows used as the reference


def _not_computed(name: str, why: str) -> dict:
    sc = score("table_fidelity", "Fidelity and privacy of this table", None, None, ideal="reference",
               status="n/a", explain="The tabular checks on this table's non-key columns.",
               not_computable=why)
    return {"heading": f"Table {name}", "status": "n/a", "summary": f"Not computed: {why}.", "scores": [sc]}


def _kept_whole(metadata: Metadata, name: str) -> bool:
    return metadata.context_of(name) is None and not metadata.context_children(name)


def table_section(
    metadata: Metadata,
    name: str,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    seed: int,
    max_rows: int,
    pii_columns: list[str] | None = None,
) -> dict:
    """Fidelity and privacy of one table (its non-key columns), as one report section.

    A table kept whole on both sides of the split (a root without context children) has no held-out
    rows: its fidelity reference is a seeded share of its own rows against the rest, and its privacy
    is not computable.
    """
    cols = value_columns(metadata, name, train)
    if not cols:
        return _not_computed(name, "the table has no column besides its keys")
    small = [(r, len(f)) for r, f in (("train", train), ("holdout", holdout), ("synthetic", synthetic))
             if len(f) < MIN_ROWS]
    if small:
        return _not_computed(name, f"the {small[0][0]} table has {small[0][1]} rows; the checks need "
                             f"at least {MIN_ROWS}")
    trn, hol, syn = (f[cols].reset_index(drop=True) for f in (train, holdout, synthetic))
    whole = _kept_whole(metadata, name)
    if whole:
        rng = derive_rng(seed, "evaluate", "relational", "reference", name)
        held = np.zeros(len(trn), dtype=bool)
        held[rng.permutation(len(trn))[: max(1, int(round(REFERENCE_SHARE * len(trn))))]] = True
        trn, hol = trn[~held].reset_index(drop=True), trn[held].reset_index(drop=True)
    fid = fidelity_section(trn, hol, syn, seed=seed, max_rows=max_rows)
    if whole:
        why = ("the table is kept whole on both sides of the split (no context children), so no row of it "
               "was held out to compare with")
        priv = {"summary": "", "scores": [score(
            "dcr_share", "Privacy of this table", None, None, ideal="0.5", status="n/a",
            explain="Copying is judged against held-out rows.", not_computable=why)], "figures": {}}
        note = (f" It is kept whole on both sides, so the reference is {REFERENCE_SHARE:.0%} of its rows "
                "against the rest.")
    else:
        # PII columns join the privacy checks, so a real name or email repeated in the output is caught
        pii = pii_columns if pii_columns is not None else [
            c for c, k in fresh_columns(train).items() if k == "pii" and c in synthetic.columns]
        if pii:
            trn, hol, syn = (pd.concat([f, src[pii].reset_index(drop=True)], axis=1)
                             for f, src in ((trn, train), (hol, holdout), (syn, synthetic)))
        priv = privacy_section(trn, hol, syn, seed=seed, max_rows=max_rows, pii_columns=pii)
        note = ""
    scores = fid["scores"] + priv["scores"]
    return {
        "heading": f"Table {name}",
        "question": f"Do the rows of {name} look like the real ones, column by column, without copying them?",
        "status": worst(s["status"] for s in scores),
        "summary": f"{fid['summary']}{note} {priv['summary']}".strip(),
        "scores": scores,
        "columns": fid["columns"],
        "figures": {**fid["figures"], **priv["figures"]},
        **({"pii": priv["pii"]} if "pii" in priv else {}),
    }
