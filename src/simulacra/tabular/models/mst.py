"""MST: a differentially private synthesizer from noisy one- and two-way marginals, with no torch.

The mechanism of McKenna, Miklau and Sheldon (NIST 2018 challenge winner), over the bin codes of the
private codecs (:mod:`.private_codecs`), under zero-concentrated DP with add/remove-one neighbours
(every histogram has L2 sensitivity 1):

1. **Measure** every column's histogram with Gaussian noise (a third of the model's ρ).
2. **Select** a spanning tree of column pairs, one edge at a time as in Kruskal's algorithm: among the
   pairs that join two components, the exponential mechanism picks one with a probability that grows
   with how badly independence fits it (the L1 distance between the pair's true histogram and the
   product of the noisy one-way histograms; sensitivity 1). A third of ρ, split over the ``m - 1``
   rounds (each round with ε₀ costs ε₀²/8).
3. **Measure** the selected pairs' two-way histograms with Gaussian noise (the last third).
4. **Estimate** (post-processing; it reads the noisy measurements only, see :func:`estimate`): each
   column's distribution is the inverse-variance average of its own measurement and the margins of
   the pairs it is in, projected onto the probability simplex; each pair's table is its noisy
   histogram, clipped at zero and fitted to those margins by iterative proportional fitting. The tree
   factorises the distribution: a root column, then every column given its parent in the tree.

Without ``epsilon`` the same steps run on exact counts (a Chow–Liu-like tree by L1 dependence).
The total budget is split by basic composition with the codecs (``CODEC_SHARE``); the ledger in the
model says what was spent where and what stays outside the budget.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from ...errors import ModelFormatError
from ...progress import as_progress
from ...schema.kinds import Kind
from ...seeding import secret_rng
from ..estimator import Estimator
from .base import Conditions, Progress
from .private_codecs import CODEC_SHARE, PrivateCodecs, check_budget, rho_for
from .sequential import impute_by_weighting, sequential_sample

OUTSIDE_BUDGET = [
    "the number of rows (public by convention, as in the codecs' and the measurements' accounting)",
    "column names and kinds: from --schema, else inferred from the data (pass a schema for the full "
    "guarantee)",
    "each input column's dtype and whether it has missing values (they set the output dtypes)",
    "the time unit of datetime columns (the coarsest unit every value is a multiple of)",
    "whether the training rows meet the schema's constraints (a fit stops when one does not)",
    "shapes of regenerated id / PII / free-text columns, if any",
]
_IPF_ROUNDS = 30


def project_simplex(v: np.ndarray, total: float) -> np.ndarray:
    """The closest (Euclidean) non-negative vector to ``v`` that sums to ``total``."""
    if v.size == 0:
        return v
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - total
    ind = np.arange(1, v.size + 1)
    k = ind[u - css / ind > 0][-1]
    return np.maximum(v - css[k - 1] / k, 0.0)


def _pair_counts(codes: np.ndarray, a: int, b: int, cards: list[int]) -> np.ndarray:
    flat = codes[:, a].astype(np.int64) * cards[b] + codes[:, b]
    return np.bincount(flat, minlength=cards[a] * cards[b]).reshape(cards[a], cards[b]).astype(float)


def _find(parent: list[int], x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def groups_of(noisy_one: np.ndarray, sigma: float) -> np.ndarray:
    """Each code's group for the two-way measurements: codes whose noisy count is under 3σ share one
    group (private-pgm's domain compression), so that rare codes do not spread the pairs' noise thin.
    A function of the noisy one-way histogram alone."""
    rare = np.asarray(noisy_one) < 3.0 * sigma
    groups = np.zeros(rare.size, dtype=np.int64)
    kept = np.flatnonzero(~rare)
    groups[kept] = np.arange(kept.size)
    groups[rare] = kept.size
    return groups


def _group_sum(v: np.ndarray, groups: np.ndarray) -> np.ndarray:
    return np.bincount(groups, weights=v, minlength=int(groups.max()) + 1 if groups.size else 0)


def noisy(counts: np.ndarray, sigma: float, rng: np.random.Generator | None) -> np.ndarray:
    """``counts`` with Gaussian noise of scale ``sigma`` (exact counts when ``rng`` is None)."""
    return counts + rng.normal(0.0, sigma, size=counts.shape) if rng is not None else counts


def exponential_pick(q: np.ndarray, eps0: float, rng: np.random.Generator | None) -> int:
    """The exponential mechanism (sensitivity 1, ε₀ for one pick); the arg max without ``rng``."""
    if rng is None:
        return int(np.argmax(q))
    w = np.exp(0.5 * eps0 * (q - q.max()))
    return int(rng.choice(len(q), p=w / w.sum()))


def measure_tree(
    codes: np.ndarray,
    cards: list[int],
    s1: float,
    s2: float,
    eps0: float,
    rng: np.random.Generator | None,
    bar: Any,
) -> dict[str, Any]:
    """MST's three steps on ``codes``: noisy one-ways (σ ``s1``), a spanning tree picked by the
    exponential mechanism (ε₀ per edge), noisy two-ways of its edges over compressed domains (σ ``s2``).
    Exact counts and the arg-max tree without ``rng``."""
    n, m = codes.shape
    one = []
    for j in range(m):
        one.append(noisy(np.bincount(codes[:, j], minlength=cards[j]).astype(float), s1, rng))
        bar(1)
    est = [project_simplex(o, float(n)) / max(n, 1) for o in one]
    scores: dict[tuple[int, int], float] = {}
    for a in range(m):
        for b in range(a + 1, m):
            indep = float(n) * np.outer(est[a], est[b])
            scores[(a, b)] = float(np.abs(_pair_counts(codes, a, b, cards) - indep).sum())
        bar(1)
    comp = list(range(m))
    edges: list[tuple[int, int]] = []
    for _ in range(m - 1):
        cands = [e for e in scores if _find(comp, e[0]) != _find(comp, e[1])]
        if not cands:
            break
        pick = exponential_pick(np.array([scores[e] for e in cands]), eps0, rng)
        a, b = cands[pick]
        comp[_find(comp, a)] = _find(comp, b)
        edges.append((a, b))
    two = []
    for a, b in edges:
        ga, gb = groups_of(one[a], s1), groups_of(one[b], s1)
        grouped = np.stack([ga[codes[:, a]], gb[codes[:, b]]], axis=1)
        two.append(noisy(_pair_counts(grouped, 0, 1, [int(ga.max()) + 1, int(gb.max()) + 1]), s2, rng))
    bar(m)
    return {"one": one, "two": two, "edges": edges, "sigma_one": s1, "sigma_two": s2}


def estimate(measurements: dict[str, Any], cards: list[int], n: int) -> dict[str, Any]:
    """The tree model (root, parents, conditional tables) from noisy measurements alone.

    ``measurements``: ``one`` (one noisy histogram per column), ``sigma_one``, ``edges`` (the selected
    pairs, in selection order), ``two`` (one noisy table per edge, over the codes' groups, see
    :func:`groups_of`) and ``sigma_two``.
    """
    m = len(cards)
    one, two, edges = measurements["one"], measurements["two"], measurements["edges"]
    s1, s2 = float(measurements["sigma_one"]), float(measurements["sigma_two"])
    total = float(max(n, 1))
    groups = [groups_of(one[j], s1) for j in range(m)]
    sizes = [np.bincount(g) for g in groups]
    fine = [project_simplex(np.asarray(one[j], dtype=float), total) for j in range(m)]
    # group totals: the one-way sums and the margins of the pairs, weighted by inverse variance
    w1 = [1.0 / np.maximum(sizes[j] * s1 * s1, 1e-24) for j in range(m)]
    num = [_group_sum(np.asarray(one[j], dtype=float), groups[j]) * w1[j] for j in range(m)]
    den = [w1[j].copy() for j in range(m)]
    for (a, b), t in zip(edges, two, strict=True):
        t = np.asarray(t, dtype=float)
        for j, margin, other in ((a, t.sum(axis=1), t.shape[1]), (b, t.sum(axis=0), t.shape[0])):
            w = 1.0 / max(other * s2 * s2, 1e-24)
            num[j] = num[j] + margin * w
            den[j] = den[j] + w
    gtot = [project_simplex(num[j] / den[j], total) for j in range(m)]
    marg = []
    for j in range(m):
        within = _group_sum(fine[j], groups[j])
        share = np.where(
            within[groups[j]] > 0, fine[j] / np.maximum(within[groups[j]], 1e-300), 1.0 / sizes[j][groups[j]]
        )
        marg.append(gtot[j][groups[j]] * share)
    tables = {}
    for (a, b), t in zip(edges, two, strict=True):
        ra, rb = gtot[a], gtot[b]
        fit = np.clip(np.asarray(t, dtype=float), 0.0, None) + 1e-6 * np.outer(ra, rb) / total + 1e-12
        for _ in range(_IPF_ROUNDS):
            fit *= (ra / np.maximum(fit.sum(axis=1), 1e-300))[:, None]
            fit *= (rb / np.maximum(fit.sum(axis=0), 1e-300))[None, :]
        # back to codes: a group's mass spread over its codes as their one-way shares
        pa = marg[a] / np.maximum(ra[groups[a]], 1e-300)
        pb = marg[b] / np.maximum(rb[groups[b]], 1e-300)
        tables[(a, b)] = fit[np.ix_(groups[a], groups[b])] * pa[:, None] * pb[None, :]
    # orient the tree from column 0 (any root gives the same law on a tree)
    adj: dict[int, list[int]] = {j: [] for j in range(m)}
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    order, parent = [], [-1] * m
    seen = [False] * m
    for root in range(m):  # a forest when some pair was never selected (one column)
        if seen[root]:
            continue
        seen[root] = True
        queue = [root]
        while queue:
            x = queue.pop(0)
            order.append(x)
            for y in sorted(adj[x]):
                if not seen[y]:
                    seen[y], parent[y] = True, x
                    queue.append(y)
    cond: list[np.ndarray] = []
    for j in range(m):
        p = parent[j]
        if p < 0:
            row = marg[j] + 1e-12
            cond.append((row / row.sum())[None, :])
        else:
            t = tables[(p, j)] if (p, j) in tables else tables[(j, p)].T
            t = t + 1e-12
            cond.append(t / t.sum(axis=1, keepdims=True))
    return {"order": order, "parent": parent, "cond": cond}


class MSTModel(Estimator):
    """Differentially private MST over bin codes (``"mst"``; no torch). See the module docstring.

    Parameters: ``epsilon`` / ``delta`` (the whole budget, codecs included; ``epsilon=None`` fits the
    same tree on exact counts, with no privacy), ``seed`` (sampling only: the noise of a private fit
    comes from OS entropy).
    """

    name: ClassVar[str] = "mst"

    def __init__(self, epsilon: float | None = 1.0, delta: float = 1e-6, seed: int = 0) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.seed = seed

    def check_params(self) -> None:
        """One clear :class:`UsageError` for an impossible budget."""
        check_budget(self.epsilon, self.delta)

    # -- codecs ---------------------------------------------------------------------------------
    def make_codec(self, name: str, role: str, kind: Kind, data: Any, schema: Any) -> Any:
        """With ``epsilon``: private codecs (noisy histograms) from their share of the budget."""
        if self.epsilon is None:
            return None
        if getattr(self, "private_codecs_", None) is None:
            self.check_params()
            self.private_codecs_ = PrivateCodecs(self.epsilon * CODEC_SHARE, self.delta * CODEC_SHARE)
            self.private_codecs_.plan(schema)
        return self.private_codecs_.make(name, role, kind, data, schema)

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, codes: np.ndarray, cards: list[int], progress: Progress = None) -> MSTModel:
        """Measure, select, measure, estimate (see the module docstring)."""
        self.check_params()
        n, m = codes.shape
        self.cards_ = [int(c) for c in cards]
        bar = as_progress(progress)
        bar.start(3 * m, "columns")
        private = self.epsilon is not None
        rng = secret_rng() if private else None
        if private:
            share = 1.0 - CODEC_SHARE
            rho = rho_for(self.epsilon * share, self.delta * share)
            s1 = math.sqrt(m / (2.0 * (rho / 3.0)))
            rounds = max(m - 1, 1)
            s2 = math.sqrt(rounds / (2.0 * (rho / 3.0)))
            eps0 = math.sqrt(8.0 * (rho / 3.0) / rounds)
        else:
            rho, s1, s2, eps0 = math.inf, 0.0, 0.0, math.inf

        self.measurements_ = measure_tree(codes, self.cards_, s1, s2, eps0, rng, bar)
        self.n_ = int(n)
        self._set_tree(estimate(self.measurements_, self.cards_, self.n_))
        self.privacy_ = self._ledger(rho, s1, s2, eps0) if private else None
        return self

    def _set_tree(self, tree: dict[str, Any]) -> None:
        self.order_, self.parent_, self.cond_ = tree["order"], tree["parent"], tree["cond"]

    def _ledger(self, rho: float, s1: float, s2: float, eps0: float) -> dict[str, Any]:
        codecs = self.private_codecs_.ledger() if getattr(self, "private_codecs_", None) else {}
        share = 1.0 - CODEC_SHARE
        return {
            "epsilon_target": self.epsilon,
            "delta": self.delta,
            "epsilon_spent": self.epsilon * share + (codecs.get("epsilon") or 0.0),
            "composition": "basic: codecs + MST",
            "mst": {
                "mechanism": "MST: Gaussian one- and two-way marginals, exponential-mechanism tree selection",
                "accountant": "zCDP, converted to (ε, δ) by ρ + 2·sqrt(ρ·ln(1/δ))",
                "epsilon": self.epsilon * share,
                "delta": self.delta * share,
                "rho": rho,
                "sigma_one_way": s1,
                "sigma_two_way": s2,
                "selection_epsilon_per_round": eps0,
                "edges": [[int(a), int(b)] for a, b in self.measurements_["edges"]],
                "randomness": "noise and selection from OS entropy, not from the seed",
            },
            "codecs": codecs,
            "outside_budget": OUTSIDE_BUDGET,
            "statement": "the model is a function of the noisy measurements alone (estimate()); bin bounds "
            "and categories come from the schema or from noisy histograms paid for in the budget",
        }

    # -- sampling -------------------------------------------------------------------------------
    def _probs_fn(self) -> Any:
        def probs(codes: np.ndarray, _filled: list[int], col: int) -> np.ndarray:
            p = self.parent_[col]
            table = self.cond_[col]
            if p < 0:
                return np.broadcast_to(table[0], (codes.shape[0], table.shape[1]))
            return table[codes[:, p]]

        return probs

    def sample_codes(
        self, n: int, rng: np.random.Generator, conditions: Conditions | None = None
    ) -> np.ndarray:
        """Draw ``n`` rows of codes down the tree, optionally under conditions (likelihood weighting)."""
        m = len(self.cards_)
        return sequential_sample(n, m, rng, self.order_, self._probs_fn(), conditions).astype(np.int32)

    def impute_codes(
        self, codes: np.ndarray, known: np.ndarray, rng: np.random.Generator, particles: int = 32
    ) -> np.ndarray:
        """Fill the cells of ``codes`` where ``known`` is False from the model's conditional law."""
        return impute_by_weighting(codes, known, rng, self.order_, self._probs_fn(), particles).astype(
            np.int32
        )

    # -- persistence ----------------------------------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {
            "params": self.get_params(),
            "cards": self.cards_,
            "n": self.n_,
            "edges": [[int(a), int(b)] for a, b in self.measurements_["edges"]],
            "sigma_one": self.measurements_["sigma_one"],
            "sigma_two": self.measurements_["sigma_two"],
            "privacy": self.privacy_,
        }
        arrays = {f"one.{j}": v for j, v in enumerate(self.measurements_["one"])}
        arrays.update({f"two.{i}": v for i, v in enumerate(self.measurements_["two"])})
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> MSTModel:
        """Rebuild from the saved noisy measurements (the model is a function of them alone)."""
        self = cls(**meta["params"])
        self.cards_, self.n_ = [int(c) for c in meta["cards"]], int(meta["n"])
        edges = [(int(a), int(b)) for a, b in meta["edges"]]
        m = len(self.cards_)
        try:
            one = [np.asarray(arrays[f"one.{j}"], dtype=float) for j in range(m)]
            two = [np.asarray(arrays[f"two.{i}"], dtype=float) for i in range(len(edges))]
        except KeyError as exc:
            raise ModelFormatError(f"the MST model's measurement {exc} is missing; refit the model") from None
        s1 = float(meta["sigma_one"])
        k = [int(groups_of(one[j], s1).max()) + 1 if one[j].size else 0 for j in range(m)]
        shapes_ok = all(one[j].shape == (self.cards_[j],) for j in range(m)) and all(
            t.shape == (k[a], k[b]) for (a, b), t in zip(edges, two, strict=True)
        )
        if not shapes_ok or any(not (0 <= a < m and 0 <= b < m) for a, b in edges):
            raise ModelFormatError("the MST model's measurements do not fit its columns; refit the model")
        self.measurements_ = {
            "one": one,
            "two": two,
            "edges": edges,
            "sigma_one": float(meta["sigma_one"]),
            "sigma_two": float(meta["sigma_two"]),
        }
        self.privacy_ = meta.get("privacy")
        self._set_tree(estimate(self.measurements_, self.cards_, self.n_))
        return self
