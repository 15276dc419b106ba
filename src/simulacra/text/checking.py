"""The checker a task spec is validated with: each problem one :class:`SpecError` naming file, line, field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..yamlerrors import LineMap, located, pydantic_problem


class Checker:
    """Where a spec came from (``source``, its line map, the folder paths resolve from) and the checks."""

    def __init__(self, source: str, lines: LineMap, base: Path | None) -> None:
        self.source, self.lines, self.base = source, lines, base

    def error(self, path: str, message: str) -> SpecError:
        """A :class:`SpecError` for the dotted ``path``, with its line when known."""
        return SpecError(located(self.source, self.lines, path, message))

    def model(self, model: Any, raw: Any, path: str = "") -> Any:
        """``model.model_validate(raw)``, a validation error raised as one located :class:`SpecError`."""
        from pydantic import ValidationError

        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            loc, message = pydantic_problem(exc, model, noun="key")
            raise self.error(".".join((*(p for p in path.split(".") if p), *loc)), message) from None

    def whole(self, path: str, value: Any, low: int | None = None) -> int:
        """``value`` as a whole number of at least ``low``."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(path, f"expected a whole number, got {value!r}")
        if low is not None and value < low:
            raise self.error(path, f"must be at least {low}, got {value}")
        return value

    def mapping(self, path: str, value: Any, allowed: set[str] | None = None) -> dict:
        """``value`` as a mapping whose keys are among ``allowed``."""
        if not isinstance(value, dict):
            raise self.error(path, f"expected a mapping, got {type(value).__name__}")
        if allowed is not None:
            bad = sorted(set(map(str, value)) - allowed)
            if bad:
                raise self.error(
                    f"{path}.{bad[0]}",
                    f"unknown key '{bad[0]}' (expected one of {', '.join(sorted(allowed))})",
                )
        return value
