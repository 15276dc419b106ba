"""The checkpointed run: exactly ``n`` kept examples into a JSONL file, append-only and resumable.

:func:`generate_to_file` makes exactly ``n`` kept examples; after ``kill -9`` at any moment,
``resume=True`` ends with exactly ``n``, none lost, none duplicated. Beside ``out.jsonl`` the side
folder ``out.simulacra/`` holds the rejects, the request cache, the job and the summary.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..progress import ProgressLike, as_progress
from .backends import Backend
from .cache import RequestCache
from .filters import Deduper, LabelChecker
from .job import GenerationError, Job, Outcome, Stats
from .limiter import AIMDLimiter, RetryPolicy
from .pipeline import Engine, drive, tasks_max


def side_folder(out: str | os.PathLike) -> Path:
    """``support.jsonl`` → ``support.simulacra/``: the rejects, the request cache, the job and summary."""
    p = Path(out)
    return p.with_name(f"{p.stem}.simulacra")


def read_lines(path: Path) -> list[dict[str, Any]]:
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


async def agenerate_to_file(
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
    progress: ProgressLike = None,
    label_checker: LabelChecker | None = None,
    max_reject_share: float = 0.9,
) -> RunResult:
    """The async form of :func:`generate_to_file`."""
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

    kept = read_lines(out)
    rejected = read_lines(rejects_path)
    done = {int(r["_meta"]["index"]) for r in kept} | {int(r["index"]) for r in rejected}
    if len(kept) > job.n:
        raise UsageError(f"{out}: already holds {len(kept)} examples, more than -n {job.n}")
    stats = Stats(job.n, resumed=len(kept))
    bar = as_progress(progress)
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
        engine.dedupe(o, deduper)
        if o.accepted:
            writer.write(o.record)
        else:
            reject_writer.write(o.reject_line())
        stats.add(o)
        bar.status(stats.status_line())
        bar.advance(stats.accepted - bar.done)
        fresh_rejects = stats.rejected - first_rejected
        fresh = fresh_rejects + stats.accepted - stats.resumed
        if fresh_rejects >= 50 and fresh_rejects > max_reject_share * fresh:
            reasons = ", ".join(f"{k} {v}" for k, v in stats.reasons.most_common(3))
            raise GenerationError(
                f"{fresh_rejects} of the last {fresh} answers were rejected ({reasons}); see {rejects_path}, "
                "fix the spec, the model or the quality settings, then rerun with --resume"
            )

    try:
        await drive(
            engine,
            next_index,
            on_outcome,
            tasks_max(backend, concurrency),
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


def generate_to_file(job: Job, backend: Backend, out: str | os.PathLike, **kwargs: Any) -> RunResult:
    """Generate until ``job.n`` examples are kept in ``out`` (JSONL), or the budget would be exceeded.

    ``resume=True`` continues a file a killed run left (any moment, kill -9 included): complete lines
    are kept, a torn last line is cut, indices already kept or rejected are skipped, and cached requests
    are not paid again. ``overwrite=True`` starts again (the request cache is kept). ``budget`` (USD)
    stops starting requests whose worst-case cost could exceed it; ``cache`` is True (the side folder),
    False, or a sqlite path. When more than ``max_reject_share`` of at least 50 fresh answers are
    rejected, the run stops with :class:`GenerationError` instead of spending on a broken spec.
    Rejects go to ``<stem>.simulacra/rejects.jsonl`` with their reason.
    """
    return asyncio.run(agenerate_to_file(job, backend, out, **kwargs))
