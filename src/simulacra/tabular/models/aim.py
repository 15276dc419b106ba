"""AIM-class private synthesis: MST's tree, then three-way marginals picked where the model is worst.

The adaptive loop of AIM (McKenna et al., 2022) over a Bayesian network of degree two, with no torch,
under zero-concentrated DP with add/remove-one neighbours (every count table has L2 sensitivity 1):

1. **The tree** (:func:`.mst.measure_tree`, a share ``TREE_SHARE`` of the model's ρ): noisy one-way
   histograms, a spanning tree by the exponential mechanism, its edges' noisy two-way tables.
2. **Rounds** (the rest of ρ, split evenly over ``rounds`` fixed in advance): candidates are triples
   (column j, its tree parent p, a column q drawn before j) for every j with no second parent yet. The
   exponential mechanism (a tenth of the round's ρ) picks one with AIM's quality, the L1 distance
   between the triple's counts and the current model's estimate of them, less the L1 the measurement's
   own noise is expected to have (``sqrt(2/π)·σ`` per cell), so a big domain is only picked where the
   model is far off. The pick is measured with Gaussian noise (the rest of the round) over domains
   compressed at 3σ as in MST, and j is then drawn given (p, q).
3. **Estimate** (post-processing of the noisy measurements alone, :func:`estimate_aim`): the tree as in
   MST; each measured triple clipped at zero, rescaled so that its (p, j) margin is the tree's two-way
   table, and shrunk toward the tree's P(j | p) by ``λ = σ·sqrt(cells of j)`` pseudo-counts.

The current model's estimate of a triple (step 2) is counted on rows sampled from it, which is
post-processing too. Without ``epsilon`` the same loop runs on exact counts (arg-max picks, no
shrinkage). ``max_minutes`` stops the rounds early; a round not run spends nothing, and the ledger
says how many ran and what was spent.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np

from ...errors import ModelFormatError, UsageError
from ...progress import as_progress
from ...schema.kinds import Kind
from ...seeding import derive_rng, secret_rng
from .base import Progress
from .mst import (
    OUTSIDE_BUDGET,
    MSTModel,
    estimate,
    exponential_pick,
    groups_of,
    measure_tree,
    noisy,
)
from .private_codecs import CODEC_SHARE, rho_for
from .sequential import sequential_sample

TREE_SHARE = 0.5  # share of the mechanism's ρ for MST's tree; the rest goes to the rounds
SELECT_SHARE = 0.1  # share of each round's ρ for picking its triple
MAX_CELLS = 2_000_000  # triples over more compressed cells are not candidates (time and memory)
MODEL_ROWS = 50_000  # rows drawn from the current model to estimate a triple's counts
NOISE_SHARE = 0.05  # a triple's domain is coarsened until its expected noise L1 is this share of n
CACHE_CELLS = 20_000_000  # true triple counts kept between rounds, in cells (8 bytes each)


def default_rounds(m: int) -> int:
    """How many triples are measured for ``m`` columns when ``rounds`` is not given (public: m only)."""
    return max(1, m // 2)


def triple_cells(n: int, sigma: float, share: float = NOISE_SHARE) -> float:
    """How many cells a triple may have: its expected noise L1, ``sqrt(2/π)·σ`` a cell, stays under
    ``share`` of ``n`` (public: n and σ); unbounded without noise."""
    if sigma <= 0:
        return math.inf
    return max(share * n / (math.sqrt(2.0 / math.pi) * sigma), 8.0)


def levels_for(sizes: tuple[int, int, int], cells: float) -> tuple[int, int, int]:
    """Groups per column of a triple: as even as the columns allow, their product within ``cells``."""
    if math.isinf(cells):
        return sizes
    out = [0, 0, 0]
    left, free = cells, [0, 1, 2]
    for i in sorted(range(3), key=lambda i: sizes[i]):
        g = max(2, int(math.floor(left ** (1.0 / len(free)) + 1e-9)))
        out[i] = min(sizes[i], g)
        left /= out[i]
        free.remove(i)
    return out[0], out[1], out[2]


def coarse_groups(noisy_one: np.ndarray, sigma: float, ordinal: bool, levels: int) -> np.ndarray:
    """Each code's group in at most ``levels`` groups, from the noisy one-way histogram alone.

    Ordinal codes (numeric bins) are merged with their neighbours into groups of about equal mass;
    categories keep their ``levels - 1`` most frequent codes apart (those above 3σ) and share the last
    group. Codes under 3σ join one group first, as in MST's compression."""
    base = groups_of(noisy_one, sigma)
    if int(base.max()) + 1 <= levels:
        return base
    mass = np.maximum(np.asarray(noisy_one, dtype=float), 0.0)
    if ordinal:
        cum = np.cumsum(mass) - 0.5 * mass
        total = max(float(mass.sum()), 1e-300)
        g = np.minimum((cum / total * levels).astype(np.int64), levels - 1)
        return np.unique(g, return_inverse=True)[1].astype(np.int64)
    keep = [c for c in np.argsort(-mass, kind="stable")[: levels - 1] if mass[c] >= 3.0 * sigma]
    groups = np.full(mass.size, len(keep), dtype=np.int64)
    groups[keep] = np.arange(len(keep))
    return groups


def zcdp_to_epsilon(rho: float, delta: float) -> float:
    """(ε, δ) for a ρ-zCDP mechanism: ρ + 2·sqrt(ρ·ln(1/δ))."""
    return rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta))


def _triple_counts(codes: np.ndarray, cols: tuple[int, int, int], groups: list[np.ndarray]) -> np.ndarray:
    """Counts of ``codes`` over the grouped domains of columns ``(p, q, j)``, shape ``(kp, kq, kj)``."""
    sizes = [int(g.max()) + 1 for g in groups]
    flat = np.zeros(codes.shape[0], dtype=np.int64)
    for col, g, k in zip(cols, groups, sizes, strict=True):
        flat = flat * k + g[codes[:, col]]
    return np.bincount(flat, minlength=math.prod(sizes)).reshape(sizes).astype(float)


def second_parent_table(
    table: np.ndarray,
    groups: list[np.ndarray],
    marg_p: np.ndarray,
    cond_j: np.ndarray,
    sigma: float,
    n: int,
) -> np.ndarray:
    """P(j | p, q) as an array ``[p code, q group, j code]`` from a noisy triple ``table`` over groups
    ``(p, q, j)``, the tree's marginal of p and conditional P(j | p), and the number of rows ``n``
    (see the module docstring)."""
    gp, _gq, gj = groups
    kj = int(gj.max()) + 1
    joint = float(max(n, 1)) * marg_p[:, None] * cond_j  # the tree's (p, j) counts over codes
    jg = np.zeros((int(gp.max()) + 1, kj))
    np.add.at(jg, (gp[:, None], gj[None, :]), joint)
    t = np.clip(np.asarray(table, dtype=float), 0.0, None) + 1e-9
    t = t * (jg / t.sum(axis=1))[:, None, :]
    prior = (jg + 1e-12) / (jg + 1e-12).sum(axis=1, keepdims=True)
    lam = sigma * math.sqrt(kj)
    cond_g = (t + lam * prior[:, None, :]) / (t.sum(axis=2, keepdims=True) + lam)  # [gp, gq, gj]
    # a group's probability shared over its codes as the tree's P(j code | p code) within the group
    within = np.zeros((cond_j.shape[0], kj))
    np.add.at(within, (slice(None), gj), cond_j)
    share = cond_j / np.maximum(within[:, gj], 1e-300)
    out = cond_g[gp][:, :, gj] * share[:, None, :]
    return out / out.sum(axis=2, keepdims=True)


def triple_groups(measurements: dict[str, Any], cols: tuple[int, int, int], levels: tuple[int, ...]) -> list:
    """The groups of a triple's columns ``(p, q, j)`` at ``levels``, from the noisy one-ways alone."""
    s3 = float(measurements["sigma_three"])
    ordinal = measurements["ordinal"]
    return [
        coarse_groups(measurements["one"][c], s3, ordinal[c], lv) for c, lv in zip(cols, levels, strict=True)
    ]


def estimate_aim(measurements: dict[str, Any], cards: list[int], n: int) -> dict[str, Any]:
    """The tree and the second parents' tables from the noisy measurements alone."""
    tree = estimate(measurements, cards, n)
    s3 = float(measurements["sigma_three"])
    seconds: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}
    triples, levels, three = measurements["triples"], measurements["levels"], measurements["three"]
    for (j, p, q), lv, t in zip(triples, levels, three, strict=True):
        groups = triple_groups(measurements, (p, q, j), lv)
        seconds[j] = (
            q,
            groups[1],
            second_parent_table(t, groups, _marginal(tree, p), tree["cond"][j], s3, n),
        )
    tree["seconds"] = seconds
    return tree


def _marginal(tree: dict[str, Any], col: int) -> np.ndarray:
    """A column's marginal under the tree, pushed down from the root (exact, no sampling)."""
    parent, cond = tree["parent"], tree["cond"]
    path = [col]
    while parent[path[-1]] >= 0:
        path.append(parent[path[-1]])
    dist = cond[path[-1]][0]
    for c in reversed(path[:-1]):
        dist = dist @ cond[c]
    return dist / dist.sum()


class AIMModel(MSTModel):
    """Differentially private AIM-class model over bin codes (``"aim"``; no torch). See the module
    docstring.

    Parameters: ``epsilon`` / ``delta`` (the whole budget, codecs included; ``epsilon=None`` runs the
    same loop on exact counts), ``rounds`` (three-way marginals to measure; default
    :func:`default_rounds`), ``max_minutes`` (stops the rounds), ``tree_share`` (share of ρ for
    MST's tree), ``noise_share`` (a triple's domain is coarsened until its expected noise is this share
    of the rows; see :func:`triple_cells`), ``seed`` (sampling only). The defaults were chosen by
    ``benchmarks/tune_aim.py`` on tables that are not the privacy benchmark's scoreboard.
    """

    name: ClassVar[str] = "aim"

    def __init__(
        self,
        epsilon: float | None = 1.0,
        delta: float = 1e-6,
        rounds: int | None = None,
        max_minutes: float = 10.0,
        tree_share: float = TREE_SHARE,
        noise_share: float = NOISE_SHARE,
        seed: int = 0,
    ) -> None:
        self.epsilon = epsilon
        self.delta = delta
        self.rounds = rounds
        self.max_minutes = max_minutes
        self.tree_share = tree_share
        self.noise_share = noise_share
        self.seed = seed

    def check_params(self) -> None:
        """One clear :class:`UsageError` for an impossible budget, round count or time cap."""
        super().check_params()
        if self.rounds is not None and (not isinstance(self.rounds, int) or self.rounds < 0):
            raise UsageError(f"rounds must be a whole number ≥ 0, got {self.rounds!r}")
        if not (isinstance(self.max_minutes, int | float) and self.max_minutes > 0):
            raise UsageError(f"max_minutes must be a positive number, got {self.max_minutes!r}")
        if not (isinstance(self.tree_share, int | float) and 0 < self.tree_share < 1):
            raise UsageError(f"tree_share must be between 0 and 1, got {self.tree_share!r}")
        if not (isinstance(self.noise_share, int | float) and self.noise_share > 0):
            raise UsageError(f"noise_share must be a positive number, got {self.noise_share!r}")

    def make_codec(self, name: str, role: str, kind: Kind, data: Any, schema: Any) -> Any:
        """Private codecs as MST's; also notes which model columns are ordinal (numeric bins)."""
        if not hasattr(self, "ordinal_"):
            self.ordinal_: list[bool] = []
        self.ordinal_.append(kind in (Kind.INTEGER, Kind.FLOAT, Kind.DATETIME))
        return super().make_codec(name, role, kind, data, schema)

    def fit(self, codes: np.ndarray, cards: list[int], progress: Progress = None) -> AIMModel:
        """The tree, then the adaptive rounds, then the estimate (see the module docstring)."""
        self.check_params()
        started = time.monotonic()
        n, m = codes.shape
        self.cards_ = [int(c) for c in cards]
        rounds = default_rounds(m) if self.rounds is None else self.rounds
        rounds = min(rounds, max(m - 1, 0))
        bar = as_progress(progress)
        bar.start(3 * m + rounds, "columns and rounds")
        private = self.epsilon is not None
        rng = secret_rng() if private else None
        if private:
            share = 1.0 - CODEC_SHARE
            rho = rho_for(self.epsilon * share, self.delta * share)
            rho_tree = rho * (self.tree_share if rounds else 1.0)
            s1 = math.sqrt(m / (2.0 * (rho_tree / 3.0)))
            edges = max(m - 1, 1)
            s2 = math.sqrt(edges / (2.0 * (rho_tree / 3.0)))
            eps0 = math.sqrt(8.0 * (rho_tree / 3.0) / edges)
            rho_round = (rho - rho_tree) / rounds if rounds else 0.0
            eps_pick = math.sqrt(8.0 * SELECT_SHARE * rho_round) if rounds else math.inf
            s3 = math.sqrt(1.0 / (2.0 * (1.0 - SELECT_SHARE) * rho_round)) if rounds else 0.0
        else:
            rho = rho_tree = rho_round = math.inf
            s1 = s2 = s3 = 0.0
            eps0 = eps_pick = math.inf
        meas = measure_tree(codes, self.cards_, s1, s2, eps0, rng, bar)
        ordinal = self.__dict__.pop("ordinal_", None)  # noted by make_codec, kept in the measurements
        ordinal = list(ordinal) if ordinal is not None and len(ordinal) == m else [False] * m
        meas.update({"triples": [], "levels": [], "three": [], "sigma_three": s3, "ordinal": ordinal})
        self.n_ = int(n)
        self._set_model(estimate_aim(meas, self.cards_, self.n_))
        base = [int(groups_of(meas["one"][c], s3).max()) + 1 for c in range(m)]
        cells = triple_cells(n, s3, self.noise_share)
        capped = False
        cache: dict[tuple[int, int, int], np.ndarray] = {}
        for r in range(rounds):
            if time.monotonic() - started > 60.0 * self.max_minutes:
                capped = True
                break
            cands = self._candidates(base, cells)
            if not cands:
                break
            sim_rng = rng if private else derive_rng(self.seed, "aim", "model rows", r)
            sim = sequential_sample(min(MODEL_ROWS, max(n, 1)), m, sim_rng, self.order_, self._probs_fn())
            scale = n / sim.shape[0]
            quality = np.empty(len(cands))
            for i, (cols, lv) in enumerate(cands):
                gs = triple_groups(meas, cols, lv)
                counts = cache.get(cols)
                if counts is None:
                    counts = _triple_counts(codes, cols, gs)
                    if sum(c.size for c in cache.values()) + counts.size <= CACHE_CELLS:
                        cache[cols] = counts
                est = _triple_counts(sim, cols, gs) * scale
                penalty = math.sqrt(2.0 / math.pi) * s3 * counts.size
                quality[i] = float(np.abs(counts - est).sum()) - penalty
            pick = exponential_pick(quality, eps_pick, rng)
            (p, q, j), lv = cands[pick]
            counts = cache.get((p, q, j))
            if counts is None:
                counts = _triple_counts(codes, (p, q, j), triple_groups(meas, (p, q, j), lv))
            meas["triples"].append((j, p, q))
            meas["levels"].append(lv)
            meas["three"].append(noisy(counts, s3, rng))
            self._set_model(estimate_aim(meas, self.cards_, self.n_))
            bar(1)
        self.measurements_ = meas
        done = len(meas["triples"])
        spent_rho = rho_tree + done * rho_round if private else math.inf
        self.privacy_ = (
            self._aim_ledger(rho, spent_rho, (s1, s2, s3), (eps0, eps_pick), rounds, capped)
            if private
            else None
        )
        return self

    def _candidates(self, base: list[int], cells: float) -> list[tuple[tuple[int, int, int], tuple]]:
        """Triples ``(p, q, j)`` with their levels: j with no second parent yet, p its tree parent, q
        drawn before j; ``base`` is each column's number of groups after MST's compression."""
        pos = {c: i for i, c in enumerate(self.order_)}
        out = []
        for j in self.order_:
            p = self.parent_[j]
            if p < 0 or j in self.seconds_:
                continue
            for q in self.order_[: pos[j]]:
                if q == p:
                    continue
                lv = levels_for((base[p], base[q], base[j]), cells)
                if math.prod(lv) <= MAX_CELLS:
                    out.append(((p, q, j), lv))
        return out

    def _set_model(self, model: dict[str, Any]) -> None:
        self._set_tree(model)
        self.seconds_ = model["seconds"]

    def _aim_ledger(
        self,
        rho: float,
        spent_rho: float,
        sigmas: tuple[float, float, float],
        picks: tuple[float, float],
        rounds: int,
        capped: bool,
    ) -> dict[str, Any]:
        codecs = self.private_codecs_.ledger() if getattr(self, "private_codecs_", None) else {}
        share = 1.0 - CODEC_SHARE
        spent = zcdp_to_epsilon(spent_rho, self.delta * share)
        done = len(self.measurements_["triples"])
        return {
            "epsilon_target": self.epsilon,
            "delta": self.delta,
            "epsilon_spent": spent + (codecs.get("epsilon") or 0.0),
            "composition": "basic: codecs + AIM",
            "aim": {
                "mechanism": "MST's tree, then three-way marginals picked by the exponential mechanism "
                "with AIM's quality and measured with Gaussian noise",
                "accountant": "zCDP, converted to (ε, δ) by ρ + 2·sqrt(ρ·ln(1/δ))",
                "epsilon": spent,
                "delta": self.delta * share,
                "rho_budget": rho,
                "rho_spent": spent_rho,
                "sigma_one_way": sigmas[0],
                "sigma_two_way": sigmas[1],
                "sigma_three_way": sigmas[2],
                "selection_epsilon_per_edge": picks[0],
                "selection_epsilon_per_round": picks[1],
                "rounds_planned": rounds,
                "rounds_run": done,
                "stopped_by_time_cap": capped,
                "edges": [[int(a), int(b)] for a, b in self.measurements_["edges"]],
                "triples": [[int(c) for c in t] for t in self.measurements_["triples"]],
                "randomness": "noise and selection from OS entropy, not from the seed",
            },
            "codecs": codecs,
            "outside_budget": OUTSIDE_BUDGET,
            "statement": "the model is a function of the noisy measurements alone (estimate_aim()); bin "
            "bounds and categories come from the schema or from noisy histograms paid for in the budget",
        }

    # -- sampling -------------------------------------------------------------------------------
    def _probs_fn(self) -> Any:
        tree_probs = super()._probs_fn()
        seconds = self.seconds_

        def probs(codes: np.ndarray, filled: list[int], col: int) -> np.ndarray:
            if col not in seconds:
                return tree_probs(codes, filled, col)
            q, gq, table = seconds[col]
            return table[codes[:, self.parent_[col]], gq[codes[:, q]]]

        return probs

    # -- persistence ----------------------------------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta, arrays = super().to_state()
        meta["triples"] = [[int(c) for c in t] for t in self.measurements_["triples"]]
        meta["sigma_three"] = self.measurements_["sigma_three"]
        meta["levels"] = [[int(v) for v in lv] for lv in self.measurements_["levels"]]
        meta["ordinal"] = [bool(o) for o in self.measurements_["ordinal"]]
        arrays.update({f"three.{i}": v for i, v in enumerate(self.measurements_["three"])})
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> AIMModel:
        """Rebuild from the saved noisy measurements (the model is a function of them alone)."""
        self = super().from_state(meta, arrays)
        m = len(self.cards_)
        try:
            triples = [(int(j), int(p), int(q)) for j, p, q in meta["triples"]]
            three = [np.asarray(arrays[f"three.{i}"], dtype=float) for i in range(len(triples))]
            s3 = float(meta["sigma_three"])
            levels = [tuple(int(v) for v in lv) for lv in meta["levels"]]
            ordinal = [bool(o) for o in meta["ordinal"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(
                f"the AIM model's three-way measurement {exc} is missing; refit the model"
            ) from None
        self.measurements_.update(
            {"triples": triples, "levels": levels, "three": three, "sigma_three": s3, "ordinal": ordinal}
        )
        ok = len(ordinal) == m and len(levels) == len(triples) and all(0 <= c < m for t in triples for c in t)
        ok = ok and all(len(lv) == 3 for lv in levels)
        if ok:
            for (j, p, q), lv, t in zip(triples, levels, three, strict=True):
                shape = tuple(int(g.max()) + 1 for g in triple_groups(self.measurements_, (p, q, j), lv))
                ok = ok and t.shape == shape and self.parent_[j] == p
        if not ok:
            raise ModelFormatError("the AIM model's measurements do not fit its columns; refit the model")
        self._set_model(estimate_aim(self.measurements_, self.cards_, self.n_))
        return self
