"""The dry run: the first prompts of a job and an estimate of its tokens and cost, with nothing sent."""

from __future__ import annotations

from typing import Any

from .accounting import load_prices, price_for
from .backends import Backend
from .job import Job


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
