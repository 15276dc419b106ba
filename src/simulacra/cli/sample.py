"""``simulacra sample``: rows (or sequences) from a model directory, in one process or on an engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from ..errors import UsageError
from ..progress import Progress
from .options import Engine, Quiet, Seed, Workers, check_workers, on_engine
from .render import out, progress_bar


def sample(
    model_dir: Annotated[Path, typer.Argument(help="Model directory written by `simulacra fit`.")],
    output: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            help="Output file (.csv, .parquet, .jsonl); for a database model a folder, "
            "a .sqlite/.duckdb file or a postgresql:// URL.",
        ),
    ],
    n: Annotated[
        int | None,
        typer.Option("-n", "--rows", help="Number of rows to sample (sequences, for a sequence model)."),
    ] = None,
    scale: Annotated[
        float | None, typer.Option("--scale", help="Database model: this many times the root tables' rows.")
    ] = None,
    where: Annotated[
        list[str] | None, typer.Option("--where", "-w", help="Condition col=value, col=a|b or col=lo..hi.")
    ] = None,
    rebalance: Annotated[
        str | None, typer.Option("--rebalance", help="Make this column's values equally frequent.")
    ] = None,
    seed: Seed = 0,
    engine: Engine = "local",
    workers: Workers = None,
    quiet: Quiet = False,
) -> None:
    """Sample synthetic rows (or a whole database) from a model directory."""
    from ..io import check_writable
    from ..relational import is_relational_model
    from ..scale import ENGINES
    from ..sequences import is_sequence_model
    from ..tabular import TabularSynthesizer, parse_where
    from .database import sample_database

    if seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {seed}")
    from .images import is_image_route

    if is_image_route(model_dir, output):
        from .images import refuse, sample_images

        refuse({"--scale": scale, "--engine": None if engine == "local" else engine, "--workers": workers},
               "an image model (it samples in one process)")
        sample_images(model_dir, n, output, where, rebalance, seed, quiet)
        return
    if is_relational_model(model_dir):
        given = {"-n": n, "--where": where, "--rebalance": rebalance}
        used = [flag for flag, value in given.items() if value not in (None, [])]
        if used:
            why = "use --scale" if used[0] == "-n" else "a database is sampled whole"
            raise UsageError(f"{used[0]} does not apply to a database model; {why}")
        if engine not in ENGINES:
            raise UsageError(f"--engine {engine}: use one of {', '.join(ENGINES)}")
        check_workers(workers)
        sample_database(model_dir, output, 1.0 if scale is None else scale, seed, quiet, engine, workers)
        return
    if scale is not None:
        raise UsageError("--scale applies to a database model; use -n for a table")
    if n is None:
        raise UsageError("-n/--rows is required: how many rows (or sequences) to sample")
    output = Path(output)
    if n <= 0:
        raise UsageError(f"-n must be a positive number of rows, got {n}")
    if engine not in ENGINES:
        raise UsageError(f"--engine {engine}: use one of {', '.join(ENGINES)}")
    check_workers(workers)
    check_writable(output)
    if is_sequence_model(model_dir):
        if on_engine(engine, workers):
            raise UsageError(
                "--engine/--workers: a sequence model samples in one process; drop them (same output)"
            )
        _sample_sequences(model_dir, n, output, where, rebalance, seed, quiet)
        return
    conditions = parse_where(where or [])
    if on_engine(engine, workers):
        _sample_on_engine(model_dir, n, output, conditions, rebalance, seed, engine, workers, quiet)
        return
    synth = TabularSynthesizer.load(model_dir)
    # resolve conditions before any output is opened, so a bad --where writes nothing
    chunks = synth.iter_sample(n, conditions=conditions or None, rebalance=rebalance, seed=seed)
    with progress_bar(quiet, n, "sampling") as progress:
        rows = _write_counted(chunks, output, progress, len)
    if not quiet:
        out.print(f"wrote {rows:,} synthetic rows → {output}")


def _write_counted(chunks: Iterator[pd.DataFrame], output: Path, progress: Progress, count: Any) -> int:
    """Stream ``chunks`` into ``output`` (the first is made before the file opens); report ``count``."""
    from ..io import write_chunks

    first = next(chunks)
    progress(count(first))

    def stream() -> Iterator[pd.DataFrame]:
        yield first
        for chunk in chunks:
            progress(count(chunk))
            yield chunk

    return write_chunks(stream(), output)[1]


def _sample_sequences(
    model_dir: Path,
    n: int,
    output: Path,
    where: list[str] | None,
    rebalance: str | None,
    seed: int,
    quiet: bool,
) -> None:
    """`sample` from a sequence model: ``n`` entities, each with its events."""
    from ..sequences import SequenceSynthesizer
    from ..tabular import parse_where

    if rebalance is not None:
        raise UsageError("--rebalance does not apply to a sequence model; condition with --where instead")
    conditions = parse_where(where or [])
    synth = SequenceSynthesizer.load(model_dir)
    chunks = synth.iter_sample(n, conditions=conditions or None, seed=seed)
    key = synth.sequence_key_
    with progress_bar(quiet, n, "sampling sequences") as progress:
        rows = _write_counted(chunks, output, progress, lambda chunk: int(chunk[key].nunique()))
    if not quiet:
        out.print(f"wrote {n:,} synthetic sequences ({rows:,} events) → {output}")


def _sample_on_engine(
    model_dir: Path,
    n: int,
    output: Path,
    conditions: dict,
    rebalance: str | None,
    seed: int,
    engine: str,
    workers: int | None,
    quiet: bool,
) -> None:
    """`sample` on local processes or Ray: units of fixed chunks, assembled into the same bytes."""
    from ..tabular.job import sample_to_file

    with progress_bar(quiet, n, f"sampling ({engine})") as progress:
        sample_to_file(model_dir, n, output, seed, conditions or None, rebalance, engine, workers, progress)
    if not quiet:
        out.print(f"wrote {n:,} synthetic rows → {output}")
