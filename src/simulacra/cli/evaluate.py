"""``simulacra evaluate``: the validation report of synthetic data against real train and holdout data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import SimulacraError, UsageError
from .options import Context, OrderBy, Quiet, Seed, split_list
from .render import out, print_report, progress_bar


def _check_output(path: Path | None, extensions: tuple[str, ...]) -> None:
    if path is None:
        return
    if path.suffix.lower() not in extensions:
        raise UsageError(f"{path}: expected a {extensions[0]} file name")
    if not (path.parent if str(path.parent) else Path(".")).is_dir():
        raise UsageError(f"{path}: folder {path.parent} does not exist")


def _table_file(source: str) -> bool:
    """An existing file with a table extension: no database (and no database machinery to load)."""
    from ..io import READABLE, suffix_of

    return "://" not in source and suffix_of(source) in READABLE and Path(source).is_file()


def evaluate_cmd(
    synthetic: Annotated[
        str,
        typer.Option("--synthetic", help="The synthetic table (or database, or folder of tables) to check."),
    ],
    train: Annotated[
        str, typer.Option("--train", help="The real table the synthetic data was learned from.")
    ],
    holdout: Annotated[str, typer.Option("--holdout", help="Real rows the generator never saw.")],
    target: Annotated[
        str | None, typer.Option("--target", help="Column to predict (utility section).")
    ] = None,
    out_html: Annotated[Path | None, typer.Option("--out", "-o", help="Write the HTML report here.")] = None,
    out_json: Annotated[Path | None, typer.Option("--json", help="Write every number as JSON here.")] = None,
    sections: Annotated[
        str, typer.Option("--sections", help="Comma-separated: fidelity,utility,privacy.")
    ] = ("fidelity,utility,privacy"),
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with code 1 when the verdict is fail.")
    ] = False,
    sequence_key: Annotated[
        str | None, typer.Option("--sequence-key", help="Entity column: add the sequence checks.")
    ] = None,
    order_by: OrderBy = None,
    context: Context = None,
    text_field: Annotated[
        str | None,
        typer.Option("--text-field", help="Field holding the texts: run the text checks (--target: label)."),
    ] = None,
    no_embeddings: Annotated[
        bool,
        typer.Option("--no-embeddings", help="With --text-field: skip sentence embeddings (TF-IDF only)."),
    ] = False,
    metadata: Annotated[
        Path | None, typer.Option("--metadata", help="Databases: tables and keys (YAML), else from --train.")
    ] = None,
    attacks: Annotated[
        int | None,
        typer.Option("--attacks", help="Privacy: singling-out, linkability and inference attacks, each "
                     "(default 2000; 0: none)."),
    ] = None,
    max_rows: Annotated[
        int | None,
        typer.Option("--max-rows", help="Tables: read at most this many rows of each, a seeded sample "
                     "stated in the report (default 100000; 0: every row)."),
    ] = None,
    student: Annotated[
        Path | None,
        typer.Option("--student", help="A `simulacra finetune` output folder: add the student section."),
    ] = None,
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Check synthetic data against real train and holdout data: fidelity, utility, privacy.

    With --text-field the rows are texts: diversity, realism, train-synthetic/test-real, leakage."""
    from ..evaluation import SECTIONS, evaluate
    from ..evaluation.text import SECTION_ALIASES, TEXT_SECTIONS

    if attacks is not None and attacks < 0:
        raise UsageError(f"--attacks must be 0 (no attacks) or a positive number of attacks, got {attacks}")
    chosen = split_list(sections)
    allowed = SECTIONS if text_field is None else TEXT_SECTIONS + tuple(SECTION_ALIASES)
    bad = [x for x in chosen if x not in allowed]
    if bad or not chosen:
        raise UsageError(
            f"--sections: unknown section '{bad[0] if bad else sections}'; choose from {', '.join(allowed)}"
        )
    if attacks is not None and (text_field is not None or "privacy" not in chosen):
        why = "texts have no attacks" if text_field is not None else "add privacy to --sections"
        raise UsageError(f"--attacks applies to the privacy section of a table report; {why}")
    if max_rows is not None and max_rows < 0:
        raise UsageError(f"--max-rows must be 0 (every row) or a positive number of rows, got {max_rows}")
    if max_rows is not None and text_field is not None:
        raise UsageError("--max-rows applies to table reports; the text checks cap their texts themselves")
    if no_embeddings and text_field is None:
        raise UsageError("--no-embeddings applies to texts only; give --text-field or drop it")
    _check_output(out_html, (".html", ".htm"))
    _check_output(out_json, (".json",))
    if student is not None:  # read and checked before any data: a bad folder stops at once
        from ..evaluation.student import read_student

        student_data = (read_student(student), str(student))
    else:
        student_data = None
    from ..images import is_image_folder

    if any(is_image_folder(x) for x in (synthetic, train, holdout)):
        from .images import evaluate_images, refuse

        given = {"--target": target, "--sequence-key": sequence_key, "--order-by": order_by,
                 "--context": context, "--text-field": text_field, "--metadata": metadata}
        refuse({**given, "--attacks": attacks, "--max-rows": max_rows}, "image folders")
        report = evaluate_images(synthetic, train, holdout, chosen, seed, quiet)
        _finish(report, out_html, out_json, strict, quiet, student_data)
        return
    from .database import evaluate_databases, is_database_source, refuse_table_options

    if metadata is not None or any(not _table_file(x) and is_database_source(x)
                                   for x in (synthetic, train, holdout)):
        if not all(is_database_source(x) for x in (synthetic, train, holdout)):
            raise UsageError(
                "--metadata and databases: give --synthetic, --train and --holdout all as databases "
                "(.sqlite/.duckdb files, URLs or folders of tables), or all as single tables"
            )
        refuse_table_options(
            {
                "--attacks": attacks,
                "--target": target,
                "--sequence-key": sequence_key,
                "--order-by": order_by,
                "--context": context,
                "--text-field": text_field,
                "--no-embeddings": no_embeddings,
                "--max-rows": max_rows,
            },
            "databases",
        )
        if sections != "fidelity,utility,privacy":
            raise UsageError("--sections applies to one table; a database report has all its sections")
        report = evaluate_databases(synthetic, train, holdout, metadata, seed, quiet)
        _finish(report, out_html, out_json, strict, quiet, student_data)
        return
    from ..evaluation.tabular.sampling import DEFAULT_MAX_ROWS, read_capped

    # a table report samples while it reads (0: every row; a sequence report keeps every row of its
    # sequences, a text report caps its texts itself)
    cap = 0 if text_field is not None or sequence_key is not None else (
        DEFAULT_MAX_ROWS if max_rows is None else max_rows)
    frames, full_rows = {}, {}
    for role, path in (("train", train), ("holdout", holdout), ("synthetic", synthetic)):
        try:
            frames[role], full_rows[role] = read_capped(path, cap, seed, role)
        except SimulacraError as exc:
            raise type(exc)(f"--{role} {exc}") from None
    sampled = {} if text_field is not None else {"max_table_rows": cap, "table_rows": full_rows}
    if sequence_key is None and (order_by is not None or context is not None):
        raise UsageError("--order-by and --context need --sequence-key (the column naming each entity)")
    steps = len(chosen) + (sequence_key is not None) if text_field is None else len(TEXT_SECTIONS) + 1
    with progress_bar(quiet, steps, "checking") as progress:
        report = evaluate(
            synthetic=frames["synthetic"],
            train=frames["train"],
            holdout=frames["holdout"],
            target=target,
            sections=chosen,
            seed=seed,
            sources={"synthetic": str(synthetic), "train": str(train), "holdout": str(holdout)},
            progress=progress,
            sequence_key=sequence_key,
            order_by=order_by,
            context=split_list(context) or None,
            text_field=text_field,
            embeddings=not no_embeddings,
            attacks=2000 if attacks is None else attacks,
            **sampled,
        )
    _finish(report, out_html, out_json, strict, quiet, student_data)


def _finish(report: Any, out_html: Path | None, out_json: Path | None, strict: bool, quiet: bool,
            student: tuple[dict, str] | None = None) -> None:
    """Add the student section (``--student``), write the report's files, print it, and exit 1 on a failed
    verdict with ``--strict``."""
    if student is not None:
        from ..evaluation.student import add_student_section

        add_student_section(report, *student)
    if out_html is not None:
        report.save_html(out_html)
    if out_json is not None:
        report.save_json(out_json)
    if not quiet:
        print_report(report)
        written = [str(p) for p in (out_html, out_json) if p is not None]
        if written:
            out.print(f"written: {', '.join(written)}")
    if strict and report.verdict == "fail":
        raise typer.Exit(code=1)
