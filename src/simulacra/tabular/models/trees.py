"""The default model: sequential decision trees (in the spirit of synthpop's CART).

Columns are visited in a fixed order. Column ``j`` gets a classification tree that predicts its
bin code from the codes of the columns before it; at sampling time each row walks the tree and
draws its code from the class distribution of the leaf it lands in. Leaves hold at least
``min_samples_leaf`` training rows, so no row is reproduced from a leaf of one, and decoded numbers
are drawn fresh inside their bins. Unless given, the leaf size is chosen on held-out training rows
(:mod:`.leaf_size`).

Conditions (``sample(conditions=...)``) use likelihood weighting, never rejection: conditioned
columns are drawn from their leaf distribution restricted to the allowed codes, and each row is
weighted by the likelihood of the condition over the column order; rows are then resampled by
weight, and columns after the last conditioned one are drawn afresh. Every returned row satisfies
the conditions; the distribution is the conditional one only as far as the effective sample size
allows, since a draw budget caps how many weighted rows are made for a rare condition.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import Tree

from ...errors import UsageError
from ...progress import as_progress
from ...seeding import step_seed
from ..estimator import Estimator
from . import leaf_size
from .base import Conditions, LeafTable, Progress, effective_size, resample_weighted
from .coarsen import coarsen
from .tree_arrays import tree_from_arrays, tree_to_arrays


class SequentialTrees(Estimator):
    """Sequential classification trees over bin codes."""

    name: ClassVar[str] = "trees"

    def __init__(
        self,
        min_samples_leaf: int | None = None,
        max_depth: int | None = None,
        order: list[int] | None = None,
        seed: int = 0,
        leaf_scoring: str = "ranges",
    ) -> None:
        self.min_samples_leaf = min_samples_leaf
        self.max_depth = max_depth
        self.order = order
        self.seed = seed
        self.leaf_scoring = leaf_scoring

    def check_params(self) -> None:
        """One clear :class:`UsageError` for a leaf scoring the trees do not know."""
        if self.leaf_scoring not in leaf_size.SCORINGS:
            raise UsageError(
                f"leaf_scoring must be one of {', '.join(leaf_size.SCORINGS)}, got {self.leaf_scoring!r}"
            )

    def _leaf_sizes(self, codes: np.ndarray, cards: list[int], lead: list[int] | None) -> list[int]:
        """Rows per leaf at every column position: the given ``min_samples_leaf``, else chosen on
        held-out rows (:mod:`.leaf_size`)."""
        n, m = codes.shape
        if self.min_samples_leaf is not None:
            self.leaf_choice_ = {"given": int(self.min_samples_leaf)}
            return [int(self.min_samples_leaf)] * m
        if not leaf_size.SELECT_MIN_ROWS <= n <= leaf_size.SELECT_MAX_ROWS:
            self.leaf_choice_ = {"multiplier": leaf_size.FIXED_MULTIPLIER}
            return [leaf_size.leaf_rule(n, leaf_size.FIXED_MULTIPLIER)] * m

        scored = leaf_size.scored_positions(m, len(lead or []))

        def score(leaf: int, fit_rows: np.ndarray, test_rows: np.ndarray) -> np.ndarray:
            fit_codes = codes[fit_rows]
            trial = SequentialTrees(leaf, self.max_depth, self.order, self.seed)
            trial._grown = scored  # no trees for the given (lead) columns: they are not drawn
            trial.fit(fit_codes, cards, lead=lead)
            return leaf_size.heldout_loglik(
                trial._leaves,
                trial.order_,
                cards,
                fit_codes,
                codes[test_rows],
                positions=scored,
                ranges=self.leaf_scoring == "ranges",
            )

        self.check_params()
        cs, totals = leaf_size.choose_multipliers(n, self.seed, score, width=len(scored))
        self.leaf_choice_ = {"scoring": self.leaf_scoring, "multipliers": cs, "heldout_loglik": totals}
        return [leaf_size.leaf_rule(n, c) for c in cs]

    @staticmethod
    def default_order(cards: list[int]) -> list[int]:
        """Columns with fewer codes first: they are the usual targets of conditions."""
        return sorted(range(len(cards)), key=lambda j: (cards[j], j))

    def fit(
        self, codes: np.ndarray, cards: list[int], progress: Progress = None, lead: list[int] | None = None
    ) -> SequentialTrees:
        """Learn one tree per column, each on the codes of the columns before it.

        ``lead`` names columns that come first in the order, in that order: the *given* columns of
        :meth:`sample_given` (a child row's context: its parent's columns).
        """
        n, m = codes.shape
        self.cards_ = list(cards)
        self.order_ = list(self.order) if self.order is not None else self.default_order(self.cards_)
        if lead:
            self.order_ = list(lead) + [j for j in self.order_ if j not in set(lead)]
        self.n_lead_ = len(lead or [])
        if sorted(self.order_) != list(range(m)):
            raise ValueError("order must be a permutation of the column indices")
        feats = np.asfortranarray(codes[:, self.order_].astype(np.float32))
        bar = as_progress(progress)
        if self.min_samples_leaf is None:
            bar.start(None, "leaf size")
        leaves = self._leaf_sizes(codes, cards, lead)
        self.leaf_choice_["rows_per_leaf"] = leaves
        bar.start(m, "columns")
        self.trees_: list[Tree | None] = []
        self.leaf_maps_: list[np.ndarray] = []
        self.tables_: list[LeafTable] = []
        for pos, col in enumerate(self.order_):
            target = codes[:, col].astype(np.int64)
            if pos == 0 or cards[col] <= 1 or pos not in getattr(self, "_grown", range(m)):
                self.trees_.append(None)
                self.leaf_maps_.append(np.zeros(1, dtype=np.int64))
                leaf_ids = np.zeros(n, dtype=np.int64)
                n_leaves = 1
            else:
                clf = DecisionTreeClassifier(
                    min_samples_leaf=leaves[pos],
                    max_depth=self.max_depth,
                    random_state=step_seed(self.seed, pos),
                )
                with warnings.catch_warnings():  # many classes on a small table is expected here
                    warnings.filterwarnings("ignore", message="The number of unique classes")
                    clf.fit(feats[:, :pos], coarsen(target, cards[col]))
                tree = clf.tree_
                nodes = tree.apply(feats[:, :pos] if pos else feats)
                is_leaf = tree.children_left == -1
                leaf_map = np.full(tree.node_count, -1, dtype=np.int64)
                leaf_map[is_leaf] = np.arange(int(is_leaf.sum()))
                leaf_ids = leaf_map[nodes]
                n_leaves = int(is_leaf.sum())
                self.trees_.append(tree)
                self.leaf_maps_.append(leaf_map)
            self.tables_.append(LeafTable.from_counts(leaf_ids, target, n_leaves, cards[col]))
            bar(1)
        return self

    def _leaves(self, pos: int, feats: np.ndarray) -> np.ndarray:
        tree = self.trees_[pos]
        if tree is None:
            return np.zeros(feats.shape[0], dtype=np.int64)
        return self.leaf_maps_[pos][tree.apply(feats)]

    def _run(
        self,
        feats: np.ndarray,
        start: int,
        stop: int,
        rng: np.random.Generator,
        conditions: Conditions,
        logw: np.ndarray | None,
    ) -> None:
        restricted = {}
        for pos in range(start, stop):
            col = self.order_[pos]
            leaves = self._leaves(pos, feats)
            table = self.tables_[pos]
            if col in conditions:
                if col not in restricted:
                    restricted[col] = table.restrict(conditions[col])
                mass, keys = restricted[col]
                if logw is not None:
                    with np.errstate(divide="ignore"):
                        logw += np.log(mass[leaves])
                feats[:, pos] = table.sample(leaves, rng, keys)
            else:
                feats[:, pos] = table.sample(leaves, rng)

    def sample_codes(
        self, n: int, rng: np.random.Generator, conditions: Conditions | None = None
    ) -> np.ndarray:
        """Draw ``n`` rows of codes, optionally under conditions (see the module docstring)."""
        m = len(self.order_)
        conditions = conditions or {}
        feats = np.zeros((n, m), dtype=np.float32, order="F")
        if not conditions:
            self._run(feats, 0, m, rng, {}, None)
        else:
            last = max(self.order_.index(c) for c in conditions)
            if last == 0:
                # a condition on the first column alone needs no weighting
                self._run(feats, 0, m, rng, conditions, None)
            else:
                prefix = self._weighted_prefix(n, rng, conditions, last)
                feats[:, : last + 1] = prefix
                self._run(feats, last + 1, m, rng, {}, None)
        out = np.empty((n, m), dtype=np.int32)
        out[:, self.order_] = feats.astype(np.int32)
        return out

    def sample_given(self, given: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One row of codes per row of ``given`` (codes of the lead columns, in lead order): the
        lead columns keep their given codes and every later column is drawn after them."""
        n, k = given.shape
        if k != self.n_lead_:
            raise ValueError(f"expected codes of {self.n_lead_} given columns, got {k}")
        m = len(self.order_)
        feats = np.zeros((n, m), dtype=np.float32, order="F")
        feats[:, :k] = given
        self._run(feats, k, m, rng, {}, None)
        out = np.empty((n, m), dtype=np.int32)
        out[:, self.order_] = feats.astype(np.int32)
        return out

    def _weighted_prefix(
        self, n: int, rng: np.random.Generator, conditions: Conditions, last: int
    ) -> np.ndarray:
        """Likelihood-weighted draws of the columns up to the last conditioned one, resampled to n."""
        pool, logws = [], []
        drawn, ess_total = 0, 0.0
        budget = max(50 * n, 200_000)
        batch = max(n, 1024)
        while ess_total < n:
            feats = np.zeros((batch, len(self.order_)), dtype=np.float32, order="F")
            logw = np.zeros(batch)
            self._run(feats, 0, last + 1, rng, conditions, logw)
            pool.append(np.ascontiguousarray(feats[:, : last + 1]))
            logws.append(logw)
            drawn += batch
            ess_total = effective_size(logws)
            if drawn >= budget:
                break
            batch = min(budget - drawn, max(batch, int(batch * max(1.0, n / max(ess_total, 1.0)))))
        return resample_weighted(pool, logws, n, rng)

    # -- persistence ----------------------------------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        trees_meta = []
        for pos, tree in enumerate(self.trees_):
            p = f"tree{pos}"
            arrays.update(self.tables_[pos].to_state(p))
            if tree is None:
                trees_meta.append(None)
                continue
            size, node_arrays = tree_to_arrays(tree, p)
            arrays.update(node_arrays)
            arrays[f"{p}.leaf_map"] = self.leaf_maps_[pos]
            trees_meta.append({"n_features": pos, **size})
        meta = {"params": self.get_params(), "cards": self.cards_, "order": self.order_, "trees": trees_meta}
        if self.n_lead_:
            meta["n_lead"] = self.n_lead_
        if getattr(self, "leaf_choice_", None):
            meta["leaf_size"] = self.leaf_choice_
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> SequentialTrees:
        self = cls(**meta["params"])
        self.cards_, self.order_ = list(meta["cards"]), list(meta["order"])
        self.n_lead_ = int(meta.get("n_lead", 0))
        self.leaf_choice_ = dict(meta.get("leaf_size", {}))
        self.trees_, self.leaf_maps_, self.tables_ = [], [], []
        for pos, tm in enumerate(meta["trees"]):
            p = f"tree{pos}"
            self.tables_.append(LeafTable.from_state(arrays, p))
            if tm is None:
                self.trees_.append(None)
                self.leaf_maps_.append(np.zeros(1, dtype=np.int64))
                continue
            tree = tree_from_arrays(
                arrays, p, tm["n_features"], tm["max_depth"], tm["node_count"], f"tree {pos}"
            )
            self.trees_.append(tree)
            self.leaf_maps_.append(arrays[f"{p}.leaf_map"])
        return self
