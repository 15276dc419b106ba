"""An autoregressive network over columns, in the spirit of MOSTLY AI's TabularARGN.

Columns are visited in a fixed order (fewest codes first, as the trees model does). Every column has
an embedding of its codes; column ``j`` has a small network that reads the embeddings of the columns
before it and outputs a softmax over its own codes. Training maximises the likelihood of the rows
(the sum of the columns' cross-entropies), with early stopping on held-out rows. Sampling draws the
columns one after the other; conditions use likelihood weighting (no rejection; a draw budget bounds it) and
imputation keeps the known cells fixed and weights particles by their likelihood.

With ``epsilon`` the model is trained with DP-SGD (Opacus) on every row, with no validation split,
and the codecs are made from noisy histograms (see :mod:`.privacy`); the model directory then holds
the privacy ledger. Training is then blind to the data outside the accountant: the learning rate
follows a schedule fixed before training (:func:`.common.fixed_schedule`), every planned epoch runs
(only the time cap can stop it early), no loss is read, shown or kept, and the last weights are the
model. The number of rows is treated as public: the sampling rate of DP-SGD is the batch size over
it. The noise and the Poisson sampling draw from fresh OS entropy, never from ``seed`` (which fixes
the weight initialisation only), so a private fit cannot be replayed from its seed.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ....errors import ModelFormatError
from ....schema.kinds import Kind
from ....seeding import secret_torch_generator
from ..base import Conditions, Progress
from ..private_codecs import CODEC_SHARE, PrivateCodecs, check_budget
from ..sequential import impute_by_weighting, sequential_sample
from .common import (
    arrays_to_module,
    batched_probs,
    embed_dim,
    fixed_schedule,
    mean_loss,
    module_to_arrays,
    threaded,
    train_loop,
)
from .estimator import DeepModel, check_fit_options

OUTSIDE_BUDGET = [
    "the number of rows (public by convention; DP-SGD's sampling rate is the batch size over it)",
    "column names and kinds: from --schema, else inferred from the data (pass a schema for the full "
    "guarantee)",
    "each input column's dtype and whether it has missing values (they set the output dtypes)",
    "the time unit of datetime columns (the coarsest unit every value is a multiple of)",
    "whether the training rows meet the schema's constraints (a fit stops when one does not)",
    "shapes of regenerated id / PII / free-text columns, if any",
]


def column_order(cards: list[int]) -> list[int]:
    """The order columns are modelled in: fewest codes first, ties by position."""
    return sorted(range(len(cards)), key=lambda j: (cards[j], j))


class ARNet(nn.Module):
    """Per-column heads over the embeddings of the columns before them (codes in model order)."""

    def __init__(self, cards: list[int], hidden: int, dropout: float = 0.0, emb_cap: int = 16) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.cards = list(cards)
        dims = [embed_dim(c, emb_cap) for c in cards[:-1]]
        self.offsets = [0, *np.cumsum(dims).tolist()]
        self.embs = nn.ModuleList(nn.Embedding(c, d) for c, d in zip(cards[:-1], dims, strict=True))
        self.ins = nn.ModuleList(nn.Linear(max(self.offsets[p], 1), hidden) for p in range(len(cards)))
        self.outs = nn.ModuleList(nn.Linear(hidden, c) for c in cards)

    def _context(self, x: torch.Tensor) -> torch.Tensor:
        parts = [emb(x[:, p]) for p, emb in enumerate(self.embs)]
        return (
            self.drop(torch.cat(parts, dim=1)) if parts else x.new_zeros((x.shape[0], 0), dtype=torch.float32)
        )

    def _head(self, ctx: torch.Tensor, p: int) -> torch.Tensor:
        inp = ctx[:, : self.offsets[p]] if p else ctx.new_ones((ctx.shape[0], 1))
        return self.outs[p](self.drop(F.relu(self.ins[p](inp))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each row (summed over columns)."""
        ctx = self._context(x)
        nll = x.new_zeros(x.shape[0], dtype=torch.float32)
        for p in range(len(self.cards)):
            nll = nll + F.cross_entropy(self._head(ctx, p), x[:, p], reduction="none")
        return nll

    def probs(self, x: torch.Tensor, p: int) -> torch.Tensor:
        """Softmax of column ``p`` given the columns before it."""
        return torch.softmax(self._head(self._context(x), p), dim=1)


class AutoregressiveModel(DeepModel):
    """Autoregressive network over bin codes (``"autoregressive"``; needs the ``[torch]`` extra).

    Parameters: ``hidden`` units per column head, ``epochs`` (upper bound; early stopping with
    ``patience`` on ``val_share`` held-out rows), ``batch_size``, ``lr``, ``max_minutes`` (time cap),
    ``device`` for training (``"auto"``: a GPU when present; sampling always runs on CPU),
    ``threads`` (torch CPU threads, default 1; None: torch's default), and for differential privacy
    ``epsilon`` / ``delta`` with ``dp_epochs``, ``dp_batch_size``, ``dp_hidden``, ``max_grad_norm``.
    A private fit treats the number of rows as public, runs every planned epoch on a fixed learning-rate
    schedule without reading a loss, and draws its noise from OS entropy (not reproducible from ``seed``);
    its ledger (``privacy_``) lists what else is outside the budget.
    """

    name: ClassVar[str] = "autoregressive"

    def __init__(
        self,
        hidden: int = 128,
        dropout: float = 0.0,
        weight_decay: float = 0.0,
        epochs: int = 100,
        batch_size: int = 512,
        lr: float = 3e-3,
        patience: int = 3,
        val_share: float = 0.1,
        max_minutes: float | None = None,
        epsilon: float | None = None,
        delta: float = 1e-5,
        dp_epochs: int = 25,
        dp_batch_size: int = 2048,
        dp_hidden: int = 64,
        max_grad_norm: float = 1.0,
        device: str = "auto",
        threads: int | None = 1,
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.dropout = dropout
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.val_share = val_share
        self.max_minutes = max_minutes
        self.epsilon = epsilon
        self.delta = delta
        self.dp_epochs = dp_epochs
        self.dp_batch_size = dp_batch_size
        self.dp_hidden = dp_hidden
        self.max_grad_norm = max_grad_norm
        self.device = device
        self.threads = threads
        self.seed = seed

    def check_params(self) -> None:
        """One clear :class:`UsageError` for an impossible budget or training option."""
        check_budget(self.epsilon, self.delta)
        epochs = self.dp_epochs if self.epsilon is not None else self.epochs
        check_fit_options(self.max_minutes, epochs, self.batch_size)

    def _width(self) -> int:
        return self.hidden if self.epsilon is None else self.dp_hidden

    # -- codecs ---------------------------------------------------------------------------------
    def make_codec(self, name: str, role: str, kind: Kind, data: Any, schema: Any) -> Any:
        """With ``epsilon``: private codecs (noisy histograms); otherwise the synthesizer's own.

        The synthesizer asks for its codecs before it calls ``fit``: the first call checks the parameters
        and splits the codecs' share of the budget over the schema (``private_codecs_``).
        """
        if self.epsilon is None:
            return None
        if getattr(self, "private_codecs_", None) is None:
            self.check_params()
            self.private_codecs_ = PrivateCodecs(self.epsilon * CODEC_SHARE, self.delta * CODEC_SHARE)
            self.private_codecs_.plan(schema)
        return self.private_codecs_.make(name, role, kind, data, schema)

    # -- fitting --------------------------------------------------------------------------------
    def _begin(self, codes: np.ndarray, cards: list[int]) -> np.ndarray:
        self.cards_ = cards
        self.order_ = column_order(self.cards_)
        return np.ascontiguousarray(codes[:, self.order_]).astype(np.int64)

    def _fit(self, x: np.ndarray, dev: torch.device, progress: Progress) -> None:
        net = ARNet([self.cards_[j] for j in self.order_], self._width(), self.dropout).to(dev)
        if self.epsilon is None:
            self.report_, self.privacy_ = self._fit_plain(net, x, dev, progress), None
        else:
            self.report_, self.privacy_ = self._fit_private(net, x, dev, progress)
        self.net_ = net.to("cpu").eval()

    def _fit_plain(self, net: ARNet, x: np.ndarray, dev: torch.device, progress: Progress) -> dict:
        tr, va = self._split(x, dev)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        val_loss = (lambda: mean_loss(lambda b: net(b).mean(), va)) if va is not None else None
        return self._train(net, opt, tr, lambda b: net(b).mean(), val_loss, dev, progress)

    def _fit_private(
        self, net: ARNet, x: np.ndarray, dev: torch.device, progress: Progress
    ) -> tuple[dict, dict]:
        from opacus import PrivacyEngine
        from torch.utils.data import DataLoader, TensorDataset

        eps_sgd = self.epsilon * (1 - CODEC_SHARE)
        delta_sgd = self.delta * (1 - CODEC_SHARE)
        n = x.shape[0]  # public by convention (see the module docstring)
        batch = min(self.dp_batch_size, max(2, n // 10))
        # Poisson sampling and noise from OS entropy: a public seed must not replay them
        rows = TensorDataset(torch.from_numpy(x))
        loader = DataLoader(rows, batch_size=batch, shuffle=True, generator=secret_torch_generator())
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # opacus warns about secure RNG and full backward hooks
            engine = PrivacyEngine(accountant="rdp")
            model, opt, loader = engine.make_private_with_epsilon(
                module=net,
                optimizer=opt,
                data_loader=loader,
                target_epsilon=eps_sgd,
                target_delta=delta_sgd,
                epochs=self.dp_epochs,
                max_grad_norm=self.max_grad_norm,
                noise_generator=secret_torch_generator(dev),
            )

        def step(b: Any) -> torch.Tensor:
            rows = b[0].to(dev)
            return model(rows).sum() / batch  # sum / expected size: Poisson batches vary

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = train_loop(
                model,
                opt,
                lambda _epoch: loader,
                step,
                None,
                epochs=self.dp_epochs,
                patience=None,
                max_minutes=self.max_minutes,
                progress=progress,
                device=dev,
                keep_best=False,
                schedule=fixed_schedule(self.dp_epochs),
            ).to_dict()
            spent = float(engine.get_epsilon(delta_sgd))
        history = getattr(engine.accountant, "history", [])
        private = getattr(self, "private_codecs_", None)
        codecs = private.ledger() if private is not None else {}
        ledger = {
            "epsilon_target": self.epsilon,
            "delta": self.delta,
            "epsilon_spent": spent + (codecs.get("epsilon") or 0.0),
            "composition": "basic: codecs + DP-SGD",
            "dp_sgd": {
                "mechanism": "DP-SGD (Opacus, Poisson sampling, per-sample clipping, Gaussian noise)",
                "accountant": "RDP",
                "epsilon_spent": spent,
                "epsilon_budget": eps_sgd,
                "delta": delta_sgd,
                "noise_multiplier": float(opt.noise_multiplier),
                "max_grad_norm": self.max_grad_norm,
                "sample_rate": float(loader.sample_rate),
                "expected_batch": batch,
                "steps": int(sum(h[2] for h in history)),
                "epochs_run": report["epochs_run"],
                "learning_rate": "fixed before training: " + ", ".join(f"{lr:g}" for lr in report["lr"]),
                "randomness": "noise and Poisson sampling from OS entropy, not from the seed",
            },
            "codecs": codecs,
            "outside_budget": OUTSIDE_BUDGET,
            "statement": "bin bounds and categories come from the schema or from noisy histograms paid "
            "for in the budget; the learning rate and the number of epochs are fixed before training; "
            "no validation split, loss, early stopping or best-epoch choice reads the data",
        }
        net.load_state_dict({k.removeprefix("_module."): v for k, v in model.state_dict().items()})
        return report, ledger

    # -- sampling -------------------------------------------------------------------------------
    def _probs_fn(self) -> Any:
        pos_of = {c: p for p, c in enumerate(self.order_)}

        def probs(codes: np.ndarray, _filled: list[int], col: int) -> np.ndarray:
            x = np.ascontiguousarray(codes[:, self.order_]).astype(np.int64)
            return batched_probs(lambda t: self.net_.probs(t, pos_of[col]), x)

        return probs

    @threaded
    def sample_codes(
        self, n: int, rng: np.random.Generator, conditions: Conditions | None = None
    ) -> np.ndarray:
        """Draw ``n`` rows of codes, optionally under conditions (likelihood weighting)."""
        m = len(self.cards_)
        return sequential_sample(n, m, rng, self.order_, self._probs_fn(), conditions).astype(np.int32)

    @threaded
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
            "order": self.order_,
            "training": self.report_,
            "privacy": self.privacy_,
        }
        return meta, module_to_arrays(self.net_)

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> AutoregressiveModel:
        self = cls(**meta["params"])
        self.cards_, self.order_ = list(meta["cards"]), list(meta["order"])
        if self.order_ != column_order(self.cards_):
            raise ModelFormatError(
                "model.json: the autoregressive model's column order does not follow its column sizes "
                "(the file was edited); refit the model"
            )
        self.report_, self.privacy_ = meta.get("training"), meta.get("privacy")
        net = ARNet([self.cards_[j] for j in self.order_], self._width())
        self.net_ = arrays_to_module(net, arrays)
        return self
