"""The fast image baseline with no torch: per class, PCA of the pixels and a Gaussian mixture of the
PCA scores (as scikit-learn's digits density example, with a mixture instead of a kernel density so
that a sample is not a training image plus noise). Saved as plain arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import UsageError
from ..progress import ProgressLike, as_progress
from ..seeding import derive_rng, derive_seed


class PCAMixture:
    """Per-class PCA (``components`` at most, ``variance`` explained) plus a Gaussian mixture chosen
    by BIC among ``mixtures`` components."""

    name = "pca"

    def __init__(
        self,
        components: int = 24,
        variance: float = 0.95,
        mixtures: tuple[int, ...] | list[int] = (1, 2, 4, 8),
        seed: int = 0,
    ) -> None:
        self.components = components
        self.variance = variance
        self.mixtures = mixtures
        self.seed = seed

    def params(self) -> dict[str, Any]:
        """The model's parameters as given."""
        return {"components": self.components, "variance": self.variance, "mixtures": list(self.mixtures)}

    def check_params(self) -> None:
        """One clear :class:`UsageError` for impossible parameters."""
        if not isinstance(self.components, int) or self.components < 1:
            raise UsageError(f"components must be a positive integer, got {self.components!r}")
        if not 0 < float(self.variance) <= 1:
            raise UsageError(f"variance must lie in (0, 1], got {self.variance!r}")
        if not self.mixtures or any(int(m) < 1 for m in self.mixtures):
            raise UsageError(f"mixtures must be positive component counts, got {self.mixtures!r}")

    def fit(self, x: np.ndarray, y: np.ndarray, n_classes: int, progress: ProgressLike = None) -> PCAMixture:
        """Learn each class of ``x`` (floats in [0, 1], shape (n, h, w, c)) labelled ``y`` (0..K-1)."""
        from sklearn.decomposition import PCA
        from sklearn.mixture import GaussianMixture

        self.check_params()
        self.shape_ = tuple(int(s) for s in x.shape[1:])
        flat = x.reshape(len(x), -1).astype(np.float64)
        bar = as_progress(progress)
        bar.start(n_classes, "classes")
        self.classes_ = []
        for c in range(n_classes):
            xc = flat[y == c]
            k = max(1, min(self.components, len(xc) - 1, flat.shape[1]))
            pca = PCA(n_components=k, svd_solver="full").fit(xc)
            keep = int(np.searchsorted(np.cumsum(pca.explained_variance_ratio_), self.variance) + 1)
            keep = max(1, min(keep, k))
            comps, mean = pca.components_[:keep], pca.mean_
            z = (xc - mean) @ comps.T
            best, best_bic = None, np.inf
            for m in sorted({int(m) for m in self.mixtures}):
                if m > max(1, len(xc) // (4 * keep + 4)):
                    continue
                gm = GaussianMixture(
                    m,
                    covariance_type="full",
                    reg_covar=1e-4,
                    random_state=derive_seed(self.seed, "pca", c, m),
                ).fit(z)
                bic = gm.bic(z)
                if bic < best_bic:
                    best, best_bic = gm, bic
            if best is None:  # too few images for any mixture: one Gaussian
                best = GaussianMixture(1, covariance_type="full", reg_covar=1e-4, random_state=0).fit(z)
            chol = np.linalg.cholesky(best.covariances_ + 1e-9 * np.eye(keep))
            self.classes_.append(
                {
                    "mean": mean,
                    "components": comps,
                    "weights": best.weights_,
                    "means": best.means_,
                    "chol": chol,
                }
            )
            bar(1)
        return self

    def generate(self, y: np.ndarray, seed: int, chunk: int) -> np.ndarray:
        """Images (floats in [0, 1], shape (len(y), h, w, c)) for class indices ``y``; the draws come
        from ``(seed, chunk)`` alone."""
        rng = derive_rng(seed, "images", "pca", chunk)
        u = rng.random(len(y))
        width = max(c["components"].shape[0] for c in self.classes_)
        z = rng.standard_normal((len(y), width))
        out = np.empty((len(y), int(np.prod(self.shape_))))
        for c, part in enumerate(self.classes_):
            rows = np.flatnonzero(y == c)
            if not len(rows):
                continue
            k = part["components"].shape[0]
            comp = np.minimum(np.searchsorted(np.cumsum(part["weights"]), u[rows]), len(part["weights"]) - 1)
            scores = part["means"][comp] + np.einsum("nij,nj->ni", part["chol"][comp], z[rows, :k])
            out[rows] = scores @ part["components"] + part["mean"]
        return np.clip(out, 0.0, 1.0).reshape(len(y), *self.shape_)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The learned arrays, keyed ``class<i>.<name>``."""
        return {f"class{i}.{k}": v for i, part in enumerate(self.classes_) for k, v in part.items()}

    def to_meta(self) -> dict[str, Any]:
        """What ``model.json`` keeps about the model."""
        return {"params": self.params(), "shape": list(self.shape_), "n_classes": len(self.classes_)}

    @classmethod
    def from_saved(cls, meta: dict, arrays: Any, seed: int) -> PCAMixture:
        """Rebuild from :meth:`to_meta` and :meth:`to_arrays` (a missing array raises a format error)."""
        model = cls(**{k: v for k, v in meta["params"].items()}, seed=seed)
        model.shape_ = tuple(int(s) for s in meta["shape"])
        names = ("mean", "components", "weights", "means", "chol")
        model.classes_ = [
            {k: np.asarray(arrays[f"class{i}.{k}"], dtype=np.float64) for k in names}
            for i in range(int(meta["n_classes"]))
        ]
        return model
