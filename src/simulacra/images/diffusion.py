"""A small class-conditional diffusion model for images (the ``[torch]`` extra).

DDPM training (cosine noise schedule, noise prediction, mean squared error) of a small U-Net whose
time and class embeddings are added inside every residual block; the class is dropped to a learned
"no class" token for ``label_dropout`` of the examples, so sampling can use classifier-free guidance
(``guidance``: 1 is plain conditional sampling, higher follows the label harder). Sampling is DDIM
(deterministic given its starting noise) in ``sample_steps`` steps, with the starting noise of chunk
``k`` drawn from ``(seed, "images", "diffusion", k)`` and the network run on fixed sub-batches, so a
chunk's bytes do not depend on what else is sampled (on one device and torch build). Weights are an
exponential moving average of the trained ones, saved as safetensors.

Training reuses the deep tabular models' loop (:func:`simulacra.tabular.models.deep.common.train_loop`):
progress per epoch with time left, early stopping on a held-out share, ``max_minutes``. With
``epsilon`` it is DP-SGD (Opacus) over every image with the learning rate fixed in advance and no
validation, and the ledger is kept as the tabular deep models keep theirs.

On CPU, 8×8 to 32×32 images train in minutes; 64×64 works but is slow (hours for a good model): a GPU
(``device="auto"`` picks CUDA when present) makes 64×64 practical.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import UsageError
from ..progress import ProgressLike
from ..seeding import derive_rng, secret_torch_generator, torch_generator, torch_rng
from ..tabular.models.deep.common import (
    arrays_to_module,
    fixed_schedule,
    module_to_arrays,
    pick_device,
    shuffled_batches,
    torch_threads,
    train_loop,
)

SAMPLE_BATCH = 256  # images per forward pass when sampling: fixed, so a chunk's bytes do not depend on n
MULTS = (1, 2, 2, 2)
OUTSIDE_BUDGET = [
    "the image size and number of channels",
    "the class names and each class's number of images (the sampling shares)",
    "the number of images n (the sampling rate is batch / n, as Opacus treats it)",
]


def _groups(ch: int) -> int:
    return math.gcd(8, ch)


class ResBlock(nn.Module):
    """Two 3×3 convolutions with GroupNorm and SiLU, the embedding added between them, and a skip."""

    def __init__(self, cin: int, cout: int, emb: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.n1, self.c1 = nn.GroupNorm(_groups(cin), cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.e = nn.Linear(emb, cout)
        self.n2, self.c2 = nn.GroupNorm(_groups(cout), cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.e(emb)[:, :, None, None]
        h = self.c2(self.drop(F.silu(self.n2(h))))
        return h + self.skip(x)


class UNet(nn.Module):
    """A small U-Net: one residual block per level, down by strided convolutions while both sides are
    even and at least 8, up by nearest-neighbour doubling; class index ``n_classes`` means no class."""

    def __init__(
        self, channels: int, height: int, width: int, base: int, n_classes: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        emb = base * 4
        self.base = base
        self.t_mlp = nn.Sequential(nn.Linear(base, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.label = nn.Embedding(n_classes + 1, emb)
        levels, h, w = 1, height, width
        while levels < len(MULTS) and h % 2 == 0 and w % 2 == 0 and min(h, w) >= 8:
            levels, h, w = levels + 1, h // 2, w // 2
        widths = [base * m for m in MULTS[:levels]]
        self.inc = nn.Conv2d(channels, base, 3, padding=1)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        prev = base
        for i, ch in enumerate(widths):
            self.down.append(ResBlock(prev, ch, emb, dropout))
            prev = ch
            if i < levels - 1:
                self.pool.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
        self.mid = ResBlock(prev, prev, emb, dropout)
        self.up = nn.ModuleList()
        self.grow = nn.ModuleList()
        for i, ch in reversed(list(enumerate(widths))):
            self.up.append(ResBlock(prev + ch, ch, emb, dropout))
            prev = ch
            if i > 0:
                self.grow.append(nn.Conv2d(ch, widths[i - 1], 3, padding=1))
                prev = widths[i - 1]
        self.out_norm = nn.GroupNorm(_groups(prev), prev)
        self.out = nn.Conv2d(prev, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        half = self.base // 2
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=x.device) / max(half - 1, 1))
        ang = t.float()[:, None] * 1000.0 * freqs[None]
        emb = self.t_mlp(torch.cat([ang.sin(), ang.cos()], 1)) + self.label(y)
        h = self.inc(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        h = self.mid(h, emb)
        for j, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], 1), emb)
            if j < len(self.grow):
                h = self.grow[j](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.out(F.silu(self.out_norm(h)))


def cosine_alpha_bar(t: torch.Tensor, s: float = 0.008) -> torch.Tensor:
    """ᾱ(t) of the cosine schedule (Nichol & Dhariwal), t in [0, 1]."""
    return (torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2 / math.cos(s / (1 + s) * math.pi / 2) ** 2).clamp(
        1e-5, 1.0
    )


class DiffusionModel:
    """Class-conditional DDPM on a small U-Net (see the module docstring).

    The defaults were chosen on a split of the digits train part (``benchmarks/images.py --tune``):
    guidance above 1 raised the Fréchet distance more than it helped label fidelity there.

    ``channels``: the U-Net's base width; ``guidance``: classifier-free guidance scale;
    ``sample_steps``: DDIM steps when sampling; ``ema``: weight-averaging decay;
    ``epsilon``/``delta``: DP-SGD with ``dp_epochs``, ``dp_batch_size``, ``max_grad_norm``.
    """

    name = "diffusion"

    def __init__(
        self,
        epochs: int = 300,
        batch_size: int = 128,
        channels: int = 16,
        lr: float = 2e-3,
        guidance: float = 1.0,
        label_dropout: float = 0.1,
        dropout: float = 0.0,
        sample_steps: int = 25,
        ema: float = 0.995,
        patience: int | None = 60,
        val_share: float = 0.1,
        max_minutes: float | None = None,
        epsilon: float | None = None,
        delta: float = 1e-5,
        dp_epochs: int = 30,
        dp_batch_size: int = 256,
        max_grad_norm: float = 1.0,
        device: str = "auto",
        threads: int | None = 1,
        seed: int = 0,
    ) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.channels = channels
        self.lr = lr
        self.guidance = guidance
        self.label_dropout = label_dropout
        self.dropout = dropout
        self.sample_steps = sample_steps
        self.ema = ema
        self.patience = patience
        self.val_share = val_share
        self.max_minutes = max_minutes
        self.epsilon = epsilon
        self.delta = delta
        self.dp_epochs = dp_epochs
        self.dp_batch_size = dp_batch_size
        self.max_grad_norm = max_grad_norm
        self.device = device
        self.threads = threads
        self.seed = seed

    def params(self) -> dict[str, Any]:
        """The parameters as given (``seed`` and ``device`` left out: they are the synthesizer's)."""
        names = (
            "epochs",
            "batch_size",
            "channels",
            "lr",
            "guidance",
            "label_dropout",
            "dropout",
            "sample_steps",
            "ema",
            "patience",
            "val_share",
            "max_minutes",
            "epsilon",
            "delta",
            "dp_epochs",
            "dp_batch_size",
            "max_grad_norm",
            "threads",
        )
        return {k: getattr(self, k) for k in names}

    def check_params(self) -> None:
        """One :class:`UsageError` for an impossible option."""
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise UsageError(f"max_minutes must be a positive number of minutes, got {self.max_minutes!r}")
        for name in ("epochs", "dp_epochs", "sample_steps"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise UsageError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.batch_size < 2 or self.dp_batch_size < 2:
            raise UsageError(f"batch_size must be at least 2, got {self.batch_size!r}")
        if not isinstance(self.channels, int) or self.channels < 8 or self.channels % 8:
            raise UsageError(f"channels must be a multiple of 8 (8, 16, 32 ...), got {self.channels!r}")
        if self.guidance < 0:
            raise UsageError(f"guidance must be 0 or more (1: no guidance), got {self.guidance!r}")
        if (
            not all(0 <= v < 1 for v in (self.label_dropout, self.dropout, self.ema))
            or not 0 <= self.val_share < 0.5
        ):
            raise UsageError("label_dropout, dropout and ema must lie in [0, 1) and val_share in [0, 0.5)")
        if self.epsilon is not None and not self.epsilon > 0:
            raise UsageError(f"epsilon must be a positive number, got {self.epsilon!r}")
        if not 0 < self.delta < 1:
            raise UsageError(f"delta must lie in (0, 1), got {self.delta!r}")
        pick_device(self.device)

    # ------------------------------------------------------------------------------------- fit
    def fit(
        self, x: np.ndarray, y: np.ndarray, n_classes: int, progress: ProgressLike = None
    ) -> DiffusionModel:
        """Train on images ``x`` (floats in [0, 1], (n, h, w, c)) with class indices ``y``."""
        self.check_params()
        self.shape_ = tuple(int(s) for s in x.shape[1:])
        self.n_classes_ = int(n_classes)
        dev = pick_device(self.device)
        data = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2) * 2.0 - 1.0)).float()
        labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
        with torch_threads(self.threads), torch_rng(self.seed, "images", "init", device=dev):
            self.net_ = self._network().to(dev)
            self.ema_net_ = self._network().to(dev)
            self.ema_net_.load_state_dict(self.net_.state_dict())
            self.ema_net_.requires_grad_(False)
            if self.epsilon is None:
                self.report_, self.privacy_ = self._fit_plain(data, labels, dev, progress), None
            else:
                self.report_, self.privacy_ = self._fit_private(data, labels, dev, progress)
        self.net_ = self.net_.to("cpu").eval()
        self.ema_net_ = self.ema_net_.to("cpu").eval()
        return self

    def _network(self) -> UNet:
        c, h, w = self.shape_[2], self.shape_[0], self.shape_[1]
        return UNet(c, h, w, self.channels, self.n_classes_, self.dropout)

    def _loss(
        self, net: nn.Module, x: torch.Tensor, y: torch.Tensor, g: torch.Generator, reduce: str = "mean"
    ) -> torch.Tensor:
        """The DDPM noise-prediction loss on a batch, the class dropped for ``label_dropout`` of it."""
        n = x.shape[0]
        t = torch.rand(n, generator=g, device=g.device).to(x.device)
        noise = torch.randn(x.shape, generator=g, device=g.device).to(x.device)
        drop = torch.rand(n, generator=g, device=g.device).to(x.device) < self.label_dropout
        y = torch.where(drop, torch.full_like(y, self.n_classes_), y)
        ab = cosine_alpha_bar(t)[:, None, None, None]
        xt = ab.sqrt() * x + (1 - ab).sqrt() * noise
        err = ((net(xt, t, y) - noise) ** 2).mean(dim=(1, 2, 3))
        return err.mean() if reduce == "mean" else err.sum()

    def _update_ema(self) -> None:
        with torch.no_grad():
            for e, p in zip(self.ema_net_.parameters(), self.net_.parameters(), strict=True):
                e.mul_(self.ema).add_(p.detach(), alpha=1 - self.ema)

    def _fit_plain(
        self, data: torch.Tensor, labels: torch.Tensor, dev: torch.device, progress: ProgressLike
    ) -> dict:
        n = data.shape[0]
        n_val = int(round(n * self.val_share))
        perm = derive_rng(self.seed, "images", "validation").permutation(n)
        if n_val < 20 or n - n_val < 20:
            n_val = 0
        tr_idx, va_idx = torch.from_numpy(perm[n_val:]), torch.from_numpy(perm[:n_val])
        xs, ys = data.to(dev), labels.to(dev)
        pair = nn.ModuleDict({"net": self.net_, "ema": self.ema_net_})
        opt = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=0.0)
        g = torch_generator(self.seed, "images", "train", device=dev)

        def step(idx: torch.Tensor) -> torch.Tensor:
            self._update_ema()  # the weights after the previous optimiser step
            idx = idx.to(dev)
            return self._loss(self.net_, xs[idx], ys[idx], g)

        val_loss = None
        if n_val:
            vx, vy = xs[va_idx.to(dev)], ys[va_idx.to(dev)]

            @torch.no_grad()
            def val_loss() -> float:
                gv = torch_generator(self.seed, "images", "val", device=dev)
                total = 0.0
                for _ in range(4):  # four noise draws per image: a steadier criterion
                    total += float(self._loss(self.ema_net_, vx, vy, gv))
                return total / 4

        report = train_loop(
            pair,
            opt,
            shuffled_batches(tr_idx, self.batch_size, self.seed),
            step,
            val_loss,
            epochs=self.epochs,
            patience=self.patience,
            max_minutes=self.max_minutes,
            progress=progress,
            device=dev,
            keep_best=n_val > 0,
            plateau=None,
        ).to_dict()
        return report

    def _fit_private(
        self, data: torch.Tensor, labels: torch.Tensor, dev: torch.device, progress: ProgressLike
    ) -> tuple[dict, dict]:
        from opacus import PrivacyEngine
        from torch.utils.data import DataLoader, TensorDataset

        n = data.shape[0]  # public by convention, as Opacus treats it
        batch = min(self.dp_batch_size, max(2, n // 10))
        loader = DataLoader(
            TensorDataset(data, labels), batch_size=batch, shuffle=True, generator=secret_torch_generator()
        )
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # opacus warns about secure RNG and full backward hooks
            engine = PrivacyEngine(accountant="rdp")
            model, opt, loader = engine.make_private_with_epsilon(
                module=self.net_,
                optimizer=opt,
                data_loader=loader,
                target_epsilon=self.epsilon,
                target_delta=self.delta,
                epochs=self.dp_epochs,
                max_grad_norm=self.max_grad_norm,
                noise_generator=secret_torch_generator(dev),
            )
        g = secret_torch_generator(dev)  # diffusion noise and times: not replayable from the seed

        def step(b: Any) -> torch.Tensor:
            self._update_ema()
            return self._loss(model, b[0].to(dev), b[1].to(dev), g, reduce="sum") / batch

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
            spent = float(engine.get_epsilon(self.delta))
        self._update_ema()
        history = getattr(engine.accountant, "history", [])
        ledger = {
            "epsilon_target": self.epsilon,
            "delta": self.delta,
            "epsilon_spent": spent,
            "composition": "DP-SGD only",
            "dp_sgd": {
                "mechanism": "DP-SGD (Opacus, Poisson sampling, per-sample clipping, Gaussian noise)",
                "accountant": "RDP",
                "epsilon_spent": spent,
                "epsilon_budget": self.epsilon,
                "delta": self.delta,
                "noise_multiplier": float(opt.noise_multiplier),
                "max_grad_norm": self.max_grad_norm,
                "sample_rate": float(loader.sample_rate),
                "expected_batch": batch,
                "steps": int(sum(h[2] for h in history)),
                "epochs_run": report["epochs_run"],
                "learning_rate": "fixed before training: " + ", ".join(f"{lr:g}" for lr in report["lr"]),
                "randomness": "noise, Poisson sampling, diffusion times: OS entropy, not the seed",
            },
            "outside_budget": OUTSIDE_BUDGET,
            "statement": "the learning rate and the number of epochs are fixed before training; no "
            "validation split, loss, early stopping or best-epoch choice reads the images; the saved "
            "weights are a moving average of the private iterates (post-processing)",
        }
        return report, ledger

    # -------------------------------------------------------------------------------- sampling
    @torch.no_grad()
    def generate(self, y: np.ndarray, seed: int, chunk: int) -> np.ndarray:
        """Images (floats in [0, 1], (len(y), h, w, c)) for class indices ``y``: DDIM from noise drawn
        from ``(seed, chunk)``, guided by ``guidance``, on CPU in sub-batches of :data:`SAMPLE_BATCH`."""
        h, w, c = self.shape_
        z = (
            derive_rng(seed, "images", "diffusion", chunk)
            .standard_normal((len(y), c, h, w))
            .astype(np.float32)
        )
        out = np.empty((len(y), h, w, c), dtype=np.float32)
        with torch_threads(self.threads):
            for s in range(0, len(y), SAMPLE_BATCH):
                x = self._ddim(
                    torch.from_numpy(z[s : s + SAMPLE_BATCH]), torch.from_numpy(y[s : s + SAMPLE_BATCH])
                )
                out[s : s + SAMPLE_BATCH] = ((x.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()
        return out

    def _ddim(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        net, n = self.ema_net_, x.shape[0]
        times = torch.linspace(1.0, 0.0, self.sample_steps + 1)
        null = torch.full_like(y, self.n_classes_)
        guided = self.guidance != 1.0
        yy = torch.cat([y, null]) if guided else y
        for i in range(self.sample_steps):
            t, t_next = times[i], times[i + 1]
            ab, ab_next = cosine_alpha_bar(t), cosine_alpha_bar(t_next) if i < self.sample_steps - 1 else 1.0
            if guided:
                e_c, e_u = net(torch.cat([x, x]), t.repeat(2 * n), yy).chunk(2)
                eps = e_u + self.guidance * (e_c - e_u)
            else:
                eps = net(x, t.repeat(n), yy)
            x0 = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
            ab_next = torch.as_tensor(ab_next)
            x = ab_next.sqrt() * x0 + (1 - ab_next).sqrt() * eps
        return x

    # ----------------------------------------------------------------------------- persistence
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The averaged weights (saved to ``weights.safetensors``)."""
        return module_to_arrays(self.ema_net_)

    def to_meta(self) -> dict[str, Any]:
        """What ``model.json`` keeps: parameters, shape, classes, the training report and ledger."""
        return {
            "params": self.params(),
            "shape": list(self.shape_),
            "n_classes": self.n_classes_,
            "training": self.report_,
            "privacy": self.privacy_,
        }

    @classmethod
    def from_saved(cls, meta: dict, arrays: Any, seed: int) -> DiffusionModel:
        """Rebuild from :meth:`to_meta` and :meth:`to_arrays` (weights that do not fit are an error)."""
        model = cls(**meta["params"], seed=seed, device="cpu")
        model.shape_ = tuple(int(s) for s in meta["shape"])
        model.n_classes_ = int(meta["n_classes"])
        model.report_, model.privacy_ = meta.get("training"), meta.get("privacy")
        with torch_rng(seed, "images", "init"):
            model.ema_net_ = arrays_to_module(model._network(), dict(arrays))
        return model
