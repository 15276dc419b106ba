"""How many training rows a leaf of the sequential trees holds, chosen on the table itself.

Small leaves copy the training sample's quirks (synthetic rows sit closer to the training rows than a
fresh real sample does); large leaves blur dependence. Which size is right depends on the table and
on the column: a table of a few hundred rows of correlated measurements needs leaves of a tenth of
its rows or more, a 6,000-row survey of a few coded answers does well with leaves of 1-2%, and in a
wide table of unrelated columns the one column that depends on another needs small leaves while the
rest need none.

So the trees try a fixed ladder of sizes ``max(n/100, c·sqrt(n))`` on 80% of the rows and score how
likely the other 20% are under each (held-out log-likelihood of the codes, each leaf's counts
smoothed toward the column's marginal; on small tables over five such folds). A held-out value is
scored on the range it falls in (about sqrt(n) runs of neighbouring codes), not on its exact code:
on a table of a few hundred rows most numbers are their own code, and exact codes then reward
leaves so large that the columns become nearly independent (on scikit-learn's wine, 118 training
rows, a classifier trained on such synthetic rows kept under half the real rows' ROC-AUC above
chance). ``leaf_scoring="codes"`` keeps that more private, less useful choice for who wants it.
The table takes the rung under which the held-out rows are most likely; a column whose own
likelihood is clearly better with smaller leaves takes the largest of those within one standard
error of its best (CART's one-standard-error rule). This is ordinary model selection on the
training data; it reads nothing else.

The ladder, the folds, the smoothing and the rule were compared by ``benchmarks/tune_trees.py`` and
scratch runs on tables that are not the scoreboard (Adult's training split and six other real tables).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...seeding import derive_rng

MULTIPLIERS = (2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)
"""The ladder of ``c`` in ``max(n/100, c·sqrt(n))``, tried in this order. It starts at the fixed
rule's 2: on a table of under a hundred rows nearly every number is its own code, and the held-out
likelihood of exact codes then favours the smallest leaves, which copy rows."""
FIXED_MULTIPLIER = 2.0
"""``c`` on tables too small or too large to choose on."""
SELECT_MIN_ROWS = 50
SELECT_MAX_ROWS = 100_000  # above this n/100 >= 3·sqrt(n): the ladder's low rungs all give n/100
FOLDS = 5  # each fold holds out a fifth of the rows
ALL_FOLDS_MAX_CELLS = 40_000  # rows x scored columns; larger tables score one fold: it is enough,
# and each fit costs more
PSEUDO_COUNT = 2.0
PATIENCE = 2  # rungs whose total is no better than the best before the climb stops
SCORINGS = ("ranges", "codes")
"""What a held-out row is scored on: the range its value falls in (``score_groups`` runs of
neighbouring codes; the default) or its exact code."""


def score_groups(n_fit: int) -> int:
    """How many runs of neighbouring codes a column is scored on under ``ranges``: about sqrt(n)."""
    return int(np.clip(round(np.sqrt(n_fit)), 2, 64))


def group_codes(codes: np.ndarray, k: int, groups: int) -> np.ndarray:
    """Map codes ``0..k-1`` to ``groups`` runs of neighbouring codes holding about equal shares of
    ``codes`` (numeric bins are ordered by value and categories by frequency, so a run is a value
    range or a set of similarly common categories); returns one group index per code."""
    counts = np.bincount(codes, minlength=k).astype(float)
    before = (np.cumsum(counts) - counts) / max(counts.sum(), 1.0)
    raw = np.minimum((before * groups).astype(np.int64), groups - 1)
    return np.unique(raw, return_inverse=True)[1].reshape(-1)


def scored_positions(m: int, n_lead: int) -> set[int]:
    """The column positions whose held-out likelihood is scored: every one after the given (lead)
    columns and the first (which has no tree)."""
    return set(range(max(1, n_lead), m))


def leaf_rule(n: int, c: float) -> int:
    """Rows per leaf for ``n`` training rows: ``max(n/100, c·sqrt(n))`` kept within 10..1000."""
    return int(np.clip(round(max(n / 100, c * np.sqrt(n))), 10, 1000))


def heldout_loglik(
    leaves_of: Callable[[int, np.ndarray], np.ndarray],
    order: list[int],
    cards: list[int],
    fit_codes: np.ndarray,
    test_codes: np.ndarray,
    positions: set[int] | None = None,
    ranges: bool = True,
) -> np.ndarray:
    """Log-likelihood of every held-out row of ``test_codes`` under trees fitted on ``fit_codes``:
    an array of rows × positions in ``order`` (the column drawn at that position).

    ``leaves_of(pos, feats)`` maps rows (codes of the columns before position ``pos``, in ``order``)
    to leaf indices. Each leaf's class counts are smoothed with ``PSEUDO_COUNT`` rows drawn from the
    column's marginal, so a code a leaf never saw costs a finite amount. With ``ranges`` a column of
    more than :func:`score_groups` codes is scored on runs of neighbouring codes instead of exact
    codes. Only ``positions`` are scored (default: all); the others score 0.
    """
    fa = np.asfortranarray(fit_codes[:, order].astype(np.float32))
    fb = np.asfortranarray(test_codes[:, order].astype(np.float32))
    out = np.zeros((test_codes.shape[0], len(order)))
    groups = score_groups(fit_codes.shape[0])
    for pos, col in enumerate(order):
        if positions is not None and pos not in positions:
            continue
        k = int(cards[col])
        ya = fit_codes[:, col].astype(np.int64)
        yb = test_codes[:, col].astype(np.int64)
        if ranges and k > groups:
            mapping = group_codes(ya, k, groups)
            ya, yb, k = mapping[ya], mapping[yb], int(mapping.max()) + 1
        la = leaves_of(pos, fa[:, :pos])
        lb = leaves_of(pos, fb[:, :pos])
        marg = (np.bincount(ya, minlength=k) + 0.5) / (ya.size + 0.5 * k)
        keys, counts = np.unique(la * k + ya, return_counts=True)
        want = lb * k + yb
        at = np.clip(np.searchsorted(keys, want), 0, max(keys.size - 1, 0))
        hit = counts[at] * (keys[at] == want)
        size = np.bincount(la, minlength=int(max(la.max(), lb.max())) + 1)[lb]
        out[:, pos] = np.log((hit + PSEUDO_COUNT * marg[yb]) / (size + PSEUDO_COUNT))
    return out


def choose_multipliers(
    n: int, seed: int, score: Callable[[int, np.ndarray, np.ndarray], np.ndarray], width: int = 1
) -> tuple[list[float], dict[str, float]]:
    """Climb the ladder of multipliers and choose a rung for every column position.
    ``score(leaf, fit_rows, test_rows)`` gives the held-out log-likelihood (rows × positions) of
    trees with ``leaf`` rows per leaf fitted on ``fit_rows``.

    Each column's tree is grown on the true codes of the columns before it, so its likelihood
    depends on its own leaf size alone. Every column takes the rung best for the whole table, unless
    its own best rung has smaller leaves and beats the shared one by more than both their standard
    errors: then it takes the largest leaf within one standard error of its best (the one-error
    rule of CART's pruning). So a wide table of mostly unrelated columns keeps small leaves where
    two columns do depend on each other, and a smaller leaf must earn its place, since small leaves
    copy rows.

    The rows are cut into ``FOLDS`` folds; tables of up to ``ALL_FOLDS_MAX_CELLS`` rows × ``width``
    (scored columns) score every fold (a small table's single fold is too noisy to choose on),
    larger ones the first. Returns the chosen ``c`` per position and every tried rung's mean total
    score. Rungs that give the same leaf size as the one before are skipped, and the climb stops
    once a leaf would exceed half the fitting rows (no tree can split any more) or, on a table
    scored on one fold (large: its curve is smooth and each fit costs), once ``PATIENCE`` rungs have
    not beaten the best total (a column only ever leaves the shared rung for smaller leaves, so
    larger rungs are not needed).
    """
    perm = derive_rng(seed, "trees", "leaf size").permutation(n)
    parts = np.array_split(perm, FOLDS)
    used = range(FOLDS) if n * width <= ALL_FOLDS_MAX_CELLS else range(1)
    splits = [(np.sort(np.concatenate(parts[:i] + parts[i + 1 :])), np.sort(parts[i])) for i in used]
    n_fit = min(f.size for f, _ in splits)
    rungs: list[float] = []
    means: list[np.ndarray] = []
    errors: list[np.ndarray] = []
    last_leaf, best_total, since = None, -np.inf, 0
    for c in MULTIPLIERS:
        leaf = leaf_rule(n_fit, c)
        if leaf == last_leaf:
            continue
        last_leaf = leaf
        rows = np.vstack([score(leaf, f, t) for f, t in splits])
        rungs.append(c)
        means.append(rows.mean(axis=0))
        total = float(means[-1].sum())
        best_total, since = (total, 0) if total > best_total else (best_total, since + 1)
        errors.append(rows.std(axis=0, ddof=1) / np.sqrt(rows.shape[0]) if rows.shape[0] > 1 else 0 * rows[0])
        if 2 * leaf > n_fit or (len(splits) == 1 and since >= PATIENCE):
            break
    mean, err = np.vstack(means), np.vstack(errors)
    shared = int(np.argmax(mean.sum(axis=1)))  # the rung best for the table as a whole
    own = np.argmax(mean, axis=0)
    cols = np.arange(mean.shape[1])
    # a column leaves the shared rung only for smaller leaves, and only when its own best beats the
    # shared rung by more than both their standard errors; it then takes the largest leaf within one
    # error of its best
    leaves_it = (own < shared) & (mean[own, cols] - mean[shared, cols] > err[own, cols] + err[shared, cols])
    good = (mean >= (mean[own, cols] - err[own, cols])[None, :]) & (
        np.arange(mean.shape[0])[:, None] <= shared
    )
    largest_good = good.shape[0] - 1 - np.argmax(good[::-1], axis=0)
    chosen = np.where(leaves_it, largest_good, shared)
    totals = {f"{c:g}": round(float(v), 6) for c, v in zip(rungs, mean.sum(axis=1), strict=True)}
    return [rungs[i] for i in chosen], totals
