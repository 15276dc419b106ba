"""The text report: diversity, realism, utility (train-synthetic, test-real) and leakage sections,
every score beside its real reference, in the same dict shape as the tabular report.

References come from real data scored the same way. The real holdout is split at random into two
halves, A and B: where synthetic texts are compared with real ones (length and vocabulary
distributions, detection, centroids, shared spans with unseen texts), the synthetic texts are compared
with half A and the reference is half B compared with half A — what a fresh real sample of the same
source scores. Within-corpus scores (distinct n-grams, Vendi, duplicates) take the whole holdout as
reference, on equal token budgets or equal sample sizes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...errors import DataError, UsageError
from ..report import DETECTION_WARN, UTILITY_FAIL, UTILITY_WARN, Report, _jsonable, _score, _worst
from . import SECTION_ALIASES, TEXT_SECTIONS
from .diversity import (
    MAX_BUDGET,
    attribute_columns,
    bin_labels,
    binned_shares,
    combination_coverage,
    distinct_n,
    duplicate_shares,
    length_bins,
    length_similarity,
    vendi_score,
    vocabulary_distance,
)
from .embed import INSTALL_HINT, Embedder, load_embedder
from .leakage import SPAN, balance_similarity, label_shares, pii_report, shared_spans, verbatim_share
from .realism import centroid_similarity, detection_auc, embedding_map, tfidf_vectors
from .tokens import tokenize_all, total_tokens
from .utility import FEATURE_NAMES, FEATURIZERS, SETUP_NAMES, tstr_text

MIN_HOLDOUT = 20
MIN_SYNTHETIC = 10
VENDI_ROWS = 2_000
DETECTION_ROWS = 2_000

# thresholds of the verdict (each score's explanation says which applies)
DIVERSITY_WARN, DIVERSITY_FAIL = 0.75, 0.50  # distinct-2 / Vendi as a ratio of the real holdout's
EXACT_DUP_WARN, EXACT_DUP_FAIL = 0.01, 0.10  # share above the holdout's
NEAR_DUP_WARN, NEAR_DUP_FAIL = 0.05, 0.20
LENGTH_WARN, LENGTH_FAIL = 0.10, 0.30  # drop of 1 − TVD below the reference
VOCAB_WARN = 0.10  # Jensen–Shannon distance above the reference
CENTROID_WARN = 0.05  # cosine similarity below the reference
COVERAGE_WARN = 0.90
SPAN_FAIL = 0.10  # share of texts sharing a long span with the seeds, above the holdout's
BALANCE_WARN = 0.10


@dataclass
class _Texts:
    """One role's texts, their tokens and labels (rows with an empty text are dropped)."""

    role: str
    where: str
    frame: pd.DataFrame
    texts: list[str]
    tokens: list[list[str]]
    labels: list[str] | None
    dropped: int = 0
    capped_from: int | None = None
    lengths: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.lengths = np.array([len(t) for t in self.tokens], dtype=float)

    def take(self, idx: np.ndarray, role: str) -> _Texts:
        """The subset of rows ``idx`` (for holdout halves and capped samples)."""
        return _Texts(
            role,
            self.where,
            self.frame.iloc[idx],
            [self.texts[i] for i in idx],
            [self.tokens[i] for i in idx],
            [self.labels[i] for i in idx] if self.labels is not None else None,
        )

    def of_label(self, label: str) -> _Texts:
        """The texts with one label."""
        idx = np.array([i for i, v in enumerate(self.labels or []) if v == label], dtype=int)
        return self.take(idx, self.role)


def _where(role: str, sources: dict[str, str] | None) -> str:
    if sources and sources.get(role):
        return f"--{role} {sources[role]}"
    return f"the {role} data"


def _prepare(
    data: Any, role: str, text_field: str, target: str | None, sources: dict[str, str] | None
) -> _Texts:
    from ...tabular.synthesizer import to_pandas

    where = _where(role, sources)
    if data is None:
        raise UsageError(f"the {role} data is required")
    df = to_pandas(data)
    df.columns = [str(c) for c in df.columns]
    fields = ", ".join(df.columns[:12]) + (", ..." if len(df.columns) > 12 else "")
    if text_field not in df.columns:
        raise DataError(
            f"{where}: has no field '{text_field}' (fields: {fields}); "
            "name the field that holds the texts with --text-field"
        )
    if target is not None and target not in df.columns:
        raise DataError(
            f"{where}: has no label field '{target}' (fields: {fields}); "
            "name the label field with --target, or leave --target out"
        )
    raw = df[text_field]
    bad = raw.map(lambda v: v is not None and not isinstance(v, str) and not _is_na(v))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{where}: field '{text_field}' holds a {type(raw.iloc[i]).__name__} in row {i + 1}, "
            "not text; --text-field must name a field of strings"
        )
    keep = raw.map(lambda v: isinstance(v, str) and v.strip() != "").to_numpy(dtype=bool)
    if target is not None:
        keep &= df[target].notna().to_numpy()
    if not keep.any():
        what = f"non-empty texts with a '{target}' label" if target is not None else "non-empty texts"
        raise DataError(f"{where}: field '{text_field}' has no {what}")
    frame = df[keep].reset_index(drop=True)
    texts = frame[text_field].tolist()
    labels = _label_strings(frame[target]) if target is not None else None
    return _Texts(role, where, frame, texts, tokenize_all(texts), labels, dropped=int((~keep).sum()))


def _label_strings(values: pd.Series) -> list[str]:
    """Labels as strings; whole floats (1.0, as read beside missing values) lose their ".0"."""
    if pd.api.types.is_float_dtype(values) and (values == values.round()).all():
        values = values.astype("int64")
    return values.astype(str).tolist()


def _is_na(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _cap(t: _Texts, max_rows: int, rng: np.random.Generator) -> _Texts:
    if len(t.texts) <= max_rows:
        return t
    out = t.take(np.sort(rng.choice(len(t.texts), max_rows, replace=False)), t.role)
    out.capped_from = len(t.texts)
    out.dropped = t.dropped
    return out


def _sample(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= m else np.sort(rng.choice(n, m, replace=False))


def _ratio_status(value: float | None, ref: float | None, warn: float, fail: float | None = None) -> str:
    if value is None or ref is None or ref <= 0:
        return "n/a"
    r = value / ref
    if fail is not None and r < fail:
        return "fail"
    return "warn" if r < warn else "pass"


def _above_status(value: float | None, ref: float | None, warn: float, fail: float | None = None) -> str:
    if value is None or ref is None:
        return "n/a"
    if fail is not None and value > ref + fail:
        return "fail"
    return "warn" if value > ref + warn else "pass"


def _below_status(value: float | None, ref: float | None, warn: float, fail: float | None = None) -> str:
    if value is None or ref is None:
        return "n/a"
    if fail is not None and value < ref - fail:
        return "fail"
    return "warn" if value < ref - warn else "pass"


def _share_tolerance(ref: float, n_ref: int, n: int) -> float:
    """Three standard errors of a share: the margin by which a share must exceed its reference."""
    return 3 * math.sqrt(max(ref, 1.0 / max(n_ref, 1)) / max(n, 1))


# ---------------------------------------------------------------------------------------- the context


@dataclass
class _Run:
    """Everything the sections share: the three corpora, the holdout halves, the vectors."""

    train: _Texts
    holdout: _Texts
    synthetic: _Texts
    half_a: _Texts
    half_b: _Texts
    target: str | None
    text_field: str
    seed: int
    embedder: Embedder | None
    skipped: str | None
    embed_rows: int = 3_000
    vectors: dict[str, Any] = field(default_factory=dict)
    rep_name: str = "TF-IDF"
    syn_vec: _Texts | None = None  # the synthetic texts behind vectors["synthetic"] (a sample, or all)

    def vec(self, role: str) -> Any:
        """The main representation (embeddings, else TF-IDF) of ``role``'s texts."""
        return self.vectors[role]


def _vectors(run: _Run) -> None:
    roles = {"train": run.train, "holdout": run.holdout, "synthetic": run.synthetic}
    run.syn_vec = run.synthetic
    if run.embedder is not None:
        if len(run.synthetic.texts) > run.embed_rows:
            rng = np.random.default_rng([run.seed, 7])
            run.syn_vec = run.synthetic.take(
                _sample(len(run.synthetic.texts), run.embed_rows, rng), "synthetic"
            )
        allv = run.embedder.encode(run.train.texts + run.holdout.texts + run.syn_vec.texts)
        a, b = len(run.train.texts), len(run.train.texts) + len(run.holdout.texts)
        run.vectors = {"train": allv[:a], "holdout": allv[a:b], "synthetic": allv[b:]}
        run.rep_name = "sentence embeddings"
    else:
        fit = run.holdout.texts + run.synthetic.texts
        run.vectors = dict(zip(roles, tfidf_vectors(fit, *(r.texts for r in roles.values())), strict=True))
        run.rep_name = "TF-IDF vectors"


# ------------------------------------------------------------------------------------------ diversity


def _diversity(run: _Run, attributes: list[str] | None) -> dict:
    syn, hol, a, b = run.synthetic, run.holdout, run.half_a, run.half_b
    seed = run.seed
    budget = min(total_tokens(syn.tokens), total_tokens(hol.tokens), MAX_BUDGET)
    d1s, d1h = distinct_n(syn.tokens, 1, budget, seed), distinct_n(hol.tokens, 1, budget, seed)
    d2s, d2h = distinct_n(syn.tokens, 2, budget, seed), distinct_n(hol.tokens, 2, budget, seed)
    rng = np.random.default_rng(seed)
    syn_vec = run.syn_vec or syn
    m = min(len(syn_vec.texts), len(hol.texts), VENDI_ROWS)
    vs = vendi_score(run.vec("synthetic")[_sample(len(syn_vec.texts), m, rng)])
    vh = vendi_score(run.vec("holdout")[_sample(len(hol.texts), m, rng)])
    dup_s, dup_h = duplicate_shares(syn.tokens, seed), duplicate_shares(hol.tokens, seed)
    edges = length_bins(a.lengths)
    len_s, len_h = (
        length_similarity(syn.lengths, a.lengths, edges),
        length_similarity(b.lengths, a.lengths, edges),
    )
    vbudget = min(total_tokens(syn.tokens), total_tokens(a.tokens), total_tokens(b.tokens), MAX_BUDGET)
    voc_s = vocabulary_distance(syn.tokens, a.tokens, vbudget, seed)
    voc_h = vocabulary_distance(b.tokens, a.tokens, vbudget, seed)

    scores = [
        _score(
            "distinct_1",
            "Distinct words (distinct-1 on equal token samples)",
            d1s,
            d1h,
            ideal="reference",
            status="warn" if _ratio_status(d1s, d1h, DIVERSITY_WARN) == "warn" else "pass",
            explain=f"Share of distinct words among {budget:,} words drawn from each corpus (the same "
            "number for both, so corpus size and text length do not count). Well below the "
            f"real texts' value (under {DIVERSITY_WARN:.0%} of it warns) means a narrow vocabulary.",
        ),
        _score(
            "distinct_2",
            "Distinct word pairs (distinct-2 on equal token samples)",
            d2s,
            d2h,
            ideal="reference",
            status=_ratio_status(d2s, d2h, DIVERSITY_WARN, DIVERSITY_FAIL),
            explain="Share of distinct consecutive word pairs among the same number of words. Low values "
            "mean the generator repeats itself (templates, stock phrases). Under "
            f"{DIVERSITY_WARN:.0%} of the real texts' value warns, under {DIVERSITY_FAIL:.0%} fails.",
        ),
        _score(
            "vendi",
            f"Semantic diversity (Vendi score over {run.rep_name}, {m:,} texts each)",
            vs,
            vh,
            ideal="reference",
            fmt="0.0",
            status=_ratio_status(vs, vh, DIVERSITY_WARN, DIVERSITY_FAIL),
            explain="The effective number of distinct texts in meaning: the exponential of the entropy "
            "of the similarity matrix's eigenvalues, on equal-size samples. It sees paraphrases "
            "that word counts miss. Thresholds as for distinct-2."
            + (
                f" Sentence embeddings were skipped ({run.skipped}), so TF-IDF vectors stand in: "
                "they see words, not meaning."
                if run.skipped
                else ""
            ),
        ),
        _score(
            "exact_duplicates",
            "Exact duplicates (share of texts that repeat an earlier one)",
            dup_s["exact"],
            dup_h["exact"],
            ideal="lower",
            fmt="%",
            status=_above_status(dup_s["exact"], dup_h["exact"], EXACT_DUP_WARN, EXACT_DUP_FAIL),
            explain="Texts equal to another after lower-casing and dropping punctuation. Repeats give "
            "some examples extra weight in training and add nothing. More than "
            f"{EXACT_DUP_WARN:.0%} above the real share warns, {EXACT_DUP_FAIL:.0%} fails.",
        ),
        _score(
            "near_duplicates",
            "Near duplicates (MinHash, Jaccard ≥ 0.7, share redundant)",
            dup_s["near"],
            dup_h["near"],
            ideal="lower",
            fmt="%",
            status=_above_status(dup_s["near"], dup_h["near"], NEAR_DUP_WARN, NEAR_DUP_FAIL),
            explain="Texts grouped with others whose character 5-grams mostly agree (estimated by "
            "MinHash); the share is 1 − groups ÷ texts. It catches texts that differ by a word or "
            f"two. More than {NEAR_DUP_WARN:.0%} above the real share warns, {NEAR_DUP_FAIL:.0%} fails.",
        ),
        _score(
            "length_similarity",
            "Length distribution (1 − TVD of words per text)",
            len_s,
            len_h,
            ideal="reference",
            status=_below_status(len_s, len_h, LENGTH_WARN, LENGTH_FAIL),
            explain="Words per text, binned at the deciles of real holdout half A; synthetic texts "
            "against half A, and the reference half B against half A. A generator that writes "
            f"too short or too long texts loses here. {LENGTH_WARN:.2f} below the reference warns, "
            f"{LENGTH_FAIL:.2f} fails.",
        ),
        _score(
            "vocabulary_distance",
            "Vocabulary distance (Jensen–Shannon, word frequencies)",
            voc_s,
            voc_h,
            ideal="lower",
            status=_above_status(voc_s, voc_h, VOCAB_WARN),
            explain=f"Distance between word frequencies of {vbudget:,}-word samples (0 = same, 1 = no "
            "word in common); the reference is between two halves of the real holdout, the level of "
            f"sampling noise. More than {VOCAB_WARN:.2f} above it warns.",
        ),
    ]
    attrs = (
        attributes
        if attributes is not None
        else attribute_columns(syn.frame, [c for c in (run.target, run.text_field) if c])
    )
    cov = None
    if attrs:
        missing = [c for c in attrs if c not in syn.frame.columns]
        if missing:
            raise DataError(f"{syn.where}: has no attribute field '{missing[0]}'")
        cols = attrs + ([run.target] if run.target else [])
        frames = [syn.frame, hol.frame, run.train.frame]
        cov = combination_coverage(frames, cols, 0)
        ref = (
            combination_coverage(frames, cols, 1)["coverage"]
            if all(c in hol.frame.columns for c in cols)
            else None
        )
        value = cov["coverage"]
        status = (
            "warn"
            if value is not None and value < (ref - 0.05 if ref is not None else COVERAGE_WARN)
            else "pass"
        )
        scores.append(
            _score(
                "attribute_coverage",
                f"Coverage of attribute combinations ({', '.join(cols)})",
                value,
                ref,
                ideal="higher",
                fmt="%",
                status=status,
                explain=f"Share of the {cov['combinations']:,} combinations of the values of "
                f"{', '.join(cols)} "
                "that at least one synthetic text has. Uncovered combinations are blind spots of a model "
                "trained on the data. "
                + (
                    "The reference is the real holdout's coverage."
                    if ref is not None
                    else f"The real data lacks these fields, so the goal is full coverage; under "
                    f"{COVERAGE_WARN:.0%} "
                    "warns."
                ),
            )
        )

    tables = []
    figures: dict = {}
    if run.target is not None:
        rows = []
        lengths = []
        for label in _labels(run):
            s_l, a_l, b_l, h_l = (
                syn.of_label(label),
                a.of_label(label),
                b.of_label(label),
                hol.of_label(label),
            )
            tr_l = run.train.of_label(label)
            e_l = length_bins(a_l.lengths) if len(a_l.texts) else edges
            bud = min(total_tokens(s_l.tokens), total_tokens(h_l.tokens), MAX_BUDGET)
            vbud = min(
                total_tokens(s_l.tokens), total_tokens(a_l.tokens), total_tokens(b_l.tokens), MAX_BUDGET
            )
            rows.append(
                [
                    label,
                    len(s_l.texts),
                    len(h_l.texts),
                    _mean(s_l.lengths),
                    _mean(h_l.lengths),
                    length_similarity(s_l.lengths, a_l.lengths, e_l),
                    length_similarity(b_l.lengths, a_l.lengths, e_l),
                    distinct_n(s_l.tokens, 2, bud, seed) if bud else None,
                    distinct_n(h_l.tokens, 2, bud, seed) if bud else None,
                    vocabulary_distance(s_l.tokens, a_l.tokens, vbud, seed),
                    vocabulary_distance(b_l.tokens, a_l.tokens, vbud, seed),
                ]
            )
            if len(h_l.texts):
                e_h = length_bins(h_l.lengths)
                lengths.append(
                    {
                        "column": f"{run.target} = {label}: words per text",
                        "labels": bin_labels(e_h),
                        "train": binned_shares(tr_l.lengths, e_h).tolist() if len(tr_l.texts) else None,
                        "holdout": binned_shares(h_l.lengths, e_h).tolist(),
                        "synthetic": binned_shares(s_l.lengths, e_h).tolist() if len(s_l.texts) else None,
                    }
                )
        tables.append(
            {
                "title": "Per label: size, length and diversity",
                "note": "Length similarity is 1 − TVD of words per text against real holdout half A (the "
                "reference: half B). Distinct-2 is counted on equal word budgets per label. Vocabulary "
                "distance is the Jensen–Shannon distance of word frequencies against half A (reference: half "
                "B against half A), on equal word budgets.",
                "columns": [
                    str(run.target),
                    "synthetic texts",
                    "holdout texts",
                    "mean words, synthetic",
                    "mean words, holdout",
                    "length similarity",
                    "length similarity (reference)",
                    "distinct-2, synthetic",
                    "distinct-2, holdout",
                    "vocabulary distance",
                    "vocabulary distance (reference)",
                ],
                "formats": [
                    None,
                    "0",
                    "0",
                    "0.0",
                    "0.0",
                    "0.000",
                    "0.000",
                    "0.000",
                    "0.000",
                    "0.000",
                    "0.000",
                ],
                "rows": rows,
            }
        )
        figures["lengths"] = lengths
    else:
        e_h = length_bins(hol.lengths)
        figures["lengths"] = [
            {
                "column": "words per text",
                "labels": bin_labels(e_h),
                "train": binned_shares(run.train.lengths, e_h).tolist(),
                "holdout": binned_shares(hol.lengths, e_h).tolist(),
                "synthetic": binned_shares(syn.lengths, e_h).tolist(),
            }
        ]
    if dup_s["examples"]:
        tables.append(
            {
                "title": "Largest groups of near-duplicate synthetic texts",
                "note": "Up to three texts of each group are shown (lower-cased, without punctuation).",
                "columns": ["texts in the group", "examples"],
                "formats": ["0", None],
                "rows": [[g["count"], " | ".join(_clip(t) for t in g["texts"])] for g in dup_s["examples"]],
            }
        )
    if cov is not None and cov["missing_examples"]:
        tables.append(
            {
                "title": "Attribute combinations without any synthetic text (first 10)",
                "note": None,
                "columns": list(cov["missing_examples"][0]),
                "formats": [None] * len(cov["missing_examples"][0]),
                "rows": [list(m.values()) for m in cov["missing_examples"]],
            }
        )
    dup_word = f"{dup_s['exact']:.1%} exact duplicates" if dup_s["exact"] is not None else ""
    return {
        "status": _worst([s["status"] for s in scores]),
        "summary": f"Distinct-2 {_f(d2s)} against {_f(d2h)} for real texts; Vendi {_f(vs, 1)} against "
        f"{_f(vh, 1)}; {dup_word}.",
        "scores": scores,
        "tables": tables,
        "figures": figures,
    }


def _labels(run: _Run) -> list[str]:
    seen = dict.fromkeys(run.holdout.labels or [])
    seen.update(dict.fromkeys(run.train.labels or []))
    seen.update(dict.fromkeys(run.synthetic.labels or []))
    return sorted(seen)


def _mean(x: np.ndarray) -> float | None:
    return float(x.mean()) if len(x) else None


def _f(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _clip(text: str, n: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


# -------------------------------------------------------------------------------------------- realism


def _realism(run: _Run) -> dict:
    syn, a, b = run.synthetic, run.half_a, run.half_b
    syn_vec = run.syn_vec or syn
    seed = run.seed
    rng = np.random.default_rng(seed + 1)
    n = min(len(a.texts), len(b.texts), len(syn.texts), DETECTION_ROWS)
    ia, ib, i_s = (_sample(len(x.texts), n, rng) for x in (a, b, syn))
    a_t, b_t, s_t = ([x.texts[i] for i in idx] for x, idx in ((a, ia), (b, ib), (syn, i_s)))
    va, vs_ = tfidf_vectors(a_t + s_t, a_t, s_t)
    va2, vb = tfidf_vectors(a_t + b_t, a_t, b_t)
    det_tf_s, det_tf_h = detection_auc(va, vs_, seed), detection_auc(va2, vb, seed)
    scores = [
        _score(
            "detection_auc_tfidf",
            "Detection by words: can a classifier tell synthetic from real? (ROC-AUC)",
            det_tf_s,
            det_tf_h,
            ideal="0.5",
            status="warn" if det_tf_s is not None and det_tf_s > DETECTION_WARN else "pass",
            explain=f"A TF-IDF + logistic-regression classifier, cross-validated on {n:,} synthetic and "
            f"{n:,} real held-out texts, tries to tell them apart; the reference separates two halves of "
            "the real holdout. 0.5 = indistinguishable; above "
            f"{DETECTION_WARN} warns. It catches giveaway words and phrasing; it says nothing about "
            "whether the labels are right.",
        ),
    ]
    half = {"a": run.vec("holdout")[_index(run, a)], "b": run.vec("holdout")[_index(run, b)]}
    if run.embedder is not None:
        i_e = _sample(len(syn_vec.texts), n, rng)
        ea, eb, es = half["a"][ia], half["b"][ib], run.vec("synthetic")[i_e]
        det_e_s, det_e_h = detection_auc(ea, es, seed), detection_auc(ea, eb, seed)
        scores.append(
            _score(
                "detection_auc_embeddings",
                "Detection by meaning: classifier on sentence embeddings (ROC-AUC)",
                det_e_s,
                det_e_h,
                ideal="0.5",
                status="warn" if det_e_s is not None and det_e_s > DETECTION_WARN else "pass",
                explain="The same test on sentence embeddings: it sees topics and style rather than single "
                f"words. Above {DETECTION_WARN} warns.",
            )
        )
    else:
        scores.append(
            _score(
                "detection_auc_embeddings",
                "Detection by meaning: classifier on sentence embeddings (ROC-AUC)",
                None,
                None,
                ideal="0.5",
                status="n/a",
                explain="",
                not_computable=f"sentence embeddings skipped: {run.skipped}",
            )
        )
    cs = centroid_similarity(run.vec("synthetic"), half["a"])
    ch = centroid_similarity(half["b"], half["a"])
    scores.append(
        _score(
            "centroid_similarity",
            f"Centroid similarity ({run.rep_name}, cosine)",
            cs,
            ch,
            ideal="reference",
            status=_below_status(cs, ch, CENTROID_WARN),
            explain="Cosine similarity between the mean vector of the synthetic texts and that of real "
            "holdout "
            "half A; the reference is half B against half A. It shows a corpus-wide drift in topic or "
            f"register; {CENTROID_WARN} below the reference warns.",
        )
    )
    tables = []
    if run.target is not None:
        rows = []
        for label in _labels(run):
            s_l, a_l, b_l = syn.of_label(label), a.of_label(label), b.of_label(label)
            va_l = run.vec("holdout")[_index(run, a_l)]
            vb_l = run.vec("holdout")[_index(run, b_l)]
            vs_l = run.vec("synthetic")[[i for i, v in enumerate(syn_vec.labels or []) if v == label]]
            rows.append(
                [label, len(s_l.texts), centroid_similarity(vs_l, va_l), centroid_similarity(vb_l, va_l)]
            )
        tables.append(
            {
                "title": "Per label: centroid similarity",
                "note": f"Cosine similarity of mean {run.rep_name}: synthetic texts of the label against "
                f"real "
                "holdout half A of the label; the reference is half B against half A.",
                "columns": [
                    str(run.target),
                    "synthetic texts",
                    "synthetic vs real",
                    "real vs real (reference)",
                ],
                "formats": [None, "0", "0.000", "0.000"],
                "rows": rows,
            }
        )
    groups = {"holdout": run.vec("holdout"), "synthetic": run.vec("synthetic"), "train": run.vec("train")}
    labels = {"holdout": run.holdout.labels, "synthetic": syn_vec.labels, "train": run.train.labels}
    fig_map = embedding_map(groups, labels, seed)
    fig_map["representation"] = run.rep_name
    return {
        "status": _worst([s["status"] for s in scores]),
        "summary": f"A classifier tells synthetic from real texts with ROC-AUC {_f(det_tf_s)} (two real "
        f"samples: "
        f"{_f(det_tf_h)}); centroid similarity {_f(cs)} against {_f(ch)}.",
        "scores": scores,
        "tables": tables,
        "figures": {"embedding_map": fig_map},
    }


def _index(run: _Run, part: _Texts) -> np.ndarray:
    """Rows of the holdout that ``part`` (a half, or a label within it) holds."""
    return part.frame["__row__"].to_numpy()


# -------------------------------------------------------------------------------------------- utility


def _utility(run: _Run) -> dict:
    if run.target is None:
        return {
            "status": "n/a",
            "summary": "No label field was given, so no classifier was trained.",
            "scores": [
                _score(
                    "tstr_macro_f1",
                    "Train-synthetic, test-real (macro-F1)",
                    None,
                    None,
                    ideal="higher",
                    status="n/a",
                    explain="Needs --target.",
                    not_computable="no label field given (use --target)",
                )
            ],
            "figures": {},
        }
    vectors = (
        {"train": run.vec("train"), "synthetic": run.vec("synthetic"), "holdout": run.vec("holdout")}
        if run.embedder is not None
        else None
    )
    r = tstr_text(
        (run.train.texts, run.train.labels),
        (run.synthetic.texts, run.synthetic.labels),
        (run.holdout.texts, run.holdout.labels),
        vectors,
        seed=run.seed,
        vector_labels=(run.syn_vec or run.synthetic).labels,
    )
    scores = []
    statuses = []
    for feat in ("embeddings", "tfidf"):
        res = r["featurizers"].get(feat)
        name = FEATURIZERS[feat]
        if res is None:
            scores.append(
                _score(
                    f"tstr_{feat}",
                    f"Macro-F1, {name}: synthetic only / real + synthetic",
                    None,
                    None,
                    ideal="higher",
                    status="n/a",
                    explain="",
                    not_computable=f"sentence embeddings skipped: {run.skipped}",
                )
            )
            continue
        real = res["real"]["macro_f1"]
        syn, both = res["synthetic"], res["both"]
        ratio = syn["macro_f1"] / real if syn["macro_f1"] is not None and real else None
        st_syn = (
            "n/a"
            if ratio is None
            else "fail"
            if ratio < UTILITY_FAIL
            else "warn"
            if ratio < UTILITY_WARN
            else "pass"
        )
        gain_ci = both.get("gain_ci")
        st_both = (
            "n/a"
            if both["macro_f1"] is None or real is None
            else "fail"
            if gain_ci and gain_ci[1] < 0
            else "warn"
            if both["gain"] < 0
            else "pass"
        )
        statuses += [st_syn, st_both]
        nreal = res["real"]["n_train"]
        scores.append(
            _score(
                f"tstr_synthetic_{feat}",
                f"Macro-F1 on the real holdout, {name}, trained on synthetic only",
                syn["macro_f1"],
                real,
                ideal="reference",
                ci=syn["ci"],
                status=st_syn,
                not_computable=syn["not_computable"] or res["real"]["not_computable"],
                explain=f"The classifier is trained on the {syn['n_train']:,} synthetic texts and tested "
                f"on the "
                f"{len(run.holdout.texts):,} real held-out texts; the reference is the same classifier "
                f"trained "
                f"on the {nreal:,} real train texts. Under {UTILITY_WARN:.0%} of the reference warns, under "
                f"{UTILITY_FAIL:.0%} fails. The interval is a bootstrap over holdout texts.",
            )
        )
        scores.append(
            _score(
                f"tstr_both_{feat}",
                f"Macro-F1 on the real holdout, {name}, trained on real + synthetic",
                both["macro_f1"],
                real,
                ideal="higher",
                ci=both["ci"],
                status=st_both,
                not_computable=both["not_computable"] or res["real"]["not_computable"],
                explain="Did the synthetic data help? The real train texts plus the synthetic ones, "
                "against the "
                "real train texts alone (the reference). Below the reference warns; fails when the whole "
                "paired bootstrap interval of the difference "
                + (f"({gain_ci[0]:+.3f} to {gain_ci[1]:+.3f}) " if gain_ci else "")
                + "lies below zero.",
            )
        )
    main = "embeddings" if "embeddings" in r["featurizers"] else "tfidf"
    res = r["featurizers"][main]
    best = res["best"]
    table_rows = []
    for feat, fres in r["featurizers"].items():
        for setup in ("real", "synthetic", "both"):
            for pl in fres[setup]["per_label"]:
                table_rows.append(
                    [
                        FEATURIZERS[feat],
                        SETUP_NAMES[setup],
                        pl["label"],
                        pl["precision"],
                        pl["recall"],
                        pl["f1"],
                        pl["support"],
                    ]
                )
    f1 = {
        feat: {
            s: {"macro_f1": fres[s]["macro_f1"], "ci": fres[s]["ci"]} for s in ("real", "synthetic", "both")
        }
        for feat, fres in r["featurizers"].items()
    }
    if best is None:
        summary = "No classifier could be trained (each training set needs at least two labels)."
    else:
        summary = (
            f"Best on the real holdout: {SETUP_NAMES[best]} (macro-F1 {res[best]['macro_f1']:.3f} with "
            f"{FEATURIZERS[main]}; real train only {_f(res['real']['macro_f1'])}, synthetic only "
            f"{_f(res['synthetic']['macro_f1'])}, real + synthetic {_f(res['both']['macro_f1'])})."
        )
    return {
        "status": _worst(statuses),
        "summary": summary,
        "task": "classification",
        "best": {"featurizer": main, "setup": best, "macro_f1": res[best]["macro_f1"] if best else None},
        "results": r,
        "scores": scores,
        "tables": [
            {
                "title": "Per label: precision and recall on the real holdout",
                "note": "A label the synthetic data gets wrong shows as low recall (its real texts are "
                "missed) or "
                "low precision (other texts are pulled into it) for the models trained on synthetic data.",
                "columns": [
                    "classifier",
                    "trained on",
                    str(run.target),
                    "precision",
                    "recall",
                    "F1",
                    "holdout texts",
                ],
                "formats": [None, None, None, "0.000", "0.000", "0.000", "0"],
                "rows": table_rows,
            }
        ],
        "figures": {
            "macro_f1": {"featurizers": {FEATURE_NAMES[k]: v for k, v in f1.items()}, "setups": SETUP_NAMES}
        },
    }


# -------------------------------------------------------------------------------------------- leakage


def _leakage(run: _Run) -> dict:
    syn, hol, trn, a, b = run.synthetic, run.holdout, run.train, run.half_a, run.half_b
    vs, vh = verbatim_share(syn.tokens, trn.tokens), verbatim_share(hol.tokens, trn.tokens)
    spans_s, spans_h = shared_spans(syn.tokens, trn.tokens), shared_spans(hol.tokens, trn.tokens)
    ss, sh = float((spans_s > 0).mean()), float((spans_h > 0).mean())
    tol = _share_tolerance(vh or 0.0, len(hol.texts), len(syn.texts))
    tol_span = _share_tolerance(sh, len(hol.texts), len(syn.texts))
    ext_s = shared_spans(syn.tokens, a.tokens)
    ext_h = shared_spans(b.tokens, a.tokens)
    es, eh = float((ext_s > 0).mean()), float((ext_h > 0).mean())
    pii = pii_report(syn.texts, trn.texts, hol.texts)
    ptol = _share_tolerance(pii["holdout_share"] or 0.0, len(hol.texts), len(syn.texts))
    scores = [
        _score(
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
        _score(
            "span_train",
            f"Synthetic texts sharing a run of ≥ {SPAN} words with a train text",
            ss,
            sh,
            ideal="lower",
            fmt="%",
            status=_above_status(ss, sh, tol_span, max(tol_span, SPAN_FAIL)),
            explain=f"Memorisation short of a full copy: a run of {SPAN} or more words found in a train "
            "(seed) text. The reference is the share of real holdout texts that share such a run with the "
            f"train texts. Above it warns; {SPAN_FAIL:.0%} above fails.",
        ),
        _score(
            "longest_span_train",
            "Longest run of words shared with a train text",
            float(spans_s.max(initial=0)),
            float(spans_h.max(initial=0)),
            ideal="lower",
            fmt="0",
            status="pass",
            explain=f"The longest copied run found (0 when no run reaches {SPAN} words), beside the longest "
            "in real holdout texts. See the table below for the synthetic texts concerned.",
        ),
        _score(
            "span_holdout",
            f"Synthetic texts sharing a run of ≥ {SPAN} words with unseen real texts",
            es,
            eh,
            ideal="lower",
            fmt="%",
            status=_above_status(es, eh, _share_tolerance(eh, len(b.texts), len(syn.texts))),
            explain="The same against real holdout half A, which the generator never saw (the reference: "
            "half B against half A). Above the reference means the model reproduces texts from "
            "elsewhere — its pretraining data may hold the public corpus.",
        ),
        _score(
            "pii_texts",
            "Synthetic texts with personal data (emails, phones, cards, SSNs, IPs)",
            pii["synthetic_share"],
            pii["holdout_share"],
            ideal="lower",
            fmt="%",
            status=_above_status(pii["synthetic_share"], pii["holdout_share"], ptol),
            explain="A fast regex pass with checksums (Luhn for cards, digit counts for phones) over every "
            "synthetic text, beside the share of real holdout texts. Names and street addresses in free "
            "text are not detected by this pass. Above the reference warns.",
        ),
        _score(
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
        names = _labels(run)
        sh_s, sh_h, sh_t = (label_shares(x.labels or [], names) for x in (syn, hol, trn))
        bal_s, bal_t = balance_similarity(sh_s, sh_h), balance_similarity(sh_t, sh_h)
        unknown = sorted(set(syn.labels or []) - set(hol.labels or []) - set(trn.labels or []))
        status = "warn" if unknown or bal_s < bal_t - BALANCE_WARN else "pass"
        scores.append(
            _score(
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
    rows = [[int(spans_s[i]), _clip(syn.texts[i])] for i in order if spans_s[i] > 0]
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
        "status": _worst([s["status"] for s in scores]),
        "summary": f"{_pct(vs)} of synthetic texts copy a train text (real holdout: {_pct(vh)}); "
        f"{_pct(ss)} share a "
        f"run of {SPAN}+ words with one (real holdout: {_pct(sh)}); {_pct(pii['synthetic_share'])} contain "
        "personal data.",
        "scores": scores,
        "pii_counts": {"synthetic": pii["synthetic_counts"], "holdout": pii["holdout_counts"]},
        "tables": tables,
        "figures": figures,
    }


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"


# ---------------------------------------------------------------------------------------------- report

_REASONS = {
    (
        "diversity",
        "fail",
    ): "The synthetic texts repeat themselves far more than real texts do: a model trained "
    "on them sees few distinct examples.",
    (
        "diversity",
        "warn",
    ): "The synthetic texts are less varied than real texts (vocabulary, meaning, length or "
    "duplicates): check the diversity scores below.",
    ("realism", "warn"): "The synthetic texts are easy to tell from real ones or drift from their topics: "
    "a model trained on them learns their style too.",
    ("utility", "fail"): "Classifiers trained with the synthetic texts do worse on real held-out texts than "
    "those trained on the real examples alone: do not train on them as they are.",
    (
        "utility",
        "warn",
    ): "The synthetic texts help less than hoped on real held-out texts: check the per-label "
    "precision and recall.",
    ("leakage", "fail"): "The synthetic texts copy real examples or their personal data: do not share or "
    "train on them as they are.",
    ("leakage", "warn"): "Some synthetic texts reuse long runs of real text, contain personal data or skew "
    "the labels: review the leakage table.",
}
_REASON_KEYS = (
    "vendi",
    "distinct_2",
    "verbatim_train",
    "span_train",
    "pii_train_values",
    "pii_texts",
    "exact_duplicates",
    "detection_auc_tfidf",
    "label_balance",
    "tstr_both_embeddings",
    "tstr_both_tfidf",
)


def _sections(sections: Sequence[str]) -> list[str]:
    chosen: list[str] = []
    for s in sections:
        names = SECTION_ALIASES.get(s, (s,))
        for name in names:
            if name not in TEXT_SECTIONS:
                choices = ", ".join(TEXT_SECTIONS + tuple(SECTION_ALIASES))
                raise UsageError(f"unknown text report section '{s}'; choose from {choices}")
            if name not in chosen:
                chosen.append(name)
    if not chosen:
        raise UsageError(f"no report section chosen; choose from {', '.join(TEXT_SECTIONS)}")
    return [s for s in TEXT_SECTIONS if s in chosen]


def evaluate_text(
    *,
    synthetic: Any,
    train: Any,
    holdout: Any,
    text_field: str,
    target: str | None = None,
    sections: Sequence[str] = TEXT_SECTIONS,
    seed: int = 0,
    max_rows: int = 10_000,
    embeddings: bool | Embedder = True,
    embed_rows: int = 3_000,
    attributes: list[str] | None = None,
    sources: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Check synthetic texts against the real ``train`` texts (the seeds) on the real ``holdout``.

    Frames or file paths (.jsonl, .csv, .parquet) are accepted; ``text_field`` names the text field
    and ``target`` the label field (it enables train-synthetic/test-real and label checks).
    ``sections`` picks among diversity, realism, utility and leakage (fidelity and privacy are
    accepted as aliases). ``embeddings=False`` skips sentence embeddings; an :class:`Embedder` reuses
    one (and its cache); at most ``embed_rows`` synthetic texts (a random sample) are embedded.
    ``attributes`` names the generation attribute fields for the coverage check (default: detected).
    At most ``max_rows`` synthetic and holdout texts are used. The same inputs and seed give the same
    report.
    """
    chosen = _sections(sections)
    if not isinstance(text_field, str) or not text_field:
        raise UsageError("text_field must name the field that holds the texts")
    step = progress or (lambda _m: None)
    trn = _prepare(train, "train", text_field, target, sources)
    hol = _prepare(holdout, "holdout", text_field, target, sources)
    syn = _prepare(synthetic, "synthetic", text_field, target, sources)
    if len(hol.texts) < MIN_HOLDOUT:
        raise DataError(
            f"{hol.where}: has {len(hol.texts)} usable texts; the report needs at least "
            f"{MIN_HOLDOUT} real held-out texts"
        )
    if len(syn.texts) < MIN_SYNTHETIC:
        raise DataError(
            f"{syn.where}: has {len(syn.texts)} usable texts; the report needs at least {MIN_SYNTHETIC}"
        )
    rng = np.random.default_rng(seed)
    hol, syn = _cap(hol, max_rows, rng), _cap(syn, max_rows, rng)
    hol.frame = hol.frame.reset_index(drop=True).assign(__row__=np.arange(len(hol.texts)))
    perm = rng.permutation(len(hol.texts))
    half_a = hol.take(np.sort(perm[: len(perm) // 2]), "holdout")
    half_b = hol.take(np.sort(perm[len(perm) // 2 :]), "holdout")

    skipped = None
    embedder: Embedder | None = None
    if isinstance(embeddings, Embedder):
        embedder = embeddings
    elif embeddings:
        embedder, skipped = load_embedder()
    else:
        skipped = "turned off"
    run = _Run(trn, hol, syn, half_a, half_b, target, text_field, seed, embedder, skipped, embed_rows)
    step("embeddings")
    _vectors(run)

    out: dict[str, dict] = {}
    builders = {
        "diversity": lambda: _diversity(run, attributes),
        "realism": lambda: _realism(run),
        "utility": lambda: _utility(run),
        "leakage": lambda: _leakage(run),
    }
    for name in chosen:
        step(name)
        out[name] = builders[name]()

    reasons = [_REASONS[(n, s["status"])] for n, s in out.items() if (n, s["status"]) in _REASONS]
    for sec in out.values():
        for s in sec["scores"]:
            if s["status"] in ("fail", "warn") and s["key"] in _REASON_KEYS:
                fmt = s["format"]
                reasons.append(
                    f"{s['label']}: {_fmtv(s['value'], fmt)} (reference {_fmtv(s['reference'], fmt)})."
                )
    status = _worst([sec["status"] for sec in out.values()])
    if status == "pass":
        reasons.insert(
            0,
            "The synthetic texts are as varied, realistic, useful and free of copies as the checks "
            "below can tell, judged against real held-out texts.",
        )
    notes = []
    if skipped:
        notes.append(
            f"Sentence embeddings were skipped ({skipped}): the semantic checks ran on TF-IDF vectors "
            f"instead, and the embedding classifier was not trained. For them: {INSTALL_HINT}."
        )
    for t in (trn, hol, syn):
        if t.dropped:
            notes.append(
                f"{t.where}: {t.dropped:,} rows without a text{' or label' if target else ''} were left out."
            )
        if t.capped_from:
            notes.append(
                f"{t.where}: a random {len(t.texts):,} of its {t.capped_from:,} texts were used (max_rows)."
            )
    if run.syn_vec is not None and run.syn_vec is not syn:
        notes.append(
            f"Sentence embeddings were computed for a random {len(run.syn_vec.texts):,} of the "
            f"{len(syn.texts):,} synthetic texts (embed_rows); the word-based checks use them all."
        )
    if "utility" in out and out["utility"].get("best", {}).get("setup"):
        best = out["utility"]["best"]
        notes.append(
            f"Best training set on the real holdout: {SETUP_NAMES[best['setup']]} "
            f"(macro-F1 {best['macro_f1']:.3f}, {FEATURIZERS[best['featurizer']]})."
        )
    from ... import __version__

    data = {
        "title": "Synthetic text report",
        "simulacra_version": __version__,
        "seed": seed,
        "created_from": sources or {},
        "inputs": {
            "kind": "text",
            "train_rows": len(trn.texts),
            "holdout_rows": len(hol.texts),
            "synthetic_rows": len(syn.texts),
            "columns": [text_field] + ([target] if target else []),
            "text_field": text_field,
            "target": target,
            "task": "classification" if target else None,
            "labels": _labels(run) if target else [],
            "embeddings": embedder.name if embedder is not None else None,
            "embeddings_skipped": skipped,
        },
        "verdict": {"status": status, "reasons": reasons},
        "notes": notes,
        "sections": out,
    }
    return Report(_jsonable(data))


def _fmtv(v: float | None, fmt: str) -> str:
    if v is None:
        return "n/a"
    if fmt == "%":
        return f"{v:.2%}"
    if fmt == "0":
        return f"{v:.0f}"
    if fmt == "0.0":
        return f"{v:.1f}"
    return f"{v:.3f}"
