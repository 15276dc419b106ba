"""Sampling a fitted model as a scale-out job: unit ``u`` writes a few fixed-size chunks as one part.

Chunk ``k`` of a sample depends only on the model and the sampling plan (see
:meth:`TabularSynthesizer.plan` and :meth:`TabularSynthesizer.sample_chunk`), so the assembled file is
the same bytes as a sample streamed by one process, whatever engine and number of workers made the
parts; the parts are written by the same :class:`simulacra.io.ChunkWriter` as a streamed sample.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from ..io import ChunkWriter, atomic_path, check_writable, suffix_of
from ..scale.executor import concat_files, write_part
from ..seeding import CHUNK_ROWS, chunk_sizes
from .estimator import check_count, check_seed

UNIT_CHUNKS = 16
"""Chunks per unit (about a million rows): big enough that scheduling costs little."""

_MODELS: dict[tuple[str, str], Any] = {}


def model_digest(model_dir: Path) -> str:
    """SHA-256 of a model directory's file names and bytes: staging is reused only for the same model."""
    h = hashlib.sha256()
    for f in sorted(p for p in model_dir.iterdir() if p.is_file()):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


class SampleJob:
    """``n`` rows from the model in ``model_dir`` into ``output`` (.parquet, .csv, .tsv or .jsonl)."""

    def __init__(
        self,
        model_dir: str | Path,
        n: int,
        output: str | Path,
        seed: int = 0,
        conditions: dict[str, Any] | None = None,
        rebalance: str | None = None,
        unit_chunks: int = UNIT_CHUNKS,
    ) -> None:
        from .synthesizer import TabularSynthesizer

        synth = TabularSynthesizer.load(model_dir)  # a missing or damaged model fails here, clearly
        self.model_dir = str(Path(model_dir).resolve())
        self.digest = model_digest(Path(self.model_dir))
        _MODELS[(self.model_dir, self.digest)] = synth
        self.n, self.seed, self.rebalance = int(n), int(seed), rebalance
        self.conditions = dict(conditions or {})
        self.ext = suffix_of(check_writable(output))
        self.sizes = chunk_sizes(self.n, CHUNK_ROWS)
        self.unit_chunks = unit_chunks
        self.plan()  # conditions are resolved here once, so a bad --where fails before any worker starts

    def plan(self) -> Any:
        """The synthesizer's sampling plan for this job (resolved in each process that samples)."""
        return self.synth.plan(self.n, self.conditions or None, self.rebalance, self.seed, CHUNK_ROWS)

    @property
    def synth(self) -> Any:
        """The fitted synthesizer, loaded once per process."""
        key = (self.model_dir, self.digest)
        if key not in _MODELS:
            from .synthesizer import TabularSynthesizer

            _MODELS[key] = TabularSynthesizer.load(self.model_dir)
        return _MODELS[key]

    def fingerprint(self) -> dict[str, Any]:
        return {
            "job": "sample",
            "model_sha256": self.digest,
            "n": self.n,
            "seed": self.seed,
            "conditions": json.loads(json.dumps(self.conditions, default=str)),
            "rebalance": self.rebalance,
            "format": self.ext,
            "unit_chunks": self.unit_chunks,
        }

    def units(self) -> list[int]:
        return list(range(math.ceil(len(self.sizes) / self.unit_chunks)))

    def _chunks(self, unit: int) -> range:
        return range(unit * self.unit_chunks, min((unit + 1) * self.unit_chunks, len(self.sizes)))

    def unit_rows(self, unit: int) -> int:
        return sum(self.sizes[k] for k in self._chunks(unit))

    def run_unit(self, unit: int, staging: Path) -> list[dict[str, Any]]:
        """Sample the unit's chunks and write them as one part file."""
        synth, plan = self.synth, self.plan()  # the plan once per unit
        frames = (synth.sample_chunk(plan, k) for k in self._chunks(unit))
        path = staging / "parts" / f"part-{unit:05d}{self.ext}"
        first = self._chunks(unit).start
        return [{**write_part(path, lambda tmp: _write_frames(frames, tmp, self.ext, first)), "unit": unit}]

    def finish(self, staging: Path, out: Path, entries: dict[int, list[dict[str, Any]]]) -> int:
        """Join the parts, in order, into the one output file (atomically)."""
        files = [staging / e["file"] for u in sorted(entries) for e in entries[u]]
        with atomic_path(out) as tmp:
            if self.ext == ".parquet":
                import pyarrow.parquet as pq

                schema = pq.read_schema(files[0])
                with pq.ParquetWriter(tmp, schema) as writer:
                    for f in files:
                        pf = pq.ParquetFile(f)
                        for i in range(pf.num_row_groups):
                            table = pf.read_row_group(i)
                            writer.write_table(table if table.schema.equals(schema) else table.cast(schema))
            else:
                concat_files(files, tmp)
        return self.n


def _write_frames(frames: Any, path: Path, ext: str, first_chunk: int) -> None:
    """Write chunks as a streamed sample does (one Parquet row group or text block each); only the
    part holding chunk 0 has the CSV header."""
    with ChunkWriter(path, ext, header=first_chunk == 0, atomic=False) as writer:
        for chunk in frames:
            writer.write(chunk)


def sample_to_file(
    model_dir: str | Path,
    n: int,
    output: str | Path,
    seed: int = 0,
    conditions: dict[str, Any] | None = None,
    rebalance: str | None = None,
    engine: str = "local",
    workers: int | None = None,
    progress: Any = None,
) -> Path:
    """Sample ``n`` rows of a saved model into one file, on local processes or Ray (``engine="ray"``).

    The file is byte-for-byte what ``TabularSynthesizer.load(model_dir).iter_sample`` streamed by one
    process would write; a re-run after a crash skips the parts already written.
    """
    from ..scale import run_job

    check_count(n, "rows")
    check_seed(seed)
    job = SampleJob(model_dir, n, output, seed, conditions, rebalance)
    run_job(job, Path(output), engine, workers, progress=progress)
    return Path(output)
