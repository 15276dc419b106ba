"""Options shared by several commands, and the small parsers of their values."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import UsageError

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
Kinds = Annotated[list[str] | None, typer.Option("--kind", help="Override a column kind: col=kind.")]


def parse_kinds(items: list[str] | None) -> dict[str, str]:
    """``--kind col=kind`` options as ``{col: kind}``."""
    kinds: dict[str, str] = {}
    for raw in items or []:
        if "=" not in raw:
            raise UsageError(f"--kind '{raw}' is not of the form column=kind (e.g. age=float)")
        col, kind = (s.strip() for s in raw.split("=", 1))
        kinds[col] = kind
    return kinds


def split_list(raw: str | None) -> list[str]:
    """``a,b,c`` as ``["a", "b", "c"]`` (blanks dropped)."""
    return [x.strip() for x in (raw or "").split(",") if x.strip()]


def check_workers(workers: int | None) -> None:
    """``--workers`` must be at least 1."""
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")


def on_engine(engine: str, workers: int | None) -> bool:
    """Whether ``--engine``/``--workers`` ask for more than this one process."""
    check_workers(workers)
    return engine != "local" or (workers or 1) > 1
