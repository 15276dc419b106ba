"""Diversity of a text corpus: distinct n-grams on equal token budgets, the Vendi score, exact and
near duplicates (MinHash), coverage of attribute combinations, length and vocabulary distributions."""

from __future__ import annotations

import itertools
import math
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from .tokens import normal_form, token_budget_sample

MAX_BUDGET = 20_000  # tokens per draw for distinct-n and vocabulary comparisons
DRAWS = 5
SHINGLE = 5  # characters per MinHash shingle
NEAR_THRESHOLD = 0.7  # estimated Jaccard similarity of shingle sets that makes two texts near duplicates
NUM_PERM = 64


def distinct_n(
    tokens: Sequence[Sequence[str]], n: int, budget: int, seed: int = 0, draws: int = DRAWS
) -> float | None:
    """Share of distinct n-grams among all n-grams in ``budget`` tokens drawn at random (mean of
    ``draws`` draws). The fixed budget removes the dependence of distinct-n on corpus size and text
    length, so two corpora are compared on equal terms. ``None`` when there are no n-grams."""
    rng = np.random.default_rng(seed)
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
    hashes = MinHash.bulk([shingles(f) for f in uniq], num_perm=NUM_PERM, seed=seed + 1, hashfunc=zlib.crc32)
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


def attribute_columns(frame: pd.DataFrame, exclude: Sequence[str], max_values: int = 50) -> list[str]:
    """Columns that look like generation attributes: few distinct short values, not the text or
    label. ``frame`` is the synthetic data."""
    out = []
    n = len(frame)
    for col in frame.columns:
        if col in exclude:
            continue
        s = frame[col].dropna()
        if s.empty or s.map(lambda v: isinstance(v, list | dict)).any():
            continue
        k = s.astype(str).nunique()
        if k < 2 or k > max_values or k > 0.5 * n:
            continue
        if s.astype(str).str.len().mean() > 40:
            continue
        out.append(str(col))
    return out


def combination_coverage(frames: Sequence[pd.DataFrame], columns: Sequence[str], which: int = 0) -> dict:
    """Share of the grid of attribute combinations that ``frames[which]`` covers.

    The grid is the product of the values seen in any of ``frames`` (those that have the columns).
    Also the share of texts in the rarest and commonest covered combinations.
    """
    values = []
    for col in columns:
        seen: set[str] = set()
        for f in frames:
            if col in f.columns:
                seen.update(f[col].dropna().astype(str).unique())
        values.append(sorted(seen))
    size = math.prod(len(v) for v in values)
    f = frames[which]
    keys = f[list(columns)].dropna().astype(str).agg("\x1f".join, axis=1)
    counts = keys.value_counts()
    grid = {"\x1f".join(c) for c in itertools.product(*values)} if size <= 100_000 else None
    covered = int(counts.index.isin(list(grid)).sum()) if grid is not None else len(counts)
    missing = []
    if grid is not None:
        for combo in sorted(grid - set(counts.index))[:10]:
            missing.append(dict(zip(columns, combo.split("\x1f"), strict=True)))
    return {
        "coverage": covered / size if size else None,
        "combinations": int(size),
        "covered": covered,
        "min_share": float(counts.min() / len(keys)) if len(keys) else None,
        "max_share": float(counts.max() / len(keys)) if len(keys) else None,
        "missing_examples": missing,
    }


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

    rng = np.random.default_rng(seed)
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
