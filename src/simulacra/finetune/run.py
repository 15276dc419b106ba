"""``finetune``: train the student's arms and score each on the same real holdout.

Arms: ``base`` (untouched), ``seeds`` (LoRA on the real seeds), ``synthetic`` (on the synthetic set) and
``both``; without seeds, ``base`` and ``synthetic``. Everything is written to a temporary folder beside
``out`` and renamed at the end, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError, UsageError
from ..progress import ProgressLike, as_progress
from ..seeding import derive_rng
from . import base as base_model
from . import scoring
from .data import check_labels, classify_examples, name_of, read_chat, read_classify
from .teacher import check_teacher, codes, summarise, teacher_answers
from .train import TrainSettings, train_arm

TASKS = ("classify", "chat")
ARMS = ("base", "seeds", "synthetic", "both")
METRIC = {"classify": ("macro_f1", 1), "chat": ("loss", -1)}
"""The verdict's score per task and its direction (+1: higher is better)."""


@dataclass
class StudentResult:
    """What ``finetune`` measured (``data``, as in ``student.json``) and where it wrote it."""

    data: dict[str, Any]
    out: Path | None

    @property
    def verdict(self) -> str:
        """One sentence: did fine-tuning on the synthetic set help on the real holdout?"""
        return self.data["verdict"]["text"]


def check_settings(
    task: str,
    max_minutes: float,
    epochs: int,
    lr: float,
    batch_size: int,
    max_seq_len: int,
    threads: int,
    seed: int,
    shown: int,
) -> None:
    """Refuse a setting that cannot work, in one line naming the option."""
    if task not in TASKS:
        raise UsageError(f"--task {task!r}: choose {' or '.join(TASKS)}")
    checks = [
        (max_minutes > 0, f"--max-minutes must be > 0, got {max_minutes:g}"),
        (epochs >= 1, f"--epochs must be at least 1, got {epochs}"),
        (lr > 0, f"--lr must be > 0, got {lr:g}"),
        (batch_size >= 1, f"--batch-size must be at least 1, got {batch_size}"),
        (max_seq_len >= 16, f"--max-seq-len must be at least 16 tokens, got {max_seq_len}"),
        (threads >= 1, f"--threads must be at least 1, got {threads}"),
        (seed >= 0, f"--seed must be >= 0, got {seed}"),
        (shown >= 0, f"--show must be >= 0, got {shown}"),
    ]
    for ok, message in checks:
        if not ok:
            raise UsageError(message)


def check_out(out: Path, overwrite: bool) -> None:
    """Refuse an output folder that holds something, unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file; give a folder for the adapters and the report")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UsageError(f"--out {out}: exists and is not empty; choose a new folder or pass --overwrite")


def finetune(
    synthetic: Any,
    *,
    holdout: Any,
    task: str = "classify",
    seeds: Any = None,
    out: str | os.PathLike | None = None,
    text_field: str = "text",
    target: str = "label",
    base: str | os.PathLike | None = None,
    max_minutes: float = 15.0,
    epochs: int = 3,
    lr: float = 5e-4,
    batch_size: int = 4,
    max_seq_len: int = 256,
    threads: int = 1,
    seed: int = 0,
    show: int = 3,
    merge: str | None = None,
    overwrite: bool = False,
    teacher: Any = None,
    teacher_model: str | None = None,
    teacher_api: str | None = None,
    teacher_structured: str | None = None,
    progress: ProgressLike = None,
) -> StudentResult:
    """Fine-tune a small student (LoRA) on the synthetic set, the real seeds and both, and score every arm
    and the untouched base model on the real ``holdout``. ``max_minutes`` caps each arm's training.

    classify: ``synthetic``, ``seeds`` and ``holdout`` are table files, DataFrames or lists of dicts with
    ``text_field`` and ``target``; chat: JSONL files or lists of ``{"messages": [...]}`` or
    ``{"turns": [...]}``.
    With ``out``, writes ``adapters/<arm>/`` (peft, safetensors), ``student.json``, ``student.html`` and,
    with ``merge``, that arm merged into a plain model folder ``merged/``.

    ``teacher`` (classify): the generating model, ``"embedded"``, an OpenAI-compatible server URL or a
    :mod:`simulacra.text` backend, asked every held-out text first; each arm's errors are then compared
    with its errors (``teacher_model``, ``teacher_api``, ``teacher_structured``: as ``simulacra text``'s
    ``--model``, ``--api``, ``--structured``)."""
    check_settings(task, max_minutes, epochs, lr, batch_size, max_seq_len, threads, seed, show)
    check_teacher(teacher, teacher_model, teacher_api, teacher_structured, task)
    prog = as_progress(progress)
    # the data first: every problem is found before a model loads
    labels: list[str] = []
    if task == "classify":
        train_pairs = {"synthetic": read_classify(synthetic, text_field, target, "the synthetic set")}
        if seeds is not None:
            train_pairs["seeds"] = read_classify(seeds, text_field, target, "--seeds")
        hold_pairs = read_classify(holdout, text_field, target, "--holdout")
        labels = sorted({y for pairs in train_pairs.values() for _, y in pairs})
        if len(labels) < 2:
            raise DataError(
                f"{name_of(synthetic, 'the synthetic set')}: only one label ({labels[0]!r}) in the training "
                "sets; a classifier needs at least two"
            )
        check_labels(hold_pairs, labels, name_of(holdout, "--holdout"), target)
        train = {k: classify_examples(v, labels) for k, v in train_pairs.items()}
        held = classify_examples(hold_pairs, labels)
    else:
        train = {"synthetic": read_chat(synthetic, "the synthetic set")}
        if seeds is not None:
            train["seeds"] = read_chat(seeds, "--seeds")
        held = read_chat(holdout, "--holdout")
    if "seeds" in train:
        train["both"] = train["seeds"] + train["synthetic"]
    arms = [a for a in ARMS if a == "base" or a in train]
    if merge is not None and merge not in arms[1:]:
        raise UsageError(f"--merge {merge!r}: choose a trained arm ({', '.join(arms[1:])})")
    if merge is not None and out is None:
        raise UsageError("--merge writes a model folder: give --out too")
    out_path = Path(out) if out is not None else None
    if out_path is not None:
        check_out(out_path, overwrite)

    base_model.require_extra()
    base_dir = base_model.check_base(Path(base)) if base is not None else None
    asked = None
    if teacher is not None:  # before any training: a teacher that cannot answer stops the run early
        shot_pairs = train_pairs.get("seeds", train_pairs["synthetic"])
        asked = teacher_answers(
            teacher, [t for t, _ in hold_pairs], labels, shot_pairs, seed=seed, progress=prog,
            model=teacher_model, api=teacher_api, structured=teacher_structured, threads=threads,
        )
    if base_dir is None:
        if not (base_model.default_base_dir() / "config.json").is_file():
            prog.start(
                None, f"converting the bundled SmolLM2-135M-Instruct into {base_model.default_base_dir()}"
            )
        base_dir = base_model.convert_bundled()
    settings = TrainSettings(
        epochs=epochs, lr=lr, batch_size=batch_size, max_len=max_seq_len, max_seconds=max_minutes * 60
    )
    tmp = None
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.part")
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        with base_model.threads(threads):
            data = _run_arms(
                arms, train, held, labels, task, base_dir, settings, seed, show, tmp, prog, merge, asked
            )
        data["settings"] = {
            "task": task,
            "base": str(base_dir),
            "bundled_base": base is None,
            "threads": threads,
            "seed": seed,
            "max_minutes_per_arm": max_minutes,
            "merged": merge,
            "text_field": text_field if task == "classify" else None,
            "target": target if task == "classify" else None,
            **asdict(settings),
            "versions": _versions(),
        }
        data["data"] = {
            "synthetic": name_of(synthetic, "in memory"),
            "seeds": None if seeds is None else name_of(seeds, "in memory"),
            "holdout": name_of(holdout, "in memory"),
            "sizes": {**{k: len(v) for k, v in train.items()}, "holdout": len(held)},
        }
        if tmp is not None:
            from .html import render_html

            (tmp / "student.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            (tmp / "student.html").write_text(render_html(data), encoding="utf-8")
            if out_path.exists():
                shutil.rmtree(out_path)
            os.replace(tmp, out_path)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return StudentResult(data, out_path)


def _run_arms(
    arms: list[str],
    train: dict[str, list],
    held: list,
    labels: list[str],
    task: str,
    base_dir: Path,
    settings: TrainSettings,
    seed: int,
    show: int,
    tmp: Path | None,
    prog: Any,
    merge: str | None = None,
    asked: dict[str, Any] | None = None,
) -> dict[str, Any]:
    model, tokenizer = base_model.load_base(base_dir)
    idx = scoring.resamples(len(held), derive_rng(seed, "finetune", "bootstrap"))
    shown = held[:show]
    results: dict[str, Any] = {}
    boots: dict[str, dict[str, np.ndarray]] = {}
    y = np.array([labels.index(ex.label) for ex in held]) if task == "classify" else None
    t = codes(asked["predictions"], labels) if asked is not None else None
    overlaps: dict[str, dict[str, Any]] = {}
    for arm in arms:
        started = time.monotonic()
        log = None
        student = model
        if arm != "base":
            student, log = train_arm(model, tokenizer, train[arm], settings, seed, arm, prog)
        trained = time.monotonic() - started
        n_seqs = len(held) * (len(labels) if task == "classify" else 1)
        prog.start(n_seqs, f"score on the holdout: {arm}")
        entry: dict[str, Any] = {"trained_on": len(train.get(arm, [])), "train_seconds": round(trained, 2)}
        if task == "classify":
            preds, _ = scoring.classify_predictions(
                student, tokenizer, held, labels, settings.max_len, settings.batch_size * 2, prog
            )
            p = np.array([labels.index(q) for q in preds])
            scores = scoring.classify_scores(y, p, len(labels), idx)
            entry["predictions"] = preds
            entry["answers"] = preds[: len(shown)]
            if t is not None:
                overlaps[arm] = scoring.teacher_overlap(y, p, t, len(labels), idx)
                entry["teacher"] = {k: v for k, v in overlaps[arm].items() if k != "_boot"}
        else:
            losses = scoring.chat_token_losses(
                student, tokenizer, held, settings.max_len, settings.batch_size, prog
            )
            scores = scoring.chat_scores(losses, idx)
            entry["answers"] = scoring.generate(student, tokenizer, shown, settings.max_len) if shown else []
        boots[arm] = scores.pop("_boot")
        entry["scores"] = scores
        if log is not None:
            entry["training"] = asdict(log)
            if tmp is not None:
                student.save_pretrained(tmp / "adapters" / arm, safe_serialization=True)
            if arm == merge and tmp is not None:  # the adapter folded into the weights: a plain model folder
                student.merge_and_unload().save_pretrained(tmp / "merged", safe_serialization=True)
                tokenizer.save_pretrained(tmp / "merged")
            del student
        results[arm] = entry
    metric, sign = METRIC[task]
    comparisons = _comparisons(results, boots, metric)
    extra = {"teacher": summarise(asked, overlaps, y, t, labels, idx)} if asked is not None else {}
    return {
        "task": task,
        "labels": labels,
        "arms": results,
        "comparisons": comparisons,
        "verdict": _verdict(comparisons, metric, sign),
        "shown": [{"prompt": ex.prompt[-1][1], "reference": ex.messages[-1][1]} for ex in shown],
        "metric": metric,
        **extra,
    }


def _comparisons(results: dict[str, Any], boots: dict[str, dict], metric: str) -> list[dict[str, Any]]:
    pairs = [
        ("synthetic", "base"),
        ("seeds", "base"),
        ("both", "base"),
        ("synthetic", "seeds"),
        ("both", "seeds"),
    ]
    found = []
    for a, b in pairs:
        if a in results and b in results:
            diff = boots[a][metric] - boots[b][metric]
            value = results[a]["scores"][metric]["value"] - results[b]["scores"][metric]["value"]
            found.append(
                {
                    "arm": a,
                    "against": b,
                    "metric": metric,
                    "difference": float(value),
                    "interval": scoring.interval(diff),
                }
            )
    return found


def _verdict(comparisons: list[dict[str, Any]], metric: str, sign: int) -> dict[str, Any]:
    label = {"macro_f1": "macro-F1", "loss": "per-token loss"}[metric]

    def call(c: dict[str, Any]) -> str:
        lo, hi = (sign * v for v in c["interval"])
        return "better" if min(lo, hi) > 0 else "worse" if max(lo, hi) < 0 else "no clear difference"

    by = {(c["arm"], c["against"]): c for c in comparisons}
    vs_base = by[("synthetic", "base")]
    outcome = call(vs_base)
    words = {"better": "helped", "worse": "hurt", "no clear difference": "did not clearly help"}[outcome]
    text = (
        f"Fine-tuning on the synthetic set {words} on the real holdout: {label} "
        f"{vs_base['difference']:+.3f} against the base model (95% interval "
        f"{vs_base['interval'][0]:+.3f} to {vs_base['interval'][1]:+.3f})."
    )
    vs_seeds = by.get(("synthetic", "seeds"))
    if vs_seeds is not None:
        text += (
            f" Against the student trained on the real seeds alone: {call(vs_seeds)} "
            f"({vs_seeds['difference']:+.3f}, {vs_seeds['interval'][0]:+.3f} to "
            f"{vs_seeds['interval'][1]:+.3f})."
        )
    return {
        "synthetic_vs_base": outcome,
        "synthetic_vs_seeds": call(vs_seeds) if vs_seeds else None,
        "text": text,
    }


def _versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}
