"""The image scores, each computable for the synthetic images and, as the reference, for the real
holdout against the real train split.

Features: a small classifier (scikit-learn's multi-layer perceptron on the pixels) trained on the real
train split; its last hidden layer is the feature space of the Fréchet distance, KID and
precision/recall/density/coverage. This is *not* Inception FID: Inception's weights cannot be fetched
at run time, and an ImageNet network says little about 8×8 digits or scans; the numbers are comparable
between the synthetic images and the holdout of one report only. Unlabelled images get PCA features.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...seeding import derive_rng, derive_seed


def flat(images: np.ndarray) -> np.ndarray:
    """``uint8`` images as rows of floats in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def subsample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of at most ``n`` rows of ``x`` (all of them, in order, when there are fewer)."""
    if len(x) <= n:
        return np.arange(len(x))
    return np.sort(rng.choice(len(x), n, replace=False))


@dataclass
class FeatureNet:
    """The feature map of the report: an MLP's last hidden layer (or PCA scores without labels)."""

    kind: str
    model: Any
    accuracy: float | None  # on the real holdout

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "pca":
            return self.model.transform(x).astype(np.float64)
        h = x.astype(np.float64)
        for w, b in zip(self.model.coefs_[:-1], self.model.intercepts_[:-1], strict=True):
            h = np.maximum(h @ w + b, 0.0)
        return h


def feature_net(
    x_train: np.ndarray, y_train: np.ndarray | None, x_hold: np.ndarray, y_hold: np.ndarray | None, seed: int
) -> FeatureNet:
    """Train the feature network on the real train split; its accuracy is measured on the holdout."""
    if y_train is None:
        from sklearn.decomposition import PCA

        k = max(1, min(32, x_train.shape[1], len(x_train) - 1))
        pca = PCA(k, random_state=derive_seed(seed, "evaluate", "images", "pca")).fit(x_train)
        return FeatureNet("pca", pca, None)
    from sklearn.neural_network import MLPClassifier

    net = MLPClassifier(
        hidden_layer_sizes=(256, 64),
        max_iter=200,
        alpha=1e-3,
        random_state=derive_seed(seed, "evaluate", "images", "features"),
    )
    with _quiet_warnings():
        net.fit(x_train, y_train)
    acc = float((net.predict(x_hold) == y_hold).mean()) if y_hold is not None else None
    return FeatureNet("mlp", net, acc)


@contextlib.contextmanager
def _quiet_warnings():  # noqa: ANN202
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` and ``b`` (a tiny ridge on the
    covariances keeps dead features from making them singular)."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    ridge = 1e-6 * np.eye(a.shape[1])
    s1, s2 = np.atleast_2d(np.cov(a, rowvar=False)) + ridge, np.atleast_2d(np.cov(b, rowvar=False)) + ridge
    with _quiet_warnings():
        root = linalg.sqrtm(s1 @ s2)
    root = np.real(root)
    return float(max(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root), 0.0))


def kid(a: np.ndarray, b: np.ndarray, seed: int, subsets: int = 50, size: int = 500) -> tuple[float, float]:
    """Kernel inception distance in these features: the unbiased MMD² with the cubic polynomial kernel
    ``(x·y / d + 1)³`` over ``subsets`` random subsets of ``size``; its mean and standard error."""
    d = a.shape[1]
    m = min(size, len(a), len(b))
    rng = derive_rng(seed, "evaluate", "images", "kid")
    vals = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        off = m * (m - 1)
        vals.append((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2 * kxy.mean())
    return float(np.mean(vals)), float(np.std(vals) / np.sqrt(subsets))


def prdc_scores(real: np.ndarray, fake: np.ndarray, k: int = 5) -> dict[str, float]:
    """Precision, recall, density and coverage (Naeem et al. 2020) from the ``prdc`` package."""
    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):  # it prints the set sizes
        out = compute_prdc(
            real_features=real.astype(np.float32), fake_features=fake.astype(np.float32), nearest_k=k
        )
    return {key: float(v) for key, v in out.items()}


def svc(x: np.ndarray, y: np.ndarray) -> Any:
    """The downstream classifier: scikit-learn's SVC (RBF kernel, default settings) on the pixels."""
    from sklearn.svm import SVC

    return SVC().fit(x, y)


def nearest(reference: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each query row to its nearest reference row, and that row's index."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=1).fit(reference)
    d, i = nn.kneighbors(query)
    return d[:, 0], i[:, 0]


def dcr_share(
    train: np.ndarray, holdout: np.ndarray, synthetic: np.ndarray, seed: int, max_rows: int = 2000
) -> dict[str, Any]:
    """The DCR share for images: train and holdout cut to one size, then the share of synthetic images
    whose nearest real image (pixels, Euclidean) is a train image (ties count half; 0.5 when nothing is
    memorised), its one-sided binomial p-value, and the nearest-neighbour distances synthetic → train
    beside holdout → train."""
    from scipy.stats import binomtest

    rng = derive_rng(seed, "evaluate", "images", "dcr")
    n_ref = min(len(train), len(holdout))
    ti, hi = subsample(train, n_ref, rng), subsample(holdout, n_ref, rng)
    si = subsample(synthetic, max_rows, rng)
    trn, hol, syn = train[ti], holdout[hi], synthetic[si]
    to_trn, _ = nearest(trn, syn)
    to_hol, _ = nearest(hol, syn)
    tie = np.abs(to_trn - to_hol) <= 1e-9
    closer = (to_trn < to_hol) & ~tie
    n_closer, n_tie = int(closer.sum()), int(tie.sum())
    share = (n_closer + 0.5 * n_tie) / len(syn)
    untied = len(syn) - n_tie
    p = float(binomtest(n_closer, untied, 0.5, alternative="greater").pvalue) if untied else 1.0
    hq = subsample(holdout, max_rows, rng)
    hol_to_trn, _ = nearest(train, holdout[hq])
    syn_to_full, full_idx = nearest(train, syn)
    return {
        "share_closer_to_train": float(share),
        "p_value": p,
        "n_synthetic": len(syn),
        "n_reference": n_ref,
        "median_synthetic_train": float(np.median(syn_to_full)),
        "median_holdout_train": float(np.median(hol_to_trn)),
        "copies_synthetic": float((syn_to_full <= 1e-9).mean()),
        "copies_holdout": float((hol_to_trn <= 1e-9).mean()),
        "closest": [
            (int(si[j]), int(full_idx[j]), float(syn_to_full[j])) for j in np.argsort(syn_to_full)[:8]
        ],
    }
