"""The report's relational section: keys, children per parent, inter-table trends and aggregation
detection, each beside what the real holdout scores against the real train split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...relational.metadata import Metadata
from ..scores import (
    AGG_DETECTION_FAIL,
    AGG_DETECTION_WARN,
    CARDINALITY_FAIL,
    CARDINALITY_WARN,
    TRENDS_FAIL,
    TRENDS_WARN,
    below_status,
    score,
    worst,
)
from .aggregates import child_counts, enriched
from .cardinality import cardinality_similarity, count_histogram
from .detection import aggregation_detection
from .integrity import primary_key_uniqueness, referential_integrity
from .trends import trend_pairs, trend_similarity

__all__ = ["relational_section"]

ROLES = ("train", "holdout", "synthetic")
SHOWN_TRENDS = 15  # the trends table lists the pairs with the strongest train correlation


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _whole_status(value: float | None) -> str:
    return "n/a" if value is None else "pass" if value >= 1.0 else "fail"


def _detection_status(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "fail" if value > AGG_DETECTION_FAIL else "warn" if value > AGG_DETECTION_WARN else "pass"


def _key_scores(metadata: Metadata, sides: dict[str, dict[str, pd.DataFrame]]) -> tuple[list, list]:
    ri = {r: referential_integrity(metadata, sides[r]) for r in ("synthetic", "holdout")}
    pk = {r: primary_key_uniqueness(metadata, sides[r]) for r in ("synthetic", "holdout")}
    scores = [
        score(
            "referential_integrity",
            "Referential integrity: foreign key values found in their parent table",
            ri["synthetic"]["share"],
            ri["holdout"]["share"],
            ideal="higher",
            fmt="%",
            status=_whole_status(ri["synthetic"]["share"]),
            explain="Share of synthetic rows whose foreign key (every column of it, when composite) "
            "matches a row of the parent table; null keys reference nothing and count as fine. Any "
            "orphan fails: a database with its constraints declared would refuse the data.",
            not_computable=None if ri["synthetic"]["share"] is not None else "no foreign key value to check",
        ),
        score(
            "primary_key_uniqueness",
            "Primary keys present and unique",
            pk["synthetic"]["share"],
            pk["holdout"]["share"],
            ideal="higher",
            fmt="%",
            status=_whole_status(pk["synthetic"]["share"]),
            explain="Share of synthetic rows whose primary key is present and found once in its table. "
            "Any duplicate or missing key fails.",
            not_computable=None if pk["synthetic"]["share"] is not None else "no table has a primary key",
        ),
    ]
    rows = [[k["key"], k["checked"], k["orphans"], k["share"], h["share"]]
            for k, h in zip(ri["synthetic"]["keys"], ri["holdout"]["keys"], strict=True)]
    rows += [[f"{t['table']} (primary key)", t["rows"], t["duplicates_or_missing"], t["share"], h["share"]]
             for t, h in zip(pk["synthetic"]["tables"], pk["holdout"]["tables"], strict=True)]
    table = {
        "title": "Keys",
        "note": "Per foreign key, synthetic rows with a key, those whose parent row is missing (orphans) and "
        "the share found; per primary key, duplicated or missing keys. The reference is the real holdout.",
        "columns": ["Key", "Synthetic rows checked", "Orphans / bad keys", "Valid (synthetic)",
                    "Valid (real holdout)"],
        "formats": [None, "0", "0", "0.0%", "0.0%"],
        "rows": rows,
    }
    return scores, [table]


def _cardinality(metadata: Metadata, sides: dict[str, dict[str, pd.DataFrame]]) -> tuple[dict, list, list]:
    per_key, figures = [], []
    for fk in metadata.foreign_keys:
        if not fk.context:
            continue
        counts = {r: child_counts(sides[r][fk.parent], sides[r][fk.child], fk) for r in ROLES}
        per_key.append({
            "key": fk.label,
            "synthetic": cardinality_similarity(counts["train"], counts["synthetic"]),
            "holdout": cardinality_similarity(counts["train"], counts["holdout"]),
            "mean": {r: float(c.mean()) if len(c) else None for r, c in counts.items()},
        })
        if len(counts["train"]):
            figures.append(count_histogram(f"{fk.child} per {fk.parent}", counts))
    value = _mean([k["synthetic"] for k in per_key])
    ref = _mean([k["holdout"] for k in per_key])
    sc = score(
        "cardinality",
        "Children per parent: 1 − KS of the count distributions",
        value,
        ref,
        ideal="higher",
        status=below_status(value, ref, CARDINALITY_WARN, CARDINALITY_FAIL),
        explain="For every context foreign key, how many children each parent row has (parents without "
        "children count 0), compared with the training data by the Kolmogorov–Smirnov distance and "
        "averaged over keys (1 = same distribution; SDMetrics' CardinalityShapeSimilarity). "
        f"{CARDINALITY_WARN} below the reference warns, {CARDINALITY_FAIL} below fails; the relational "
        "target is at least 0.95.",
        not_computable=None if value is not None else "no context foreign key with parent rows",
    )
    rows = [[k["key"], k["synthetic"], k["holdout"], k["mean"]["train"], k["mean"]["synthetic"],
             k["mean"]["holdout"]] for k in per_key]
    table = {
        "title": "Children per parent",
        "note": "1 − KS between the children counts per parent of each side and of the training data, and "
        "the mean number of children per parent.",
        "columns": ["Context key", "Similarity (synthetic)", "Similarity (real holdout)", "Mean, train",
                    "Mean, synthetic", "Mean, holdout"],
        "formats": [None, "0.000", "0.000", "0.00", "0.00", "0.00"],
        "rows": rows,
    }
    return sc, [table], figures


def _trends(metadata: Metadata, sides: dict[str, dict[str, pd.DataFrame]]) -> tuple[dict, list]:
    pairs = [p for fk in metadata.foreign_keys if fk.context for p in trend_pairs(metadata, fk, sides)]
    value, ref = trend_similarity(pairs, "synthetic"), trend_similarity(pairs, "holdout")
    sc = score(
        "trends",
        "Inter-table trends: parent column × child aggregate correlations, 1 − |Δ|/2",
        value,
        ref,
        ideal="higher",
        status=below_status(value, ref, TRENDS_WARN, TRENDS_FAIL),
        explain="For every context foreign key, each parent column is correlated with each children "
        "aggregate (count, mean of each numeric child column): Pearson's r for numbers, the "
        "correlation ratio η for categories. Each pair scores 1 − |r − r_train|/2, averaged (1 = "
        f"same trends). {TRENDS_WARN} below the reference warns, {TRENDS_FAIL} below fails.",
        not_computable=None if value is not None else "no parent column and child aggregate vary together "
        "in the training data",
    )
    strongest = sorted(pairs, key=lambda p: -abs(p["train"]))[:SHOWN_TRENDS]
    table = {
        "title": f"Strongest inter-table trends ({len(strongest)} of {len(pairs)})",
        "note": "Correlation of a parent column with an aggregate of its children (r: Pearson, η: "
        "correlation ratio of a categorical column) in each table set.",
        "columns": ["Parent column", "Children aggregate", "Measure", "Train", "Synthetic", "Real holdout"],
        "formats": [None, None, None, "0.000", "0.000", "0.000"],
        "rows": [[p["parent_column"], p["aggregate"], "η" if p["measure"] == "eta" else "r", p["train"],
                  p["synthetic"], p["holdout"]] for p in strongest],
    }
    return sc, [table]


def _detection(
    metadata: Metadata, sides: dict[str, dict[str, pd.DataFrame]], seed: int, max_rows: int
) -> tuple[dict, list]:
    results = []
    for name in metadata.order:
        if not metadata.context_children(name):
            continue
        frames = {r: enriched(metadata, sides[r], name, sides["train"]) for r in ROLES}
        if frames["train"].shape[1] == 0:
            continue
        res = aggregation_detection(frames["train"], frames["holdout"], frames["synthetic"], seed=seed,
                                    max_rows=max_rows, key=name)
        results.append({"table": name, "features": frames["train"].shape[1], **res})
    done = [r for r in results if r["accuracy"] is not None]
    worst_one = max(done, key=lambda r: r["accuracy"]) if done else None
    value = worst_one["accuracy"] if worst_one else None
    ref = worst_one["reference"] if worst_one else None
    sc = score(
        "aggregation_detection",
        "Aggregation detection: classifier accuracy on parent rows with child aggregates",
        value,
        ref,
        ideal="0.5",
        status=_detection_status(value),
        explain="Each parent row is enriched with its children's aggregates (count, mean and standard "
        "deviation of numeric columns, distinct count of categorical ones); a gradient-boosted "
        "classifier, 5-fold cross-validated, separates synthetic from real holdout parent rows on "
        "equally many rows. 0.5 = indistinguishable; the worst parent table is shown. Above "
        f"{AGG_DETECTION_WARN} warns (the relational target), above {AGG_DETECTION_FAIL} fails (SDV's HMA "
        "scores 0.90–1.0 in published benchmarks). The reference separates real train rows from the "
        "same holdout rows.",
        not_computable=None if value is not None else "; ".join(
            f"{r['table']}: {r['reason']}" for r in results if r.get("reason")
        ) or "no parent table with children to aggregate",
    )
    table = {
        "title": "Aggregation detection per parent table",
        "note": "Accuracy of a classifier telling synthetic (or, for the reference, real train) parent rows "
        "with child aggregates from real holdout ones; 0.5 is best.",
        "columns": ["Parent table", "Features", "Rows a side", "Accuracy (synthetic)",
                    "Accuracy (real train, reference)"],
        "formats": [None, "0", "0", "0.000", "0.000"],
        "rows": [[r["table"], r["features"], r["rows"], r["accuracy"], r["reference"]] for r in results],
    }
    return sc, [table]


def relational_section(
    metadata: Metadata,
    train: dict[str, pd.DataFrame],
    holdout: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    *,
    seed: int = 0,
    max_rows: int = 10_000,
) -> dict:
    """The relational section: keys, children per parent, trends and aggregation detection."""
    sides = {"train": train, "holdout": holdout, "synthetic": synthetic}
    key_scores, key_tables = _key_scores(metadata, sides)
    card, card_tables, histograms = _cardinality(metadata, sides)
    trend, trend_tables = _trends(metadata, sides)
    detect, detect_tables = _detection(metadata, sides, seed, max_rows)
    scores = [*key_scores, card, trend, detect]
    fmt = {"referential_integrity": "{:.1%}", "cardinality": "{:.3f}", "aggregation_detection": "{:.3f}"}
    parts = []
    for s in scores:
        if s["key"] in fmt and s["value"] is not None:
            ref = fmt[s["key"]].format(s["reference"]) if s["reference"] is not None else "n/a"
            parts.append(f"{s['label'].split(':')[0].lower()} {fmt[s['key']].format(s['value'])} (real "
                         f"holdout {ref})")
    return {
        "status": worst(s["status"] for s in scores),
        "summary": "Across tables: " + ("; ".join(parts) if parts else "no relational check could run") + ".",
        "scores": scores,
        "tables": key_tables + card_tables + trend_tables + detect_tables,
        "figures": {"children": histograms},
    }
