"""``simulacra rules``: tables from a declarative spec or a bundled pack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from .options import Engine, Quiet, Workers
from .render import out, progress_bar


def rules(
    spec: Annotated[str, typer.Argument(help="A rules spec (YAML file) or a bundled pack name.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the tables.")],
    n: Annotated[
        int | None,
        typer.Option("-n", "--rows", help="Rows of the first table (children follow their parents)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: the spec's, else 0).")] = None,
    chunks: Annotated[
        int | None,
        typer.Option("--chunks", help="--format parquet: chunks per part file; never changes the values."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="parquet, csv, jsonl or fhir.")] = "parquet",
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a spec value: path=value (e.g. customers.rows=500)."),
    ] = None,
    engine: Engine = "local",
    workers: Workers = None,
    quiet: Quiet = False,
) -> None:
    """Generate tables from declarative rules: no data needed, identical output at any scale."""
    from ..rules import run_rules

    overrides: dict[str, str] = {}
    for raw in set_ or []:
        if "=" not in raw:
            raise UsageError(f"--set '{raw}' is not of the form path=value (e.g. customers.rows=500)")
        key, value = raw.split("=", 1)
        overrides[key.strip()] = value.strip()
    if chunks is not None and fmt.lower() != "parquet":
        raise UsageError(f"--chunks groups chunks into Parquet part files; no effect on --format {fmt}")
    with progress_bar(quiet, None, "rules") as progress:
        summary = run_rules(spec, n, out_dir, seed, chunks, fmt, overrides, progress, engine=engine,
                            workers=workers)
    if not quiet:
        fmt = fmt.lower()
        if fmt == "fhir":
            counts = ", ".join(f"{t} {r:,}" for t, r in summary.items())
            out.print(f"FHIR R4 resources ({counts}) → {out_dir}/")
        else:
            for table, rows in summary.items():
                out.print(f"{table}: {rows:,} rows → {out_dir}/{table}.{fmt}")
