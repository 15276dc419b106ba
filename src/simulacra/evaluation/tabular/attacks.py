"""Attack-based privacy risk: singling out, linkability and inference, each measured against a control.

Reason for the length: the three attacks share one encoding, one neighbour search and one risk
estimate, and the report's scores for them; apart, they would reach into each other's private helpers.

The three risks the EU's Article 29 Working Party names, measured as anonymeter does (Giomi et al.,
"A Unified Framework for Quantifying Privacy Risk in Synthetic Data", PETS 2023): an attacker holding
the synthetic data attacks real *training* rows, and the same attack on real *control* rows (the
holdout, never seen by the generator) measures what any model of the population would reveal. With
success rates ``a`` (training) and ``c`` (control), each a Wilson score estimate, the risk is
``(a - c) / (1 - c)`` with its error propagated, clipped to [0, 1] (:func:`attack_risk`).

- singling out: predicates built from synthetic rows that hold for exactly one (deduplicated)
  synthetic row -- rare values and extremes of one column (univariate), or a record's values on a few
  random columns with ``<=`` / ``>=`` towards the column's tail (multivariate) -- are guesses; a guess
  succeeds when it holds for exactly one training row. The control count is rescaled to the training
  size by anonymeter's fitted model of singling out against population size.
- linkability: the columns are split between two attackers; each finds the nearest synthetic rows of a
  target on its half; the target is linked when the two neighbour sets share a row.
- inference: knowing every other column, the attacker guesses a secret column (the target, or for each
  attack a random column) from the nearest synthetic row; numbers count as guessed within 5%.

Distances are Gower-like: numbers scaled by their range (L1), categories 0 or 1, missing its own
value. Neighbours are found by exact Euclidean search on an embedding (scikit-learn, BLAS) and the
best candidates re-ranked by the exact Gower distance. All randomness comes from
:func:`simulacra.seeding.derive_rng` with keys ``("evaluate", "attacks", ...)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.neighbors import NearestNeighbors

from simulacra.errors import DataError
from simulacra.seeding import derive_rng

from ..scores import ATTACK_FAIL, ATTACK_WARN, attack_status, score
from .columns import align, check_frame, column_kind, to_datetime_ns, to_float, to_str

__all__ = [
    "attack_risk",
    "attack_risks",
    "attack_scores",
    "inference_risk",
    "linkability_risk",
    "singling_out_risk",
]

N_ATTACKS = 2000
CONFIDENCE = 0.95
# synthetic rows the neighbour searches use (a seeded sample above this; the queries stay exact): it
# bounds the attacks' cost whatever the synthetic table's size
MAX_CANDIDATES = 20_000
# retrieval depth before the exact Gower re-ranking
_RERANK = 24
# one-hot slots per categorical column in the retrieval embedding (the rest share random directions)
_ONE_HOT = 48
_RARE_DIMS = 8
# inference: a number counts as guessed within this relative tolerance (as anonymeter)
TOLERANCE = 0.05
# predicate operators
_EQ, _NE, _LE, _GE, _LT, _GT, _NA, _NOTNA = range(8)


# --------------------------------------------------------------------------------------------------
# the risk and its interval
# --------------------------------------------------------------------------------------------------


def _wilson(n: int, k: float, z: float) -> tuple[float, float]:
    """Wilson score estimate of a success rate and its error at ``z`` standard scores."""
    if n <= 0:
        return float("nan"), float("nan")
    k = min(max(float(k), 0.0), float(n))
    denom = n + z * z
    rate = (k + 0.5 * z * z) / denom
    return rate, (z / denom) * math.sqrt(k * (n - k) / n + 0.25 * z * z)


def attack_risk(
    n_attacks: int, n_success: float, n_control: float, n_baseline: float | None = None,
    confidence: float = CONFIDENCE,
) -> dict:
    """Risk ``(a - c) / (1 - c)`` of an attack with ``n_success`` successes on training targets and
    ``n_control`` on control targets out of ``n_attacks`` each, with its ``confidence`` interval.

    ``a`` and ``c`` are Wilson estimates; the error of the risk is propagated from theirs; value and
    interval are clipped to [0, 1] (anonymeter's ``EvaluationResults.risk``)."""
    if not 0 < confidence < 1:
        raise DataError(f"confidence must be between 0 and 1, got {confidence}")
    z = float(norm.ppf(0.5 * (1 + confidence)))
    a, da = _wilson(n_attacks, n_success, z)
    c, dc = _wilson(n_attacks, n_control, z)
    b = _wilson(n_attacks, n_baseline, z)[0] if n_baseline is not None else None
    if not (math.isfinite(a) and math.isfinite(c)) or c >= 1:
        risk, err = float("nan"), float("nan")
    else:
        risk = (a - c) / (1 - c)
        err = math.hypot(da / (1 - c), dc * (a - 1) / (1 - c) ** 2)
    clip = lambda x: min(max(x, 0.0), 1.0)  # noqa: E731
    ok = math.isfinite(risk)
    return {
        "risk": clip(risk) if ok else None,
        "ci": [clip(risk - err), clip(risk + err)] if ok else None,
        "residual": risk if ok else None,
        "attack_rate": a,
        "attack_error": da,
        "control_rate": c,
        "control_error": dc,
        "baseline_rate": b,
        "n_attacks": int(n_attacks),
        "n_success": float(n_success),
        "n_control": float(n_control),
        "n_baseline": None if n_baseline is None else float(n_baseline),
    }


# --------------------------------------------------------------------------------------------------
# data as numbers: values (numbers, codes for categories, NaN for missing) and kinds
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    columns: list[str]
    categorical: np.ndarray  # per column: compared as categories (codes) rather than numbers
    train: np.ndarray  # values: floats for numbers and datetimes, category codes; NaN is missing
    control: np.ndarray
    synthetic: np.ndarray


def _tables(train: pd.DataFrame, control: pd.DataFrame, synthetic: pd.DataFrame) -> _Tables:
    check_frame(train)
    frames = [train, align(train, control, "control"), align(train, synthetic, "synthetic")]
    cols, cats = [], []
    blocks: list[list[np.ndarray]] = [[], [], []]
    for col in train.columns:
        kind = column_kind(train[col])
        if kind == "categorical":
            texts = [to_str(f[col]) for f in frames]
            codes, _ = pd.factorize(pd.concat(texts, ignore_index=True), use_na_sentinel=True)
            values = np.where(codes < 0, np.nan, codes.astype("float64"))
            parts = np.split(values, np.cumsum([len(f) for f in frames])[:-1])
        elif kind == "datetime":
            parts = []
            for f in frames:
                ns, na = to_datetime_ns(f[col])
                v = ns.astype("float64")
                v[na] = np.nan
                parts.append(v)
        else:
            parts = [to_float(f[col]) for f in frames]
        for blk, p in zip(blocks, parts, strict=True):
            blk.append(p)
        cols.append(str(col))
        cats.append(kind == "categorical")
    trn, ctl, syn = (np.column_stack(b) for b in blocks)
    return _Tables(cols, np.array(cats, dtype=bool), trn, ctl, syn)


def _unique_rows(x: np.ndarray) -> np.ndarray:
    """Distinct rows (missing equals missing), in first-seen order."""
    return x[~pd.DataFrame(x).duplicated().to_numpy()]


def _check_n(n_attacks: int) -> int:
    if isinstance(n_attacks, bool) or not isinstance(n_attacks, int | np.integer) or n_attacks < 1:
        raise DataError(f"n_attacks must be a positive whole number, got {n_attacks!r}")
    return int(n_attacks)


# --------------------------------------------------------------------------------------------------
# singling out
# --------------------------------------------------------------------------------------------------


@dataclass
class _Queries:
    """Conjunctions of ``(column, operator, value)`` terms, one row per query, padded with column -1."""

    col: np.ndarray  # (q, t) int
    op: np.ndarray  # (q, t) int
    val: np.ndarray  # (q, t) float

    def __len__(self) -> int:
        return len(self.col)

    def take(self, idx: np.ndarray) -> _Queries:
        return _Queries(self.col[idx], self.op[idx], self.val[idx])


def _term(x: np.ndarray, op: np.ndarray, val: np.ndarray) -> np.ndarray:
    """``x`` (q, n) against each query's operator and value; NaN matches only ``isna``."""
    lo = np.where(np.isin(op, (_EQ, _NE, _GE)), val, -np.inf)
    lo = np.where(op == _GT, np.nextafter(val, np.inf), lo)
    hi = np.where(np.isin(op, (_EQ, _NE, _LE)), val, np.inf)
    hi = np.where(op == _LT, np.nextafter(val, -np.inf), hi)
    with np.errstate(invalid="ignore"):
        out = (x >= lo[:, None]) & (x <= hi[:, None])  # NaN compares False
    ne, na, notna = op == _NE, op == _NA, op == _NOTNA
    if ne.any():
        out[ne] = ~out[ne] & ~np.isnan(x[ne])
    if na.any():
        out[na] = np.isnan(x[na])
    if notna.any():
        out[notna] = ~np.isnan(x[notna])
    return out


def _count(x: np.ndarray, q: _Queries, *, stop_at: int | None = None, chunk: int = 8192,
           batch: int = 256) -> np.ndarray:
    """How many rows of ``x`` each query holds for (at least ``stop_at`` once it is reached)."""
    counts = np.zeros(len(q), dtype=np.int64)
    # with stop_at, rows come in growing chunks: most queries reach it in the first few hundred rows
    starts = [0]
    while starts[-1] < len(x):
        step = chunk if stop_at is None else min(chunk, 256 * 2 ** (len(starts) - 1))
        starts.append(starts[-1] + step)
    for lo in range(0, len(q), batch):
        sel = np.arange(lo, min(lo + batch, len(q)))
        col, op, val = q.col[sel], q.op[sel], q.val[sel]
        for r0, r1 in zip(starts[:-1], starts[1:], strict=True):
            live = sel if stop_at is None else sel[counts[sel] < stop_at]
            if len(live) == 0:
                break
            k = live - lo
            block = x[r0:r1]
            mask = np.ones((len(live), len(block)), dtype=bool)
            for t in range(col.shape[1]):
                used = col[k, t] >= 0
                if not used.any():
                    continue
                part = _term(block[:, col[k[used], t]].T, op[k[used], t], val[k[used], t])
                mask[used] &= part
            counts[live] += mask.sum(axis=1)
    return counts


def _unique_queries(q: _Queries) -> np.ndarray:
    """Positions of the first occurrence of each distinct query (terms compared as sets)."""
    order = np.argsort(q.col, axis=1, kind="stable")
    key = np.concatenate(
        [np.take_along_axis(a, order, axis=1).astype("float64") for a in (q.col, q.op, q.val)], axis=1
    )
    return np.sort(np.unique(key, axis=0, return_index=True)[1])


def _univariate_queries(syn: np.ndarray, categorical: np.ndarray, rng: np.random.Generator) -> _Queries:
    """Single-column predicates holding for exactly one synthetic row: the only missing value, a
    column's minimum or maximum, a value seen once."""
    col, op, val = [], [], []

    def add(j: int, o: int, v: float) -> None:
        col.append(j)
        op.append(o)
        val.append(v)

    for j in range(syn.shape[1]):
        x = syn[:, j]
        na = np.isnan(x)
        if na.sum() == 1:
            add(j, _NA, np.nan)
        present = x[~na]
        if len(present) == 0:
            continue
        values, counts = np.unique(present, return_counts=True)
        if not categorical[j]:
            if counts[0] == 1:
                add(j, _LE, values[0])
            if counts[-1] == 1:
                add(j, _GE, values[-1])
        for v in values[counts == 1]:
            add(j, _EQ, v)
    q = _Queries(np.array(col, dtype=np.int64)[:, None], np.array(op, dtype=np.int64)[:, None],
                 np.array(val, dtype="float64")[:, None])
    return q.take(rng.permutation(len(q)))


def _multivariate_queries(
    syn: np.ndarray, categorical: np.ndarray, n: int, n_cols: int, max_attempts: int,
    rng: np.random.Generator, batch: int = 1000,
) -> tuple[_Queries, int]:
    """Predicates from a random synthetic record on ``n_cols`` random columns (``==`` for categories
    and missing values, ``>=`` above the column's median and ``<=`` otherwise) that hold for exactly one
    synthetic row; returns the first ``n`` distinct ones and the attempts made."""
    p = syn.shape[1]
    n_cols = min(n_cols, p)
    shuffled = syn[rng.permutation(len(syn))]  # counting stops early on a random prefix
    with np.errstate(all="ignore"):
        medians = np.array([np.nanmedian(syn[:, j]) if (~np.isnan(syn[:, j])).any() else 0.0
                            for j in range(p)])
    found: list[_Queries] = []
    total, attempts = 0, 0
    while total < n and attempts < max_attempts:
        b = min(batch, max_attempts - attempts)
        rows = rng.integers(0, len(syn), b)
        cols = np.argsort(rng.random((b, p)), axis=1)[:, :n_cols]
        vals = syn[rows[:, None], cols]
        ops = np.where(categorical[cols], _EQ, np.where(vals > medians[cols], _GE, _LE))
        ops = np.where(np.isnan(vals), _NA, ops)
        cand = _Queries(cols, ops, vals)
        counts = _count(shuffled, cand, stop_at=2, batch=batch)
        found.append(cand.take(np.flatnonzero(counts == 1)))
        attempts += b
        joined = _concat(found)
        keep = _unique_queries(joined)
        found, total = [joined.take(keep)], len(keep)
    out = _concat(found)
    return out.take(np.arange(min(n, len(out)))), attempts


def _concat(parts: list[_Queries]) -> _Queries:
    return _Queries(*(np.concatenate([getattr(q, a) for q in parts]) for a in ("col", "op", "val")))


def _random_queries(syn: np.ndarray, categorical: np.ndarray, n: int, n_cols: int,
                    rng: np.random.Generator) -> _Queries:
    """The baseline attacker: random columns, random values of them, random operators."""
    p = syn.shape[1]
    n_cols = min(n_cols, p)
    cols = np.argsort(rng.random((n, p)), axis=1)[:, :n_cols]
    vals = np.empty(cols.shape)
    uniques = [pd.unique(syn[:, j]) for j in range(p)]
    for j in range(p):
        where = cols == j
        vals[where] = rng.choice(uniques[j], size=int(where.sum()))
    num_ops = np.array([_EQ, _NE, _GT, _LT, _GE, _LE])
    ops = np.where(categorical[cols], rng.choice([_EQ, _NE], size=cols.shape),
                   rng.choice(num_ops, size=cols.shape))
    ops = np.where(np.isnan(vals), np.where(ops == _EQ, _NA, _NOTNA), ops)
    return _Queries(cols, ops, vals)


def _singles_in_subset(counts: np.ndarray, n: int, m: int) -> float:
    """Expected number of queries holding for exactly one row of a random ``m``-row subset of ``n``
    rows, the ``i``-th holding for ``counts[i]`` of them (hypergeometric: ``t C(n-t, m-1) / C(n, m)``)."""
    from scipy.special import gammaln

    t = counts[(counts >= 1) & (counts <= n - m + 1)].astype("float64")
    if m >= n or len(t) == 0:
        return float((counts == 1).sum()) if m >= n else 0.0
    log_p = (np.log(t) + gammaln(n - t + 1) - gammaln(m) - gammaln(n - t - m + 2)
             - (gammaln(n + 1) - gammaln(m + 1) - gammaln(n - m + 1)))
    return float(np.exp(log_p).sum())


def singling_out_risk(
    train: pd.DataFrame,
    control: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    mode: str = "multivariate",
    n_attacks: int = N_ATTACKS,
    n_cols: int = 3,
    max_attempts: int | None = None,
    seed: int = 0,
) -> dict:
    """Singling-out risk of ``synthetic`` for the ``train`` rows, against the ``control`` rows.

    Up to ``n_attacks`` predicates singling out one synthetic row (``mode``: ``"univariate"`` or
    ``"multivariate"`` over ``n_cols`` columns; ``max_attempts`` caps the records tried, by default 50
    per attack) are counted where they single out one training row, and one control row. Rows are
    deduplicated first. Where the two differ in size, both are compared at the smaller size: the
    larger side counts its expected singles in a random subset of that size (exact, hypergeometric).
    anonymeter instead extrapolates the control's count to the training size with a fitted model,
    which on Adult reads a risk of 0.11 for real rows never trained on when the control is a quarter
    of the training size. Returns :func:`attack_risk`'s dict plus ``n_queries`` (predicates found;
    fewer than ``n_attacks`` underestimates the risk) and ``compared_rows``."""
    n = _check_n(n_attacks)
    if mode not in ("univariate", "multivariate"):
        raise DataError(f"mode must be 'univariate' or 'multivariate', got {mode!r}")
    if isinstance(n_cols, bool) or not isinstance(n_cols, int) or n_cols < 1:
        raise DataError(f"n_cols must be a positive whole number, got {n_cols!r}")
    t = _tables(train, control, synthetic)
    trn, ctl, syn = (_unique_rows(x) for x in (t.train, t.control, t.synthetic))
    rng = derive_rng(seed, "evaluate", "attacks", "singling_out", mode)
    if mode == "univariate":
        queries = _univariate_queries(syn, t.categorical, rng)
        queries = queries.take(np.arange(min(n, len(queries))))
        attempts = len(queries)
        width = 1
    else:
        attempts_cap = 50 * n if max_attempts is None else int(max_attempts)
        queries, attempts = _multivariate_queries(syn, t.categorical, n, n_cols, attempts_cap, rng)
        width = n_cols
    hits_trn, hits_ctl = _count(trn, queries), _count(ctl, queries)
    # compared at the smaller of the two sizes (a query singles out more easily among fewer rows):
    # the larger side counts the expected singles in a random subset of the smaller side's size
    m = min(len(trn), len(ctl))
    n_success = _singles_in_subset(hits_trn, len(trn), m)
    n_control = _singles_in_subset(hits_ctl, len(ctl), m)
    baseline = _random_queries(syn, t.categorical, n, width, rng)
    n_baseline = _singles_in_subset(_count(trn, baseline), len(trn), m)
    out = attack_risk(n, n_success, n_control, n_baseline)
    out.update({"mode": mode, "n_queries": len(queries), "attempts": int(attempts), "compared_rows": m})
    return out


# --------------------------------------------------------------------------------------------------
# neighbours under a Gower-like distance
# --------------------------------------------------------------------------------------------------


class _Space:
    """The Gower-like distance: numbers L1 over their range (missing against present counts 1),
    categories 0 or 1 (missing is a category); and a Euclidean embedding to search it, one block of
    embedding columns per data column, so that any subset of the columns can be searched."""

    def __init__(self, t: _Tables, rng: np.random.Generator) -> None:
        self.cat = t.categorical
        every = np.vstack([t.train, t.control, t.synthetic])
        with np.errstate(all="ignore"):
            lo, hi = np.nanmin(every, axis=0), np.nanmax(every, axis=0)
        span = np.where(np.isfinite(hi - lo) & (hi - lo > 0), hi - lo, 1.0)
        self.span = np.where(self.cat, 1.0, span)
        self.lo = np.where(np.isfinite(lo), lo, 0.0)
        # categories: the most frequent codes one-hot, the rest random unit directions
        self.top: list[np.ndarray] = []
        self.rare: list[np.ndarray] = []
        self.blocks: list[np.ndarray] = []
        width = 0
        for k in range(len(self.cat)):
            if not self.cat[k]:
                self.top.append(np.zeros(0, dtype=np.int64))
                self.rare.append(np.zeros((0, _RARE_DIMS)))
                size = 2
            else:
                codes = np.nan_to_num(every[:, k], nan=-1.0).astype(np.int64) + 1  # 0 = missing
                freq = np.bincount(codes)
                self.top.append(np.argsort(-freq, kind="stable")[:_ONE_HOT])
                r = rng.standard_normal((len(freq), _RARE_DIMS))
                self.rare.append(r / np.linalg.norm(r, axis=1, keepdims=True))
                size = len(self.top[k]) + (_RARE_DIMS if len(freq) > len(self.top[k]) else 0)
            self.blocks.append(np.arange(width, width + size))
            width += size

    def exact(self, x: np.ndarray) -> np.ndarray:
        """Values scaled for the Gower distance (categories as codes, missing as NaN)."""
        return np.where(self.cat, x, (x - self.lo) / self.span)

    def embed(self, x: np.ndarray) -> np.ndarray:
        """Rows whose squared Euclidean distance tracks the Gower distance (exactly for categories)."""
        parts = []
        for k in range(len(self.cat)):
            if not self.cat[k]:
                s = (x[:, k] - self.lo[k]) / self.span[k]
                na = np.isnan(s)
                parts += [np.where(na, 0.0, s)[:, None], na[:, None].astype("float64")]
                continue
            codes = np.nan_to_num(x[:, k], nan=-1.0).astype(np.int64) + 1
            slot = np.full(len(self.rare[k]), -1)
            slot[self.top[k]] = np.arange(len(self.top[k]))
            hot = np.zeros((len(x), len(self.blocks[k])))
            where = slot[codes]
            is_top = where >= 0
            hot[np.flatnonzero(is_top), where[is_top]] = 1.0
            if (~is_top).any():
                hot[~is_top, len(self.top[k]):] = self.rare[k][codes[~is_top]]
            parts.append(hot / math.sqrt(2.0))
        return np.ascontiguousarray(np.hstack(parts), dtype="float32")


@dataclass(frozen=True)
class _Points:
    """Rows both embedded (for the search) and scaled (for the exact distance)."""

    embedded: np.ndarray
    scaled: np.ndarray

    @classmethod
    def of(cls, space: _Space, x: np.ndarray) -> _Points:
        return cls(space.embed(x), space.exact(x))

    def take(self, rows: np.ndarray) -> _Points:
        return _Points(self.embedded[rows], self.scaled[rows])


def _neighbours(space: _Space, cand: _Points, query: _Points, cols: list[int], k: int) -> np.ndarray:
    """Positions of the ``k`` candidates nearest to each query on columns ``cols`` (Gower distance;
    ties: the earlier candidate): exact Euclidean retrieval in the embedding, exact re-ranking."""
    dims = np.concatenate([space.blocks[j] for j in cols])
    depth = min(len(cand.scaled), max(_RERANK, 4 * k))
    nn = NearestNeighbors(n_neighbors=depth, algorithm="brute", metric="euclidean")
    nn.fit(np.ascontiguousarray(cand.embedded[:, dims]))
    idx = nn.kneighbors(np.ascontiguousarray(query.embedded[:, dims]), return_distance=False)
    q = query.scaled[:, cols][:, None, :]
    c = cand.scaled[:, cols][idx]
    na_q, na_c = np.isnan(q), np.isnan(c)
    with np.errstate(invalid="ignore"):
        num = np.where(na_q | na_c, (na_q != na_c).astype("float64"), np.abs(q - c))
        cat = (np.where(na_q, -1.0, q) != np.where(na_c, -1.0, c)).astype("float64")
    d = np.where(space.cat[cols], cat, num).sum(axis=2)
    order = np.lexsort((idx, np.round(d, 9)), axis=1)[:, :k]
    return np.take_along_axis(idx, order, axis=1)


def _candidates(t: _Tables, rng: np.random.Generator, max_candidates: int) -> np.ndarray:
    """The synthetic rows the attacker searches, in a seeded random order (it breaks distance ties)."""
    n = len(t.synthetic)
    return rng.permutation(n)[: min(n, max_candidates)]


def _targets(n_rows: int, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(n_rows, size=min(n, n_rows), replace=False)


# --------------------------------------------------------------------------------------------------
# linkability
# --------------------------------------------------------------------------------------------------


def linkability_risk(
    train: pd.DataFrame,
    control: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    aux_cols: tuple[list[str], list[str]] | None = None,
    n_attacks: int = N_ATTACKS,
    n_neighbors: int = 1,
    max_candidates: int = MAX_CANDIDATES,
    seed: int = 0,
) -> dict:
    """Linkability risk: two attackers each hold one of the column sets ``aux_cols`` of ``n_attacks``
    training (or control) rows; a target is linked when the ``n_neighbors`` nearest synthetic rows on
    each half share a row. By default the columns are split so that each half holds about half the
    training data's entropy."""
    n = _check_n(n_attacks)
    if isinstance(n_neighbors, bool) or not isinstance(n_neighbors, int) or n_neighbors < 1:
        raise DataError(f"n_neighbors must be a positive whole number, got {n_neighbors!r}")
    t = _tables(train, control, synthetic)
    if len(t.columns) < 2:
        raise DataError("linkability needs at least two columns to split between two attackers")
    halves = _split(t, aux_cols)
    n = min(n, len(t.train), len(t.control))
    rng = derive_rng(seed, "evaluate", "attacks", "linkability")
    cand = _candidates(t, rng, max_candidates)
    k = min(n_neighbors, len(cand))
    trg, ctl = _targets(len(t.train), n, rng), _targets(len(t.control), n, rng)
    space = _Space(t, rng)
    cands = _Points.of(space, t.synthetic[cand])
    queries = _Points.of(space, np.vstack([t.train[trg], t.control[ctl]]))
    found = [_neighbours(space, cands, queries, cols, k) for cols in halves]
    linked = _shared(found[0], found[1])
    base = _shared(*(rng.integers(0, len(cand), (n, k)) for _ in range(2)))
    out = attack_risk(n, float(linked[:n].sum()), float(linked[n:].sum()), float(base.sum()))
    out.update({"aux_cols": [[t.columns[j] for j in h] for h in halves], "n_neighbors": k})
    return out


def _entropy(x: np.ndarray) -> float:
    """Shannon entropy (bits) of a column's values, missing counted as a value."""
    counts = pd.Series(x).value_counts(dropna=False).to_numpy(dtype="float64")
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _balanced_halves(x: np.ndarray) -> list[list[int]]:
    """Columns dealt, most informative first, to the half holding less entropy so far: each attacker
    gets about half of what identifies a row (a plain first-half split can leave one attacker with
    only coarse columns, where every row ties)."""
    ent = np.array([_entropy(x[:, j]) for j in range(x.shape[1])])
    halves: list[list[int]] = [[], []]
    load = [0.0, 0.0]
    for j in np.argsort(-ent, kind="stable"):
        h = 0 if (load[0], len(halves[0])) <= (load[1], len(halves[1])) else 1
        halves[h].append(int(j))
        load[h] += ent[j]
    return [sorted(h) for h in halves]


def _split(t: _Tables, aux_cols: tuple[list[str], list[str]] | None) -> list[list[int]]:
    columns = t.columns
    if aux_cols is None:
        return _balanced_halves(t.train)
    if len(aux_cols) != 2 or not all(aux_cols):
        raise DataError("aux_cols must be two non-empty lists of columns")
    pos = {c: i for i, c in enumerate(columns)}
    out = []
    for half in aux_cols:
        unknown = [c for c in half if c not in pos]
        if unknown:
            raise DataError(f"aux_cols: column {unknown[0]!r} is not in the data")
        out.append([pos[c] for c in half])
    if set(out[0]) & set(out[1]):
        raise DataError("aux_cols: the two column sets must not share a column")
    return out


def _shared(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row: whether the neighbour lists ``a[i]`` and ``b[i]`` share an element."""
    return (a[:, :, None] == b[:, None, :]).any(axis=(1, 2))


# --------------------------------------------------------------------------------------------------
# inference
# --------------------------------------------------------------------------------------------------


def inference_risk(
    train: pd.DataFrame,
    control: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    secrets: list[str] | None = None,
    n_attacks: int = N_ATTACKS,
    max_candidates: int = MAX_CANDIDATES,
    seed: int = 0,
) -> dict:
    """Inference risk: the attacker knows every column of a target row but its secret and guesses the
    secret from the nearest synthetic row. Each attack's secret is drawn from ``secrets`` (default:
    every column); numbers count as guessed within 5%. ``per_secret`` gives each secret's risk."""
    n = _check_n(n_attacks)
    t = _tables(train, control, synthetic)
    if len(t.columns) < 2:
        raise DataError("inference needs at least two columns (a secret and what the attacker knows)")
    names = list(t.columns) if secrets is None else list(secrets)
    unknown = [s for s in names if s not in t.columns]
    if unknown or not names:
        raise DataError(f"secrets: column {unknown[0]!r} is not in the data" if unknown
                        else "secrets must name at least one column")
    which = np.array([t.columns.index(s) for s in names])
    n = min(n, len(t.train), len(t.control))
    rng = derive_rng(seed, "evaluate", "attacks", "inference")
    cand = _candidates(t, rng, max_candidates)
    syn = t.synthetic[cand]
    trg, ctl = _targets(len(t.train), n, rng), _targets(len(t.control), n, rng)
    rows = np.vstack([t.train[trg], t.control[ctl]])
    space = _Space(t, rng)
    cands, queries = _Points.of(space, syn), _Points.of(space, rows)
    secret = which[rng.integers(0, len(which), 2 * n)]
    guess_row = np.empty(2 * n, dtype=np.int64)
    for s in np.unique(secret):
        at = np.flatnonzero(secret == s)
        known = [j for j in range(len(t.columns)) if j != s]
        guess_row[at] = _neighbours(space, cands, queries.take(at), known, 1)[:, 0]
    truth = rows[np.arange(2 * n), secret]
    hit = _guessed(syn[guess_row, secret], truth, t.categorical[secret])
    base = _guessed(syn[rng.integers(0, len(syn), n), secret[:n]], truth[:n], t.categorical[secret[:n]])
    out = attack_risk(n, float(hit[:n].sum()), float(hit[n:].sum()), float(base.sum()))
    out["secrets"] = [t.columns[j] for j in which]
    out["per_secret"] = {}
    for j in which:
        a, c = secret[:n] == j, secret[n:] == j
        m = int(min(a.sum(), c.sum()))
        if m:
            r = attack_risk(m, hit[:n][a][:m].sum(), hit[n:][c][:m].sum())
            out["per_secret"][t.columns[j]] = {"risk": r["risk"], "ci": r["ci"], "n_attacks": m}
    return out


def _guessed(guess: np.ndarray, truth: np.ndarray, categorical: np.ndarray) -> np.ndarray:
    both_na = np.isnan(guess) & np.isnan(truth)
    with np.errstate(invalid="ignore", divide="ignore"):
        close = np.abs(guess - truth) <= TOLERANCE * np.abs(guess) + 1e-12
    return both_na | np.where(categorical, guess == truth, close)


# --------------------------------------------------------------------------------------------------
# all three
# --------------------------------------------------------------------------------------------------


def attack_risks(
    train: pd.DataFrame,
    control: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    n_attacks: int = N_ATTACKS,
    target: str | None = None,
    seed: int = 0,
) -> dict[str, dict]:
    """Singling out (the worse of univariate and multivariate), linkability (columns split in half)
    and inference (of ``target``, else of a random column per attack), each with ``n_attacks``
    attacks: ``{"singling_out", "linkability", "inference"}`` of :func:`attack_risk` dicts."""
    common = {"n_attacks": n_attacks, "seed": seed}
    uni = singling_out_risk(train, control, synthetic, mode="univariate", **common)
    multi = singling_out_risk(train, control, synthetic, mode="multivariate", **common)
    worse = max((uni, multi), key=lambda r: -1.0 if r["risk"] is None else r["risk"])
    out = {"singling_out": {**worse, "univariate": uni, "multivariate": multi}}
    if train.shape[1] < 2:  # nothing to split between two attackers, nothing to infer from
        none = {**attack_risk(n_attacks, float("nan"), 0.0), "reason": "the data has a single column"}
        out["linkability"], out["inference"] = none, dict(none)
        return out
    out["linkability"] = linkability_risk(train, control, synthetic, **common)
    out["inference"] = inference_risk(train, control, synthetic,
                                      secrets=None if target is None else [target], **common)
    return out


_ATTACKS = {
    "singling_out": (
        "Singling-out attack risk",
        "Predicates built from synthetic rows that hold for exactly one synthetic row (rare values, "
        "extremes, or a record's values on three columns) are tried on the training rows and on the "
        "holdout; the risk is the excess success on training rows, (train - holdout) / (1 - holdout). "
        "The worse of the one-column and three-column attacks is shown.",
    ),
    "linkability": (
        "Linkability attack risk",
        "Two attackers each know half of a person's columns; they link the halves when their nearest "
        "synthetic rows coincide. The risk is the excess of links on training rows over holdout rows.",
    ),
    "inference": (
        "Inference attack risk",
        "Knowing every other column of a person, the attacker guesses a secret column (the target, or "
        "a random column per attack) from the nearest synthetic row. The risk is the excess of right "
        "guesses on training rows over holdout rows.",
    ),
}


def attack_scores(attacks: dict[str, dict]) -> list[dict]:
    """The three attack risks as scores; the holdout's own risk is 0 by construction, and its interval
    (the same counts on both sides) says how far from 0 chance alone moves a risk."""
    out = []
    for key, (label, text) in _ATTACKS.items():
        r = attacks[key]
        own = attack_risk(r["n_attacks"], r["n_control"], r["n_control"])["ci"]
        r["reference_ci"] = own
        width = f"0 to {own[1]:.3f}" if own else "n/a"
        out.append(
            score(
                f"{key}_risk",
                label,
                r["risk"],
                0.0,
                ideal="lower",
                ci=r["ci"],
                status=attack_status(r["risk"], r["ci"]),
                explain=f"{text} Computed as anonymeter does (PETS 2023), {r['n_attacks']} attacks; the "
                f"holdout's own risk is 0 (interval {width}). With the interval above 0, a risk of "
                f"{ATTACK_WARN} or more warns and {ATTACK_FAIL} or more fails.",
                not_computable=None if r["risk"] is not None
                else r.get("reason", "the attack on the holdout always succeeds"),
            )
        )
    return out
