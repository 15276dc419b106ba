"""Scores, statuses and the verdict: the shapes and rules every report section shares.

A *score* is a plain dict: its value beside a reference (the same measure for real held-out data),
the ideal direction, a format code (see :mod:`simulacra.formatting`), a status (``pass``, ``warn``,
``fail`` or ``n/a``) and a plain-language explanation. A section's status is its worst score's; the
verdict is the worst section's. Nothing here passes by default: a score without a value is ``n/a``,
and a report in which nothing could be computed is "not computable", never "pass".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..formatting import format_number

__all__ = [
    "AGG_DETECTION_FAIL",
    "AGG_DETECTION_WARN",
    "ATTACK_FAIL",
    "ATTACK_WARN",
    "CARDINALITY_FAIL",
    "CARDINALITY_WARN",
    "DCR_FAIL",
    "DCR_WARN",
    "DETECTION_WARN",
    "MIA_FAIL",
    "NOT_COMPUTABLE",
    "STATUSES",
    "TRENDS_FAIL",
    "TRENDS_WARN",
    "UTILITY_FAIL",
    "UTILITY_WARN",
    "above_status",
    "attack_status",
    "below_status",
    "dcr_status",
    "jsonable",
    "ratio_status",
    "score",
    "share_tolerance",
    "utility_status",
    "verdict",
    "worst",
]

STATUSES = ("pass", "warn", "fail", "n/a")
NOT_COMPUTABLE = "Not computable: no check of this report could be computed on these inputs."

# thresholds shared by the tabular, sequence and text sections (each score's explanation names them)
DCR_WARN, DCR_FAIL = 0.52, 0.55  # share of synthetic rows closer to train than to holdout (p < 0.01)
MIA_FAIL = 0.60
DETECTION_WARN = 0.80
UTILITY_WARN, UTILITY_FAIL = 0.95, 0.80  # train-synthetic score as a share of the real-trained one
# Attack risks (singling out, linkability, inference; 0 = the attacks do no better on training rows than
# on the holdout): warn / fail from these risks when the interval's lower end is above 0. A synthesizer
# copying 5% of its rows can raise a risk to 0.05 at most (the excess success is the copied share).
ATTACK_WARN, ATTACK_FAIL = 0.02, 0.10

# thresholds of the relational section (referential integrity and primary keys fail below 1.0)
CARDINALITY_WARN, CARDINALITY_FAIL = 0.05, 0.15  # children-per-parent similarity below the holdout's
TRENDS_WARN, TRENDS_FAIL = 0.03, 0.08  # inter-table trend similarity below the holdout's
# Aggregation detection accuracy (0.5 = synthetic and real parent rows cannot be told apart): the
# relational issue's target is <= 0.70; SDV's HMA scores 0.90-1.0 on six published relational
# benchmarks, so a fail above 0.85 marks data as easy to tell apart as that.
AGG_DETECTION_WARN, AGG_DETECTION_FAIL = 0.70, 0.85


def _clean(v: Any) -> float | None:
    if v is None or (isinstance(v, float | np.floating) and not math.isfinite(v)):
        return None
    return float(v)


def score(
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
    """One score as the report stores it. A missing value (``None``, NaN) makes the score ``n/a``
    whatever ``status`` says; ``not_computable`` gives the reason."""
    value = _clean(value)
    if value is None and not_computable is None:
        not_computable = "the value could not be computed on these inputs"
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    return {
        "key": key,
        "label": label,
        "value": value,
        "reference": _clean(reference),
        "ci": [_clean(c) for c in ci] if ci else None,
        "ideal": ideal,
        "format": fmt,
        "status": "n/a" if not_computable else status,
        "explain": explain,
        "not_computable": not_computable,
    }


def worst(statuses: Iterable[str]) -> str:
    """The worst of ``statuses``; ``n/a`` only when none of them is computable (or there are none)."""
    order = {"fail": 3, "warn": 2, "pass": 1, "n/a": 0}
    return max(statuses, key=lambda s: order[s], default="n/a")


def ratio_status(value: float | None, ref: float | None, warn: float, fail: float | None = None) -> str:
    """``warn`` / ``fail`` when ``value`` falls under ``warn`` / ``fail`` times ``ref``."""
    if value is None or ref is None or ref <= 0:
        return "n/a"
    r = value / ref
    if fail is not None and r < fail:
        return "fail"
    return "warn" if r < warn else "pass"


def above_status(value: float | None, ref: float | None, warn: float, fail: float | None = None) -> str:
    """``warn`` / ``fail`` when ``value`` exceeds ``ref`` by more than ``warn`` / ``fail``."""
    if value is None or ref is None:
        return "n/a"
    if fail is not None and value > ref + fail:
        return "fail"
    return "warn" if value > ref + warn else "pass"


def below_status(value: float | None, ref: float | None, warn: float, fail: float | None = None) -> str:
    """``warn`` / ``fail`` when ``value`` falls short of ``ref`` by more than ``warn`` / ``fail``."""
    if value is None or ref is None:
        return "n/a"
    if fail is not None and value < ref - fail:
        return "fail"
    return "warn" if value < ref - warn else "pass"


def share_tolerance(ref: float, n_ref: int, n: int) -> float:
    """Three standard errors of a share: the margin by which a share must exceed its reference."""
    return 3 * math.sqrt(max(ref, 1.0 / max(n_ref, 1)) / max(n, 1))


def dcr_status(share: float | None, p_value: float | None) -> str:
    """The DCR share's status: above :data:`DCR_WARN` warns and above :data:`DCR_FAIL` fails, when the
    binomial test against 0.5 gives p < 0.01."""
    if share is None or p_value is None or not (math.isfinite(share) and math.isfinite(p_value)):
        return "n/a"
    if p_value >= 0.01:
        return "pass"
    return "fail" if share > DCR_FAIL else "warn" if share > DCR_WARN else "pass"


def attack_status(risk: float | None, ci: list[float] | None) -> str:
    """An attack risk's status: at or above :data:`ATTACK_WARN` warns and at or above
    :data:`ATTACK_FAIL` fails, when the interval's lower end is above 0."""
    if risk is None or ci is None or not math.isfinite(risk):
        return "n/a"
    if ci[0] is None or ci[0] <= 0:
        return "pass"
    return "fail" if risk >= ATTACK_FAIL else "warn" if risk >= ATTACK_WARN else "pass"


def utility_status(ratio: float | None) -> str:
    """Train-synthetic over train-real: under :data:`UTILITY_WARN` warns, under :data:`UTILITY_FAIL` fails."""
    if ratio is None or not math.isfinite(ratio):
        return "n/a"
    return "fail" if ratio < UTILITY_FAIL else "warn" if ratio < UTILITY_WARN else "pass"


def verdict(
    sections: Mapping[str, Mapping[str, Any]],
    *,
    reasons: Mapping[tuple[str, str], str],
    reason_keys: Iterable[str],
    pass_text: str,
) -> dict:
    """The report's verdict: the worst section status, with the reasons a reader can act on.

    ``reasons`` maps (section, status) to a sentence; scores whose key is in ``reason_keys`` and whose
    status is warn or fail are quoted beside their reference. With no computable score at all the
    status is ``n/a`` and the first reason says the report is not computable.
    """
    keys = set(reason_keys)
    out = [reasons[(n, sec["status"])] for n, sec in sections.items() if (n, sec["status"]) in reasons]
    for sec in sections.values():
        for s in sec["scores"]:
            if s["status"] in ("fail", "warn") and s["key"] in keys:
                fmt = s["format"]
                out.append(
                    f"{s['label']}: {format_number(s['value'], fmt, missing='n/a')} "
                    f"(reference {format_number(s['reference'], fmt, missing='n/a')})."
                )
    status = worst(sec["status"] for sec in sections.values())
    if status == "pass":
        out.insert(0, pass_text)
    elif status == "n/a":
        out.insert(0, NOT_COMPUTABLE)
        for sec in sections.values():
            for s in sec["scores"]:
                if s["not_computable"]:
                    out.append(f"{s['label']}: {s['not_computable']}.")
    return {"status": status, "reasons": out}


def jsonable(x: Any) -> Any:
    """``x`` with numpy scalars as Python numbers, tuples as lists, keys as strings, NaN as ``None``."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
