"""LoRA training of one arm: a fresh adapter on a copy of the base model, seeded, under a time cap."""

from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError
from ..progress import Progress
from ..seeding import derive_rng, torch_rng
from .data import Example, encode

TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass
class TrainSettings:
    """How every arm is trained (the same for all, so arms differ only in their data)."""

    epochs: int = 3
    lr: float = 5e-4
    batch_size: int = 4
    max_len: int = 256
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    max_seconds: float = 15 * 60


@dataclass
class TrainLog:
    """What one arm's training did."""

    steps: int = 0
    planned: int = 0
    seconds: float = 0.0
    stopped_by_time_cap: bool = False
    losses: list[float] = field(default_factory=list)


def lora_config(settings: TrainSettings, model: Any) -> Any:
    """The adapter: rank ``lora_r`` on the attention projections the model has."""
    from peft import LoraConfig

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets = [t for t in TARGET_MODULES if t in names] or "all-linear"
    return LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )


def train_arm(
    base: Any,
    tokenizer: Any,
    examples: list[Example],
    settings: TrainSettings,
    seed: int,
    arm: str,
    progress: Progress,
) -> tuple[Any, TrainLog]:
    """A peft model: ``base`` (copied, untouched) plus a LoRA adapter trained on ``examples``."""
    import torch
    from peft import get_peft_model

    seqs = [encode(tokenizer, ex, settings.max_len) for ex in examples]
    per_epoch = math.ceil(len(seqs) / settings.batch_size)
    log = TrainLog(planned=per_epoch * settings.epochs)
    progress.start(log.planned, f"fine-tune: {arm}")
    with torch_rng(seed, "finetune", arm), warnings.catch_warnings():  # adapter initialisation and dropout
        warnings.simplefilter(
            "ignore", FutureWarning
        )  # transformers' notices of renamed methods, inside peft
        model = get_peft_model(copy.deepcopy(base), lora_config(settings, base))
        model.train()
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=0.0)
        started = time.monotonic()
        for epoch in range(settings.epochs):
            order = derive_rng(seed, "finetune", arm, "order", epoch).permutation(len(seqs))
            for b in range(per_epoch):
                batch = [seqs[i] for i in order[b * settings.batch_size : (b + 1) * settings.batch_size]]
                loss = _step(model, opt, batch)
                log.steps += 1
                log.losses.append(loss)
                log.seconds = time.monotonic() - started
                progress(1)
                progress.status(f"loss {loss:.3f}")
                if log.seconds >= settings.max_seconds and log.steps < log.planned:
                    if log.steps == 1:
                        raise UsageError(
                            f"--max-minutes {settings.max_seconds / 60:g} is shorter than one training step "
                            f"({log.seconds:.0f} s here); give more time or a smaller --max-seq-len"
                        )
                    log.stopped_by_time_cap = True
                    progress.note(f"{arm}: time cap reached after {log.steps} of {log.planned} steps")
                    break
            if log.stopped_by_time_cap:
                break
    model.eval()
    return model, log


def _step(model: Any, opt: Any, batch: list[tuple[list[int], list[int]]]) -> float:
    import torch

    width = max(len(s) for s, _ in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    att = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    for row, (s, m) in enumerate(batch):
        t = torch.tensor(s)
        ids[row, : len(s)] = t
        att[row, : len(s)] = 1
        labels[row, : len(s)] = torch.where(torch.tensor(m, dtype=torch.bool), t, torch.tensor(-100))
    loss = model(input_ids=ids, attention_mask=att, labels=labels).loss
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())
