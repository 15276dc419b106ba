"""``simulacra fit``: learn a table (or, with ``--sequence-key``, entities with histories)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import DataError, UsageError
from .options import Context, Kinds, OrderBy, Quiet, Seed, parse_kinds, split_list
from .render import out, progress_bar


def fit_options(model: str, max_minutes: float | None, epsilon: float | None, delta: float | None) -> dict:
    """The training options of ``fit`` as model parameters; an option the model lacks is a usage error."""
    from ..tabular.models import model_params

    accepted = model_params(model)  # read from the constructor's signature
    given = {"max_minutes": max_minutes, "epsilon": epsilon, "delta": delta}
    for name, value in given.items():
        if value is not None and name not in accepted:
            flag = "--" + name.replace("_", "-")
            which = (
                "the private models (autoregressive, mst, aim)"
                if name != "max_minutes"
                else "the deep models and aim"
            )
            raise UsageError(f"{flag} applies to {which} only, not to '{model}'")
    if delta is not None and epsilon is None:
        raise UsageError("--delta needs --epsilon (the privacy budget)")
    return {k: v for k, v in given.items() if v is not None}


def fit(
    data: Annotated[
        str,
        typer.Argument(
            help="Training table (.csv, .parquet, .jsonl), or a database: a .sqlite/.duckdb file, a "
            "postgresql:// URL or a folder of table files."
        ),
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Model directory to write.")],
    schema: Annotated[Path | None, typer.Option("--schema", help="Schema YAML (kinds, constraints).")] = None,
    kind: Kinds = None,
    synthesizer: Annotated[
        str | None,
        typer.Option(
            "--model",
            "--synthesizer",
            "-s",
            help="Model: trees (default), copula; with the [torch] extra autoregressive, diffusion, gan. "
            "Images: diffusion (default) or pca.",
        ),
    ] = None,
    max_minutes: Annotated[
        float | None,
        typer.Option("--max-minutes", help="Deep models and aim: stop training after this long."),
    ] = None,
    epsilon: Annotated[
        float | None, typer.Option("--epsilon", help="autoregressive, mst or aim: fit with DP, this ε.")
    ] = None,
    delta: Annotated[float | None, typer.Option("--delta", help="With --epsilon: δ (default 1e-5).")] = None,
    sequence_key: Annotated[
        str | None, typer.Option("--sequence-key", help="Entity column: learn sequences (long format).")
    ] = None,
    order_by: OrderBy = None,
    context: Context = None,
    metadata: Annotated[
        Path | None,
        typer.Option("--metadata", help="Database: tables and keys (YAML from `simulacra schema`)."),
    ] = None,
    tables: Annotated[
        str | None, typer.Option("--tables", help="Database: learn only these tables, a,b,c.")
    ] = None,
    orphans: Annotated[
        str | None,
        typer.Option(
            "--orphans", help="Database: rows whose parent is missing: error (default), drop, null."
        ),
    ] = None,
    image_size: Annotated[
        int | None, typer.Option("--image-size", help="Images: resize and centre-crop to this square side.")
    ] = None,
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Learn from a table, a whole database or a folder of images, and write a model directory."""
    from ..images import is_image_folder
    from ..io import read_table
    from ..tabular import TabularSynthesizer
    from .database import fit_database, is_database_source, refuse_table_options

    if is_image_folder(data) or (image_size is not None and Path(data).is_dir()):
        from .images import fit_images, refuse

        refuse(
            {
                "--schema": schema,
                "--kind": kind,
                "--sequence-key": sequence_key,
                "--order-by": order_by,
                "--context": context,
                "--metadata": metadata,
                "--tables": tables,
                "--orphans": orphans,
            },
            "an image folder",
        )
        fit_images(Path(data), out_dir, synthesizer, image_size, max_minutes, epsilon, delta, seed, quiet)
        return
    if image_size is not None:
        raise UsageError("--image-size applies to a folder of images (<label>/*.png or *.png)")
    if is_database_source(data) or metadata is not None or tables is not None:
        refuse_table_options(
            {
                "--schema": schema,
                "--kind": kind,
                "--model": synthesizer,
                "--max-minutes": max_minutes,
                "--epsilon": epsilon,
                "--delta": delta,
                "--sequence-key": sequence_key,
                "--order-by": order_by,
                "--context": context,
            },
            "a database",
        )
        fit_database(data, out_dir, metadata, split_list(tables), orphans or "error", seed, quiet)
        return
    if orphans is not None:
        raise UsageError("--orphans applies to a database (a .sqlite/.duckdb file, a URL or a folder)")
    data = Path(data)

    if sequence_key is not None or order_by is not None or context is not None:
        tabular_only = {
            "--model": synthesizer,
            "--max-minutes": max_minutes,
            "--epsilon": epsilon,
            "--delta": delta,
        }
        given = [flag for flag, value in tabular_only.items() if value is not None]
        if given and sequence_key is not None:
            raise UsageError(f"{given[0]} does not apply with --sequence-key (sequences have one model)")
        _fit_sequences(data, out_dir, schema, kind, sequence_key, order_by, context, seed, quiet)
        return

    synthesizer = synthesizer or "trees"
    options = fit_options(synthesizer, max_minutes, epsilon, delta)
    synth = TabularSynthesizer(synthesizer, seed=seed, **options)
    df = read_table(data)
    kinds = parse_kinds(kind)
    with progress_bar(quiet, None, f"fitting {data.name}") as progress:
        try:
            synth.fit(df, schema=schema, kinds=kinds or None, progress=progress)
        except DataError as exc:
            raise DataError(f"{data}: {exc}") from None
    synth.save(out_dir)
    if not quiet:
        out.print(f"learned {len(df):,} rows × {len(df.columns)} columns with '{synthesizer}' → {out_dir}/")


def _fit_sequences(
    data: Path,
    out_dir: Path,
    schema: Path | None,
    kind: list[str] | None,
    sequence_key: str | None,
    order_by: str | None,
    context: str | None,
    seed: int,
    quiet: bool,
) -> None:
    """`fit --sequence-key`: learn entities with histories."""
    from ..io import read_table
    from ..sequences import SequenceSynthesizer

    if sequence_key is None:
        raise UsageError("--order-by and --context need --sequence-key (the column naming each entity)")
    if schema is not None:
        raise UsageError("--schema is not supported with --sequence-key; set column kinds with --kind")
    df = read_table(data)
    synth = SequenceSynthesizer(seed=seed)
    with progress_bar(quiet, None, f"fitting sequences of {data.name}") as progress:
        try:
            synth.fit(df, sequence_key, order_by, split_list(context), parse_kinds(kind), progress)
        except DataError as exc:
            raise DataError(f"{data}: {exc}") from None
    synth.save(out_dir)
    if not quiet:
        out.print(
            f"learned {synth.n_train_entities_:,} sequences ({len(df):,} events × {len(df.columns)} columns) "
            f"→ {out_dir}/"
        )
