"""A conditional GAN over bin codes, in the spirit of CTGAN.

Rows are one-hot vectors of their codes. CTGAN's mode-specific normalisation splits a number into a
mode and a position inside it; here the codec already does that (point bins for frequent values,
quantile intervals, the value drawn inside its bin), so the GAN sees only codes. As in CTGAN: a
conditional vector picks one column and one of its codes (training-by-sampling, codes drawn by their
log-frequency so rare codes are trained too), the generator is an MLP with residual blocks and batch
norm whose per-column outputs go through Gumbel-softmax, the critic sees packs of ``pac`` rows
(PacGAN) and is trained with the WGAN gradient penalty, and the generator is also penalised when it
does not honour the conditional vector. Early stopping watches a validation criterion: the fidelity
(1 − total variation over columns and column pairs) of generated codes against held-out rows.

Conditions at sampling time: the conditional vector fixes one conditioned column's code (drawn from
the training frequencies restricted to the allowed codes), the other conditions are met by
rejection; a condition too rare for that raises :class:`ConditionError`.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ....errors import ConditionError, ModelFormatError
from ....progress import as_progress
from ....seeding import derive_rng, torch_generator_from
from ..base import Conditions, Progress
from ..sequential import draw
from .common import (
    Clock,
    TrainReport,
    arrays_to_module,
    code_fidelity,
    module_to_arrays,
    split_validation,
    threaded,
)
from .estimator import DeepModel

EXPERIMENTAL = (
    "the GAN model is experimental and has poor utility: on UCI Adult its synthetic rows carry almost "
    "none of the dependence between columns (a classifier trained on them scores AUC 0.51, chance); "
    "use the autoregressive or diffusion model"
)


class Residual(nn.Module):
    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc, self.bn = nn.Linear(i, o), nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    def __init__(self, z_dim: int, cond_dim: int, dims: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = z_dim + cond_dim
        for h in dims:
            layers.append(Residual(d, h))
            d += h
        layers.append(nn.Linear(d, out_dim))
        self.seq = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.seq(torch.cat([z, cond], dim=1))


class Critic(nn.Module):
    def __init__(self, in_dim: int, dims: tuple[int, ...], pac: int) -> None:
        super().__init__()
        self.pac = pac
        layers: list[nn.Module] = []
        d = in_dim * pac
        for h in dims:
            layers += [nn.Linear(d, h), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            d = h
        layers.append(nn.Linear(d, 1))
        self.seq = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x.reshape(-1, x.shape[1] * self.pac))


class GANModel(DeepModel):
    """Conditional GAN over bin codes (``"gan"``; needs the ``[torch]`` extra).

    Parameters: ``z_dim``, ``generator_dims`` / ``critic_dims``, ``pac``, ``epochs`` (upper bound;
    every ``eval_every`` epochs the validation fidelity is measured, ``patience`` checks without
    progress stop training and the best generator is kept), ``batch_size`` (rounded down to whole packs),
    ``lr``, ``max_minutes``, ``device`` (training; sampling runs on CPU), ``threads``, ``seed``.
    ``fit`` warns (``UserWarning``) that the model is experimental: its utility is poor.
    """

    name: ClassVar[str] = "gan"

    def __init__(
        self,
        z_dim: int = 128,
        generator_dims: tuple[int, ...] = (256, 256),
        critic_dims: tuple[int, ...] = (256, 256),
        pac: int = 10,
        epochs: int = 300,
        batch_size: int = 500,
        lr: float = 2e-4,
        eval_every: int = 5,
        patience: int = 6,
        val_share: float = 0.1,
        max_minutes: float | None = None,
        device: str = "auto",
        threads: int | None = 1,
        seed: int = 0,
    ) -> None:
        self.z_dim = z_dim
        self.generator_dims = generator_dims
        self.critic_dims = critic_dims
        self.pac = pac
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.eval_every = eval_every
        self.patience = patience
        self.val_share = val_share
        self.max_minutes = max_minutes
        self.device = device
        self.threads = threads
        self.seed = seed

    # -- layout ---------------------------------------------------------------------------------
    def _layout(self, cards: list[int]) -> None:
        self.cards_ = [int(c) for c in cards]
        self.offsets_ = np.concatenate([[0], np.cumsum(self.cards_)]).astype(np.int64)
        self.width_ = int(self.offsets_[-1])

    def _activate(self, raw: torch.Tensor, tau: float = 0.2) -> torch.Tensor:
        parts = [
            F.gumbel_softmax(raw[:, a:b], tau=tau, hard=False)
            for a, b in zip(self.offsets_[:-1], self.offsets_[1:], strict=True)
        ]
        return torch.cat(parts, dim=1)

    def _onehot(self, codes: torch.Tensor) -> torch.Tensor:
        out = torch.zeros((codes.shape[0], self.width_), device=codes.device)
        idx = codes + torch.as_tensor(self.offsets_[:-1], device=codes.device)[None, :]
        return out.scatter_(1, idx, 1.0)

    # -- fitting --------------------------------------------------------------------------------
    def _begin(self, codes: np.ndarray, cards: list[int]) -> np.ndarray:
        warnings.warn(EXPERIMENTAL, UserWarning, stacklevel=4)  # at the caller of fit
        self._layout(cards)
        return codes.astype(np.int64)

    def _fit(self, x: np.ndarray, dev: torch.device, progress: Progress) -> None:
        m = len(self.cards_)
        train, val = split_validation(x, self.val_share, self.seed)
        n = train.shape[0]
        self.freqs_ = np.concatenate(
            [np.bincount(train[:, j], minlength=c) / n for j, c in enumerate(self.cards_)]
        ).astype(np.float64)
        sorted_rows = [np.argsort(train[:, j], kind="stable") for j in range(m)]
        counts = [np.bincount(train[:, j], minlength=c) for j, c in enumerate(self.cards_)]
        starts = [np.concatenate([[0], np.cumsum(c)[:-1]]) for c in counts]
        logf = [
            np.log1p(np.bincount(train[:, j], minlength=c).astype(float)) for j, c in enumerate(self.cards_)
        ]
        logf = [lf / lf.sum() for lf in logf]
        gen = Generator(self.z_dim, self.width_, self.generator_dims, self.width_).to(dev)
        crit = Critic(2 * self.width_, self.critic_dims, self.pac).to(dev)
        opt_g = torch.optim.Adam(gen.parameters(), lr=self.lr, betas=(0.5, 0.9), weight_decay=1e-6)
        opt_d = torch.optim.Adam(crit.parameters(), lr=self.lr, betas=(0.5, 0.9), weight_decay=1e-6)
        data = torch.from_numpy(train).to(dev)
        onehot_all = self._onehot(data)
        rng = derive_rng(self.seed)
        bs = max(self.pac, (self.batch_size // self.pac) * self.pac)  # whole packs of rows
        steps = max(1, n // bs)
        clock = Clock(self.max_minutes)
        bar = as_progress(progress)
        bar.start(self.epochs, "epochs")
        report = TrainReport(device=str(dev))
        best, best_state, bad = -math.inf, None, 0
        offs = torch.as_tensor(self.offsets_[:-1], device=dev)

        def condvec() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            cols = rng.integers(0, m, bs)
            cats = np.empty(bs, dtype=np.int64)
            real = np.empty(bs, dtype=np.int64)
            for j in np.unique(cols):
                sel = np.flatnonzero(cols == j)
                k = draw(np.broadcast_to(logf[j], (sel.size, logf[j].size)), rng)
                cats[sel] = k
                pick = starts[j][k] + (rng.random(sel.size) * counts[j][k]).astype(np.int64)
                real[sel] = sorted_rows[j][pick]
            cond = torch.zeros((bs, self.width_), device=dev)
            pos = torch.as_tensor(self.offsets_[cols] + cats, device=dev)
            cond[torch.arange(bs, device=dev), pos] = 1.0
            return cond, torch.as_tensor(cols, device=dev), torch.as_tensor(real, device=dev)

        for epoch in range(1, self.epochs + 1):
            gen.train()
            crit.train()
            total_g = total_d = 0.0
            for _ in range(steps):
                cond, cols, real_idx = condvec()
                z = torch.randn((bs, self.z_dim), device=dev)
                fake = self._activate(gen(z, cond))
                real = onehot_all[real_idx]
                fake_in = torch.cat([fake, cond], 1)
                real_in = torch.cat([real, cond], 1)
                d_loss = -(crit(real_in).mean() - crit(fake_in.detach()).mean())
                d_loss = d_loss + 10.0 * self._penalty(crit, real_in, fake_in.detach())
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()

                cond, cols, _ = condvec()
                z = torch.randn((bs, self.z_dim), device=dev)
                raw = gen(z, cond)
                fake = self._activate(raw)
                g_adv = -crit(torch.cat([fake, cond], 1)).mean()
                g_loss = g_adv + self._cond_loss(raw, cond, cols, offs)
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
                total_g += float(g_loss.detach())
                total_d += float(d_loss.detach())
                if clock.out_of_time():
                    break
            score = float("nan")
            last = clock.out_of_time() or epoch == self.epochs
            if val is not None and (epoch % self.eval_every == 0 or last):
                gen.eval()
                sample = self._generate(
                    gen,
                    min(5000, max(val.shape[0], 500)),
                    derive_rng(epoch),
                    dev,  # keyed by the epoch alone
                )
                score = code_fidelity(sample, val, self.cards_, seed=self.seed)
                if score > best + 1e-4:
                    best, bad, report.best_epoch = score, 0, epoch
                    best_state = copy.deepcopy(gen.state_dict())
                else:
                    bad += 1
            report.history.append(
                [epoch, round(total_g / steps, 5), round(score, 5) if score == score else score]
            )
            report.epochs_run = epoch
            shown = f" · val fidelity {score:.4f}" if score == score else ""
            bar.note(
                f"epoch {epoch}/{self.epochs} · loss G {total_g / steps:.3f} D {total_d / steps:.3f}"
                f"{shown} · ~{clock.left(epoch, self.epochs):.0f} s left"
            )
            bar(1)
            if clock.out_of_time():
                report.stopped = "time"
                break
            if bad >= self.patience:
                report.stopped = "early"
                break
        if best_state is not None:
            gen.load_state_dict(best_state)
        report.best_val = None if math.isinf(best) else round(best, 5)
        report.seconds = round(clock.elapsed, 3)
        self.report_ = report.to_dict()
        self.gen_ = gen.to("cpu").eval()

    @staticmethod
    def _penalty(crit: Critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        pac = crit.pac
        alpha = torch.rand(real.shape[0] // pac, 1, 1, device=real.device).repeat(1, pac, real.shape[1])
        alpha = alpha.view(-1, real.shape[1])
        mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        grad = torch.autograd.grad(crit(mix).sum(), mix, create_graph=True)[0]
        return ((grad.view(-1, pac * real.shape[1]).norm(2, dim=1) - 1) ** 2).mean()

    def _cond_loss(
        self, raw: torch.Tensor, cond: torch.Tensor, cols: torch.Tensor, offs: torch.Tensor
    ) -> torch.Tensor:
        loss = raw.new_zeros(())
        for j, (a, b) in enumerate(zip(self.offsets_[:-1], self.offsets_[1:], strict=True)):
            sel = cols == j
            if sel.any():
                target = cond[sel, a:b].argmax(1)
                loss = loss + F.cross_entropy(raw[sel, a:b], target, reduction="sum")
        return loss / raw.shape[0]

    def _generate(
        self,
        gen: nn.Module,
        n: int,
        rng: np.random.Generator,
        dev: torch.device | str = "cpu",
        fixed: tuple[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Codes of ``n`` generated rows; the conditional vector follows the training frequencies
        (or, with ``fixed = (column, codes)``, fixes that column's code row by row)."""
        m = len(self.cards_)
        tg = torch_generator_from(rng)
        out = np.empty((n, m), dtype=np.int64)
        for s in range(0, n, 8192):
            k = min(8192, n - s)
            if fixed is None:
                cols = rng.integers(0, m, k)
                cats = np.empty(k, dtype=np.int64)
                for j in np.unique(cols):
                    sel = cols == j
                    p = self.freqs_[self.offsets_[j] : self.offsets_[j + 1]]
                    cats[sel] = draw(np.broadcast_to(p, (int(sel.sum()), p.size)), rng)
            else:
                cols = np.full(k, fixed[0])
                cats = fixed[1][s : s + k]
            cond = torch.zeros((k, self.width_))
            cond[torch.arange(k), torch.as_tensor(self.offsets_[cols] + cats)] = 1.0
            z = torch.randn((k, self.z_dim), generator=tg)
            with torch.no_grad():
                raw = gen(z.to(dev), cond.to(dev)).to("cpu")
            for j, (a, b) in enumerate(zip(self.offsets_[:-1], self.offsets_[1:], strict=True)):
                out[s : s + k, j] = draw(torch.softmax(raw[:, a:b], 1).double().numpy(), rng)
        return out

    # -- sampling -------------------------------------------------------------------------------
    @threaded
    def sample_codes(
        self, n: int, rng: np.random.Generator, conditions: Conditions | None = None
    ) -> np.ndarray:
        """Draw ``n`` rows; conditions through the conditional vector plus rejection."""
        if not conditions:
            return self._generate(self.gen_, n, rng).astype(np.int32)
        lead = min(
            conditions,
            key=lambda j: float(
                (self.freqs_[self.offsets_[j] : self.offsets_[j + 1]] * conditions[j][: self.cards_[j]]).sum()
            ),
        )
        p = self.freqs_[self.offsets_[lead] : self.offsets_[lead + 1]] * conditions[lead][: self.cards_[lead]]
        if p.sum() <= 0:
            raise ConditionError(
                "no combination of the conditions is possible under the learned model; relax one of them"
            )
        p = p / p.sum()
        got: list[np.ndarray] = []
        have, tries = 0, 0
        while have < n and tries < 50:
            k = max(2 * (n - have), 1024)
            lead_codes = draw(np.broadcast_to(p, (k, p.size)), rng)
            rows = self._generate(self.gen_, k, rng, fixed=(lead, lead_codes))
            rows[:, lead] = lead_codes
            keep = np.ones(k, dtype=bool)
            for j, w in conditions.items():
                if j != lead:
                    keep &= rng.random(k) < w[rows[:, j]]
            got.append(rows[keep])
            have += int(keep.sum())
            tries += 1
        if have < n:
            raise ConditionError(
                "the conditions are too rare for the GAN to meet them by rejection; "
                "use the autoregressive or trees model for this request"
            )
        return np.concatenate(got)[:n].astype(np.int32)

    # -- persistence ----------------------------------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {"params": self.get_params(), "cards": self.cards_, "training": self.report_}
        return meta, {**module_to_arrays(self.gen_), "freqs": self.freqs_}

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> GANModel:
        self = cls(**meta["params"])
        self._layout(meta["cards"])
        self.report_ = meta.get("training")
        self.freqs_ = arrays["freqs"]
        if self.freqs_.shape != (self.width_,):
            raise ModelFormatError(
                "arrays.npz: the GAN's code frequencies do not fit the columns model.json describes "
                "(one of the files was edited); refit the model"
            )
        gen = Generator(self.z_dim, self.width_, self.generator_dims, self.width_)
        self.gen_ = arrays_to_module(gen, arrays)
        return self
