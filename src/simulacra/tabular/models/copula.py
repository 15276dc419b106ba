"""A Gaussian copula over bin codes: the fast baseline.

Each column's codes are mapped to normal scores through its marginal distribution (a uniform draw
inside the code's probability interval, then the normal quantile); the correlation of the scores is
learned; sampling draws correlated normals and maps them back through the marginals. Conditions
are exact for one column and use a short Gibbs sweep over the conditioned scores for several.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special

from ...errors import ConditionError
from ...progress import as_progress
from ...seeding import derive_rng
from ..estimator import Estimator
from .base import Conditions, Progress


def _ndtri(u: np.ndarray) -> np.ndarray:
    return special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))


class GaussianCopula(Estimator):
    """Gaussian copula over bin codes."""

    name: ClassVar[str] = "copula"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, codes: np.ndarray, cards: list[int], progress: Progress = None) -> GaussianCopula:
        """Learn the marginals and the correlation of normal scores."""
        n, m = codes.shape
        # no keys: the very stream the copula always drew (np.random.default_rng(seed)), so a seed
        # keeps giving the same model
        rng = derive_rng(self.seed)
        self.cards_ = list(cards)
        self.cdfs_ = []
        z = np.empty((n, m))
        bar = as_progress(progress)
        bar.start(m, "columns")
        for j in range(m):
            p = np.bincount(codes[:, j], minlength=cards[j]) / n
            cdf = np.concatenate([[0.0], np.cumsum(p)])
            cdf[-1] = 1.0
            self.cdfs_.append(cdf)
            lo, hi = cdf[codes[:, j]], cdf[codes[:, j] + 1]
            z[:, j] = _ndtri(lo + rng.random(n) * (hi - lo))
            bar(1)
        corr = np.corrcoef(z, rowvar=False) if m > 1 else np.ones((1, 1))
        corr = np.nan_to_num(corr, nan=0.0)
        np.fill_diagonal(corr, 1.0)
        # keep it positive definite
        w, v = np.linalg.eigh(corr)
        corr = (v * np.clip(w, 1e-6, None)) @ v.T
        d = np.sqrt(np.diag(corr))
        self.corr_ = corr / np.outer(d, d)
        return self

    def _to_codes(self, z: np.ndarray) -> np.ndarray:
        u = special.ndtr(z)
        out = np.empty(z.shape, dtype=np.int32)
        for j, cdf in enumerate(self.cdfs_):
            out[:, j] = np.clip(np.searchsorted(cdf, u[:, j], side="right") - 1, 0, self.cards_[j] - 1)
        return out

    def _draw_allowed(
        self, j: int, mean: np.ndarray, sd: float, weights: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """Draw z_j ~ N(mean, sd) restricted to the allowed codes' intervals (weighted)."""
        cdf = self.cdfs_[j]
        edges = _ndtri(cdf)
        edges[0], edges[-1] = -np.inf, np.inf
        a = special.ndtr((edges[:-1][None, :] - mean[:, None]) / sd)
        b = special.ndtr((edges[1:][None, :] - mean[:, None]) / sd)
        mass = (b - a) * weights[None, :]
        tot = mass.sum(1, keepdims=True)
        if np.any(tot <= 0):
            raise ConditionError("a condition has no probability under the copula model; relax it")
        cum = np.cumsum(mass / tot, axis=1)
        k = np.minimum((cum < rng.random((mean.size, 1))).sum(1), cum.shape[1] - 1)
        lo, hi = a[np.arange(mean.size), k], b[np.arange(mean.size), k]
        return mean + sd * _ndtri(lo + rng.random(mean.size) * (hi - lo))

    def sample_codes(
        self, n: int, rng: np.random.Generator, conditions: Conditions | None = None
    ) -> np.ndarray:
        """Draw ``n`` rows of codes, optionally under conditions."""
        m = len(self.cards_)
        if not conditions:
            z = rng.multivariate_normal(np.zeros(m), self.corr_, size=n, method="cholesky")
            return self._to_codes(z)
        cond = sorted(conditions)
        free = [j for j in range(m) if j not in conditions]
        zc = np.zeros((n, len(cond)))
        sweeps = 1 if len(cond) == 1 else 20
        for _ in range(sweeps):
            for i, j in enumerate(cond):
                others = [k for k in range(len(cond)) if k != i]
                if others:
                    s_oo = self.corr_[np.ix_([cond[k] for k in others], [cond[k] for k in others])]
                    s_jo = self.corr_[j, [cond[k] for k in others]]
                    beta = np.linalg.solve(s_oo, s_jo)
                    mean = zc[:, others] @ beta
                    sd = float(np.sqrt(max(1 - s_jo @ beta, 1e-9)))
                else:
                    mean, sd = np.zeros(n), 1.0
                zc[:, i] = self._draw_allowed(j, mean, sd, conditions[j], rng)
        z = np.empty((n, m))
        z[:, cond] = zc
        if free:
            s_cc = self.corr_[np.ix_(cond, cond)]
            s_fc = self.corr_[np.ix_(free, cond)]
            s_ff = self.corr_[np.ix_(free, free)]
            beta = np.linalg.solve(s_cc, s_fc.T).T
            cov = s_ff - beta @ s_fc.T
            cov = (cov + cov.T) / 2 + 1e-9 * np.eye(len(free))
            z[:, free] = zc @ beta.T + rng.multivariate_normal(
                np.zeros(len(free)), cov, size=n, method="eigh"
            )
        codes = self._to_codes(z)
        for j in cond:  # boundaries can round a hair outside; the drawn interval decides
            codes[:, j] = np.clip(codes[:, j], 0, self.cards_[j] - 1)
        return codes

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        arrays = {"corr": self.corr_}
        arrays.update({f"cdf{j}": c for j, c in enumerate(self.cdfs_)})
        return {"params": self.get_params(), "cards": self.cards_}, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> GaussianCopula:
        self = cls(**meta["params"])
        self.cards_ = list(meta["cards"])
        self.corr_ = arrays["corr"]
        self.cdfs_ = [arrays[f"cdf{j}"] for j in range(len(self.cards_))]
        return self
