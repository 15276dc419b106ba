"""Diversity of a text corpus: distinct n-grams on equal token budgets, the Vendi score, exact and
near duplicates (MinHash), length and vocabulary distributions; and the report's diversity section
(with the coverage of attribute combinations, :mod:`.coverage`)."""

from __future__ import annotations

import itertools
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from ...errors import DataError
from ...seeding import derive_rng
from ..scores import above_status, below_status, ratio_status, score, worst
from .corpus import Run, clip_text, label_names, mean_or_none, sample_rows, shown
from .coverage import attribute_columns, combination_coverage
from .tokens import normal_form, token_budget_sample, total_tokens

MAX_BUDGET = 20_000  # tokens per draw for distinct-n and vocabulary comparisons
DRAWS = 5
SHINGLE = 5  # characters per MinHash shingle
NEAR_THRESHOLD = 0.7  # estimated Jaccard similarity of shingle sets that makes two texts near duplicates
NUM_PERM = 64
VENDI_ROWS = 2_000  # texts per side for the Vendi score

# thresholds of the section's statuses (each score's explanation says which applies)
DIVERSITY_WARN, DIVERSITY_FAIL = 0.75, 0.50  # distinct-2 / Vendi as a ratio of the real holdout's
EXACT_DUP_WARN, EXACT_DUP_FAIL = 0.01, 0.10  # share above the holdout's
NEAR_DUP_WARN, NEAR_DUP_FAIL = 0.05, 0.20
LENGTH_WARN, LENGTH_FAIL = 0.10, 0.30  # drop of 1 − TVD below the reference
VOCAB_WARN = 0.10  # Jensen–Shannon distance above the reference
COVERAGE_WARN = 0.90


def distinct_n(
    tokens: Sequence[Sequence[str]], n: int, budget: int, seed: int = 0, draws: int = DRAWS
) -> float | None:
    """Share of distinct n-grams among all n-grams in ``budget`` tokens drawn at random (mean of
    ``draws`` draws). The fixed budget removes the dependence of distinct-n on corpus size and text
    length, so two corpora are compared on equal terms. ``None`` when there are no n-grams."""
    rng = derive_rng(seed, "evaluate", "diversity", "distinct", n)
    values = []
    for _ in range(draws):
        grams: list[tuple[str, ...]] = []
        for t in token_budget_sample(tokens, budget, rng):
            grams.extend(zip(*(t[i:] for i in range(n)), strict=False))
        if grams:
            values.append(len(set(grams)) / len(grams))
    return float(np.mean(values)) if values else None


def vendi_score(vectors: np.ndarray | sparse.spmatrix) -> float:
    """The Vendi score: the exponential of the entropy of the eigenvalues of the cosine-similarity
    matrix divided by n — the effective number of distinct items (1 = all the same, n = all
    orthogonal). Rows are normalised here; computed from the smaller of the n×n and d×d Gram."""
    x = vectors
    n = x.shape[0]
    if n == 0:
        return float("nan")
    if sparse.issparse(x):
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        x = sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ x
        gram = (x @ x.T).toarray() if n <= x.shape[1] else (x.T @ x).toarray()
    else:
        x = np.asarray(x, dtype=np.float64)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1.0)
        gram = x @ x.T if n <= x.shape[1] else x.T @ x
    eig = np.linalg.eigvalsh(np.asarray(gram, dtype=np.float64) / n)
    eig = eig[eig > 1e-12]
    eig = eig / eig.sum()
    return float(np.exp(-(eig * np.log(eig)).sum()))


def duplicate_shares(
    tokens: Sequence[Sequence[str]], seed: int = 0, threshold: float = NEAR_THRESHOLD
) -> dict:
    """Exact and near duplicates within one corpus.

    ``exact``: share of texts whose normal form (tokens joined by spaces) already occurred.
    ``near``: share of texts that are redundant once near duplicates are grouped (1 − groups / texts):
    MinHash signatures of character 5-gram shingles, LSH at estimated Jaccard ≥ ``threshold``, groups
    by union–find. Exact duplicates count as near duplicates too. ``examples``: a few groups.
    """
    from datasketch import MinHash, MinHashLSH

    forms = [normal_form(t) for t in tokens]
    n = len(forms)
    if n == 0:
        return {"exact": None, "near": None, "examples": []}
    exact = 1.0 - len(set(forms)) / n
    uniq = list(dict.fromkeys(forms))
    index = {f: i for i, f in enumerate(uniq)}

    def shingles(text: str) -> list[bytes]:
        if len(text) <= SHINGLE:
            return [text.encode("utf-8")]
        return list({text[i : i + SHINGLE].encode("utf-8") for i in range(len(text) - SHINGLE + 1)})

    # CRC-32 is a fine 32-bit hash for shingles and many times faster than datasketch's SHA-1 default
    hash_seed = int(derive_rng(seed, "evaluate", "diversity", "minhash").integers(2**31 - 1))
    hashes = MinHash.bulk([shingles(f) for f in uniq], num_perm=NUM_PERM, seed=hash_seed, hashfunc=zlib.crc32)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    parent = list(range(len(uniq)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, h in enumerate(hashes):
        for j in lsh.query(h):
            if h.jaccard(hashes[j]) >= threshold:
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        lsh.insert(i, h)
    roots = [find(index[f]) for f in forms]
    groups = Counter(roots)
    near = 1.0 - len(groups) / n
    examples = []
    for root, count in groups.most_common(5):
        if count < 2:
            break
        members = [uniq[i] for i in range(len(uniq)) if find(i) == root][:3]
        examples.append({"count": int(count), "texts": members})
    return {"exact": float(exact), "near": float(near), "examples": examples}


def length_bins(reference: np.ndarray, bins: int = 10) -> np.ndarray:
    """Inner bin edges from the quantiles of the reference lengths (the outer bins are open-ended)."""
    qs = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]) if len(reference) else np.array([])
    return np.unique(np.round(qs))


def binned_shares(lengths: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of lengths in each bin: (−∞, e0), [e0, e1), ..., [e_last, ∞)."""
    codes = np.searchsorted(edges, lengths, side="right")
    counts = np.bincount(codes, minlength=len(edges) + 1).astype(float)
    return counts / max(counts.sum(), 1.0)


def length_similarity(lengths: np.ndarray, reference: np.ndarray, edges: np.ndarray) -> float | None:
    """1 − total variation distance between binned length distributions (1 = identical)."""
    if len(lengths) == 0 or len(reference) == 0:
        return None
    return float(1.0 - 0.5 * np.abs(binned_shares(lengths, edges) - binned_shares(reference, edges)).sum())


def bin_labels(edges: np.ndarray) -> list[str]:
    """Labels of the bins of :func:`binned_shares` (word counts)."""
    e = [int(x) for x in edges]
    if not e:
        return ["all"]
    labels = [f"< {e[0]}"]
    for a, b in itertools.pairwise(e):
        labels.append(f"{a}" if b == a + 1 else f"{a}–{b - 1}")
    labels.append(f"≥ {e[-1]}")
    return labels


def vocabulary_distance(
    tokens: Sequence[Sequence[str]], reference: Sequence[Sequence[str]], budget: int, seed: int = 0
) -> float | None:
    """Jensen–Shannon distance (base 2, 0 = same, 1 = disjoint) between the word frequencies of equal
    token budgets drawn from the two corpora. Small samples of the same source are not at 0: compare
    with the same distance between two real samples."""
    if budget <= 0:
        return None
    from scipy.spatial.distance import jensenshannon

    rng = derive_rng(seed, "evaluate", "diversity", "vocabulary")
    values = []
    for _ in range(DRAWS):
        a = Counter(w for t in token_budget_sample(tokens, budget, rng) for w in t)
        b = Counter(w for t in token_budget_sample(reference, budget, rng) for w in t)
        vocab = list(a.keys() | b.keys())
        if not vocab:
            continue
        pa = np.array([a.get(w, 0) for w in vocab], dtype=float)
        pb = np.array([b.get(w, 0) for w in vocab], dtype=float)
        values.append(float(jensenshannon(pa / pa.sum(), pb / pb.sum(), base=2)))
    return float(np.mean(values)) if values else None


# --------------------------------------------------------------------------------------------------
# the report's diversity section
# --------------------------------------------------------------------------------------------------


def diversity_section(run: Run, attributes: list[str] | None = None) -> dict:
    """The text report's diversity section: distinct n-grams, Vendi, duplicates, lengths, vocabulary and
    attribute coverage, each beside the real holdout's."""
    syn, hol, a, b = run.synthetic, run.holdout, run.half_a, run.half_b
    seed = run.seed
    budget = min(total_tokens(syn.tokens), total_tokens(hol.tokens), MAX_BUDGET)
    d1s, d1h = distinct_n(syn.tokens, 1, budget, seed), distinct_n(hol.tokens, 1, budget, seed)
    d2s, d2h = distinct_n(syn.tokens, 2, budget, seed), distinct_n(hol.tokens, 2, budget, seed)
    rng = derive_rng(seed, "evaluate", "diversity", "vendi")
    syn_vec = run.syn_vec or syn
    m = min(len(syn_vec.texts), len(hol.texts), VENDI_ROWS)
    vs = vendi_score(run.vec("synthetic")[sample_rows(len(syn_vec.texts), m, rng)])
    vh = vendi_score(run.vec("holdout")[sample_rows(len(hol.texts), m, rng)])
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
        score(
            "distinct_1",
            "Distinct words (distinct-1 on equal token samples)",
            d1s,
            d1h,
            ideal="reference",
            status=ratio_status(d1s, d1h, DIVERSITY_WARN),
            explain=f"Share of distinct words among {budget:,} words drawn from each corpus (the same "
            "number for both, so corpus size and text length do not count). Well below the "
            f"real texts' value (under {DIVERSITY_WARN:.0%} of it warns) means a narrow vocabulary.",
        ),
        score(
            "distinct_2",
            "Distinct word pairs (distinct-2 on equal token samples)",
            d2s,
            d2h,
            ideal="reference",
            status=ratio_status(d2s, d2h, DIVERSITY_WARN, DIVERSITY_FAIL),
            explain="Share of distinct consecutive word pairs among the same number of words. Low values "
            "mean the generator repeats itself (templates, stock phrases). Under "
            f"{DIVERSITY_WARN:.0%} of the real texts' value warns, under {DIVERSITY_FAIL:.0%} fails.",
        ),
        score(
            "vendi",
            f"Semantic diversity (Vendi score over {run.rep_name}, {m:,} texts each)",
            vs,
            vh,
            ideal="reference",
            fmt="0.0",
            status=ratio_status(vs, vh, DIVERSITY_WARN, DIVERSITY_FAIL),
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
        score(
            "exact_duplicates",
            "Exact duplicates (share of texts that repeat an earlier one)",
            dup_s["exact"],
            dup_h["exact"],
            ideal="lower",
            fmt="%",
            status=above_status(dup_s["exact"], dup_h["exact"], EXACT_DUP_WARN, EXACT_DUP_FAIL),
            explain="Texts equal to another after lower-casing and dropping punctuation. Repeats give "
            "some examples extra weight in training and add nothing. More than "
            f"{EXACT_DUP_WARN:.0%} above the real share warns, {EXACT_DUP_FAIL:.0%} fails.",
        ),
        score(
            "near_duplicates",
            "Near duplicates (MinHash, Jaccard ≥ 0.7, share redundant)",
            dup_s["near"],
            dup_h["near"],
            ideal="lower",
            fmt="%",
            status=above_status(dup_s["near"], dup_h["near"], NEAR_DUP_WARN, NEAR_DUP_FAIL),
            explain="Texts grouped with others whose character 5-grams mostly agree (estimated by "
            "MinHash); the share is 1 − groups ÷ texts. It catches texts that differ by a word or "
            f"two. More than {NEAR_DUP_WARN:.0%} above the real share warns, {NEAR_DUP_FAIL:.0%} fails.",
        ),
        score(
            "length_similarity",
            "Length distribution (1 − TVD of words per text)",
            len_s,
            len_h,
            ideal="reference",
            status=below_status(len_s, len_h, LENGTH_WARN, LENGTH_FAIL),
            explain="Words per text, binned at the deciles of real holdout half A; synthetic texts "
            "against half A, and the reference half B against half A. A generator that writes "
            f"too short or too long texts loses here. {LENGTH_WARN:.2f} below the reference warns, "
            f"{LENGTH_FAIL:.2f} fails.",
        ),
        score(
            "vocabulary_distance",
            "Vocabulary distance (Jensen–Shannon, word frequencies)",
            voc_s,
            voc_h,
            ideal="lower",
            status=above_status(voc_s, voc_h, VOCAB_WARN),
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
            score(
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
        for label in label_names(run):
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
                    mean_or_none(s_l.lengths),
                    mean_or_none(h_l.lengths),
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
                "rows": [
                    [g["count"], " | ".join(clip_text(t) for t in g["texts"])] for g in dup_s["examples"]
                ],
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
        "status": worst(s["status"] for s in scores),
        "summary": f"Distinct-2 {shown(d2s)} against {shown(d2h)} for real texts; "
        f"Vendi {shown(vs, '0.0')} against "
        f"{shown(vh, '0.0')}; {dup_word}.",
        "scores": scores,
        "tables": tables,
        "figures": figures,
    }
