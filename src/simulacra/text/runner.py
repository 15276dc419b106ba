"""Running a text job: asyncio, AIMD concurrency, retries, the cache, the checkpoint, the budget.

Two entry points share one engine:

- :func:`generate_range` makes the examples with indices ``[start, stop)`` of a job and hands each
  outcome (kept or rejected) to a sink. It is the unit of work for scale-out (Ray, processes).
- :func:`run_job` makes exactly ``n`` kept examples into a JSONL file, append-only, so that after
  ``kill -9`` at any moment ``resume=True`` ends with exactly ``n``, none lost, none duplicated.

Example ``i`` is decided by ``(spec, seed, i)`` alone: its attributes come from
``derive_rng(seed, "text", i)``, its few-shot seeds and LLM sampling seeds from streams derived the same
way (see :mod:`simulacra.text.prompt`). Every request is cached on its rendered prompt, model and
parameters, so a rerun or a resume pays only for requests that never finished.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SimulacraError, UsageError
from ..schema.pii import find_pii_in_text
from .accounting import Price, load_prices, price_for
from .backends import Backend, BackendError, Completion, Request
from .cache import RequestCache, request_key
from .filters import Deduper, LabelChecker, heuristics, seed_strings, texts_of, validate
from .prompt import Planned, Prompt, Prompter, llm_seed
from .spec import TaskSpec


class GenerationError(SimulacraError):
    """The backend failed for good (refused the request, or stayed down through every retry)."""


# --------------------------------------------------------------------------------------------------
# the job and its outcomes


@dataclass
class Job:
    """A spec with the run's seed and size. ``Job(spec)`` takes both from the spec (n defaults to 100)."""

    spec: TaskSpec
    n: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        self.seed = self.spec.seed if self.seed is None else int(self.seed)
        self.n = int(self.n if self.n is not None else (self.spec.n or 100))
        if self.n <= 0:
            raise UsageError(f"-n must be a positive number of examples, got {self.n}")
        if self.seed < 0:
            raise UsageError(f"--seed must be a non-negative integer, got {self.seed}")
        self.prompter = Prompter(self.spec, self.seed)

    def plan(self, index: int) -> Planned:
        """Attributes, few-shot seeds, prompt and LLM seed of example ``index``."""
        return self.prompter.plan(index)


@dataclass
class Outcome:
    """What became of one example index: kept (``record``) or rejected (``reason``, ``detail``)."""

    index: int
    record: dict[str, Any] | None
    reason: str | None = None
    detail: str = ""
    answer: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cached: int = 0
    attempts: int = 0

    @property
    def accepted(self) -> bool:
        return self.record is not None

    def reject_line(self) -> dict[str, Any]:
        """The line written to the rejects file."""
        return {
            "index": self.index,
            "reason": self.reason,
            "detail": self.detail,
            "attributes": self.attributes,
            "answer": self.answer,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
        }


@dataclass
class Stats:
    """Running totals, shown by the progress bar and saved as the summary."""

    n: int
    accepted: int = 0
    rejected: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cached: int = 0
    requests: int = 0
    retries: int = 0
    reasons: Counter = field(default_factory=Counter)
    pii_flagged: int = 0
    stopped: str | None = None  # "budget" when the budget stopped the run
    started: float = field(default_factory=time.monotonic)
    resumed: int = 0  # examples already in the file when the run started

    def add(self, o: Outcome) -> None:
        self.tokens_in += o.tokens_in
        self.tokens_out += o.tokens_out
        self.cost += o.cost
        self.cached += o.cached
        if o.accepted:
            self.accepted += 1
            if o.record and o.record.get("_meta", {}).get("pii"):
                self.pii_flagged += 1
        else:
            self.rejected += 1
            self.reasons[o.reason] += 1

    def to_dict(self) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            "n": self.n,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejects_by_reason": dict(self.reasons),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost, 6),
            "cached_requests": self.cached,
            "requests": self.requests,
            "retries": self.retries,
            "pii_flagged": self.pii_flagged,
            "stopped": self.stopped,
            "seconds": round(elapsed, 3),
        }


# --------------------------------------------------------------------------------------------------
# concurrency


class AIMDLimiter:
    """Bounded concurrency that halves on overload (429/503/529) and grows by about one per round of
    successes (additive increase, multiplicative decrease), between 1 and ``maximum``."""

    def __init__(self, maximum: int, initial: int | None = None) -> None:
        self.maximum = max(1, int(maximum))
        self.limit = float(min(self.maximum, initial or self.maximum))
        self.in_use = 0
        self._cond = asyncio.Condition()
        self._last_cut = 0.0

    async def acquire(self) -> float:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_use < max(1, int(self.limit)))
            self.in_use += 1
        return time.monotonic()

    async def release(self) -> None:
        async with self._cond:
            self.in_use -= 1
            self._cond.notify_all()

    def success(self) -> None:
        self.limit = min(float(self.maximum), self.limit + 1.0 / max(self.limit, 1.0))

    def overload(self, started: float) -> None:
        # one cut per round: requests sent before the last cut do not cut again
        if started >= self._last_cut:
            self.limit = max(1.0, self.limit / 2.0)
            self._last_cut = time.monotonic()


@dataclass
class RetryPolicy:
    """Transport retries with exponential backoff and full jitter; validation retries with feedback."""

    max_retries: int = 8
    base_delay: float = 0.25
    max_delay: float = 20.0
    validation_retries: int = 2

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        cap = min(self.max_delay, self.base_delay * (2**attempt))
        wait = random.uniform(0, cap)  # jitter: timing only, never data
        return max(wait, retry_after or 0.0)


# --------------------------------------------------------------------------------------------------
# the engine: one example index in, one outcome out


class Engine:
    """Produces the outcome of one example index (requests, retries, parsing, per-example checks)."""

    def __init__(
        self,
        job: Job,
        backend: Backend,
        *,
        cache: RequestCache | None = None,
        policy: RetryPolicy | None = None,
        prices: dict[str, Any] | None = None,
        label_checker: LabelChecker | None = None,
        stats: Stats | None = None,
    ) -> None:
        self.job, self.backend, self.cache = job, backend, cache
        self.policy = policy or RetryPolicy()
        self.limiter = AIMDLimiter(backend.max_concurrency)
        self.price: Price = price_for(
            backend.model, prices or load_prices(None), local=backend.name == "embedded"
        )
        self.label_checker = label_checker
        self.stats = stats or Stats(job.n)
        self.identity = backend.cache_identity()
        spec = job.spec
        self.copies = (
            seed_strings(spec.seeds.records, spec.output_fields)
            if spec.seeds and spec.quality.echo
            else frozenset()
        )
        q = job.spec.quality
        if q.label_field is not None and label_checker is None:
            self.label_checker = LabelChecker(
                job.spec.seeds.records if job.spec.seeds else [],
                q.label_field,
                job.spec.output_fields,
                q.label_margin,
            )

    async def call(self, request: Request) -> tuple[Completion, bool]:
        """One request through the cache, the limiter and the transport retries: (completion, cached)."""
        key = request_key(request, self.identity) if self.cache is not None else None
        if key is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit, True
        last: BackendError | None = None
        for attempt in range(self.policy.max_retries + 1):
            started = await self.limiter.acquire()
            try:
                self.stats.requests += 1
                completion = await self.backend.complete(request)
            except BackendError as exc:
                last = exc
                if exc.overload:
                    self.limiter.overload(started)
            else:
                self.limiter.success()
                if key is not None:
                    self.cache.put(key, completion)
                return completion, False
            finally:
                await self.limiter.release()
            if not last.retryable:
                raise GenerationError(f"{self.backend.name} backend ({self.backend.model}): {last}")
            self.stats.retries += 1
            await asyncio.sleep(self.policy.delay(attempt, last.retry_after))
        raise GenerationError(
            f"{self.backend.name} backend ({self.backend.model}) failed "
            f"{self.policy.max_retries + 1} times in a row, last: {last}; "
            "check the server, then rerun with --resume"
        )

    def parse(self, text: str, plan: Planned) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:
        """The answer as a dict, or the reason it is not one (``invalid_json`` / ``schema``).

        Control characters inside strings (a raw newline in a review) are accepted: some grammar
        converters allow them, and the text is what the user asked for."""
        start = text.find("{")
        if start < 0:
            return None, ("invalid_json", "no JSON object in the answer")
        try:
            value, _ = json.JSONDecoder(strict=False).raw_decode(text[start:])
        except json.JSONDecodeError as exc:
            return None, ("invalid_json", f"not valid JSON ({exc.msg} at character {exc.pos})")
        problem = validate(value, plan.schema)
        if problem:
            return None, ("schema", problem)
        return value, None

    def check(self, answer: dict[str, Any], plan: Planned) -> tuple[str, str] | None:
        """The per-example quality checks (the same in every chunk; duplicates are checked later)."""
        spec = self.job.spec
        problem = heuristics(answer, spec.quality, plan.fewshot, spec.instruction, self.copies)
        if problem is None and self.label_checker is not None:
            problem = self.label_checker.check(answer, plan.attributes.get(spec.quality.label_field))
        return problem

    async def judge(self, answer: dict[str, Any], plan: Planned, out: Outcome) -> tuple[str, str] | None:
        """The optional LLM judge: a 1-5 score against the spec's rubric from the same backend."""
        q = self.job.spec.quality
        if q.judge_rubric is None:
            return None
        text = (
            f"Rate this generated example from 1 (bad) to 5 (excellent).\nRubric: {q.judge_rubric}\n"
            f"Task: {self.job.prompter.instruction(plan.attributes)}\n"
            f"Attributes: {self.job.prompter.describe(plan.attributes, plan.turns)}\n"
            f"Example: {json.dumps(answer, ensure_ascii=False)}\n"
            'Answer with {"score": N, "reason": "..."}.\nVerdict:'
        )
        prompt = Prompt(text, ({"role": "user", "content": text},))
        schema = {
            "type": "object",
            "properties": {
                "score": {"type": "integer", "minimum": 1, "maximum": 5},
                "reason": {"type": "string", "maxLength": 200},
            },
            "required": ["score", "reason"],
            "additionalProperties": False,
        }
        seed = llm_seed(self.job.seed, plan.index, 1000)
        completion, cached = await self.call(Request(prompt, schema, 80, 0.0, 1.0, seed))
        out.cached += int(cached)
        out.tokens_in += completion.tokens_in
        out.tokens_out += completion.tokens_out
        out.cost += self.price.cost(completion.tokens_in, completion.tokens_out)
        try:
            reply = completion.text
            verdict, _ = json.JSONDecoder(strict=False).raw_decode(reply[reply.index("{") :])
            score = int(verdict["score"])
        except (ValueError, KeyError, TypeError):
            return "judge", "the judge's answer could not be read"
        if score < q.judge_min_score:
            return "judge", f"score {score} < {q.judge_min_score}: {str(verdict.get('reason', ''))[:120]}"
        return None

    async def produce(self, index: int) -> Outcome:
        """Generate, parse, validate and check example ``index``; retry a bad answer with feedback."""
        job, spec = self.job, self.job.spec
        plan = job.plan(index)
        gen = spec.generation
        prompt = plan.prompt
        out = Outcome(index, None, attributes=plan.attributes)
        problem: tuple[str, str] | None = None
        answer: dict[str, Any] | None = None
        model = self.backend.model
        for attempt in range(self.policy.validation_retries + 1):
            seed = plan.llm_seed if attempt == 0 else llm_seed(job.seed, index, attempt)
            request = Request(prompt, plan.schema, gen.max_tokens, gen.temperature, gen.top_p, seed)
            completion, cached = await self.call(request)
            out.attempts += 1
            out.cached += int(cached)
            out.tokens_in += completion.tokens_in
            out.tokens_out += completion.tokens_out
            out.cost += self.price.cost(completion.tokens_in, completion.tokens_out)
            out.answer = completion.text
            model = completion.model or model
            answer, problem = self.parse(completion.text, plan)
            if problem is None:
                problem = self.check(answer, plan)
            if problem is None:
                problem = await self.judge(answer, plan, out)
            if problem is None:
                break
            if problem[0] in (
                "invalid_json",
                "schema",
                "too_short",
                "too_long",
                "empty_field",
                "template_echo",
                "seed_copy",
                "refusal",
            ):
                prompt = plan.prompt.with_feedback(completion.text.strip()[:500], problem[1])
            # other reasons (language, label) retry with a fresh seed only
        if problem is not None:
            out.reason, out.detail = problem
            return out
        texts = texts_of(answer)
        pii = [str(k.value if hasattr(k, "value") else k) for k, c in find_pii_in_text(texts).items() if c]
        if pii and spec.quality.pii == "reject":
            out.reason, out.detail = "pii", f"contains {', '.join(pii)}"
            return out
        out.record = self.record(plan, answer, out, model, pii)
        return out

    def record(
        self, plan: Planned, answer: dict[str, Any], out: Outcome, model: str, pii: list[str]
    ) -> dict[str, Any]:
        """The output line: attributes, generated fields (``messages`` for conversations) and ``_meta``."""
        spec = self.job.spec
        rec: dict[str, Any] = dict(plan.attributes)
        for key, value in answer.items():
            if key == "turns" and spec.conversation is not None:
                rec["messages"] = [
                    {"role": r, "content": t} for r, t in zip(plan.speakers, value, strict=True)
                ]
            else:
                rec[key] = value
        meta: dict[str, Any] = {
            "index": plan.index,
            "task": spec.name,
            "seed": self.job.seed,
            "model": model,
            "backend": self.backend.name,
            "tokens_in": out.tokens_in,
            "tokens_out": out.tokens_out,
            "cost_usd": round(out.cost, 8),
            "attempts": out.attempts,
            "fewshot": len(plan.fewshot),
            "generated": [
                ("messages" if k == "turns" and spec.conversation is not None else k) for k in answer
            ],
        }
        if spec.conversation is not None:
            meta["chat_roles"] = spec.conversation.roles
            if spec.conversation.system:
                meta["system"] = spec.conversation.system
        if pii:
            meta["pii"] = pii
        rec["_meta"] = meta
        return rec

    def dedupe_text(self, record: dict[str, Any]) -> str:
        """The text compared for duplicates: every generated string of the record."""
        spec = self.job.spec
        keys = ["messages" if spec.conversation is not None else None, *spec.output_fields]
        return "\n".join(texts_of({k: record[k] for k in keys if k is not None and k in record}))

    def estimate_cost(self, plan: Planned) -> float:
        """The most one example can cost: every attempt at full max_tokens."""
        tin = self.backend.count_tokens(plan.prompt.text) if self.price.input else 0
        tries = self.policy.validation_retries + 1
        return tries * self.price.cost(tin + 64, self.job.spec.generation.max_tokens)


async def _drive(
    engine: Engine,
    next_index: Callable[[int], int | None],
    on_outcome: Callable[[Outcome], None],
    tasks_max: int,
    finished: Callable[[], bool] = lambda: False,
) -> None:
    """Keep up to ``tasks_max`` examples in flight and hand their outcomes on **in the order started**.

    ``next_index(in_flight)`` says which index to start next (None: none now); ``in_flight`` counts the
    running examples and the finished ones waiting for an earlier index. When ``finished()`` turns
    true, what is still running is cancelled. Handing outcomes on in start
    order (a reorder buffer) makes everything stateful downstream — duplicate removal, the order of the
    lines, where a kill leaves the file — independent of which request happened to finish first.
    """
    pending: set[asyncio.Task] = set()
    started: deque[int] = deque()
    ready: dict[int, Outcome] = {}
    try:
        while True:
            while len(pending) < tasks_max:
                i = next_index(len(pending) + len(ready))
                if i is None:
                    break
                started.append(i)
                pending.add(asyncio.ensure_future(engine.produce(i)))
            if not pending:
                return
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            failed = [t.exception() for t in done if t.exception() is not None]
            for task in done:
                if task.exception() is None:
                    ready[task.result().index] = task.result()
            while started and started[0] in ready:
                on_outcome(ready.pop(started.popleft()))
            if finished():
                return
            if failed:
                raise failed[0]  # what finished after the failed index is redone (from the cache) on resume
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def _tasks_max(backend: Backend, concurrency: int | None) -> int:
    # the embedded model runs one request at a time; one more planned example hides the bookkeeping
    return (concurrency or backend.max_concurrency) + (1 if backend.name == "embedded" else 0)


# --------------------------------------------------------------------------------------------------
# the scale-out unit


async def agenerate_range(
    job: Job,
    start: int,
    stop: int,
    backend: Backend,
    sink: Callable[[Outcome], None],
    *,
    cache: RequestCache | None = None,
    deduper: Deduper | None = None,
    concurrency: int | None = None,
    prices: dict[str, Any] | None = None,
    policy: RetryPolicy | None = None,
    label_checker: LabelChecker | None = None,
) -> Stats:
    """The async form of :func:`generate_range`."""
    engine = Engine(job, backend, cache=cache, prices=prices, policy=policy, label_checker=label_checker)
    if concurrency:
        engine.limiter = AIMDLimiter(concurrency)
    indices: Iterator[int] = iter(range(int(start), int(stop)))

    def on_outcome(o: Outcome) -> None:
        if o.accepted and deduper is not None:
            text = engine.dedupe_text(o.record)
            dup = deduper.check(text)
            if dup is not None:
                o.record, (o.reason, o.detail) = None, dup
            else:
                deduper.add(text, o.index)
        engine.stats.add(o)
        sink(o)

    await _drive(engine, lambda _n: next(indices, None), on_outcome, _tasks_max(backend, concurrency))
    return engine.stats


def generate_range(
    job: Job,
    start: int,
    stop: int,
    backend: Backend,
    sink: Callable[[Outcome], None],
    *,
    cache: RequestCache | None = None,
    deduper: Deduper | None = None,
    concurrency: int | None = None,
    prices: dict[str, Any] | None = None,
    policy: RetryPolicy | None = None,
    label_checker: LabelChecker | None = None,
) -> Stats:
    """Generate the examples with indices ``[start, stop)`` of ``job``; call ``sink(outcome)`` for each.

    The contract for scale-out (one call per chunk, on any worker, in any order):

    - Exactly one :class:`Outcome` per index in ``[start, stop)`` reaches ``sink``, in index order
      (a reorder buffer holds answers that finish early; ``outcome.index`` says which).
      ``outcome.accepted`` → ``outcome.record`` is the output line (attributes, generated fields,
      ``_meta`` with index, model, tokens, cost); otherwise
      ``outcome.reason`` / ``outcome.detail`` say why and ``outcome.reject_line()`` is the rejects line.
    - Example ``i``'s prompt and request depend only on ``(job.spec, job.seed, i)``: attributes from
      ``derive_rng(seed, "text", i)``, few-shot seeds from ``derive_rng(seed, "text", i, "fewshot")``,
      the LLM sampling seed of attempt ``a`` from ``derive_rng(seed, "text", i, "llm", a)``. The same job
      therefore sends the same prompts whatever the chunking. Whether the text is identical depends on
      the backend honouring ``seed`` (llama.cpp does, on the same build and threads).
    - Per-example checks (schema, heuristics, label consistency, the optional LLM judge, PII) run here
      and depend on the example alone (pass a ``label_checker`` built once per worker to avoid loading
      the embedding model per chunk). Duplicate removal is global: pass a shared ``deduper`` to check
      within this call, or leave it ``None`` and deduplicate afterwards (``filters.Deduper`` over the
      merged output, in index order).
    - ``cache`` (a :class:`RequestCache`) makes a retried chunk free for requests that finished.
    - A backend that fails for good raises :class:`GenerationError`; the outcomes already sunk stand,
      and calling again for the indices not yet seen completes the chunk.
    - To reach exactly ``n`` kept examples, run ``[0, n)``, count the kept ones, and run further
      ranges ``[n, n + k)`` until enough are kept (the first ``n`` kept by index are the dataset).
    - ``job`` pickles (the seed examples travel inside it; no file is read on the worker); a backend
      does not (it holds a model or connections): build one per worker with ``backends.make_backend``.

    Returns the chunk's :class:`Stats`. Runs its own event loop (use :func:`agenerate_range` inside one).
    """
    return asyncio.run(
        agenerate_range(
            job,
            start,
            stop,
            backend,
            sink,
            cache=cache,
            deduper=deduper,
            concurrency=concurrency,
            prices=prices,
            policy=policy,
            label_checker=label_checker,
        )
    )


# --------------------------------------------------------------------------------------------------
# the checkpointed run


def side_folder(out: str | os.PathLike) -> Path:
    """``support.jsonl`` → ``support.simulacra/``: the rejects, the request cache, the job and summary."""
    p = Path(out)
    return p.with_name(f"{p.stem}.simulacra")


def _read_lines(path: Path) -> list[dict[str, Any]]:
    """The complete lines of an append-only JSONL file; a torn last line (killed mid-write) is cut off."""
    if not path.exists():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        with open(path, "r+b") as fh:
            fh.truncate(end)
    out = []
    for n, line in enumerate(data[:end].splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise UsageError(f"{path}: line {n} is not JSON; it was not written by simulacra text") from None
    return out


class _Appender:
    """One ``write`` per line on an O_APPEND descriptor, fsync'ed by batch: a kill leaves whole lines."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        self._since_sync = 0

    def write(self, obj: dict[str, Any]) -> None:
        os.write(self.fd, (json.dumps(obj, ensure_ascii=False, default=str) + "\n").encode("utf-8"))
        self._since_sync += 1

    def sync(self) -> None:
        if self._since_sync:
            os.fsync(self.fd)
            self._since_sync = 0

    def close(self) -> None:
        self.sync()
        os.close(self.fd)


@dataclass
class RunResult:
    """Where things went and the run's totals."""

    out: Path
    rejects: Path
    stats: Stats


def job_identity(job: Job, backend: Backend) -> dict[str, Any]:
    """What must not change between a run and its resume."""
    return {"spec": job.spec.fingerprint, "seed": job.seed, "backend": backend.cache_identity()}


async def arun_job(
    job: Job,
    backend: Backend,
    out: str | os.PathLike,
    *,
    resume: bool = False,
    overwrite: bool = False,
    budget: float | None = None,
    cache: bool | str | Path = True,
    prices: dict[str, Any] | None = None,
    concurrency: int | None = None,
    policy: RetryPolicy | None = None,
    progress: Callable[[Stats], None] | None = None,
    label_checker: LabelChecker | None = None,
    max_reject_share: float = 0.9,
) -> RunResult:
    """The async form of :func:`run_job`."""
    out = Path(out)
    side = side_folder(out)
    rejects_path = side / "rejects.jsonl"
    if out.exists() and not (resume or overwrite):
        raise UsageError(f"{out}: already exists; pass --resume to continue it or --overwrite to start again")
    if not out.parent.is_dir():
        raise UsageError(f"{out}: folder {out.parent} does not exist; create it or choose another --out")
    side.mkdir(exist_ok=True)
    ident = job_identity(job, backend)
    job_file = side / "job.json"
    if overwrite:
        out.unlink(missing_ok=True)
        rejects_path.unlink(missing_ok=True)
    elif resume and job_file.exists() and out.exists():
        before = json.loads(job_file.read_text())
        for key in ("spec", "seed", "backend"):
            if before.get(key) != ident[key]:
                raise UsageError(
                    f"{out}: was made with a different {key} ({key} changed since); resuming would "
                    "mix two jobs: use the same spec and options, or a new --out"
                )
    job_file.write_text(json.dumps({**ident, "n": job.n}, indent=1))

    kept = _read_lines(out)
    rejected = _read_lines(rejects_path)
    done = {int(r["_meta"]["index"]) for r in kept} | {int(r["index"]) for r in rejected}
    if len(kept) > job.n:
        raise UsageError(f"{out}: already holds {len(kept)} examples, more than -n {job.n}")
    stats = Stats(job.n, resumed=len(kept))
    stats.accepted, stats.rejected = len(kept), len(rejected)
    stats.reasons.update(r.get("reason") for r in rejected)
    for r in kept:
        stats.tokens_in += r["_meta"].get("tokens_in", 0)
        stats.tokens_out += r["_meta"].get("tokens_out", 0)
        stats.cost += r["_meta"].get("cost_usd", 0.0)
    q = job.spec.quality
    cache_obj = None
    if cache:
        cache_obj = RequestCache(side / "cache.sqlite" if cache is True else Path(cache))
    engine = Engine(
        job, backend, cache=cache_obj, prices=prices, policy=policy, stats=stats, label_checker=label_checker
    )
    if concurrency:
        engine.limiter = AIMDLimiter(concurrency)
    deduper = Deduper(q.dedupe_exact, q.dedupe_near) if (q.dedupe_exact or q.dedupe_near) else None
    if deduper is not None:
        for r in sorted(kept, key=lambda r: r["_meta"]["index"]):
            deduper.add(engine.dedupe_text(r), int(r["_meta"]["index"]))
    writer, reject_writer = _Appender(out), _Appender(rejects_path)
    reserved: dict[int, float] = {}
    counter = iter(range(10**12))
    first_rejected = stats.rejected

    def next_index(in_flight: int) -> int | None:
        # Start what is missing, plus as many more as the reject rate seen so far says will be needed
        # (at most twice what is missing), so the last rejects do not each cost one more round trip.
        # Outcomes are handed on in index order and the run stops at n, so the kept set is always
        # the first n kept by index: extra starts cost requests, never change the output.
        missing = job.n - stats.accepted
        seen = stats.accepted + stats.rejected - stats.resumed - first_rejected
        share = min((stats.rejected - first_rejected) / seen, 0.5) if seen >= 20 else 0.0
        if in_flight >= missing + math.ceil(missing * share / (1 - share)) or stats.stopped:
            return None
        i = next(counter)
        while i in done:
            i = next(counter)
        if budget is not None:
            need = engine.estimate_cost(job.plan(i))
            if stats.cost + sum(reserved.values()) + need > budget:
                stats.stopped = "budget"
                return None
            reserved[i] = need
        done.add(i)
        return i

    def on_outcome(o: Outcome) -> None:
        reserved.pop(o.index, None)
        if stats.accepted >= job.n:
            return  # a spare started in case of rejects: not needed (its answer stays in the cache)
        if o.accepted and deduper is not None:
            text = engine.dedupe_text(o.record)
            dup = deduper.check(text)
            if dup is not None:
                o.record, (o.reason, o.detail) = None, dup
            else:
                deduper.add(text, o.index)
        if o.accepted:
            writer.write(o.record)
        else:
            reject_writer.write(o.reject_line())
        stats.add(o)
        if progress is not None:
            progress(stats)
        fresh_rejects = stats.rejected - first_rejected
        fresh = fresh_rejects + stats.accepted - stats.resumed
        if fresh_rejects >= 50 and fresh_rejects > max_reject_share * fresh:
            reasons = ", ".join(f"{k} {v}" for k, v in stats.reasons.most_common(3))
            raise GenerationError(
                f"{fresh_rejects} of the last {fresh} answers were rejected ({reasons}); see {rejects_path}, "
                "fix the spec, the model or the quality settings, then rerun with --resume"
            )

    try:
        await _drive(
            engine,
            next_index,
            on_outcome,
            _tasks_max(backend, concurrency),
            finished=lambda: stats.accepted >= job.n,
        )
    finally:
        writer.close()
        reject_writer.close()
        if cache_obj is not None:
            cache_obj.close()
    if stats.accepted >= job.n:
        _sort_by_index(out)
    (side / "summary.json").write_text(json.dumps(stats.to_dict(), indent=1))
    return RunResult(out, rejects_path, stats)


def _sort_by_index(path: Path) -> None:
    """Rewrite a finished output in index order (atomically), so concurrency never changes the file."""
    lines = path.read_bytes().splitlines(keepends=True)
    keyed = sorted(lines, key=lambda b: json.loads(b)["_meta"]["index"])
    if keyed == lines:
        return
    tmp = path.with_name(f".{path.name}.sorting")
    tmp.write_bytes(b"".join(keyed))
    os.replace(tmp, path)


def run_job(job: Job, backend: Backend, out: str | os.PathLike, **kwargs: Any) -> RunResult:
    """Generate until ``job.n`` examples are kept in ``out`` (JSONL), or the budget would be exceeded.

    ``resume=True`` continues a file a killed run left (any moment, kill -9 included): complete lines
    are kept, a torn last line is cut, indices already kept or rejected are skipped, and cached requests
    are not paid again. ``overwrite=True`` starts again (the request cache is kept). ``budget`` (USD)
    stops starting requests whose worst-case cost could exceed it; ``cache`` is True (the side folder),
    False, or a sqlite path. When more than ``max_reject_share`` of at least 50 fresh answers are
    rejected, the run stops with :class:`GenerationError` instead of spending on a broken spec.
    Rejects go to ``<stem>.simulacra/rejects.jsonl`` with their reason.
    """
    return asyncio.run(arun_job(job, backend, out, **kwargs))


# --------------------------------------------------------------------------------------------------
# dry run


def dry_run(
    job: Job,
    backend: Backend | None = None,
    *,
    examples: int = 3,
    prices: dict[str, Any] | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """The prompts of the first ``examples`` examples and an estimate of tokens and cost; sends nothing."""
    count = backend.count_tokens if backend is not None else (lambda t: max(1, len(t) // 4))
    sample = [job.plan(i) for i in range(min(job.n, 50))]
    prompt_tokens = [count(p.prompt.text) for p in sample]
    gen = job.spec.generation
    outs = [count(job.prompter.answer(r)) for r in (job.spec.seeds.records[:50] if job.spec.seeds else [])]
    expected_out = min(gen.max_tokens, int(sum(outs) / len(outs))) if outs else gen.max_tokens // 2
    name = model or (backend.model if backend is not None else "unknown")
    price = price_for(
        name, prices or load_prices(None), local=backend is not None and backend.name == "embedded"
    )
    avg_in = sum(prompt_tokens) / len(prompt_tokens)
    return {
        "prompts": [
            {"index": p.index, "attributes": p.attributes, "prompt": p.prompt.text} for p in sample[:examples]
        ],
        "n": job.n,
        "model": name,
        "tokens_in_per_example": round(avg_in, 1),
        "tokens_out_per_example": expected_out,
        "max_tokens": gen.max_tokens,
        "tokens_in_total": int(avg_in * job.n),
        "tokens_out_total": int(expected_out * job.n),
        "cost_usd": round(price.cost(int(avg_in * job.n), expected_out * job.n), 4),
        "cost_usd_max": round(price.cost(int(avg_in * job.n), gen.max_tokens * job.n), 4),
        "price_known": price.known,
    }
