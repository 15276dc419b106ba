"""``simulacra split``: hold out real data before fitting, so the report can compare with it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from .options import Quiet, Seed, split_list
from .render import out


def split_cmd(
    data: Annotated[str, typer.Argument(help="A table, or a database (file, URL or folder of tables).")],
    train: Annotated[str, typer.Option("--train", help="Where to write the training part.")],
    holdout: Annotated[str, typer.Option("--holdout", help="Where to write the held-out part.")],
    share: Annotated[
        float, typer.Option("--share", help="Share held out (of rows, or of root entities).")
    ] = 0.2,
    metadata: Annotated[
        Path | None,
        typer.Option("--metadata", help="Database: tables and keys (YAML from `simulacra schema`)."),
    ] = None,
    tables: Annotated[
        str | None, typer.Option("--tables", help="Database: only these tables, a,b,c.")
    ] = None,
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Split real data into a training part and a held-out part (a database by root entity: every
    row goes with its root, so neither part has orphans)."""
    from .database import is_database_source, load_source

    if not 0 < share < 1:
        raise UsageError(f"--share {share}: must be between 0 and 1 (0.2 holds out a fifth)")
    if seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {seed}")
    if is_database_source(data) or metadata is not None or tables is not None:
        from ..relational import split_by_root, write_database

        md, frames = load_source(data, metadata, split_list(tables))
        parts = split_by_root(md, frames, share, seed)
        write_database(parts[0], md, train)
        try:
            write_database(parts[1], md, holdout)
        except Exception:
            _remove(train)  # no half-written split: the training part goes too
            raise
        if not quiet:
            rows = [sum(len(t) for t in part.values()) for part in parts]
            out.print(
                f"split {len(frames)} tables by root entity: {rows[0]:,} rows → {train}, "
                f"{rows[1]:,} rows → {holdout}"
            )
        return
    from ..io import check_writable, read_table, write_table
    from ..seeding import derive_rng

    for where in (train, holdout):
        check_writable(where)
    df = read_table(data)
    held = derive_rng(seed, "split", "rows").permutation(len(df))[: round(share * len(df))]
    mask = df.index.isin(df.index[held])
    write_table(df[~mask].reset_index(drop=True), train)
    write_table(df[mask].reset_index(drop=True), holdout)
    if not quiet:
        out.print(
            f"split {len(df):,} rows: {int((~mask).sum()):,} → {train}, {int(mask.sum()):,} → {holdout}"
        )


def _remove(written: str) -> None:
    """Remove a local file or folder the split wrote (a database server's schema is left alone)."""
    import shutil

    path = Path(written)
    if "://" in written or not path.exists():
        return
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
