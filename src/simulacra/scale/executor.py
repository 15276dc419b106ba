"""Running a job's units on this process, on local processes, or on a Ray cluster.

A *job* splits into numbered *units* (a few fixed-size chunks each). A unit writes its own part
files from the job description and the seed alone, so the bytes are the same whoever runs it. The
driver keeps an append-only manifest in a staging folder beside the output: a re-run of the same
job after a crash or Ctrl-C skips the units already written, and a unit that fails on a worker is
retried. Only when every unit is in does the job assemble its parts and move them into place.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from ..errors import UsageError
from ..progress import ProgressLike, as_progress

ENGINES = ("local", "ray")
STAGING_SUFFIX = ".simulacra-staging"
MANIFEST = "manifest.jsonl"
JOB_FILE = "job.json"


class Job(Protocol):
    """What an engine needs from a job. Jobs must pickle (they travel to workers)."""

    def fingerprint(self) -> dict[str, Any]:
        """A JSON description of the output; staging is reused only by an identical job."""
        ...

    def units(self) -> list[int]:
        """The unit numbers, in output order."""
        ...

    def unit_rows(self, unit: int) -> int:
        """Rows a unit makes (for progress)."""
        ...

    def run_unit(self, unit: int, staging: Path) -> list[dict[str, Any]]:
        """Write the unit's part files under ``staging``; return their manifest entries."""
        ...

    def finish(self, staging: Path, out: Path, entries: dict[int, list[dict[str, Any]]]) -> Any:
        """Assemble the parts into the final output (atomically); return a summary."""
        ...


def staging_dir(out: Path) -> Path:
    """The hidden folder beside ``out`` where a job's parts and manifest live until it is done."""
    out = Path(out)
    return out.parent / f".{out.name}{STAGING_SUFFIX}"


def write_part(path: Path, write: Callable[[Path], None]) -> dict[str, Any]:
    """Write one part file atomically (temp name, then rename) and describe it for the manifest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {"file": str(path), "bytes": path.stat().st_size}


def _read_manifest(staging: Path) -> dict[int, list[dict[str, Any]]]:
    """Units already written: their entries, if every file they name is there with its size."""
    done: dict[int, list[dict[str, Any]]] = {}
    path = staging / MANIFEST
    if not path.exists():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a crash: that unit runs again
            continue
        entries = rec["entries"]
        if all(
            (staging / e["file"]).is_file() and (staging / e["file"]).stat().st_size == e["bytes"]
            for e in entries
        ):
            done[int(rec["unit"])] = entries
    return done


def _prepare_staging(job: Job, out: Path) -> tuple[Path, dict[int, list[dict[str, Any]]]]:
    staging = staging_dir(out)
    fingerprint = json.dumps(job.fingerprint(), sort_keys=True)
    if staging.exists():
        try:
            same = (staging / JOB_FILE).read_text(encoding="utf-8") == fingerprint
        except OSError:
            same = False
        if same:
            return staging, _read_manifest(staging)
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    (staging / JOB_FILE).write_text(fingerprint, encoding="utf-8")
    return staging, {}


def _relative(entries: list[dict[str, Any]], staging: Path) -> list[dict[str, Any]]:
    return [{**e, "file": str(Path(e["file"]).relative_to(staging))} for e in entries]


def run_job(
    job: Job,
    out: Path,
    engine: str = "local",
    workers: int | None = None,
    progress: ProgressLike = None,
    address: str | None = None,
    finish: bool = True,
    report_done: bool = True,
) -> Any:
    """Run every unit of ``job`` not yet written, then assemble the output at ``out``.

    ``engine="local"`` runs the units in this process (``workers`` 1, the default) or on that many
    local processes; ``engine="ray"`` runs them as Ray tasks on the cluster at ``address`` (or the
    one ``ray.init(address="auto")`` finds), else on a local Ray with ``workers`` CPUs. The output
    is the same bytes whatever the engine and the number of workers.

    ``finish=False`` stops before assembling: the staging folder stays and the units' manifest
    entries are returned (a job that grows in rounds calls again with more units).
    ``progress`` hears of each unit's rows as it is written (:mod:`simulacra.progress`);
    ``report_done=False`` does not count units written before this call in it.
    """
    if engine not in ENGINES:
        raise UsageError(f"--engine {engine}: use one of {', '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    out = Path(out)
    staging, done = _prepare_staging(job, out)
    todo = [u for u in job.units() if u not in done]
    progress = as_progress(progress)
    if report_done:
        for u in done:
            progress(job.unit_rows(u))
    with open(staging / MANIFEST, "a", encoding="utf-8") as manifest:
        for unit, entries in _execute(job, todo, staging, engine, workers, address):
            entries = _relative(entries, staging)
            manifest.write(json.dumps({"unit": unit, "entries": entries}) + "\n")
            manifest.flush()
            os.fsync(manifest.fileno())
            done[unit] = entries
            progress(job.unit_rows(unit))
    entries = {u: done[u] for u in sorted(done)}
    if not finish:
        return entries
    result = job.finish(staging, out, entries)
    shutil.rmtree(staging, ignore_errors=True)
    return result


def _execute(
    job: Job, todo: list[int], staging: Path, engine: str, workers: int | None, address: str | None
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    if not todo:
        return
    if engine == "ray":
        yield from _on_ray(job, todo, staging, workers, address)
    elif (workers or 1) == 1:
        for unit in todo:
            yield unit, job.run_unit(unit, staging)
    else:
        yield from _on_processes(job, todo, staging, workers or 1)


def _run(job: Job, unit: int, staging: str) -> list[dict[str, Any]]:
    return job.run_unit(unit, Path(staging))


def _on_processes(
    job: Job, todo: list[int], staging: Path, workers: int
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # spawn: a fresh interpreter per worker, safe whatever threads the parent holds
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = {pool.submit(_run, job, u, str(staging)): u for u in todo[: 2 * workers]}
        queue = iter(todo[2 * workers :])
        while pending:
            ready, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in ready:
                unit = pending.pop(fut)
                yield unit, fut.result()
                nxt = next(queue, None)
                if nxt is not None:
                    pending[pool.submit(_run, job, nxt, str(staging))] = nxt


def connect_ray(workers: int | None = None, address: str | None = None) -> Any:
    """Join the Ray cluster at ``address`` (or the running one), else start a local Ray."""
    try:
        import ray
    except ImportError:
        raise UsageError("--engine ray needs Ray: pip install 'simulacra[ray]'") from None
    if ray.is_initialized():
        return ray
    target = address or os.environ.get("RAY_ADDRESS")
    if target:
        try:
            ray.init(address=target, log_to_driver=False)
        except ConnectionError as exc:
            raise UsageError(f"--address {target}: no Ray cluster answers there ({exc})") from None
        return ray
    try:
        ray.init(address="auto", log_to_driver=False)
    except ConnectionError:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    return ray


def _on_ray(
    job: Job, todo: list[int], staging: Path, workers: int | None, address: str | None
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    ray = connect_ray(workers, address)
    task = ray.remote(num_cpus=1, max_retries=3, retry_exceptions=[OSError])(_run)
    job_ref = ray.put(job)
    refs = {task.remote(job_ref, u, str(staging)): u for u in todo}
    try:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                unit = refs.pop(ref)
                yield unit, ray.get(ref)
    finally:
        for ref in refs:
            ray.cancel(ref)


def concat_files(parts: Iterable[Path], target: Path) -> None:
    """Concatenate text part files into ``target``, in order, streaming."""
    with open(target, "wb") as dst:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, dst, 1 << 20)
