"""Writing rule-based tables to disk, atomically and one chunk at a time."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import UsageError
from ..io import current_umask
from .engine import RULES_CHUNK_ROWS, iter_chunks, plan, probe, to_arrow
from .spec import Spec, load_spec

FORMATS = ("parquet", "csv", "jsonl", "fhir")


class _TableWriter:
    """Streams the chunks of one table into ``<table>.<fmt>`` (or a directory of Parquet parts)."""

    def __init__(self, spec: Spec, table: str, folder: Path, fmt: str, n_chunks: int, per_part: int):
        self.spec, self.table, self.fmt, self.per_part = spec, table, fmt, per_part
        self.n_parts = max(1, math.ceil(n_chunks / per_part))
        self.path = folder / f"{table}.{fmt}"
        self.schema: pa.Schema | None = None
        self.writer: Any = None
        self.part = -1
        self.fh: Any = None
        self.wrote_header = False
        if fmt == "parquet" and self.n_parts > 1:
            self.path.mkdir()

    def write(self, k: int, data: dict[str, Any]) -> None:
        table = to_arrow(self.spec, self.table, data)
        if self.schema is None:
            self.schema = table.schema
        elif table.schema != self.schema:
            table = table.cast(self.schema)
        if self.fmt == "parquet":
            part = k // self.per_part
            if part != self.part:
                self._close_part()
                self.part = part
                target = self.path / f"part-{part:05d}.parquet" if self.n_parts > 1 else self.path
                self.writer = pq.ParquetWriter(target, self.schema)
            self.writer.write_table(table)
        else:
            if self.fh is None:
                self.fh = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - kept open across chunks
            df = table.to_pandas()
            if self.fmt == "csv":
                df.to_csv(self.fh, index=False, header=not self.wrote_header)
                self.wrote_header = True
            elif len(df):
                text = df.to_json(orient="records", lines=True, date_format="iso", date_unit="us")
                self.fh.write(text if text.endswith("\n") else text + "\n")

    def _close_part(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def close(self) -> None:
        """Finish the file(s); a table that got no chunk at all still gets an empty file."""
        self._close_part()
        if self.fmt == "parquet" and self.part < 0:
            names = list(self.spec.tables[self.table].columns)
            empty = pa.table({c: pa.array([], type=pa.string()) for c in names})
            target = self.path / "part-00000.parquet" if self.n_parts > 1 else self.path
            pq.write_table(empty, target)
        if self.fmt != "parquet":
            if self.fh is None:
                self.fh = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - kept open across chunks
                if self.fmt == "csv":
                    self.fh.write(",".join(self.spec.tables[self.table].columns) + "\n")
            self.fh.close()
            self.fh = None


def run_rules(
    spec_or_pack: str,
    n: int | None,
    out: Path,
    seed: int | None,
    chunks: int | None = None,
    fmt: str = "parquet",
    overrides: dict[str, str] | None = None,
    quiet: bool = False,
    chunk_rows: int = RULES_CHUNK_ROWS,
) -> dict[str, int]:
    """Generate every table of a rules spec into the folder ``out``; return ``{table: rows}``.

    ``n`` sets the first root table's rows (the other roots scale with it; ``None`` keeps the spec's).
    ``seed`` overrides the spec's ``seed`` (``None`` keeps it, default 0). ``chunks`` is how many
    chunks go into one Parquet part file (default 1); it never changes the values. Tables are
    written to a temporary folder beside ``out`` and moved into it only when all are complete.
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
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    total = sum(p.rows(t) for t in spec.tables)
    try:
        with ExitStack() as stack:
            advance = stack.enter_context(_progress(quiet, total))
            if fmt == "fhir":
                from .fhir import FhirWriter

                fw = FhirWriter(tmp)
                for root in spec.roots:
                    for table, k, data in iter_chunks(spec, p, root):
                        fw.write(table, to_arrow(spec, table, data))
                        advance(int(p.sizes[table][k]))
                fw.close()
                names = fw.files
            else:
                writers = {
                    t: _TableWriter(spec, t, tmp, fmt, len(p.sizes[t]), chunks or 1) for t in spec.tables
                }
                for root in spec.roots:
                    for table, k, data in iter_chunks(spec, p, root):
                        writers[table].write(k, data)
                        advance(int(p.sizes[table][k]))
                        del data  # let the chunk go before the next one is made (flat memory)
                for w in writers.values():
                    w.close()
                names = [w.path.name for w in writers.values()]
        _move_into(tmp, out, names)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return {t: p.rows(t) for t in spec.tables}


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


class _progress:
    """A rich progress bar over all rows (count and rate), silent when ``quiet``."""

    def __init__(self, quiet: bool, total: int):
        self.quiet, self.total = quiet, total
        self.bar: Any = None

    def __enter__(self):  # noqa: ANN204
        if self.quiet:
            return lambda _rows: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        self.start = time.perf_counter()
        self.bar = Progress(
            TextColumn("[bold]rules"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.bar.__enter__()
        task = self.bar.add_task("rules", total=self.total, rate="-")

        def advance(rows: int) -> None:
            done = self.bar.tasks[0].completed + rows
            rate = done / max(time.perf_counter() - self.start, 1e-9)
            self.bar.update(task, advance=rows, rate=f"{rate:,.0f}")

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
