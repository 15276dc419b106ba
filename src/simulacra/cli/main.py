"""The ``simulacra`` console script: ``main`` runs the command line (:mod:`simulacra.cli.app`)."""

from __future__ import annotations

import sys

import typer

from .app import app
from .errors import run_command


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning expected errors into one line and exit code 2."""
    run_command(typer.main.get_command(app), argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
