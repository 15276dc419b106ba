"""Token and dollar accounting: a price table the user can override, and a budget that is never exceeded.

Prices are US dollars per million tokens, ``{"input": ..., "output": ...}``, looked up by the model
name (exact, else the longest matching prefix). Local models cost nothing. The built-in table is a
convenience snapshot; pass ``--prices FILE`` (YAML or JSON, same shape) for your contract's prices.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import UsageError

DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gemma-3-270m": {"input": 0.0, "output": 0.0},  # the embedded model runs here
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "claude-3-5-haiku": {"input": 0.80, "output": 4.00},
    "claude-3-haiku": {"input": 0.25, "output": 1.25},
    "claude-sonnet-4": {"input": 3.00, "output": 15.00},
    "claude-3-7-sonnet": {"input": 3.00, "output": 15.00},
}


@dataclass(frozen=True)
class Price:
    """Dollars per million input and output tokens; ``known`` is False when the table had no entry."""

    input: float
    output: float
    known: bool = True

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input + tokens_out * self.output) / 1e6


def load_prices(path: str | Path | None) -> dict[str, dict[str, float]]:
    """The built-in table, updated from ``path`` (YAML/JSON: model: {input: $/M, output: $/M})."""
    table = {k: dict(v) for k, v in DEFAULT_PRICES.items()}
    if path is None:
        return table
    p = Path(path)
    try:
        raw = (
            yaml.safe_load(p.read_text(encoding="utf-8"))
            if p.suffix.lower() != ".json"
            else json.loads(p.read_text(encoding="utf-8"))
        )
    except FileNotFoundError:
        raise UsageError(f"--prices {p}: no such file") from None
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"--prices {p}: cannot be read ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise UsageError(f"--prices {p}: expected a mapping model: {{input: $/M tokens, output: $/M tokens}}")
    for model, entry in raw.items():
        if not (
            isinstance(entry, dict)
            and set(entry) <= {"input", "output"}
            and all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in entry.values())
        ):
            raise UsageError(
                f"--prices {p}: entry '{model}' must be {{input: number, output: number}} "
                "in dollars per million tokens"
            )
        table[str(model)] = {
            "input": float(entry.get("input", 0.0)),
            "output": float(entry.get("output", 0.0)),
        }
    return table


def price_for(model: str, table: dict[str, Any], local: bool = False) -> Price:
    """The price of ``model``: the exact name, else the longest key it starts with; local models are free."""
    if model in table:
        return Price(table[model]["input"], table[model]["output"])
    best = max((k for k in table if model.startswith(k)), key=len, default=None)
    if best is not None:
        return Price(table[best]["input"], table[best]["output"])
    return Price(0.0, 0.0, known=local)
