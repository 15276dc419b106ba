"""What the three deep models share: devices, the training loop (progress, early stopping, time cap,
and the data-blind variant private fits use), weights as numpy arrays for safetensors, and
column-by-column sampling with likelihood weighting.

Everything here needs torch; the registry imports this package only when a deep model is asked for.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ....errors import ModelFormatError, UsageError
from ....progress import as_progress
from ....seeding import derive_rng, step_seed, torch_generator
from ..base import Progress

WEIGHTS = "weights."  # array-name prefix the model directory stores in weights.safetensors
SAMPLE_BATCH = 16_384  # rows per forward pass when sampling (bounds memory)


def pick_device(device: str) -> torch.device:
    """``"auto"`` → CUDA when present, else CPU; ``"cpu"``/``"cuda"`` as asked."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"device '{device}' was asked for but torch sees no CUDA GPU; use device='cpu'")
    if device != "cpu" and not device.startswith("cuda"):
        raise UsageError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    return torch.device(device)


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` torch CPU threads (None: torch's default), restoring the previous count after.

    The networks here are small: on CPU one thread is as fast as two and far faster when the cores
    are busy with other work, so the models default to 1.
    """
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def threaded(method: Callable) -> Callable:
    """Decorate a model method to run under the model's ``threads`` setting (see :func:`torch_threads`)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with torch_threads(self.threads):
            return method(self, *args, **kwargs)

    return wrapper


def embed_dim(card: int, cap: int = 16) -> int:
    """Embedding width of a column with ``card`` codes (fastai's rule of thumb, capped)."""
    return int(min(cap, max(2, round(1.6 * card**0.56))))


def split_validation(
    codes: np.ndarray, share: float, seed: int, min_rows: int = 20
) -> tuple[np.ndarray, np.ndarray | None]:
    """A fixed random share of rows held out for early stopping (none on tiny tables)."""
    n = codes.shape[0]
    n_val = int(round(n * share))
    if share <= 0 or n_val < min_rows or n - n_val < min_rows:
        return codes, None
    perm = derive_rng(seed).permutation(n)
    return codes[perm[n_val:]], codes[perm[:n_val]]


def fixed_schedule(epochs: int, floor: float = 0.1) -> list[float]:
    """Learning-rate factors for epochs 1..``epochs``, fixed before training (what private fits use):
    constant for the first half, then a cosine down to ``floor``."""
    half = epochs // 2
    rest = max(epochs - half, 1)
    return [
        1.0 if e <= half else floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * (e - half) / rest))
        for e in range(1, epochs + 1)
    ]


@dataclass
class TrainReport:
    """What happened during training (kept in ``model.json``).

    A data-blind report (private fits) keeps only what was fixed before training or depends on the
    clock: epochs run, why it stopped, the device and the learning rate of each epoch.
    """

    epochs_run: int = 0
    best_epoch: int = 0
    best_val: float | None = None
    stopped: str = "epochs"  # "epochs" | "early" | "time"
    seconds: float = 0.0
    device: str = "cpu"
    history: list[list[float]] = field(default_factory=list)  # [epoch, train loss, val loss or nan]
    blind: bool = False
    lr: list[float] = field(default_factory=list)  # learning rate of each epoch (data-blind reports)

    def to_dict(self) -> dict[str, Any]:
        if self.blind:
            return {
                "epochs_run": self.epochs_run,
                "stopped": self.stopped,
                "device": self.device,
                "schedule": "fixed before training (no loss read, none kept)",
                "lr": self.lr,
            }
        d = asdict(self)
        del d["blind"], d["lr"]
        d["history"] = [
            [None if isinstance(v, float) and math.isnan(v) else v for v in h] for h in self.history
        ]
        return d


class Clock:
    """Wall time against an optional cap, with a time-left estimate for progress messages."""

    def __init__(self, max_minutes: float | None) -> None:
        self.start = time.perf_counter()
        self.cap = None if max_minutes is None else float(max_minutes) * 60.0

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def out_of_time(self) -> bool:
        return self.cap is not None and self.elapsed >= self.cap

    def left(self, epoch: int, epochs: int) -> float:
        per = self.elapsed / max(epoch, 1)
        est = per * (epochs - epoch)
        return est if self.cap is None else max(0.0, min(est, self.cap - self.elapsed))


def train_loop(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Callable[[int], Iterable[Any]],
    step: Callable[[Any], torch.Tensor],
    val_loss: Callable[[], float] | None,
    *,
    epochs: int,
    patience: int | None,
    max_minutes: float | None,
    progress: Progress,
    device: torch.device,
    keep_best: bool = True,
    plateau: float | None = 0.3,
    schedule: list[float] | None = None,
) -> TrainReport:
    """Run epochs of ``step(batch) -> loss`` until ``epochs``, early stopping or the time cap.

    Early stopping watches ``val_loss()`` (or the training loss when there is none) and, with
    ``keep_best``, restores the weights of the best epoch; on a plateau (no better epoch) the
    learning rate is multiplied by ``plateau``. ``progress`` gets one line per epoch:
    epoch, loss, validation loss and time left.

    With ``schedule`` (learning-rate factors per epoch, see :func:`fixed_schedule`) the loop is
    data-blind, as differential privacy needs: no loss is read, shown or kept, and only the schedule
    and the time cap decide the learning rate and when training ends.
    """
    if schedule is not None:
        if val_loss is not None or patience is not None or keep_best:
            raise ValueError("a data-blind loop has no validation loss, patience or best epoch")
        return _blind_loop(module, optimizer, batches, step, epochs, schedule, max_minutes, progress, device)
    clock = Clock(max_minutes)
    bar = as_progress(progress)
    bar.start(epochs, "epochs")
    report = TrainReport(device=str(device))
    best, best_state, bad = math.inf, None, 0
    for epoch in range(1, epochs + 1):
        module.train()
        total, count = 0.0, 0
        for batch in batches(epoch):
            loss = _step(optimizer, step, batch)
            total += float(loss.detach())
            count += 1
            if clock.out_of_time():
                break
        train = total / max(count, 1)
        module.eval()
        val = float(val_loss()) if val_loss is not None else float("nan")
        crit = val if val_loss is not None else train
        report.history.append([epoch, round(train, 5), round(val, 5) if not math.isnan(val) else val])
        report.epochs_run = epoch
        if crit < best - 1e-4:
            best, bad, report.best_epoch = crit, 0, epoch
            if keep_best:
                best_state = copy.deepcopy(module.state_dict())
        else:
            bad += 1
            if plateau is not None:
                for group in optimizer.param_groups:
                    group["lr"] *= plateau
        shown = f" · val {val:.4f}" if val_loss is not None else ""
        left = clock.left(epoch, epochs)
        bar.note(f"epoch {epoch}/{epochs} · loss {train:.4f}{shown} · ~{left:.0f} s left")
        bar(1)
        if clock.out_of_time():
            report.stopped = "time"
            break
        if patience is not None and bad >= patience:
            report.stopped = "early"
            break
    if keep_best and best_state is not None:
        module.load_state_dict(best_state)
    report.best_val = None if math.isinf(best) else round(best, 5)
    report.seconds = round(clock.elapsed, 3)
    return report


def _step(optimizer: torch.optim.Optimizer, step: Callable[[Any], torch.Tensor], batch: Any) -> torch.Tensor:
    optimizer.zero_grad(set_to_none=True)
    loss = step(batch)
    loss.backward()
    optimizer.step()
    return loss


def _blind_loop(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Callable[[int], Iterable[Any]],
    step: Callable[[Any], torch.Tensor],
    epochs: int,
    schedule: list[float],
    max_minutes: float | None,
    progress: Progress,
    device: torch.device,
) -> TrainReport:
    """:func:`train_loop` with a learning rate fixed before training and no loss read (see there)."""
    clock = Clock(max_minutes)
    bar = as_progress(progress)
    bar.start(epochs, "epochs")
    report = TrainReport(device=str(device), blind=True)
    base = [group["lr"] for group in optimizer.param_groups]
    module.train()
    for epoch in range(1, epochs + 1):
        factor = schedule[min(epoch, len(schedule)) - 1]
        for group, lr in zip(optimizer.param_groups, base, strict=True):
            group["lr"] = lr * factor
        report.lr.append(float(f"{base[0] * factor:.6g}"))
        for batch in batches(epoch):
            _step(optimizer, step, batch)
            if clock.out_of_time():
                break
        report.epochs_run = epoch
        left = clock.left(epoch, epochs)
        bar.note(f"epoch {epoch}/{epochs} · lr {base[0] * factor:.2g} · ~{left:.0f} s left")
        bar(1)
        if clock.out_of_time():
            report.stopped = "time"
            break
    return report


def shuffled_batches(
    data: torch.Tensor, batch_size: int, seed: int
) -> Callable[[int], Iterable[torch.Tensor]]:
    """Per epoch, the rows in a fresh seeded order, cut into batches (the last, short one dropped
    when it would be tiny)."""

    def gen(epoch: int) -> Iterable[torch.Tensor]:
        g = torch_generator(step_seed(seed, epoch, stride=1_000_003))
        perm = torch.randperm(data.shape[0], generator=g).to(data.device)
        n = data.shape[0]
        for s in range(0, n, batch_size):
            idx = perm[s : s + batch_size]
            if idx.numel() < max(2, batch_size // 8) and s > 0:
                break
            yield data[idx]

    return gen


@torch.no_grad()
def mean_loss(
    loss_fn: Callable[[torch.Tensor], torch.Tensor], data: torch.Tensor, batch: int = 8192
) -> float:
    """Row-weighted mean of ``loss_fn`` over ``data`` in batches."""
    total = 0.0
    for s in range(0, data.shape[0], batch):
        part = data[s : s + batch]
        total += float(loss_fn(part)) * part.shape[0]
    return total / max(data.shape[0], 1)


# ------------------------------------------------------------------------------------ weights
def module_to_arrays(module: nn.Module) -> dict[str, np.ndarray]:
    """A module's parameters and buffers as float32 numpy arrays, keyed ``weights.<name>``."""
    return {
        f"{WEIGHTS}{k}": v.detach().to("cpu").contiguous().numpy().copy()
        for k, v in module.state_dict().items()
    }


def arrays_to_module(module: nn.Module, arrays: dict[str, np.ndarray]) -> nn.Module:
    """Load weights saved by :func:`module_to_arrays`; a missing or misshapen one is a format error."""
    state = {
        k[len(WEIGHTS) :]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith(WEIGHTS)
    }
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise ModelFormatError(
            f"weights.safetensors does not fit the network model.json describes ({detail[:160]}); "
            "one of the two files was edited or damaged: refit the model"
        ) from None
    module.eval()
    return module


def code_fidelity(a: np.ndarray, b: np.ndarray, cards: list[int], pairs: int = 60, seed: int = 0) -> float:
    """1 − mean total variation distance of code columns and of random column pairs (a cheap
    validation criterion for models without a likelihood)."""
    m = a.shape[1]
    tv = []
    for j in range(m):
        pa = np.bincount(a[:, j], minlength=cards[j]) / a.shape[0]
        pb = np.bincount(b[:, j], minlength=cards[j]) / b.shape[0]
        tv.append(0.5 * np.abs(pa - pb).sum())
    rng = derive_rng(seed)
    for _ in range(min(pairs, m * (m - 1) // 2)):
        i, j = rng.choice(m, 2, replace=False)
        # coarsen to at most 10 groups per column so pairs are comparable across widths
        ga = np.minimum(a[:, i] * 10 // cards[i], 9) * 10 + np.minimum(a[:, j] * 10 // cards[j], 9)
        gb = np.minimum(b[:, i] * 10 // cards[i], 9) * 10 + np.minimum(b[:, j] * 10 // cards[j], 9)
        pa = np.bincount(ga, minlength=100) / a.shape[0]
        pb = np.bincount(gb, minlength=100) / b.shape[0]
        tv.append(0.5 * np.abs(pa - pb).sum())
    return float(1.0 - np.mean(tv))


def batched_probs(
    net_probs: Callable[[torch.Tensor], torch.Tensor], codes: np.ndarray, batch: int = SAMPLE_BATCH
) -> np.ndarray:
    """Run ``net_probs`` over ``codes`` in batches on CPU without gradients; float64 numpy out."""
    outs = []
    with torch.no_grad():
        for s in range(0, codes.shape[0], batch):
            outs.append(net_probs(torch.from_numpy(codes[s : s + batch])).double().numpy())
    return np.concatenate(outs) if outs else np.zeros((0, 1))
