"""Scores of one student on the real holdout: label log-likelihoods (classify), per-token loss (chat),
bootstrap intervals over holdout examples (the same resamples for every arm, so differences are paired),
and greedy answers to a few held-out prompts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..progress import Progress
from .data import Example, encode, prompt_ids

BOOTSTRAP = 1000


def sequence_logprobs(
    model: Any, seqs: list[tuple[list[int], list[int]]], batch_size: int, progress: Progress | None = None
) -> np.ndarray:
    """Per sequence: (sum of log p of its masked tokens, how many) — each token given the ones before it."""
    import torch

    out = np.zeros((len(seqs), 2))
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i][0]))  # similar lengths batch together
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(seqs[i][0]) for i in idx)
            ids = torch.zeros((len(idx), width), dtype=torch.long)
            att = torch.zeros((len(idx), width), dtype=torch.long)
            msk = torch.zeros((len(idx), width), dtype=torch.float32)
            for row, i in enumerate(idx):
                s, m = seqs[i]
                ids[row, : len(s)] = torch.tensor(s)
                att[row, : len(s)] = 1
                msk[row, : len(m)] = torch.tensor(m, dtype=torch.float32)
            logits = model(input_ids=ids, attention_mask=att).logits[:, :-1].float()
            logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
            weight = msk[:, 1:]
            sums = (logp * weight).sum(1).numpy()
            counts = weight.sum(1).numpy()
            for row, i in enumerate(idx):
                out[i] = (sums[row], counts[row])
            if progress is not None:
                progress(len(idx))
    return out


def classify_predictions(
    model: Any,
    tokenizer: Any,
    holdout: list[Example],
    labels: list[str],
    max_len: int,
    batch_size: int,
    progress: Progress | None = None,
) -> tuple[list[str], np.ndarray]:
    """The label of highest log-likelihood for each example (exact constraint to the label set), and the
    log-likelihood matrix (examples × labels)."""
    seqs = [encode(tokenizer, ex, max_len, answer=label) for ex in holdout for label in labels]
    scores = sequence_logprobs(model, seqs, batch_size, progress)[:, 0].reshape(len(holdout), len(labels))
    return [labels[j] for j in scores.argmax(1)], scores


def chat_token_losses(
    model: Any,
    tokenizer: Any,
    holdout: list[Example],
    max_len: int,
    batch_size: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """Per conversation: (summed negative log-likelihood of its assistant tokens, their count)."""
    seqs = [encode(tokenizer, ex, max_len) for ex in holdout]
    got = sequence_logprobs(model, seqs, batch_size, progress)
    return np.stack([-got[:, 0], got[:, 1]], axis=1)


def macro_f1(y: np.ndarray, p: np.ndarray, k: int) -> float:
    """Macro-averaged F1 over the classes present in ``y`` or ``p`` (codes 0..k-1)."""
    f1s = []
    for c in range(k):
        tp = np.sum((y == c) & (p == c))
        fp = np.sum((y != c) & (p == c))
        fn = np.sum((y == c) & (p != c))
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else float("nan")


def resamples(n: int, rng: np.random.Generator, b: int = BOOTSTRAP) -> np.ndarray:
    """``b`` bootstrap resamples of ``n`` indices (shared by every arm: paired)."""
    return rng.integers(0, n, size=(b, n))


def interval(values: np.ndarray) -> list[float]:
    """The 95% percentile interval."""
    lo, hi = np.nanpercentile(values, [2.5, 97.5])
    return [float(lo), float(hi)]


def classify_scores(y: np.ndarray, p: np.ndarray, k: int, idx: np.ndarray) -> dict[str, Any]:
    """Accuracy and macro-F1 with bootstrap intervals; the resampled values too (for paired differences)."""
    acc_b = (y[idx] == p[idx]).mean(1)
    f1_b = np.array([macro_f1(y[r], p[r], k) for r in idx])
    return {
        "accuracy": {"value": float((y == p).mean()), "interval": interval(acc_b)},
        "macro_f1": {"value": macro_f1(y, p, k), "interval": interval(f1_b)},
        "_boot": {"accuracy": acc_b, "macro_f1": f1_b},
    }


def cohen_kappa(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Cohen's kappa between two raters' codes (0..k-1) per row of ``a`` and ``b`` (shape ``(..., n)``);
    NaN where chance agreement is 1 (both raters give one same answer throughout)."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    observed = (a == b).mean(-1)
    chance = sum((a == c).mean(-1) * (b == c).mean(-1) for c in range(k))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(chance < 1, (observed - chance) / (1 - chance), np.nan)


def _share(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / np.maximum(bottom, 1), np.nan)


def finite(x: float) -> float | None:
    """``x`` as a float, ``None`` when it is NaN or infinite (JSON has no NaN)."""
    return float(x) if np.isfinite(x) else None


def _scored(values: np.ndarray, boot: np.ndarray) -> dict[str, Any]:
    value = finite(float(values[0]))
    ok = boot[np.isfinite(boot)]
    ci = [finite(v) for v in interval(ok)] if len(ok) else [None, None]
    return {"value": value, "interval": ci}


def teacher_overlap(y: np.ndarray, p: np.ndarray, t: np.ndarray, k: int, idx: np.ndarray) -> dict[str, Any]:
    """How far a student's answers ``p`` coincide with the teacher's ``t`` on the holdout (truth ``y``;
    codes 0..k-1, ``k``: the teacher gave no label of the set), with bootstrap intervals over ``idx``.

    ``agreement`` and ``kappa``: the same answer, raw and beyond chance (Cohen's kappa);
    ``error_jaccard``: the examples both get wrong over those either gets wrong;
    ``student_errors_shared``: the share of the student's errors that the teacher makes too (were the
    errors independent, it would be the teacher's error rate). The resampled values are under ``_boot``."""
    se, te = p != y, t != y
    both, either = se & te, se | te
    full = np.arange(len(y))[None, :]
    out: dict[str, Any] = {}
    boots: dict[str, np.ndarray] = {}
    for name, fn in (
        ("agreement", lambda r: (p[r] == t[r]).mean(-1)),
        ("kappa", lambda r: cohen_kappa(p[r], t[r], k + 1)),
        ("error_jaccard", lambda r: _share(both[r].sum(-1), either[r].sum(-1))),
        ("student_errors_shared", lambda r: _share(both[r].sum(-1), se[r].sum(-1))),
    ):
        boots[name] = fn(idx)
        out[name] = _scored(fn(full), boots[name])
    out["student_errors"] = int(se.sum())
    out["shared_errors"] = int(both.sum())
    out["_boot"] = boots
    return out


def chat_scores(losses: np.ndarray, idx: np.ndarray) -> dict[str, Any]:
    """Per-token loss and perplexity of the held-out assistant turns, with bootstrap intervals."""
    loss = float(losses[:, 0].sum() / losses[:, 1].sum())
    loss_b = losses[idx, 0].sum(1) / np.maximum(losses[idx, 1].sum(1), 1)
    lo, hi = interval(loss_b)
    return {
        "loss": {"value": loss, "interval": [lo, hi]},
        "perplexity": {"value": math.exp(loss), "interval": [math.exp(lo), math.exp(hi)]},
        "tokens": int(losses[:, 1].sum()),
        "_boot": {"loss": loss_b},
    }


def generate(
    model: Any, tokenizer: Any, examples: list[Example], max_len: int, new_tokens: int = 48
) -> list[str]:
    """Greedy answers to ``examples``' prompts (deterministic)."""
    import torch

    answers = []
    with torch.no_grad():
        for ex in examples:
            ids = torch.tensor([prompt_ids(tokenizer, ex, max_len)])
            got = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
            answers.append(tokenizer.decode(got[0, ids.shape[1] :], skip_special_tokens=True).strip())
    return answers
