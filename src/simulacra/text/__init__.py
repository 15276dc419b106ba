"""LLM dataset generation: a YAML task → prompts → a backend → parsed, validated, filtered examples → exports.

The pieces, each usable on its own:

- :mod:`.spec` — the task spec (format in its docstring) and :func:`load_task`.
- :mod:`.prompt` — per-example planning from ``(spec, seed, index)``: attributes, few-shot, prompt.
- :mod:`.backends` — embedded llama.cpp (default), OpenAI-compatible servers, Anthropic.
- :mod:`.runner` — :func:`run_job` (exactly ``n`` examples, resumable) and :func:`generate_range`
  (the scale-out unit).
- :mod:`.filters` — validation, heuristics, duplicates (MinHash), label consistency.
- :mod:`.export` — openai-chat, hf-dataset, parquet, csv, jsonl (``export.export``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AnthropicBackend": "backends",
    "Backend": "backends",
    "LlamaCppBackend": "backends",
    "OpenAIBackend": "backends",
    "make_backend": "backends",
    "GenerationError": "runner",
    "Job": "runner",
    "Outcome": "runner",
    "dry_run": "runner",
    "generate_range": "runner",
    "run_job": "runner",
    "SpecError": "spec",
    "TaskSpec": "spec",
    "load_task": "spec",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import lazily: the ``simulacra`` command loads this package for every command."""
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
