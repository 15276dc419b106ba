"""Leakage and bias in synthetic texts: verbatim copies and long shared word spans with real texts
(memorisation), personal data found in the output, and label balance; and the text report's leakage
section."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from ...schema.kinds import PiiKind
from ...schema.pii import TEXT_PATTERNS, find_pii_in_text
from ..scores import above_status, score, share_tolerance, worst
from .corpus import Run, clip_text, label_names, shown
from .tokens import normal_form

SPAN = 8  # words: a shared span this long counts as memorised
MAX_OCCURRENCES = 16  # places per n-gram followed when measuring the longest shared span
SPAN_FAIL = 0.10  # share of texts sharing a long span with the seeds, above the holdout's
BALANCE_WARN = 0.10


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


# --------------------------------------------------------------------------------------------------
# the report's leakage section
# --------------------------------------------------------------------------------------------------


def leakage_section(run: Run) -> dict:
    """The text report's leakage section: copies and long shared runs of words, personal data and label
    balance, each beside what real held-out texts show."""
    syn, hol, trn, a, b = run.synthetic, run.holdout, run.train, run.half_a, run.half_b
    vs, vh = verbatim_share(syn.tokens, trn.tokens), verbatim_share(hol.tokens, trn.tokens)
    spans_s, spans_h = shared_spans(syn.tokens, trn.tokens), shared_spans(hol.tokens, trn.tokens)
    ss, sh = float((spans_s > 0).mean()), float((spans_h > 0).mean())
    longest_s, longest_h = float(spans_s.max(initial=0)), float(spans_h.max(initial=0))
    tol = share_tolerance(vh or 0.0, len(hol.texts), len(syn.texts))
    tol_span = share_tolerance(sh, len(hol.texts), len(syn.texts))
    ext_s = shared_spans(syn.tokens, a.tokens)
    ext_h = shared_spans(b.tokens, a.tokens)
    es, eh = float((ext_s > 0).mean()), float((ext_h > 0).mean())
    pii = pii_report(syn.texts, trn.texts, hol.texts)
    ptol = share_tolerance(pii["holdout_share"] or 0.0, len(hol.texts), len(syn.texts))
    scores = [
        score(
            "verbatim_train",
            "Synthetic texts identical to a real train (seed) text",
            vs,
            vh,
            ideal="lower",
            fmt="%",
            status="fail" if vs is not None and vh is not None and vs > vh + tol else "pass",
            explain="Share of synthetic texts equal to a train text (ignoring case and punctuation); the "
            "reference is the share of real holdout texts that are. Above it (by more than sampling "
            "noise) means the generator copies its examples: it fails.",
        ),
        score(
            "span_train",
            f"Synthetic texts sharing a run of ≥ {SPAN} words with a train text",
            ss,
            sh,
            ideal="lower",
            fmt="%",
            status=above_status(ss, sh, tol_span, max(tol_span, SPAN_FAIL)),
            explain=f"Memorisation short of a full copy: a run of {SPAN} or more words found in a train "
            "(seed) text. The reference is the share of real holdout texts that share such a run with the "
            f"train texts. Above it warns; {SPAN_FAIL:.0%} above fails.",
        ),
        score(
            "longest_span_train",
            "Longest run of words shared with a train text",
            longest_s,
            longest_h,
            ideal="lower",
            fmt="0",
            status=above_status(longest_s, longest_h, SPAN - 0.5),
            explain=f"The longest copied run found (0 when no run reaches {SPAN} words), beside the longest "
            f"in real holdout texts. {SPAN} words or more beyond the reference warns. See the table below "
            "for the synthetic texts concerned.",
        ),
        score(
            "span_holdout",
            f"Synthetic texts sharing a run of ≥ {SPAN} words with unseen real texts",
            es,
            eh,
            ideal="lower",
            fmt="%",
            status=above_status(es, eh, share_tolerance(eh, len(b.texts), len(syn.texts))),
            explain="The same against real holdout half A, which the generator never saw (the reference: "
            "half B against half A). Above the reference means the model reproduces texts from "
            "elsewhere — its pretraining data may hold the public corpus.",
        ),
        score(
            "pii_texts",
            "Synthetic texts with personal data (emails, phones, cards, SSNs, IPs)",
            pii["synthetic_share"],
            pii["holdout_share"],
            ideal="lower",
            fmt="%",
            status=above_status(pii["synthetic_share"], pii["holdout_share"], ptol),
            explain="A fast regex pass with checksums (Luhn for cards, digit counts for phones) over every "
            "synthetic text, beside the share of real holdout texts. Names and street addresses in free "
            "text are not detected by this pass. Above the reference warns.",
        ),
        score(
            "pii_train_values",
            "Personal values of the train texts found verbatim in synthetic texts",
            float(pii["leaked"]),
            0.0,
            ideal="lower",
            fmt="0",
            status="fail" if pii["leaked"] else "pass",
            not_computable=None if pii["train_values"] else "no personal values found in the train texts",
            explain=f"Every email, phone, card number, SSN and IP address of the {len(trn.texts):,} train "
            "texts is looked up in the synthetic texts. Any hit fails.",
        ),
    ]
    figures: dict = {}
    if run.target is not None:
        names = label_names(run)
        sh_s, sh_h, sh_t = (label_shares(x.labels or [], names) for x in (syn, hol, trn))
        bal_s, bal_t = balance_similarity(sh_s, sh_h), balance_similarity(sh_t, sh_h)
        unknown = sorted(set(syn.labels or []) - set(hol.labels or []) - set(trn.labels or []))
        status = "warn" if unknown or bal_s < bal_t - BALANCE_WARN else "pass"
        scores.append(
            score(
                "label_balance",
                "Label balance (1 − TVD of label shares against the real holdout)",
                bal_s,
                bal_t,
                ideal="reference",
                status=status,
                explain="How closely the synthetic texts' label shares follow the real holdout's; the "
                "reference is "
                f"the real train texts'. {BALANCE_WARN:.2f} below it warns. A skew teaches a classifier a "
                f"wrong "
                "prior."
                + (f" Labels found only in the synthetic data: {', '.join(unknown[:5])}." if unknown else ""),
            )
        )
        figures["labels"] = {
            "column": f"{run.target}: share of texts",
            "labels": names,
            "train": sh_t,
            "holdout": sh_h,
            "synthetic": sh_s,
        }
    tables = [
        {
            "title": "Texts with personal data, by kind",
            "note": "Counts of texts in which the regex and checksum pass finds each kind.",
            "columns": ["kind", "synthetic texts", "real holdout texts"],
            "formats": [None, "0", "0"],
            "rows": [[k, v, pii["holdout_counts"].get(k, 0)] for k, v in pii["synthetic_counts"].items()],
        }
    ]
    order = np.argsort(-spans_s, kind="stable")[:5]
    rows = [[int(spans_s[i]), clip_text(syn.texts[i])] for i in order if spans_s[i] > 0]
    if rows:
        tables.append(
            {
                "title": f"Synthetic texts with the longest runs copied from train texts (≥ {SPAN} words)",
                "note": "Only synthetic texts are shown.",
                "columns": ["words shared", "synthetic text"],
                "formats": ["0", None],
                "rows": rows,
            }
        )
    return {
        "status": worst(s["status"] for s in scores),
        "summary": f"{shown(vs, '0.0%')} of synthetic texts copy a train text "
        f"(real holdout: {shown(vh, '0.0%')}); "
        f"{shown(ss, '0.0%')} share a "
        f"run of {SPAN}+ words with one (real holdout: {shown(sh, '0.0%')}); "
        f"{shown(pii['synthetic_share'], '0.0%')} contain "
        "personal data.",
        "scores": scores,
        "pii_counts": {"synthetic": pii["synthetic_counts"], "holdout": pii["holdout_counts"]},
        "tables": tables,
        "figures": figures,
    }
