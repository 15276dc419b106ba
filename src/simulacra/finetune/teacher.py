"""Inherited mistakes: the generating model (the teacher) answers the held-out questions too.

The teacher is a ``simulacra text`` backend: ``embedded`` (the llama.cpp model of the ``[local-llm]``
extra) or an OpenAI-compatible server URL (``--backend openai --base-url URL``), built with
:func:`simulacra.text.make_backend`. It is asked the way the text generator asks: few-shot completion
text (one real example of each label, ``Input: text: ...`` / ``Output: {"label": ...}``) with the
answer constrained by a JSON schema whose ``label`` is an enum of the label set, at temperature 0.
Each student arm's answers are then compared with the teacher's: how far their errors coincide
(:func:`simulacra.finetune.scoring.teacher_overlap`).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np

from ..errors import SimulacraError, UsageError
from ..progress import Progress
from ..seeding import derive_rng, derive_seed
from ..text.backends import Backend, BackendError, Request, make_backend
from ..text.limiter import AIMDLimiter, RetryPolicy
from ..text.prompt import Prompt
from . import scoring

SHOTS_PER_LABEL = 1
SHOT_CHARS = 400
"""Few-shot examples are cut to this many characters (the embedded model's context is 2,048 tokens)."""
MAX_TOKENS = 24


def check_teacher(
    teacher: Any, model: str | None, api: str | None, structured: str | None, task: str
) -> None:
    """Refuse teacher options that cannot work, in one line naming the option."""
    given = {"--teacher-model": model, "--teacher-api": api, "--teacher-structured": structured}
    if teacher is None:
        for flag, value in given.items():
            if value is not None:
                raise UsageError(f"{flag} describes the teacher: give --teacher embedded or a URL too")
        return
    if task != "classify":
        raise UsageError(
            "--teacher applies to --task classify (the teacher answers each held-out text with a label)"
        )
    if isinstance(teacher, Backend):
        return
    if not isinstance(teacher, str) or not (
        teacher == "embedded" or teacher.startswith(("http://", "https://"))
    ):
        raise UsageError(
            f"--teacher {teacher!r}: give embedded (the local model) or an OpenAI-compatible server URL "
            "(http://HOST:PORT/v1)"
        )
    if teacher == "embedded" and api is not None:
        raise UsageError("--teacher-api applies to a server URL, not to --teacher embedded")


def open_teacher(
    teacher: Any,
    model: str | None = None,
    api: str | None = None,
    structured: str | None = None,
    threads: int | None = None,
) -> tuple[Backend, str]:
    """The teacher's backend and how the report names its source (``embedded`` or the URL)."""
    if isinstance(teacher, Backend):
        return teacher, str(getattr(teacher, "base_url", teacher.name))
    if teacher == "embedded":
        return make_backend("embedded", model=model, structured=structured, n_threads=threads), "embedded"
    backend = make_backend("openai", model=model, base_url=teacher, api=api or "chat", structured=structured)
    return backend, str(teacher)


def label_schema(labels: list[str]) -> dict[str, Any]:
    """The JSON schema of one answer: ``{"label": <one of labels>}``."""
    return {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": list(labels)}},
        "required": ["label"],
        "additionalProperties": False,
    }


def pick_shots(
    pairs: list[tuple[str, str]], labels: list[str], seed: int, per_label: int = SHOTS_PER_LABEL
) -> list[tuple[str, str]]:
    """``per_label`` examples of each label (a seeded choice), in label order."""
    shots = []
    for label in labels:
        pool = [p for p in pairs if p[1] == label]
        if not pool:
            continue
        rng = derive_rng(seed, "finetune", "teacher", "shots", label)
        take = rng.choice(len(pool), size=min(per_label, len(pool)), replace=False)
        shots += [pool[int(i)] for i in sorted(take)]
    return shots


def teacher_prompt(text: str, labels: list[str], shots: list[tuple[str, str]]) -> Prompt:
    """The few-shot question for one text, as completion text and as chat messages."""
    head = (
        f"Classify the text. Answer with one of: {', '.join(labels)}.\n"
        "Each answer is one JSON object with the fields: label."
    )
    blocks = [
        f"Input: text: {_one_line(t)[:SHOT_CHARS]}\nOutput: {json.dumps({'label': y}, ensure_ascii=False)}"
        for t, y in shots
    ]
    ask = f"Input: text: {_one_line(text)}\nOutput:"
    body = "\n\n".join([head, *blocks, ask])
    user = "\n\n".join([*blocks, ask]) + " (reply with the JSON object only)"
    return Prompt(body, ({"role": "system", "content": head}, {"role": "user", "content": user}))


def parse_label(text: str, labels: list[str]) -> str | None:
    """The label in an answer, or ``None`` when the answer holds no label of the set."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder(strict=False).raw_decode(text[start:])
    except json.JSONDecodeError:
        return None
    label = value.get("label") if isinstance(value, dict) else None
    return label if isinstance(label, str) and label in labels else None


def ask_labels(
    backend: Backend,
    texts: list[str],
    labels: list[str],
    shots: list[tuple[str, str]],
    seed: int,
    progress: Progress,
    source: str = "the teacher",
    close: bool = True,
) -> list[str | None]:
    """The teacher's label for each text (``None`` where its answer held no label of the set); ``close``
    releases the backend afterwards."""
    schema = label_schema(labels)
    policy = RetryPolicy(max_retries=4)

    async def ask_all() -> list[str | None]:
        limiter = AIMDLimiter(backend.max_concurrency)

        async def one(i: int, text: str) -> str | None:
            request = Request(
                teacher_prompt(text, labels, shots),
                schema,
                MAX_TOKENS,
                0.0,
                1.0,
                derive_seed(seed, "finetune", "teacher", i),
            )
            for attempt in range(policy.max_retries + 1):
                started = await limiter.acquire()
                try:
                    completion = await backend.complete(request)
                except BackendError as exc:
                    if exc.overload:
                        limiter.overload(started)
                    if not exc.retryable or attempt == policy.max_retries:
                        raise SimulacraError(f"--teacher {source}: {exc}") from None
                    wait = policy.delay(attempt, exc.retry_after)
                else:
                    limiter.success()
                    progress(1)
                    return parse_label(completion.text, labels)
                finally:
                    await limiter.release()
                await asyncio.sleep(wait)
            return None  # pragma: no cover - the loop returns or raises

        try:
            return list(await asyncio.gather(*(one(i, t) for i, t in enumerate(texts))))
        finally:
            if close:
                await backend.aclose()

    return asyncio.run(ask_all())


def teacher_answers(
    teacher: Any,
    texts: list[str],
    labels: list[str],
    shot_pairs: list[tuple[str, str]],
    *,
    seed: int,
    progress: Progress,
    model: str | None = None,
    api: str | None = None,
    structured: str | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Ask the teacher every held-out text; what it answered and how it was asked (JSON-ready)."""
    backend, source = open_teacher(teacher, model, api, structured, threads)
    shots = pick_shots(shot_pairs, labels, seed)
    progress.start(len(texts), f"ask the teacher ({source}) the held-out questions")
    started = time.monotonic()
    owned = not isinstance(teacher, Backend)  # a backend passed in stays open for its owner
    answers = ask_labels(backend, texts, labels, shots, seed, progress, source, close=owned)
    return {
        "source": source,
        "backend": backend.name,
        "model": backend.model,
        "constrained": bool(backend.structured),
        "shots": len(shots),
        "predictions": answers,
        "invalid": sum(a is None for a in answers),
        "seconds": round(time.monotonic() - started, 2),
    }


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def codes(answers: list[str | None], labels: list[str]) -> np.ndarray:
    """Answers as label codes; ``len(labels)`` for no label of the set."""
    return np.array([labels.index(a) if a in labels else len(labels) for a in answers])


KAPPA_PAIRS = (("synthetic", "base"), ("synthetic", "seeds"), ("both", "seeds"))
"""Differences of agreement beyond chance with the teacher: did training on its text raise it?"""


def summarise(
    asked: dict[str, Any],
    overlaps: dict[str, dict[str, Any]],
    y: np.ndarray,
    t: np.ndarray,
    labels: list[str],
    idx: np.ndarray,
) -> dict[str, Any]:
    """The report's teacher block: what it was, how it scored, and the kappa differences between arms
    (paired bootstrap). ``overlaps``: each arm's :func:`scoring.teacher_overlap` (with ``_boot``)."""
    k = len(labels)
    scores = scoring.classify_scores(y, t, k, idx)
    scores.pop("_boot")
    error_rate = float((t != y).mean())
    comparisons = []
    for a, b in KAPPA_PAIRS:
        if a in overlaps and b in overlaps:
            diff = overlaps[a]["_boot"]["kappa"] - overlaps[b]["_boot"]["kappa"]
            va, vb = overlaps[a]["kappa"]["value"], overlaps[b]["kappa"]["value"]
            ok = diff[np.isfinite(diff)]
            comparisons.append(
                {
                    "arm": a,
                    "against": b,
                    "metric": "kappa",
                    "difference": None if va is None or vb is None else va - vb,
                    "interval": scoring.interval(ok) if len(ok) else [None, None],
                }
            )
    block = {**asked, "scores": scores, "error_rate": error_rate, "comparisons": comparisons}
    block["text"] = _sentence(block, overlaps)
    return block


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "n/a" if x is None else format(x, spec)


def _sentence(block: dict[str, Any], overlaps: dict[str, dict[str, Any]]) -> str:
    who = "the embedded model" if block["source"] == "embedded" else block["source"]
    text = (
        f"The teacher ({who}, {block['model']}) scores macro-F1 {block['scores']['macro_f1']['value']:.3f} "
        f"on the holdout and is wrong on {block['error_rate']:.0%} of it."
    )
    arm = "synthetic" if "synthetic" in overlaps else None
    if arm is None:
        return text
    o = overlaps[arm]
    lo, hi = o["kappa"]["interval"]
    text += (
        f" The student trained on the synthetic set agrees with it beyond chance at kappa "
        f"{_fmt(o['kappa']['value'])} (95% interval {_fmt(lo)} to {_fmt(hi)}"
    )
    if "seeds" in overlaps:
        text += f"; the real-seeds student: {_fmt(overlaps['seeds']['kappa']['value'])}"
    text += ")"
    shared = o["student_errors_shared"]["value"]
    if shared is not None:
        text += (
            f"; {shared:.0%} of its errors are also the teacher's ({block['error_rate']:.0%} if the errors "
            "were independent)"
        )
    return text + "."
