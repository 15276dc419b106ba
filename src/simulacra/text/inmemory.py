"""Records in memory: :func:`generate` makes ``n`` kept examples and returns them as a list of dicts."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

from .backends import Backend, make_backend
from .filters import Deduper
from .job import GenerationError, Job, Outcome, Stats
from .pipeline import agenerate_range
from .spec import TaskSpec


def generate(
    spec: TaskSpec | dict | str | Path,
    n: int | None = None,
    backend: Backend | None = None,
    *,
    seed: int | None = None,
    max_rounds: int = 20,
    rejects: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Generate ``n`` kept examples of ``spec`` and return them (the lines :func:`generate_to_file` writes).

    ``spec`` is a :class:`TaskSpec`, a dict or a YAML path; ``backend`` defaults to the embedded model
    (loaded here and released after). Examples are made in index order in rounds until ``n`` are kept
    after the quality checks and duplicate removal, so the records are the first ``n`` kept by index,
    as in a file run of the same job. Rejected examples' lines are appended to ``rejects`` when given.
    """
    from .load import load_task

    task = spec if isinstance(spec, TaskSpec) else load_task(spec)
    job = Job(task, n=n, seed=seed)
    own = backend is None
    backend = make_backend("embedded") if own else backend
    try:
        return asyncio.run(_generate(job, backend, max_rounds, rejects))
    finally:
        if own:
            asyncio.run(backend.aclose())


async def _generate(
    job: Job, backend: Backend, max_rounds: int, rejects: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    q = job.spec.quality
    deduper = Deduper(q.dedupe_exact, q.dedupe_near) if (q.dedupe_exact or q.dedupe_near) else None
    kept: list[dict[str, Any]] = []
    seen = 0

    def sink(o: Outcome) -> None:
        if o.accepted:
            kept.append(o.record)
        elif rejects is not None:
            rejects.append(o.reject_line())

    start, stop = 0, job.n
    for _ in range(max_rounds):
        stats: Stats = await agenerate_range(job, start, stop, backend, sink, deduper=deduper)
        seen += stats.accepted + stats.rejected
        if len(kept) >= job.n:
            return kept[: job.n]
        share = max(len(kept) / max(seen, 1), 0.05)
        start, stop = stop, stop + math.ceil((job.n - len(kept)) / share * 1.1)
    raise GenerationError(
        f"after {max_rounds} rounds only {len(kept)} of {job.n} examples were kept; "
        "loosen the quality filters or check the backend"
    )
