"""Writing rule-based tables to disk, atomically and one chunk at a time."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import UsageError
from ..io import ChunkWriter, current_umask
from ..progress import ProgressLike, as_progress
from ..scale.executor import ENGINES, concat_files, run_job
from .generate import RULES_CHUNK_ROWS, Plan, iter_chunks, plan, probe, to_arrow
from .spec import Spec, load_spec

FORMATS = ("parquet", "csv", "jsonl", "fhir")


class RulesJob:
    """A rules run cut into units: unit ``u`` is part ``p`` of one root table and its descendants.

    Part ``p`` holds the chunks ``p * per_part`` up to ``(p + 1) * per_part`` of the root (children
    follow their parent's chunks), so a unit needs nothing but the spec, the plan and the seed.
    """

    def __init__(
        self, source: str, overrides: dict[str, str], n: int | None, fmt: str, per_part: int, plan_: Plan
    ) -> None:
        self.source, self.overrides, self.n, self.fmt = source, dict(overrides), n, fmt
        self.per_part, self.plan = per_part, plan_
        spec = self.spec
        self._units = [
            (root, p) for root in spec.roots for p in range(math.ceil(len(plan_.sizes[root]) / per_part))
        ]

    @property
    def spec(self) -> Spec:
        key = (self.source, tuple(sorted(self.overrides.items())))
        if key not in _SPECS:
            _SPECS[key] = load_spec(self.source, self.overrides)
        return _SPECS[key]

    def family(self, root: str) -> list[str]:
        """``root`` and every table below it."""
        tables = [root]
        for t in tables:
            tables.extend(self.spec.tables[t].children)
        return tables

    def fingerprint(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "job": "rules",
            "spec": str(spec.source),
            "spec_sha256": hashlib.sha256(Path(spec.source).read_bytes()).hexdigest()
            if Path(spec.source).is_file()
            else None,
            "overrides": self.overrides,
            "n": self.n,
            "seed": self.plan.seed,
            "chunk_rows": self.plan.chunk_rows,
            "format": self.fmt,
            "per_part": self.per_part,
        }

    def units(self) -> list[int]:
        return list(range(len(self._units)))

    def _chunks(self, unit: int) -> tuple[str, int, range]:
        root, p = self._units[unit]
        stop = min((p + 1) * self.per_part, len(self.plan.sizes[root]))
        return root, p, range(p * self.per_part, stop)

    def unit_rows(self, unit: int) -> int:
        root, _, chunks = self._chunks(unit)
        return sum(int(self.plan.sizes[t][chunks].sum()) for t in self.family(root))

    def run_unit(self, unit: int, staging: Path) -> list[dict[str, Any]]:
        """Generate the unit's chunks and write one part file per table (per FHIR resource)."""
        spec = self.spec
        root, p, chunks = self._chunks(unit)
        if self.fmt == "fhir":
            return self._run_fhir(root, p, chunks, staging)
        # the header goes into the first part only: the parts are concatenated in order
        writers = {
            t: ChunkWriter(staging / t / f"part-{p:05d}.{self.fmt}", self.fmt, header=p == 0)
            for t in self.family(root)
        }
        try:
            for table, _k, data in iter_chunks(spec, self.plan, root, chunks):
                writers[table].write(to_arrow(spec, table, data))
                del data  # let the chunk go before the next one is made (flat memory)
            entries = []
            for t, w in writers.items():
                path = w.close()
                entries.append({"file": str(path), "bytes": path.stat().st_size, "table": t, "part": p})
            return entries
        except BaseException:
            for w in writers.values():
                w.abort()
            raise

    def _run_fhir(self, root: str, p: int, chunks: range, staging: Path) -> list[dict[str, Any]]:
        from .fhir import FhirWriter

        folder = staging / "fhir" / f"{root}-{p:05d}"
        tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        with FhirWriter(tmp) as fw:
            for table, _k, data in iter_chunks(self.spec, self.plan, root, chunks):
                fw.write(table, to_arrow(self.spec, table, data))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        return [
            {"file": str(f), "bytes": f.stat().st_size, "resource": f.stem, "part": p}
            for f in sorted(folder.iterdir())
        ]

    def finish(self, staging: Path, out: Path, entries: dict[int, list[dict[str, Any]]]) -> dict[str, int]:
        """Assemble the parts (per table, in part order) in ``staging/final`` and move them to ``out``."""
        final = staging / "final"
        shutil.rmtree(final, ignore_errors=True)
        final.mkdir()
        flat = [e for u in sorted(entries) for e in entries[u]]
        if self.fmt == "fhir":
            from .fhir import RESOURCES

            names = []
            for resource in RESOURCES.values():
                files = [staging / e["file"] for e in flat if e["resource"] == resource]
                concat_files(files, final / f"{resource}.ndjson")
                names.append(f"{resource}.ndjson")
        else:
            names = [
                self._assemble(t, staging, final, [e for e in flat if e["table"] == t])
                for t in self.spec.tables
            ]
        _move_into(final, out, names)
        return {t: self.plan.rows(t) for t in self.spec.tables}

    def _assemble(self, table: str, staging: Path, final: Path, entries: list[dict[str, Any]]) -> str:
        target = final / f"{table}.{self.fmt}"
        files = [staging / e["file"] for e in sorted(entries, key=lambda e: e["part"])]
        if self.fmt != "parquet":
            concat_files(files, target)
            if not files and self.fmt == "csv":
                target.write_text(",".join(self.spec.tables[table].columns) + "\n", encoding="utf-8")
            return target.name
        if not files:
            names = list(self.spec.tables[table].columns)
            pq.write_table(pa.table({c: pa.array([], type=pa.string()) for c in names}), target)
            return target.name
        schema = pq.read_schema(files[0])
        for f in files[1:]:
            if not pq.read_schema(f).equals(schema):  # e.g. a column all missing in one part
                pq.write_table(pq.read_table(f).cast(schema), f)
        if len(files) == 1:
            os.replace(files[0], target)
        else:
            target.mkdir()
            for f in files:
                os.replace(f, target / f.name)
        return target.name


_SPECS: dict[tuple, Spec] = {}


def run_rules(
    spec_or_pack: str,
    n: int | None,
    out: Path,
    seed: int | None,
    chunks: int | None = None,
    fmt: str = "parquet",
    overrides: dict[str, str] | None = None,
    progress: ProgressLike = None,
    chunk_rows: int = RULES_CHUNK_ROWS,
    engine: str = "local",
    workers: int | None = None,
) -> dict[str, int]:
    """Generate every table of a rules spec into the folder ``out``; return ``{table: rows}``.

    ``n`` sets the first root table's rows (the other roots scale with it; ``None`` keeps the spec's).
    ``seed`` overrides the spec's ``seed`` (``None`` keeps it, default 0). ``chunks`` is how many
    chunks go into one Parquet part file (default 1); it never changes the values. ``engine`` and
    ``workers`` choose who runs the parts (this process, local processes, or Ray); they never change
    the bytes. ``progress`` hears of every row written (:mod:`simulacra.progress`). Parts go to a
    hidden staging folder beside ``out``; a re-run after a crash skips the parts already written,
    and the tables are moved into ``out`` only when all are complete.
    ``chunk_rows`` is internal (tests): changing it changes the values a seed produces.
    """
    fmt = str(fmt).lower()
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: use one of {', '.join(FORMATS)}")
    if n is not None and n < 0:
        raise UsageError(f"-n {n}: the number of rows cannot be negative")
    if chunks is not None and chunks < 1:
        raise UsageError(f"--chunks {chunks}: must be at least 1")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed {seed}: must be a non-negative integer")
    if engine not in ENGINES:
        raise UsageError(f"--engine {engine}: use one of {', '.join(ENGINES)}")
    spec = load_spec(spec_or_pack, overrides)
    p = plan(spec, n, seed, chunk_rows)  # every spec error is raised before anything is written
    if fmt == "fhir":
        from .fhir import RESOURCES

        if not set(RESOURCES) <= set(spec.tables):
            raise UsageError(
                f"--format fhir needs the tables {', '.join(sorted(RESOURCES))} (the 'ehr' pack has them); "
                f"{spec.source} has {', '.join(spec.tables)}"
            )
    probe(spec, p.seed)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    job = RulesJob(spec_or_pack, overrides or {}, n, fmt, chunks or 1, p)
    progress = as_progress(progress)
    progress.start(sum(p.rows(t) for t in spec.tables), "rules")
    return run_job(job, out, engine, workers, progress=progress)


def _move_into(tmp: Path, out: Path, names: list[str]) -> None:
    mode = 0o777 & ~current_umask()
    for name in names:
        os.chmod(tmp / name, mode if (tmp / name).is_dir() else mode & 0o666)
    if not out.exists():
        os.chmod(tmp, mode)
        os.replace(tmp, out)
        return
    for name in names:
        target = out / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(tmp / name, target)
