"""The estimator contract as the deep models follow it: their parameter checks, and one ``fit`` that
trains on the chosen device with the weights initialised from ``seed`` (each model gives ``_begin``,
what it learns from the codes before training, and ``_fit``, the training itself).
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import torch
from torch import nn

from ....errors import UsageError
from ....seeding import torch_rng
from ...estimator import Estimator
from ..base import Progress
from .common import pick_device, shuffled_batches, split_validation, threaded, train_loop


def check_fit_options(max_minutes: float | None, epochs: int, batch_size: int) -> None:
    """One clear error for impossible training options."""
    if max_minutes is not None and not max_minutes > 0:
        raise UsageError(f"max_minutes must be a positive number of minutes, got {max_minutes!r}")
    if epochs < 1:
        raise UsageError(f"epochs must be at least 1, got {epochs!r}")
    if batch_size < 2:
        raise UsageError(f"batch_size must be at least 2, got {batch_size!r}")


class DeepModel(Estimator):
    """What the deep models share beyond ``get_params``: checks, ``fit`` and the plain training run.

    Subclasses declare ``max_minutes``, ``epochs``, ``batch_size``, ``patience``, ``val_share``,
    ``device``, ``threads`` and ``seed`` among their parameters.
    """

    max_minutes: float | None
    epochs: int
    batch_size: int
    patience: int
    val_share: float
    device: str
    threads: int | None
    seed: int

    def check_params(self) -> None:
        """One clear :class:`UsageError` for impossible training options."""
        check_fit_options(self.max_minutes, self.epochs, self.batch_size)

    @threaded
    def fit(self, codes: np.ndarray, cards: list[int], progress: Progress = None) -> Self:
        """Train on the code matrix (see the model's class docstring)."""
        self.check_params()
        x = self._begin(codes, [int(c) for c in cards])
        dev = pick_device(self.device)
        with torch_rng(self.seed, device=dev):  # weight initialisation, without touching global state
            self._fit(x, dev, progress)
        return self

    def _begin(self, codes: np.ndarray, cards: list[int]) -> np.ndarray:
        """Learn the column layout (``cards_`` ...) and return the codes training reads."""
        self.cards_ = cards
        return codes.astype(np.int64)

    def _fit(self, x: np.ndarray, dev: torch.device, progress: Progress) -> None:
        raise NotImplementedError

    def _split(self, x: np.ndarray, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The training rows and the held-out rows of early stopping (None on tiny tables), on ``dev``."""
        train, val = split_validation(x, self.val_share, self.seed)
        return torch.from_numpy(train).to(dev), (torch.from_numpy(val).to(dev) if val is not None else None)

    def _train(
        self,
        net: nn.Module,
        opt: torch.optim.Optimizer,
        train: torch.Tensor,
        step: Any,
        val_loss: Any,
        dev: torch.device,
        progress: Progress,
    ) -> dict:
        """:func:`.common.train_loop` over seeded shuffled batches with the model's epochs, patience and
        time cap; the training report as a dict."""
        return train_loop(
            net,
            opt,
            shuffled_batches(train, self.batch_size, self.seed),
            step,
            val_loss,
            epochs=self.epochs,
            patience=self.patience,
            max_minutes=self.max_minutes,
            progress=progress,
            device=dev,
        ).to_dict()
