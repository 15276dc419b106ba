"""``simulacra text``: generate a dataset from a task spec, or export one.

    simulacra text SPEC [-n N] [--out FILE] [--backend embedded|openai|anthropic] [--dry-run] [--resume]
    simulacra text export FILE --format openai-chat|hf-dataset|parquet|csv|jsonl --out PATH

``simulacra text SPEC`` is short for ``simulacra text run SPEC``: the group treats a first argument that
is not one of its commands as a spec file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ..errors import UsageError
from .options import on_engine
from .render import err, out, progress_bar


class SpecFirstGroup(TyperGroup):
    """A group whose first argument may be a spec file: ``text SPEC ...`` runs ``text run SPEC ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


text_app = typer.Typer(
    cls=SpecFirstGroup,
    help="LLM datasets from a YAML task: `simulacra text SPEC` generates, `simulacra text export` converts.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

BACKENDS = ("embedded", "openai", "anthropic")
BACKEND_OPTIONS = {
    "--api": ("openai", "anthropic"),
    "--api-key-env": ("openai", "anthropic"),
    "--timeout": ("openai", "anthropic"),
    "--threads": ("embedded",),
}
"""Backend options that only some backends read: given to another backend, they are a usage error.
(The values each backend accepts, and ``--base-url``/``--structured``, are checked by ``make_backend``.)"""


def check_backend_options(backend: str, given: dict[str, Any]) -> None:
    """Refuse a backend option that ``backend`` would ignore (one line naming who reads it)."""
    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend!r}: choose {', '.join(BACKENDS)}")
    for flag, value in given.items():
        readers = BACKEND_OPTIONS[flag]
        if value is not None and backend not in readers:
            raise UsageError(f"{flag} applies to --backend {' or '.join(readers)}, not to '{backend}'")


@text_app.command("run")
def run_cmd(
    spec: Annotated[Path, typer.Argument(help="Task spec (YAML).")],
    n: Annotated[
        int | None, typer.Option("-n", "--examples", help="Examples to keep (default: the spec's n).")
    ] = None,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Output JSONL file.")] = None,
    backend: Annotated[
        str, typer.Option("--backend", "-b", help="embedded, openai or anthropic.")
    ] = "embedded",
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model name (a GGUF path when embedded).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="openai/anthropic: server URL, e.g. http://127.0.0.1:8000/v1.")
    ] = None,
    api: Annotated[
        str | None, typer.Option("--api", help="openai: chat (default) or completions.")
    ] = None,
    structured: Annotated[
        str | None,
        typer.Option(
            "--structured",
            help="openai: json_schema, json_object, grammar, none; anthropic: tool, none; embedded: grammar.",
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option("--api-key-env", help="openai/anthropic: environment variable holding the key."),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", help="Most requests in flight.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="openai/anthropic: seconds per request (default 120).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed (default: the spec's, else 0).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted --out file.")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Start --out again (the cache is kept).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show 3 prompts and the estimate; send nothing.")
    ] = False,
    budget: Annotated[
        float | None, typer.Option("--budget", help="Stop before spending more USD than this.")
    ] = None,
    prices: Annotated[
        Path | None, typer.Option("--prices", help="Price table (YAML/JSON, $ per M tokens).")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not cache requests.")] = False,
    threads: Annotated[
        int | None, typer.Option("--threads", help="embedded: CPU threads of the model.")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="local (this process, or --workers processes) or ray.")
    ] = "local",
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes (local) or CPUs of a local Ray.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
) -> None:
    """Generate a dataset from a task spec (the model writes the text, the program picks the labels)."""
    from ..text import Job, load_task
    from ..text.accounting import load_prices

    if n is not None and n <= 0:
        raise UsageError(f"-n must be a positive number of examples, got {n}")
    if budget is not None and budget < 0:
        raise UsageError(f"--budget must be a number of dollars >= 0, got {budget}")
    if concurrency is not None and concurrency <= 0:
        raise UsageError(f"--concurrency must be at least 1, got {concurrency}")
    if resume and overwrite:
        raise UsageError("--resume and --overwrite contradict each other; choose one")
    if output is not None and output.suffix.lower() != ".jsonl":
        raise UsageError(
            f"--out {output}: the output is JSONL; name it *.jsonl (then `simulacra text export`)"
        )
    check_backend_options(
        backend,
        {"--api": api, "--api-key-env": api_key_env, "--timeout": timeout, "--threads": threads},
    )
    backend_args = {
        "kind": backend, "model": model, "base_url": base_url, "api": api, "structured": structured,
        "api_key_env": api_key_env, "timeout": timeout, "concurrency": concurrency, "n_threads": threads,
    }
    job = Job(load_task(spec), n=n, seed=seed)
    table = load_prices(prices)
    if dry_run:
        _dry_run(job, backend_args, table, output, engine, workers, quiet)
        return
    if output is None:
        raise UsageError("--out FILE.jsonl is required (or --dry-run to only see prompts and the estimate)")
    if output.exists() and not (resume or overwrite):
        raise UsageError(
            f"{output}: already exists; pass --resume to continue it or --overwrite to start again"
        )
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(
            f"{output}: folder {output.parent} does not exist; create it or choose another --out"
        )
    if on_engine(engine, workers):
        _run_on_engine(spec, output, job.n, seed, engine, workers, overwrite, budget, no_cache, quiet,
                       backend_args)
        return
    _run_here(job, output, backend_args, resume, overwrite, budget, no_cache, table, quiet)


def _backend(args: dict[str, Any]) -> Any:
    from ..text import make_backend

    kind = args["kind"]
    return make_backend(kind, **{k: v for k, v in args.items() if k != "kind" and v is not None})


def _dry_run(
    job: Any,
    backend_args: dict[str, Any],
    table: Any,
    output: Path | None,
    engine: str,
    workers: int | None,
    quiet: bool,
) -> None:
    """Print three prompts (not with ``--quiet``), the token and cost estimate, and the run these
    options would start."""
    from ..text import dry_run as plan_dry_run

    be = None
    if backend_args["kind"] == "embedded":
        try:
            be = _backend(backend_args)
        except UsageError:
            be = None  # estimate with 4 characters a token
    model = backend_args["model"]
    est = plan_dry_run(job, be, prices=table, model=model or (be.model if be else None))
    for p in [] if quiet else est["prompts"]:
        out.print(f"── example {p['index']} {json.dumps(p['attributes'], ensure_ascii=False)}", markup=False)
        out.print(p["prompt"], markup=False)
    cost = (
        f"${est['cost_usd']:.4f} (at most ${est['cost_usd_max']:.4f})"
        if est["price_known"]
        else (f"unknown: no price for '{est['model']}' (pass --prices FILE)")
    )
    out.print(
        f"estimate for {est['n']:,} examples: ~{est['tokens_in_total']:,} tokens in "
        f"({est['tokens_in_per_example']:.0f} per example), ~{est['tokens_out_total']:,} tokens out "
        f"(max_tokens {est['max_tokens']}), cost {cost}; nothing was sent",
        markup=False,
    )
    given = ", ".join(f"{k} {v}" for k, v in backend_args.items() if v is not None and k != "kind")
    where = "this process" if not on_engine(engine, workers) else f"{engine} with {workers or 'all'} workers"
    out.print(
        f"the run: --backend {backend_args['kind']}{f' ({given})' if given else ''}, on {where}, "
        f"into {output if output is not None else '(no --out given)'}",
        markup=False,
    )


def _run_here(
    job: Any,
    output: Path,
    backend_args: dict[str, Any],
    resume: bool,
    overwrite: bool,
    budget: float | None,
    no_cache: bool,
    table: Any,
    quiet: bool,
) -> None:
    """`text run` in this process: the request pipeline writes ``output`` append-only."""
    from ..text import generate_to_file

    be = _backend(backend_args)
    with progress_bar(quiet, job.n, "generating") as progress:
        result = generate_to_file(
            job,
            be,
            output,
            resume=resume,
            overwrite=overwrite,
            budget=budget,
            cache=not no_cache,
            prices=table,
            concurrency=backend_args["concurrency"],
            progress=progress,
        )
    s = result.stats
    if not quiet:
        reasons = ", ".join(f"{k} {v}" for k, v in s.reasons.most_common()) or "none"
        out.print(
            f"kept {s.accepted:,} of {job.n:,} examples → {result.out} "
            f"(rejected {s.rejected:,}: {reasons}; rejects in {result.rejects})",
            markup=False,
        )
        out.print(
            f"tokens in {s.tokens_in:,}, out {s.tokens_out:,}; cost ${s.cost:.4f}; "
            f"cached requests {s.cached:,}; PII flagged in {s.pii_flagged:,}",
            markup=False,
        )
    if s.stopped == "budget":
        err.print(
            f"stopped: the next request could exceed --budget ${budget:g}; {s.accepted:,} of {job.n:,} "
            f"kept; raise --budget and rerun with --resume",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=3)


def _run_on_engine(
    spec: Path,
    output: Path,
    n: int | None,
    seed: int | None,
    engine: str,
    workers: int | None,
    overwrite: bool,
    budget: float | None,
    no_cache: bool,
    quiet: bool,
    backend: dict[str, Any],
) -> None:
    """`text run` on local processes or Ray: units of example indices, rounds until n are kept."""
    from ..scale import staging_dir
    from ..text.checkpoint import side_folder
    from ..text.distributed import UNIT_EXAMPLES, generate_on_engine

    if budget is not None:
        raise UsageError(
            "--budget needs one process (the runner reserves each request's cost); drop --engine/--workers"
        )
    if no_cache:
        raise UsageError(
            "--no-cache: units on workers always cache their requests (a retried unit pays nothing twice)"
        )
    if output.exists() and not overwrite and not staging_dir(output).exists():
        raise UsageError(
            f"{output}: is complete (an engine run writes it only at the end); --overwrite makes it again"
        )
    if overwrite:
        output.unlink(missing_ok=True)
    kwargs = {k: v for k, v in backend.items() if v is not None}
    with progress_bar(quiet, n, f"text ({engine})") as progress:
        stats = generate_on_engine(
            spec, output, kwargs, n, seed, engine, workers, UNIT_EXAMPLES, progress=progress
        )
    if not quiet:
        reasons = ", ".join(f"{k} {v}" for k, v in stats.reasons.most_common()) or "none"
        out.print(
            f"kept {stats.accepted:,} examples → {output} (rejected {stats.rejected:,}: {reasons}; "
            f"rejects in {side_folder(output) / 'rejects.jsonl'}); tokens in {stats.tokens_in:,}, "
            f"out {stats.tokens_out:,}; cost ${stats.cost:.4f}",
            markup=False,
        )


@text_app.command("export")
def export_cmd(
    source: Annotated[Path, typer.Argument(help="The JSONL written by `simulacra text`.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="openai-chat, hf-dataset, parquet, csv or jsonl.")
    ],
    output: Annotated[Path, typer.Option("--out", "-o", help="Output file (a folder for hf-dataset).")],
    prompt_field: Annotated[
        str | None, typer.Option("--prompt-field", help="openai-chat: field for the user message.")
    ] = None,
    completion_field: Annotated[
        str | None, typer.Option("--completion-field", help="openai-chat: field for the assistant message.")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", help="openai-chat: a system message.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Convert generated examples for fine-tuning or analysis."""
    from ..text.export import export

    chat_only = {"--prompt-field": prompt_field, "--completion-field": completion_field, "--system": system}
    given = [flag for flag, value in chat_only.items() if value is not None]
    if given and fmt != "openai-chat":
        raise UsageError(f"{given[0]} applies to --format openai-chat only, not to '{fmt}'")
    path, count = export(
        source, fmt, output, prompt_field=prompt_field, completion_field=completion_field, system=system
    )
    if not quiet:
        out.print(f"wrote {count:,} examples as {fmt} → {path}", markup=False)
