"""The database side of ``fit``, ``sample``, ``schema`` and ``evaluate``: a whole database (a SQLite,
DuckDB or PostgreSQL source, or a folder of CSV/Parquet files) instead of one table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from ..errors import DataError, SimulacraError, UsageError
from .render import out, progress_bar

ORPHANS = ("error", "drop", "null")


def is_database_source(source: str) -> bool:
    """A database URL or file, or a folder of table files."""
    from ..relational import is_database

    return is_database(source) or Path(source).is_dir()


def load_source(
    source: str,
    metadata: Path | None = None,
    tables: list[str] | None = None,
    role: str = "",
    infer: bool = True,
) -> tuple[Any, dict]:
    """The metadata and tables of a database or folder: keys from ``metadata`` (YAML) when given,
    else from the database's catalog, else inferred from names and values (unless ``infer`` is off:
    then None)."""
    from ..relational import Metadata, infer_metadata, is_database, read_database, read_folder

    where = f"--{role} " if role else ""
    try:
        if is_database(source):
            md, frames = read_database(source, tables or None)
        elif Path(source).is_dir():
            frames, md = read_folder(source), None
            if tables:
                unknown = [t for t in tables if t not in frames]
                if unknown:
                    raise DataError(
                        f"{source}: no table '{unknown[0]}' (tables: {', '.join(sorted(frames))})"
                    )
                frames = {t: frames[t] for t in tables}
        else:
            flag = "--tables" if tables else "--metadata" if metadata is not None else ""
            raise DataError(
                f"{source}: not a database (.sqlite, .db, .duckdb or a URL) nor a folder of table files"
                + (f"; {flag} applies to a database" if flag else "")
            )
        if metadata is not None:
            md = Metadata.load(metadata)
            missing = [t for t in md.tables if t not in frames]
            if missing:
                known = ", ".join(sorted(frames))
                raise DataError(f"{metadata}: table '{missing[0]}' is not in {source} (tables: {known})")
            frames = {t: frames[t] for t in md.tables}
        elif md is None and infer:
            md = infer_metadata(frames, str(source))
    except SimulacraError as exc:
        raise type(exc)(f"{where}{exc}") from None
    return md, frames


def refuse_table_options(given: dict[str, Any], what: str) -> None:
    """One line for the first single-table option given with a database."""
    used = [flag for flag, value in given.items() if value not in (None, False, [])]
    if used:
        raise UsageError(
            f"{used[0]} applies to one table, not to {what}; a database's keys come from --metadata"
        )


def fit_database(
    source: str, out_dir: Path, metadata: Path | None, tables: list[str], orphans: str, seed: int, quiet: bool
) -> None:
    """``fit`` on a database: learn every table with its keys and write a model directory."""
    from ..relational import RelationalSynthesizer

    if orphans not in ORPHANS:
        raise UsageError(f"--orphans {orphans}: use one of {', '.join(ORPHANS)}")
    md, frames = load_source(source, metadata, tables)
    synth = RelationalSynthesizer(seed=seed)
    with progress_bar(quiet, len(md.order), f"fitting {len(frames)} tables") as progress:
        synth.fit(frames, md, progress=progress, orphans=orphans)
    synth.save(out_dir)
    if not quiet:
        for note in synth.notes_:
            out.print(f"note: {note}")
        rows = sum(len(f) for f in frames.values())
        out.print(
            f"learned {len(frames)} tables ({rows:,} rows, {len(md.foreign_keys)} foreign keys) → {out_dir}/"
        )


def sample_database(
    model_dir: Path, output: str, scale: float, seed: int, quiet: bool, engine: str, workers: int | None
) -> None:
    """``sample`` from a relational model: a whole database, written to ``output`` in units of root
    entities (one process, local processes or Ray; the same database either way)."""
    from ..relational.job import DatabaseSampleJob
    from ..scale import run_job

    if not scale > 0:
        raise UsageError(f"--scale {scale}: must be a positive number (2 doubles the root tables)")
    job = DatabaseSampleJob(model_dir, scale, output, seed)
    label = "sampling units" if engine == "local" else f"sampling units ({engine})"
    with progress_bar(quiet, sum(job.unit_rows(u) for u in job.units()), label) as progress:
        rows = run_job(job, job.staging_target(), engine, workers, progress=progress)
    if not quiet:
        out.print(f"wrote {len(rows)} tables ({sum(rows.values()):,} rows, every key valid) → {output}")


def schema_database(source: str, save: Path | None) -> None:
    """``schema`` of a database: its tables and keys, each with the reason it was found."""
    md, frames = load_source(source)
    table = Table(title=f"{source}: {len(frames)} tables, {len(md.foreign_keys)} foreign keys")
    for name in ("table", "rows", "primary key", "why"):
        table.add_column(name)
    for name, t in md.tables.items():
        table.add_row(name, f"{len(frames[name]):,}", ", ".join(t.primary_key) or "(none)", t.reason)
    out.print(table)
    keys = Table(title="foreign keys")
    for name in ("child", "parent", "context", "why"):
        keys.add_column(name)
    for fk in md.foreign_keys:
        keys.add_row(
            f"{fk.child}({', '.join(fk.columns)})",
            f"{fk.parent}({', '.join(fk.parent_columns)})",
            "yes" if fk.context else "",
            fk.reason,
        )
    out.print(keys)
    if save is not None:
        md.save(save)
        out.print(f"metadata written → {save} (edit keys, then `simulacra fit --metadata`)")


def evaluate_databases(
    synthetic: str, train: str, holdout: str, metadata: Path | None, seed: int, quiet: bool
) -> Any:
    """``evaluate`` of a synthetic database against the real train and holdout databases."""
    from ..evaluation import evaluate

    md, real = load_source(train, metadata, role="train")
    names = list(md.tables)
    _, held = load_source(holdout, metadata, names if metadata is None else None, "holdout", infer=False)
    _, syn = load_source(synthetic, metadata, names if metadata is None else None, "synthetic", infer=False)
    with progress_bar(quiet, None, "checking") as progress:
        return evaluate(synthetic=syn, train=real, holdout=held, metadata=md, seed=seed, progress=progress)
