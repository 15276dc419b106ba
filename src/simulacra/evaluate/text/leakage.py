"""Leakage and bias in synthetic texts: verbatim copies and long shared word spans with real texts
(memorisation), personal data found in the output, and label balance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from ...schema.kinds import PiiKind
from ...schema.pii import TEXT_PATTERNS, find_pii_in_text
from .tokens import normal_form

SPAN = 8  # words: a shared span this long counts as memorised
MAX_OCCURRENCES = 16  # places per n-gram followed when measuring the longest shared span


def verbatim_share(texts: Sequence[Sequence[str]], reference: Sequence[Sequence[str]]) -> float | None:
    """Share of ``texts`` whose normal form equals that of some ``reference`` text."""
    if not texts:
        return None
    ref = {normal_form(t) for t in reference if t}
    return float(np.mean([normal_form(t) in ref for t in texts]))


def shared_spans(
    texts: Sequence[Sequence[str]], reference: Sequence[Sequence[str]], span: int = SPAN
) -> np.ndarray:
    """For every text, the longest run of words it shares with a ``reference`` text, counted only
    when it reaches ``span`` words (shorter runs give 0). A whole short text copied counts as its
    length when that is at least ``span``."""
    index: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for d, t in enumerate(reference):
        for i in range(len(t) - span + 1):
            places = index.setdefault(tuple(t[i : i + span]), [])
            if len(places) < MAX_OCCURRENCES:
                places.append((d, i))
    out = np.zeros(len(texts), dtype=int)
    for j, t in enumerate(texts):
        best, i = 0, 0
        while i <= len(t) - span:
            places = index.get(tuple(t[i : i + span]))
            if places:
                run = span
                for d, pos in places:
                    r = reference[d]
                    m = span
                    while i + m < len(t) and pos + m < len(r) and t[i + m] == r[pos + m]:
                        m += 1
                    run = max(run, m)
                best = max(best, run)
                i += max(run - span + 1, 1)
            else:
                i += 1
        out[j] = best
    return out


def _pii_values(texts: Iterable[str]) -> set[str]:
    """The PII strings (emails, phones, cards, SSNs, IP addresses) found in ``texts``."""
    found: set[str] = set()
    for text in texts:
        if not isinstance(text, str):
            continue
        for kind, pattern in TEXT_PATTERNS.items():
            for m in pattern.finditer(text):
                value = m.group()
                if kind in (PiiKind.CARD_NUMBER, PiiKind.PHONE) and not find_pii_in_text([value])[kind]:
                    continue
                found.add(value)
    return found


def pii_report(synthetic: Sequence[str], train: Sequence[str], holdout: Sequence[str]) -> dict:
    """Texts with personal data in the synthetic and holdout sets (per kind), and the training
    texts' PII values found verbatim in the synthetic texts."""

    def share(texts: Sequence[str]) -> tuple[float | None, dict[str, int]]:
        counts = find_pii_in_text(texts)
        flags = np.zeros(len(texts), dtype=bool)
        for i, t in enumerate(texts):
            flags[i] = (
                any(find_pii_in_text([t]).values()) if any(c.isdigit() or c in "@:" for c in t) else False
            )
        return (float(flags.mean()) if len(texts) else None), {
            str(k.value): int(v) for k, v in counts.items()
        }

    s_share, s_counts = share(synthetic)
    h_share, h_counts = share(holdout)
    train_values = _pii_values(train)
    leaked = sorted(v for v in train_values if any(v in t for t in synthetic))
    return {
        "synthetic_share": s_share,
        "holdout_share": h_share,
        "synthetic_counts": s_counts,
        "holdout_counts": h_counts,
        "train_values": len(train_values),
        "leaked": len(leaked),
    }


def label_shares(labels: Sequence[str], names: Sequence[str]) -> list[float]:
    """Share of each of ``names`` among ``labels``."""
    c = Counter(labels)
    n = max(len(labels), 1)
    return [c.get(x, 0) / n for x in names]


def balance_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    """1 − total variation distance between two label distributions."""
    return float(1.0 - 0.5 * np.abs(np.asarray(a) - np.asarray(b)).sum())
