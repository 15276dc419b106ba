"""The ``simulacra`` command: a thin front door over the Python API.

Every failure caused by input (files, options, schemas, conditions) is printed as one line,
``error: ...``, with exit code 2 and no traceback; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ..errors import DataError, SimulacraError, UsageError
from ..text.cli import text_app

app = typer.Typer(
    name="simulacra",
    help="Synthetic data you can trust: learn from a table, sample realistic rows, check them.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(text_app, name="text")  # `simulacra text SPEC` and `simulacra text export FILE`
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)
_state = {"debug": False}

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summaries.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed: the same seed gives the same output.")]
OrderBy = Annotated[
    str | None, typer.Option("--order-by", help="With --sequence-key: column ordering the events.")
]
Context = Annotated[
    str | None, typer.Option("--context", help="With --sequence-key: per-entity columns, a,b,c.")
]
Engine = Annotated[
    str, typer.Option("--engine", help="Who runs the chunks: local (processes here) or ray (a Ray cluster).")
]
Workers = Annotated[
    int | None,
    typer.Option("--workers", help="Processes (local) or CPUs of a local Ray; never changes the output."),
]


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    _state["debug"] = debug


@contextmanager
def _progress(quiet: bool, total: int | None, label: str):  # noqa: ANN202
    """A rich progress bar (rows, rate, ETA) that is silent with --quiet or off a terminal."""
    if quiet:
        yield lambda *_: None
        return
    columns = [
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield lambda step=1: bar.advance(task, step if isinstance(step, int) else 1)


def _parse_kinds(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in items or []:
        if "=" not in raw:
            raise UsageError(f"--kind '{raw}' is not of the form column=kind (e.g. age=float)")
        col, kind = (s.strip() for s in raw.split("=", 1))
        out[col] = kind
    return out


def _fit_options(model: str, max_minutes: float | None, epsilon: float | None, delta: float | None) -> dict:
    """The training options of ``fit`` as model parameters; an option the model lacks is a usage error."""
    from ..tabular.models import get_model_class

    accepted = get_model_class(model).__init__.__code__.co_varnames
    given = {"max_minutes": max_minutes, "epsilon": epsilon, "delta": delta}
    for name, value in given.items():
        if value is not None and name not in accepted:
            flag = "--" + name.replace("_", "-")
            which = "the autoregressive model" if name != "max_minutes" else "the deep models"
            raise UsageError(f"{flag} applies to {which} only, not to '{model}'")
    if delta is not None and epsilon is None:
        raise UsageError("--delta needs --epsilon (the privacy budget)")
    return {k: v for k, v in given.items() if v is not None}


@app.command()
def fit(
    data: Annotated[Path, typer.Argument(help="Training table (.csv, .parquet, .jsonl).")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Model directory to write.")],
    schema: Annotated[Path | None, typer.Option("--schema", help="Schema YAML (kinds, constraints).")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Override a column kind: col=kind.")
    ] = None,
    synthesizer: Annotated[
        str,
        typer.Option(
            "--model",
            "--synthesizer",
            "-s",
            help="Model: trees, copula; with the [torch] extra autoregressive, diffusion, gan.",
        ),
    ] = "trees",
    max_minutes: Annotated[
        float | None, typer.Option("--max-minutes", help="Deep models: stop training after this long.")
    ] = None,
    epsilon: Annotated[
        float | None, typer.Option("--epsilon", help="Autoregressive model: train with DP, this ε.")
    ] = None,
    delta: Annotated[float | None, typer.Option("--delta", help="With --epsilon: δ (default 1e-5).")] = None,
    sequence_key: Annotated[
        str | None, typer.Option("--sequence-key", help="Entity column: learn sequences (long format).")
    ] = None,
    order_by: OrderBy = None,
    context: Context = None,
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Learn from a table and write a model directory."""
    from ..io import read_table
    from ..tabular import TabularSynthesizer

    if sequence_key is not None or order_by is not None or context is not None:
        _fit_sequences(data, out_dir, schema, kind, sequence_key, order_by, context, seed, quiet)
        return

    options = _fit_options(synthesizer, max_minutes, epsilon, delta)
    synth = TabularSynthesizer(synthesizer, seed=seed, **options)
    df = read_table(data)
    overrides = _parse_kinds(kind)
    with _progress(quiet, None, f"fitting {data.name}") as step:

        def report(msg: str) -> None:
            step()
            if not quiet and msg.startswith("epoch"):
                err.print(msg, markup=False, highlight=False)

        try:
            synth.fit(df, schema=schema, overrides=overrides or None, progress=report)
        except DataError as exc:
            raise DataError(f"{data}: {exc}") from None
    synth.save(out_dir)
    if not quiet:
        out.print(f"learned {len(df):,} rows × {len(df.columns)} columns with '{synthesizer}' → {out_dir}/")


def _split_list(raw: str | None) -> list[str]:
    return [x.strip() for x in (raw or "").split(",") if x.strip()]


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
    with _progress(quiet, None, f"fitting sequences of {data.name}") as step:
        try:
            synth.fit(df, sequence_key, order_by, _split_list(context), _parse_kinds(kind), lambda _m: step())
        except DataError as exc:
            raise DataError(f"{data}: {exc}") from None
    synth.save(out_dir)
    if not quiet:
        out.print(
            f"learned {synth.n_train_entities_:,} sequences ({len(df):,} events × {len(df.columns)} columns) "
            f"→ {out_dir}/"
        )


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
    from ..io import write_chunks
    from ..sequences import SequenceSynthesizer
    from ..tabular import parse_where

    if rebalance is not None:
        raise UsageError("--rebalance does not apply to a sequence model; condition with --where instead")
    conditions = parse_where(where or [])
    synth = SequenceSynthesizer.load(model_dir)
    chunks = synth.iter_sample(n, conditions=conditions or None, seed=seed)
    first = next(chunks)
    with _progress(quiet, n, "sampling sequences") as step:
        step(int(first[synth.sequence_key_].nunique()))

        def stream():  # noqa: ANN202
            yield first
            for chunk in chunks:
                step(int(chunk[synth.sequence_key_].nunique()))
                yield chunk

        path, rows = write_chunks(stream(), output)
    if not quiet:
        out.print(f"wrote {n:,} synthetic sequences ({rows:,} events) → {path}")


@app.command()
def sample(
    model_dir: Annotated[Path, typer.Argument(help="Model directory written by `simulacra fit`.")],
    n: Annotated[
        int, typer.Option("-n", "--rows", help="Number of rows to sample (sequences, for a sequence model).")
    ],
    output: Annotated[Path, typer.Option("--out", "-o", help="Output file (.csv, .parquet, .jsonl).")],
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
    """Sample synthetic rows from a model directory."""
    from ..io import check_writable, write_chunks
    from ..tabular import TabularSynthesizer, parse_where

    if n <= 0:
        raise UsageError(f"-n must be a positive number of rows, got {n}")
    if seed < 0:
        raise UsageError(f"--seed must be a non-negative integer, got {seed}")
    check_writable(output)
    from ..sequences import is_sequence_model

    if is_sequence_model(model_dir):
        _sample_sequences(model_dir, n, output, where, rebalance, seed, quiet)
        return
    conditions = parse_where(where or [])
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    if engine != "local" or (workers or 1) > 1:
        _sample_on_engine(model_dir, n, output, conditions, rebalance, seed, engine, workers, quiet)
        return
    synth = TabularSynthesizer.load(model_dir)
    # resolve conditions before any output is opened, so a bad --where writes nothing
    chunks = synth.iter_sample(n, conditions=conditions or None, rebalance=rebalance, seed=seed)
    first = next(chunks)
    with _progress(quiet, n, "sampling") as step:
        step(len(first))

        def stream():  # noqa: ANN202
            yield first
            for chunk in chunks:
                step(len(chunk))
                yield chunk

        path, rows = write_chunks(stream(), output)
    if not quiet:
        out.print(f"wrote {rows:,} synthetic rows → {path}")


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

    with _progress(quiet, n, f"sampling ({engine})") as step:
        sample_to_file(model_dir, n, output, seed, conditions or None, rebalance, engine, workers, step)
    if not quiet:
        out.print(f"wrote {n:,} synthetic rows → {output}")


@app.command("schema")
def schema_cmd(
    data: Annotated[Path, typer.Argument(help="A table to infer the schema of.")],
    save: Annotated[Path | None, typer.Option("--out", "-o", help="Write the schema as YAML here.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Override a column kind: col=kind.")
    ] = None,
) -> None:
    """Print the inferred schema (and optionally save it as YAML to edit and pass to `fit --schema`)."""
    from ..io import read_table
    from ..schema import infer_schema

    if save is not None and not save.parent.is_dir():
        raise UsageError(f"{save}: folder {save.parent} does not exist; create it or choose another --out")
    df = read_table(data)
    schema = infer_schema(df, _parse_kinds(kind) or None)
    table = Table(title=f"{data.name}: {len(df):,} rows × {len(df.columns)} columns")
    for name in ("column", "kind", "missing", "distinct", "why"):
        table.add_column(name)
    for (col, k, detail), name in zip(schema.describe(), df.columns, strict=True):
        table.add_row(col, k, f"{df[name].isna().mean():.1%}", f"{df[name].nunique():,}", detail)
    out.print(table)
    if save is not None:
        schema.save(save)
        out.print(f"schema written → {save} (edit kinds or add constraints, then `simulacra fit --schema`)")


@app.command()
def rules(
    spec: Annotated[str, typer.Argument(help="A rules spec (YAML file) or a bundled pack name.")],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the tables.")],
    n: Annotated[
        int | None,
        typer.Option("-n", "--rows", help="Rows of the first table (children follow their parents)."),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: the spec's, else 0).")] = None,
    chunks: Annotated[
        int | None, typer.Option("--chunks", help="Chunks per Parquet part file; never changes the values.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="parquet, csv or jsonl.")] = "parquet",
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
    summary = run_rules(spec, n, out_dir, seed, chunks, fmt, overrides, quiet, engine=engine, workers=workers)
    if not quiet:
        for table, rows in summary.items():
            out.print(f"{table}: {rows:,} rows → {out_dir}/{table}.{'parquet' if fmt == 'parquet' else fmt}")


@app.command("evaluate")
def evaluate_cmd(
    synthetic: Annotated[Path, typer.Option("--synthetic", help="The synthetic table to check.")],
    train: Annotated[
        Path, typer.Option("--train", help="The real table the synthetic data was learned from.")
    ],
    holdout: Annotated[Path, typer.Option("--holdout", help="Real rows the generator never saw.")],
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
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Check synthetic data against real train and holdout data: fidelity, utility, privacy.

    With --text-field the rows are texts: diversity, realism, train-synthetic/test-real, leakage."""
    from ..evaluate.report import SECTIONS, evaluate
    from ..evaluate.text import SECTION_ALIASES, TEXT_SECTIONS
    from ..io import read_table

    chosen = [x.strip() for x in sections.split(",") if x.strip()]
    allowed = SECTIONS if text_field is None else TEXT_SECTIONS + tuple(SECTION_ALIASES)
    bad = [x for x in chosen if x not in allowed]
    if bad or not chosen:
        raise UsageError(
            f"--sections: unknown section '{bad[0] if bad else sections}'; choose from {', '.join(allowed)}"
        )
    for path, ext in ((out_html, (".html", ".htm")), (out_json, (".json",))):
        if path is not None:
            if path.suffix.lower() not in ext:
                raise UsageError(f"{path}: expected a {ext[0]} file name")
            if not (path.parent if str(path.parent) else Path(".")).is_dir():
                raise UsageError(f"{path}: folder {path.parent} does not exist")
    frames = {}
    for role, path in (("train", train), ("holdout", holdout), ("synthetic", synthetic)):
        try:
            frames[role] = read_table(path)
        except SimulacraError as exc:
            raise type(exc)(f"--{role} {exc}") from None
    if sequence_key is None and (order_by is not None or context is not None):
        raise UsageError("--order-by and --context need --sequence-key (the column naming each entity)")
    steps = len(chosen) + (sequence_key is not None) if text_field is None else len(TEXT_SECTIONS) + 1
    with _progress(quiet, steps, "checking") as step:
        report = evaluate(
            synthetic=frames["synthetic"],
            train=frames["train"],
            holdout=frames["holdout"],
            target=target,
            sections=chosen,
            seed=seed,
            sources={"synthetic": str(synthetic), "train": str(train), "holdout": str(holdout)},
            progress=lambda _m: step(),
            sequence_key=sequence_key,
            order_by=order_by,
            context=_split_list(context) or None,
            text_field=text_field,
            embeddings=not no_embeddings,
        )
    if out_html is not None:
        report.save_html(out_html)
    if out_json is not None:
        report.save_json(out_json)
    if not quiet:
        _print_report(report)
        written = [str(p) for p in (out_html, out_json) if p is not None]
        if written:
            out.print(f"written: {', '.join(written)}")
    if strict and report.verdict == "fail":
        raise typer.Exit(code=1)


def _print_report(report) -> None:  # noqa: ANN001
    """The verdict and every score beside its reference, as a terminal table."""
    colour = {"pass": "green", "warn": "yellow", "fail": "red", "n/a": "dim"}
    v = report.data["verdict"]
    out.print(f"[bold {colour[v['status']]}]verdict: {v['status'].upper()}[/]")
    for reason in v["reasons"]:
        out.print(f"  • {reason}", markup=False)
    for note in report.data.get("notes", []):
        out.print(f"  note: {note}", markup=False)
    table = Table()
    table.add_column("check")
    for name in ("synthetic", "real holdout\n(reference)", ""):
        table.add_column(name, no_wrap=True, justify="right" if name else "left")
    from ..evaluate.report import _fmt

    for section in report.data["sections"].values():
        for sc in section["scores"]:
            label = escape(sc["label"]) + (
                f" [dim](not computable: {escape(sc['not_computable'])})[/]" if sc["not_computable"] else ""
            )
            value = "n/a" if sc["not_computable"] else _fmt(sc["value"], sc["format"])
            table.add_row(
                label,
                value,
                _fmt(sc["reference"], sc["format"]),
                f"[{colour[sc['status']]}]{sc['status']}[/]",
            )
    out.print(table)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder for the demo's outputs.")] = Path(
        "simulacra-demo"
    ),
    seed: Seed = 0,
    quiet: Quiet = False,
) -> None:
    """Learn from the bundled UCI Adult census data and check the synthetic copy against a real holdout."""
    from ..demo import run_demo

    run_demo(
        out_dir,
        seed=seed,
        quiet=quiet,
        console=out,
        progress=lambda total, label: _progress(quiet, total, label),
    )


def _click_kind(exc: BaseException) -> str | None:
    """Classify click's exceptions by shape: typer may bundle its own copy of click, whose classes
    are not click's, so ``isinstance`` against ``click.ClickException`` would miss them."""
    name = type(exc).__name__
    if name == "Exit" and isinstance(getattr(exc, "exit_code", None), int):
        return "exit"
    if name == "Abort":
        return "abort"
    if name == "NoArgsIsHelpError":
        return "help"
    if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
        return "usage"
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning expected errors into one line and exit code 2."""
    args = argv if argv is not None else sys.argv[1:]
    command = typer.main.get_command(app)
    try:
        rc = command.main(args=args, prog_name="simulacra", standalone_mode=False)
        if isinstance(rc, int) and rc:  # click returns the code of typer.Exit instead of raising it
            sys.exit(rc)
    except SimulacraError as exc:
        if _state["debug"]:
            raise
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("error: interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:
        kind = _click_kind(exc)
        if kind == "exit":
            sys.exit(exc.exit_code)
        if kind == "abort":
            err.print("error: interrupted", markup=False)
            sys.exit(130)
        if kind == "help":
            out.print(exc.format_message(), markup=False, highlight=False, soft_wrap=True)
            sys.exit(0)
        if kind == "usage":
            msg = " ".join(exc.format_message().split())
            err.print(f"error: {msg} (see simulacra --help)", markup=False, soft_wrap=True)
            sys.exit(2)
        if _state["debug"] or "--debug" in args:
            raise
        # an internal error: one line, the traceback only with --debug
        err.print(
            f"error: internal error {type(exc).__name__}: {exc} (rerun with --debug and report it)",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
