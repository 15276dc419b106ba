"""The ``simulacra`` command: a thin front door over the Python API, one module per command.

Every failure caused by input (files, options, schemas, conditions) is printed as one line,
``error: ...``, with exit code 2 and no traceback; ``--debug`` shows the traceback (see
:mod:`simulacra.cli.errors`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from .demo import demo
from .errors import state
from .evaluate import evaluate_cmd
from .finetune import finetune_cmd
from .fit import fit
from .rules import rules
from .sample import sample
from .schema import schema_cmd
from .split import split_cmd
from .text import text_app

app = typer.Typer(
    name="simulacra",
    help="Synthetic data you can trust: learn from a table, sample realistic rows, check them.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    state["debug"] = debug


app.command()(fit)
app.command()(sample)
app.command("schema")(schema_cmd)
app.command("split")(split_cmd)
app.command()(rules)
app.command("evaluate")(evaluate_cmd)
app.command()(demo)
app.command("finetune")(finetune_cmd)
app.add_typer(text_app, name="text")  # `simulacra text SPEC` and `simulacra text export FILE`
