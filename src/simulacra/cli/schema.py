"""``simulacra schema``: print (and optionally save) the schema inferred from a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import UsageError
from .options import Kinds, parse_kinds
from .render import out


def schema_cmd(
    data: Annotated[
        str, typer.Argument(help="A table to infer the schema of, or a database (its tables and keys).")
    ],
    save: Annotated[Path | None, typer.Option("--out", "-o", help="Write the schema as YAML here.")] = None,
    kind: Kinds = None,
) -> None:
    """Print the inferred schema (and optionally save it as YAML to edit and pass to `fit --schema`)."""
    from ..io import read_table
    from ..schema import infer_schema
    from .database import is_database_source, schema_database

    if save is not None and not save.parent.is_dir():
        raise UsageError(f"{save}: folder {save.parent} does not exist; create it or choose another --out")
    if is_database_source(data):
        if kind:
            raise UsageError(
                "--kind applies to one table; set a database's kinds under tables: in the metadata"
            )
        schema_database(data, save)
        return
    data = Path(data)
    df = read_table(data)
    schema = infer_schema(df, parse_kinds(kind) or None)
    table = Table(title=f"{data.name}: {len(df):,} rows × {len(df.columns)} columns")
    for name in ("column", "kind", "missing", "distinct", "why"):
        table.add_column(name)
    for (col, k, detail), name in zip(schema.describe(), df.columns, strict=True):
        table.add_row(col, k, f"{df[name].isna().mean():.1%}", f"{df[name].nunique():,}", detail)
    out.print(table)
    if save is not None:
        schema.save(save)
        out.print(f"schema written → {save} (edit kinds or add constraints, then `simulacra fit --schema`)")
