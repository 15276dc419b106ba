"""LLM batches on the scale-out engine: chunks of example indices spread over local processes or Ray.

Unit ``u`` generates the examples with indices ``[u * size, (u + 1) * size)`` through
:func:`simulacra.text.pipeline.generate_range` against the job's backend (each worker builds its own;
several servers can share the load by giving each worker a base URL from a list), caches its
requests in its own SQLite file in the staging folder (a retried unit pays only for requests that
never finished) and writes its kept examples and its rejects, in index order, as part files.

The driver runs rounds: first ``[0, n)``; then, while duplicates and rejects leave fewer than ``n``
kept, further index ranges sized from the reject rate. Duplicates are removed over the merged parts
in index order, and the first ``n`` kept examples by index are the dataset, so the output does not
depend on the number of workers, and equals a one-process run at concurrency 1 on a backend that
honours the seed.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..io import atomic_path
from ..scale.executor import run_job, staging_dir, write_part
from .checkpoint import side_folder
from .filters import Deduper, texts_of
from .job import Job, Outcome, Stats
from .load import load_task
from .pipeline import agenerate_range
from .spec import TaskSpec

UNIT_EXAMPLES = 32
"""Examples per unit: enough to keep a worker's requests concurrent, small enough to spread."""

_TASKS: dict[str, TaskSpec] = {}
_BACKENDS: dict[str, Any] = {}
_CHECKERS: dict[str, Any] = {}


class TextJob:
    """Examples ``[0, hi)`` of a text task, ``size`` per unit; ``hi`` grows between rounds."""

    def __init__(
        self,
        spec_path: str | Path,
        n: int,
        seed: int | None,
        backend: dict[str, Any],
        size: int = UNIT_EXAMPLES,
        concurrency: int | None = None,
    ) -> None:
        self.spec_path = str(Path(spec_path).resolve())
        self.backend = dict(backend)
        self.size, self.concurrency = int(size), concurrency
        job = Job(self.task, n=n, seed=seed)  # checks n and seed
        self.n, self.seed = int(job.n), int(job.seed)  # type: ignore[arg-type]
        self.hi = self.n

    @property
    def task(self) -> TaskSpec:
        """The task spec, loaded once per process."""
        if self.spec_path not in _TASKS:
            _TASKS[self.spec_path] = load_task(self.spec_path)
        return _TASKS[self.spec_path]

    def label_checker(self) -> Any:
        """The embedding label check of the spec (``quality.label_check``), built once per process."""
        q = self.task.quality
        if q.label_field is None:
            return None
        if self.spec_path not in _CHECKERS:
            from .filters import LabelChecker

            seeds = self.task.seeds.records if self.task.seeds else []
            _CHECKERS[self.spec_path] = LabelChecker(
                seeds, q.label_field, self.task.output_fields, q.label_margin
            )
        return _CHECKERS[self.spec_path]

    def make_backend(self) -> Any:
        """A backend for one unit; with ``base_urls``, worker ``pid`` picks one of them.

        An HTTP client belongs to the event loop of one unit, so HTTP backends are made per unit; the
        embedded model is loaded once per process.
        """
        from .backends import make_backend

        kwargs = dict(self.backend)
        urls = kwargs.pop("base_urls", None)
        if urls:
            kwargs["base_url"] = urls[os.getpid() % len(urls)]
        if kwargs.get("kind", "embedded") != "embedded":
            return make_backend(**kwargs)
        key = json.dumps(kwargs, sort_keys=True)
        if key not in _BACKENDS:
            _BACKENDS[key] = make_backend(**kwargs)
        return _BACKENDS[key]

    def fingerprint(self) -> dict[str, Any]:
        spec = self.task
        backend = {k: v for k, v in self.backend.items() if k not in ("base_urls", "base_url", "concurrency")}
        return {
            "job": "text",
            "spec": spec.fingerprint,
            "seed": self.seed,
            "backend": backend,
            "size": self.size,
        }

    def units(self) -> list[int]:
        return list(range(math.ceil(self.hi / self.size)))

    def unit_rows(self, unit: int) -> int:
        return min(self.size, self.hi - unit * self.size)

    def run_unit(self, unit: int, staging: Path) -> list[dict[str, Any]]:
        """Generate the unit's examples; write kept and rejected ones as two part files."""
        from .cache import RequestCache

        start, stop = unit * self.size, (unit + 1) * self.size
        outcomes: list[Outcome] = []
        cache = RequestCache(staging / "cache" / f"unit-{unit:06d}.sqlite")
        backend = self.make_backend()

        async def generate() -> Stats:
            try:
                return await agenerate_range(
                    Job(self.task, n=self.n, seed=self.seed),
                    start,
                    stop,
                    backend,
                    outcomes.append,
                    cache=cache,
                    concurrency=self.concurrency,
                    label_checker=self.label_checker(),
                )
            finally:
                if backend.name != "embedded":
                    await backend.aclose()

        try:
            stats = asyncio.run(generate())
        finally:
            cache.close()
        outcomes.sort(key=lambda o: o.index)
        kept = [o.record for o in outcomes if o.accepted]
        rejected = [o.reject_line() for o in outcomes if not o.accepted]
        entries = []
        for kind, rows in (("kept", kept), ("rejects", rejected)):
            path = staging / kind / f"part-{unit:06d}.jsonl"
            entries.append({**write_part(path, lambda tmp, rows=rows: _write_lines(tmp, rows)), "kind": kind})
        entries[0]["stats"] = stats.to_dict()
        return entries

    def finish(self, staging: Path, out: Path, entries: dict[int, list[dict[str, Any]]]) -> Stats:
        """Deduplicate the kept examples in index order, keep the first ``n``, write ``out`` and rejects."""
        last = getattr(self, "_last_merge", None)
        merged = last[1] if last is not None and last[0] == sorted(entries) else self.merge(staging, entries)
        with atomic_path(out) as tmp:
            _write_lines(tmp, merged["kept"][: self.n])
        side = side_folder(out)
        side.mkdir(exist_ok=True)
        _write_lines(side / "rejects.jsonl", merged["rejects"])
        stats = merged["stats"]
        (side / "summary.json").write_text(json.dumps(stats.to_dict(), indent=1))
        return stats

    def merge(self, staging: Path, entries: dict[int, list[dict[str, Any]]]) -> dict[str, Any]:
        """The parts read back in index order, with duplicates moved to the rejects (kept for ``finish``)."""
        spec = self.task
        q = spec.quality
        deduper = Deduper(q.dedupe_exact, q.dedupe_near) if (q.dedupe_exact or q.dedupe_near) else None
        keys = ["messages" if spec.conversation is not None else None, *spec.output_fields]
        stats = Stats(self.n)
        kept, rejects = [], []
        for unit in sorted(entries):
            for e in entries[unit]:
                rows = _read_lines(staging / e["file"])
                if e["kind"] == "rejects":
                    rejects.extend(rows)
                    continue
                part = e.get("stats", {})
                for name in ("tokens_in", "tokens_out", "cached_requests", "requests", "retries"):
                    attr = {"cached_requests": "cached"}.get(name, name)
                    setattr(stats, attr, getattr(stats, attr) + int(part.get(name, 0)))
                stats.cost += float(part.get("cost_usd", 0.0))
                for r in rows:
                    index = int(r["_meta"]["index"])
                    if deduper is not None:
                        text = "\n".join(texts_of({k: r[k] for k in keys if k is not None and k in r}))
                        dup = deduper.check(text)
                        if dup is not None:
                            rejects.append({"index": index, "reason": dup[0], "detail": dup[1]})
                            continue
                        deduper.add(text, index)
                    kept.append(r)
        for r in rejects:
            stats.reasons[r.get("reason")] += 1
        stats.accepted = min(len(kept), self.n)
        stats.rejected = len(rejects)
        stats.pii_flagged = sum(1 for r in kept[: self.n] if r.get("_meta", {}).get("pii"))
        merged = {"kept": kept, "rejects": rejects, "stats": stats}
        self._last_merge = (sorted(entries), merged)
        return merged

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_last_merge", None)  # the merged examples stay with the driver
        return state


def _write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")


def _read_lines(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def generate_on_engine(
    spec_path: str | Path,
    out: str | Path,
    backend: dict[str, Any],
    n: int | None = None,
    seed: int | None = None,
    engine: str = "local",
    workers: int | None = None,
    size: int = UNIT_EXAMPLES,
    concurrency: int | None = None,
    max_rounds: int = 20,
    progress: Any = None,
) -> Stats:
    """Generate ``n`` kept examples of a task into ``out`` (JSONL) on local processes or Ray.

    ``backend`` holds the keyword arguments of :func:`simulacra.text.backends.make_backend` (e.g.
    ``{"kind": "openai", "base_url": "http://vllm:8000/v1", "model": "..."}``); ``base_urls`` (a list)
    spreads the workers over several servers. API keys are read from the environment of each worker.
    A re-run after a crash reuses the units already written (and each unit's request cache).
    """
    out = Path(out)
    if out.suffix.lower() != ".jsonl":
        raise UsageError(f"--out {out}: the output is JSONL; name it *.jsonl")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise UsageError(f"{out}: folder {out.parent} does not exist; create it or choose another --out")
    job = TextJob(
        spec_path, n if n is not None else (load_task(spec_path).n or 100), seed, backend, size, concurrency
    )
    staging = staging_dir(out)
    for round_ in range(max_rounds):
        entries = run_job(job, out, engine, workers, progress, finish=False, report_done=round_ == 0)
        merged = job.merge(staging, entries)
        have = len(merged["kept"])
        if have >= job.n:
            return run_job(job, out, engine, workers, finish=True)
        kept_share = max(have / job.hi, 0.05)
        job.hi += job.size * math.ceil((job.n - have) / kept_share * 1.1 / job.size)
    raise UsageError(
        f"{spec_path}: after {max_rounds} rounds only {have:,} of {job.n:,} examples were kept "
        f"(see the rejects in {staging}); loosen the quality filters or check the backend"
    )
