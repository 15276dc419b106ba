"""The request pipeline: one example index in, one :class:`Outcome` out, many in flight.

:class:`Engine` plans example ``i``, sends its request through the cache, the limiter and the
retries, parses and validates the answer, runs the per-example checks (and the optional judge) and
builds the output line. :func:`generate_range` drives the engine over ``[start, stop)`` and hands the
outcomes on in index order; it is the unit of work for scale-out (Ray, processes).

Example ``i`` is decided by ``(spec, seed, i)`` alone: its attributes come from
``derive_rng(seed, "text", i)``, its few-shot seeds and LLM sampling seeds from streams derived the same
way (see :mod:`simulacra.text.prompt`). Every request is cached on its rendered prompt, model and
parameters, so a rerun or a resume pays only for requests that never finished.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from ..schema.pii import find_pii_in_text
from .accounting import Price, load_prices, price_for
from .backends import Backend, BackendError, Completion, Request
from .cache import RequestCache, request_key
from .filters import Deduper, LabelChecker, SeedCopies, heuristics, texts_of, validate
from .job import GenerationError, Job, Outcome, Stats
from .limiter import AIMDLimiter, RetryPolicy
from .prompt import Planned, Prompt, llm_seed

__all__ = [
    "Engine",
    "GenerationError",
    "Job",
    "Outcome",
    "Stats",
    "agenerate_range",
    "drive",
    "generate_range",
]


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
            SeedCopies(spec.seeds.records, spec.output_fields, spec.quality.seed_copy)
            if spec.seeds and spec.quality.echo
            else None
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

    def dedupe(self, o: Outcome, deduper: Deduper | None) -> None:
        """Reject an accepted outcome whose text ``deduper`` has seen (its reason says which); remember
        the text of a new one."""
        if not o.accepted or deduper is None:
            return
        text = self.dedupe_text(o.record)
        dup = deduper.check(text)
        if dup is not None:
            o.record, (o.reason, o.detail) = None, dup
        else:
            deduper.add(text, o.index)

    def estimate_cost(self, plan: Planned) -> float:
        """The most one example can cost: every attempt at full max_tokens."""
        tin = self.backend.count_tokens(plan.prompt.text) if self.price.input else 0
        tries = self.policy.validation_retries + 1
        return tries * self.price.cost(tin + 64, self.job.spec.generation.max_tokens)


async def drive(
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


def tasks_max(backend: Backend, concurrency: int | None) -> int:
    """Examples kept in flight: the concurrency, plus one planned ahead for the embedded model."""
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
        engine.dedupe(o, deduper)
        engine.stats.add(o)
        sink(o)

    await drive(engine, lambda _n: next(indices, None), on_outcome, tasks_max(backend, concurrency))
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
