"""A masked (absorbing-state) diffusion model over bin codes, in the spirit of TabDDPM's multinomial part.

Every column's codes get one extra state, "masked". The forward process masks a random number of
columns of a row; one network (embeddings → MLP → one softmax head per column) learns to recover
the masked codes from the visible ones. Training minimises the cross-entropy on the masked columns,
which is the any-order bound of the row's likelihood, with early stopping on held-out rows.

Sampling starts from a fully masked row and unmasks columns step by step, each row in its own random
order, drawing each code from the network's prediction given what is already visible. Conditions:
conditioned columns are unmasked first, drawn from their restricted prediction with likelihood
weighting (no rejection; as close to the conditional law as the weights' effective size allows).
Imputation is the same process started from the known cells.

Numbers are already ordinal codes here (quantile and point bins); a value is drawn inside its bin by
the codec, so this model is multinomial for every column (no Gaussian part).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ....seeding import step_seed, torch_generator
from ..base import Conditions, Progress
from ..sequential import draw, sequential_sample
from .common import (
    SAMPLE_BATCH,
    arrays_to_module,
    embed_dim,
    module_to_arrays,
    threaded,
)
from .estimator import DeepModel


class MaskNet(nn.Module):
    """Predicts every column's code from a row whose masked cells hold the code ``card``."""

    def __init__(self, cards: list[int], hidden: int, layers: int, emb_cap: int = 16) -> None:
        super().__init__()
        self.cards = list(cards)
        dims = [embed_dim(c + 1, emb_cap) for c in cards]
        self.embs = nn.ModuleList(nn.Embedding(c + 1, d) for c, d in zip(cards, dims, strict=True))
        blocks: list[nn.Module] = [nn.Linear(sum(dims) + 1, hidden), nn.SiLU()]
        for _ in range(layers - 1):
            blocks += [nn.Linear(hidden, hidden), nn.SiLU()]
        self.mlp = nn.Sequential(*blocks)
        self.heads = nn.ModuleList(nn.Linear(hidden, c) for c in cards)
        self.register_buffer("mask_codes", torch.tensor(cards, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        masked = (x == self.mask_codes).float()
        h = torch.cat([emb(x[:, j]) for j, emb in enumerate(self.embs)] + [masked.mean(1, keepdim=True)], 1)
        h = self.mlp(h)
        return [head(h) for head in self.heads]

    def masked_loss(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Mean over rows of the mean cross-entropy of a random, non-empty set of masked columns."""
        n, m = x.shape
        k = torch.randint(1, m + 1, (n, 1), generator=generator, device="cpu").to(x.device)
        ranks = torch.rand((n, m), generator=generator, device="cpu").to(x.device).argsort(1).argsort(1)
        mask = ranks < k
        inp = torch.where(mask, self.mask_codes.expand(n, m), x)
        logits = self(inp)
        ce = torch.stack([F.cross_entropy(lg, x[:, j], reduction="none") for j, lg in enumerate(logits)], 1)
        return ((ce * mask).sum(1) / mask.sum(1)).mean() * m


class DiffusionModel(DeepModel):
    """Masked diffusion over bin codes (``"diffusion"``; needs the ``[torch]`` extra).

    Parameters: ``hidden`` width and ``layers`` of the MLP, ``epochs`` (upper bound; early stopping
    with ``patience`` on ``val_share`` held-out rows), ``batch_size``, ``lr``, ``max_minutes``,
    ``steps`` (unmasking steps when sampling; at most the number of columns), ``device`` for
    training (``"auto"``: a GPU when present; sampling runs on CPU), ``threads``, ``seed``.
    """

    name: ClassVar[str] = "diffusion"

    def __init__(
        self,
        hidden: int = 256,
        layers: int = 3,
        epochs: int = 200,
        batch_size: int = 256,
        lr: float = 2e-3,
        patience: int = 6,
        val_share: float = 0.1,
        max_minutes: float | None = None,
        steps: int = 32,
        device: str = "auto",
        threads: int | None = 1,
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.layers = layers
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.val_share = val_share
        self.max_minutes = max_minutes
        self.steps = steps
        self.device = device
        self.threads = threads
        self.seed = seed

    def _fit(self, x: np.ndarray, dev: torch.device, progress: Progress) -> None:
        net = MaskNet(self.cards_, self.hidden, self.layers).to(dev)
        tr, va = self._split(x, dev)
        g = torch_generator(self.seed)

        def val_loss() -> float:
            assert va is not None
            vg = torch_generator(step_seed(self.seed, 1))  # the same masks every epoch
            with torch.no_grad():
                return float(sum(float(net.masked_loss(va, vg)) for _ in range(4)) / 4)

        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        step = lambda b: net.masked_loss(b, g)  # noqa: E731
        self.report_ = self._train(net, opt, tr, step, val_loss if va is not None else None, dev, progress)
        self.net_ = net.to("cpu").eval()

    # -- sampling -------------------------------------------------------------------------------
    def _logits(self, x: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            out = self.net_(torch.from_numpy(x))
        return [torch.softmax(lg, 1).double().numpy() for lg in out]

    def _probs_fn(self) -> Any:
        mask = np.asarray(self.cards_, dtype=np.int64)

        def probs(codes: np.ndarray, filled: list[int], col: int) -> np.ndarray:
            x = np.broadcast_to(mask, codes.shape).copy()
            x[:, filled] = codes[:, filled]
            outs = []
            for s in range(0, x.shape[0], SAMPLE_BATCH):
                with torch.no_grad():
                    lg = self.net_(torch.from_numpy(x[s : s + SAMPLE_BATCH]))[col]
                outs.append(torch.softmax(lg, 1).double().numpy())
            return np.concatenate(outs)

        return probs

    def _complete(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Unmask every masked cell of ``x`` (mask = the column's card), each row in a random order."""
        n, m = x.shape
        mask = np.asarray(self.cards_, dtype=np.int64)
        for s in range(0, n, SAMPLE_BATCH):
            part = x[s : s + SAMPLE_BATCH]
            left = part == mask
            steps = max(1, min(self.steps, int(left.sum(1).max(initial=0))))
            keys = rng.random(part.shape) + np.where(left, 0.0, 2.0)  # masked cells in random order
            rank = keys.argsort(1).argsort(1)
            n_left = left.sum(1)
            for t in range(steps):
                # cells whose rank falls in this step's share of the row's masked cells
                lo = (n_left * t) // steps
                hi = (n_left * (t + 1)) // steps
                now = left & (rank >= lo[:, None]) & (rank < hi[:, None])
                if not now.any():
                    continue
                probs = self._logits(part)
                for j in np.flatnonzero(now.any(0)):
                    rows = np.flatnonzero(now[:, j])
                    part[rows, j] = draw(probs[j][rows], rng)
            x[s : s + SAMPLE_BATCH] = part
        return x

    @threaded
    def sample_codes(
        self, n: int, rng: np.random.Generator, conditions: Conditions | None = None
    ) -> np.ndarray:
        """Draw ``n`` rows of codes; conditioned columns are unmasked first (likelihood weighting)."""
        m = len(self.cards_)
        if not conditions:
            x = np.broadcast_to(np.asarray(self.cards_, dtype=np.int64), (n, m)).copy()
            return self._complete(x, rng).astype(np.int32)
        cond = sorted(conditions)
        codes = sequential_sample(n, m, rng, cond, self._probs_fn(), conditions)
        x = np.broadcast_to(np.asarray(self.cards_, dtype=np.int64), (n, m)).copy()
        x[:, cond] = codes[:, cond]
        return self._complete(x, rng).astype(np.int32)

    @threaded
    def impute_codes(self, codes: np.ndarray, known: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Fill the cells of ``codes`` where ``known`` is False by unmasking them given the known ones."""
        x = np.where(known, codes, np.asarray(self.cards_, dtype=np.int64)[None, :]).astype(np.int64)
        return self._complete(x, rng).astype(np.int32)

    # -- persistence ----------------------------------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        return {
            "params": self.get_params(),
            "cards": self.cards_,
            "training": self.report_,
        }, module_to_arrays(self.net_)

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> DiffusionModel:
        self = cls(**meta["params"])
        self.cards_, self.report_ = list(meta["cards"]), meta.get("training")
        self.net_ = arrays_to_module(MaskNet(self.cards_, self.hidden, self.layers), arrays)
        return self
