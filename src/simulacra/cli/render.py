"""What the command line draws: its two consoles, the progress bar and the report table.

The library reports progress through :class:`simulacra.progress.Progress`; :func:`progress_bar`
yields one that draws a rich bar on stderr (label, bar, count, rate, elapsed, time left, status).
It is silent with ``--quiet``, and draws no bar when stderr is not a terminal (notes still print).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table
from rich.text import Text

from ..formatting import format_number
from ..progress import Progress

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


class _Rate(ProgressColumn):
    """Units per second, once there is a rate to show."""

    def render(self, task: Any) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s")


class Bar(Progress):
    """A :class:`Progress` drawn as a rich bar on stderr."""

    def __init__(self, total: int | None, label: str) -> None:
        super().__init__(total)
        self.rich = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )
        self.task = self.rich.add_task(escape(label), total=total, status="")

    def start(self, total: int | None, label: str | None = None) -> None:
        """A new phase: a new bar of ``total`` (``None``: unknown) counting from zero."""
        super().start(total, label)
        self.done = 0
        description = escape(label) if label else self.rich.tasks[0].description
        self.rich.remove_task(self.task)
        self.task = self.rich.add_task(description, total=total, status="")

    def advance(self, k: int = 1) -> None:
        super().advance(k)
        self.rich.advance(self.task, int(k))

    def note(self, text: str) -> None:
        err.print(text, markup=False, highlight=False, soft_wrap=True)

    def status(self, text: str) -> None:
        self.rich.update(self.task, status=escape(text))


@contextmanager
def progress_bar(quiet: bool, total: int | None = None, label: str = "") -> Iterator[Progress]:
    """A progress bar for one command; a silent :class:`Progress` with ``--quiet``."""
    if quiet:
        yield Progress(total)
        return
    bar = Bar(total, label)
    with bar.rich:
        yield bar


STATUS_COLOUR = {"pass": "green", "warn": "yellow", "fail": "red", "n/a": "dim"}


def print_report(report: Any) -> None:
    """The verdict and every score beside its reference, as a terminal table."""
    colour = STATUS_COLOUR
    v = report.data["verdict"]
    out.print(f"[bold {colour.get(v['status'], 'dim')}]verdict: {v['status'].upper()}[/]")
    for reason in v["reasons"]:
        out.print(f"  • {reason}", markup=False)
    for note in report.data.get("notes", []):
        out.print(f"  note: {note}", markup=False)
    table = Table()
    table.add_column("check")
    for name in ("synthetic", "real holdout\n(reference)", ""):
        table.add_column(name, no_wrap=True, justify="right" if name else "left")
    for section in report.data["sections"].values():
        for sc in section["scores"]:
            label = escape(sc["label"]) + (
                f" [dim](not computable: {escape(sc['not_computable'])})[/]" if sc["not_computable"] else ""
            )
            value = "n/a" if sc["not_computable"] else format_number(sc["value"], sc["format"], missing="n/a")
            table.add_row(
                label,
                value,
                format_number(sc["reference"], sc["format"], missing="n/a"),
                f"[{colour.get(sc['status'], 'dim')}]{sc['status']}[/]",
            )
    out.print(table)
