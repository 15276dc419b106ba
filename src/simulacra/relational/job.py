"""Sampling a database model as a scale-out job: each unit of root entities is one task.

Unit ``u`` (see :mod:`.units`) writes its tables as Parquet parts with keys counted from the unit's
start; the finish step renumbers the units' keys in order, adds the shared tables and writes the
database once (folder, SQLite, DuckDB or PostgreSQL), so the output is the same whether one process,
N local processes or a Ray cluster made the units — and the same tables as
:meth:`RelationalSynthesizer.sample`.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError, UsageError
from ..io import READABLE, suffix_of
from ..progress import ProgressLike
from ..scale.executor import write_part
from ..tabular.estimator import check_seed
from ..tabular.job import model_digest
from .catalog import is_database, locate
from .sampling import join_units
from .units import UNIT_ROOTS, KeyRenumbering

_SAMPLERS: dict[tuple[str, str, float, int, int], Any] = {}


def check_target(out: str) -> None:
    """Refuse, before any work, an output that :func:`write_database` would refuse at the end."""
    if is_database(out):
        loc = locate(out, None)
        if loc.path is not None and loc.path.exists():
            raise DataError(f"{loc.path}: already exists; choose a new file name (nothing was written)")
        return
    if suffix_of(out) in READABLE:
        raise UsageError(
            f"{out}: a database is written to a folder (one file per table), a .sqlite/.duckdb file "
            "or a postgresql:// URL, not to one table file"
        )
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise DataError(f"{out}: already exists and is not a folder; choose a new folder name")
    if p.is_dir() and any(p.iterdir()):
        raise DataError(f"{out}: the folder is not empty; choose a new or empty folder (nothing was written)")


class DatabaseSampleJob:
    """A synthetic database of ``scale`` × the training roots of the model in ``model_dir``, to ``output``."""

    def __init__(
        self, model_dir: str | Path, scale: float, output: str, seed: int = 0, unit_roots: int = UNIT_ROOTS
    ) -> None:
        from .synthesizer import RelationalSynthesizer

        check_seed(seed)
        synth = RelationalSynthesizer.load(model_dir)  # a missing or damaged model fails here, clearly
        self.model_dir = str(Path(model_dir).resolve())
        self.digest = model_digest(Path(self.model_dir))
        self.scale, self.seed, self.output = float(scale), int(seed), str(output)
        self.unit_roots = unit_roots
        # a bad scale fails here, before any worker starts
        sampler = synth.sampler(self.scale, self.seed, unit_roots)
        _SAMPLERS[self._key] = sampler
        self.n_units = sampler.plan.n_units
        self._unit_rows = [sampler.plan.root_rows(u) for u in range(self.n_units)]
        check_target(self.output)

    @property
    def _key(self) -> tuple[str, str, float, int, int]:
        return (self.model_dir, self.digest, self.scale, self.seed, self.unit_roots)

    @property
    def sampler(self) -> Any:
        """The model's database sampler, loaded once per process."""
        if self._key not in _SAMPLERS:
            from .synthesizer import RelationalSynthesizer

            synth = RelationalSynthesizer.load(self.model_dir)
            _SAMPLERS[self._key] = synth.sampler(self.scale, self.seed, self.unit_roots)
        return _SAMPLERS[self._key]

    def staging_target(self) -> Path:
        """Where the job's staging folder goes: beside a file or folder output, in the temporary
        folder for a database server."""
        if is_database(self.output) and locate(self.output, None).path is None:
            tag = hashlib.sha256(self.output.encode()).hexdigest()[:16]
            return Path(tempfile.gettempdir()) / f"simulacra-db-{tag}"
        return Path(self.output.rstrip("/"))

    def fingerprint(self) -> dict[str, Any]:
        return {
            "job": "sample-database",
            "model_sha256": self.digest,
            "scale": self.scale,
            "seed": self.seed,
            "unit_roots": self.unit_roots,
            "units": self.n_units,
        }

    def units(self) -> list[int]:
        return list(range(self.n_units))

    def unit_rows(self, unit: int) -> int:
        return self._unit_rows[unit]

    def run_unit(self, unit: int, staging: Path) -> list[dict[str, Any]]:
        """Sample one unit and write each of its tables as a Parquet part."""
        tables = self.sampler.unit(unit)
        entries = []
        for i, (name, df) in enumerate(tables.items()):
            path = staging / "parts" / f"unit-{unit:05d}" / f"{i:03d}.parquet"
            entry = write_part(path, lambda tmp, df=df: df.to_parquet(tmp, index=False))
            entries.append({**entry, "table": name, "rows": len(df)})
        return entries

    def finish(self, staging: Path, out: Path, entries: dict[int, list[dict[str, Any]]]) -> dict[str, int]:
        """Renumber the units' keys in order, add the shared tables, write the database once."""
        from .writer import write_database

        sampler = self.sampler
        md, parts = sampler.metadata, sampler.parts
        renumber = KeyRenumbering(md, parts, list(sampler.plan.shared))
        pieces: dict[str, list[pd.DataFrame]] = {name: [] for name in md.order}
        for u in sorted(entries):
            unit = {e["table"]: pd.read_parquet(staging / e["file"]) for e in entries[u]}
            for name, df in renumber.apply(unit).items():
                pieces[name].append(df)
        shared = sampler.shared()[0]
        tables = {
            name: shared[name] if name in shared else join_units(pieces[name], parts[name])
            for name in md.order
        }
        write_database(tables, md, self.output)
        return {name: len(df) for name, df in tables.items()}


def sample_database(
    model_dir: str | Path,
    output: str,
    scale: float = 1.0,
    seed: int = 0,
    engine: str = "local",
    workers: int | None = None,
    progress: ProgressLike = None,
    unit_roots: int = UNIT_ROOTS,
) -> dict[str, int]:
    """Sample a saved database model into ``output`` (a folder, a .sqlite/.duckdb file or a
    postgresql:// URL) on local processes or Ray (``engine="ray"``); returns rows per table.

    The database is the same whatever the engine and the number of workers; a re-run after a crash
    skips the units already written. ``unit_roots`` is part of what is drawn, like the seed (see
    :meth:`RelationalSynthesizer.sample`)."""
    from ..scale import run_job

    job = DatabaseSampleJob(model_dir, scale, output, seed, unit_roots)
    return run_job(job, job.staging_target(), engine, workers, progress=progress)


__all__ = ["DatabaseSampleJob", "check_target", "sample_database"]
