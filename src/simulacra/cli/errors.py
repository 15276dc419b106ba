"""How the command line fails: every error caused by input is one line, ``error: ...``, and exit 2.

``--debug`` shows the traceback instead. An interrupt exits 130; an internal error (a bug) is one
line asking for ``--debug`` and a report, exit 1. A warning from the library is one line too,
``warning: ...`` (e.g. the GAN's: experimental, poor utility).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from ..errors import SimulacraError
from .render import err, out

state = {"debug": False}
"""Set by the root ``--debug`` option."""


def click_kind(exc: BaseException) -> str | None:
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


def show_warning(message: Warning | str, *_args: Any, **_kwargs: Any) -> None:
    """Show a Python warning as one line, ``warning: ...`` (``warnings.showwarning``'s signature)."""
    err.print(f"warning: {message}", markup=False, soft_wrap=True)


def run_command(command: Any, args: list[str]) -> None:
    """Run the click ``command`` on ``args``, turning expected errors into one line and exit code 2."""
    state["debug"] = False
    warnings.showwarning = show_warning
    try:
        rc = command.main(args=args, prog_name="simulacra", standalone_mode=False)
        if isinstance(rc, int) and rc:  # click returns the code of typer.Exit instead of raising it
            sys.exit(rc)
    except SimulacraError as exc:
        if state["debug"]:
            raise
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("error: interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:
        kind = click_kind(exc)
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
        if state["debug"] or "--debug" in args:
            raise
        # an internal error: one line, the traceback only with --debug
        err.print(
            f"error: internal error {type(exc).__name__}: {exc} (rerun with --debug and report it)",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(1)
