"""LLM dataset generation: a YAML task → prompts → a backend → parsed, validated, filtered examples → exports.

The pieces, each usable on its own:

- :mod:`.spec` — the checked task spec (format in its docstring); :mod:`.load` reads and checks it
  (:func:`load_task`), with :mod:`.attributes` (attribute kinds) and :mod:`.seeds` (seed examples).
- :mod:`.prompt` — per-example planning from ``(spec, seed, index)``: attributes, few-shot, prompt.
- :mod:`.backends` — embedded llama.cpp (default; its file in :mod:`.gguf`), OpenAI-compatible
  servers, Anthropic.
- :mod:`.pipeline` — the request pipeline and :func:`generate_range` (the scale-out unit), with
  :mod:`.job` (job, outcomes, stats) and :mod:`.limiter` (AIMD concurrency, retries).
- :mod:`.checkpoint` — :func:`generate_to_file` (exactly ``n`` examples into JSONL, resumable).
- :mod:`.inmemory` — :func:`generate` (``n`` examples returned as a list of records).
- :mod:`.dryrun` — prompts and a token/cost estimate, nothing sent.
- :mod:`.filters` — validation, heuristics, seed copies, duplicates (MinHash), label consistency.
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
    "GenerationError": "job",
    "Job": "job",
    "Outcome": "job",
    "dry_run": "dryrun",
    "generate_range": "pipeline",
    "generate_to_file": "checkpoint",
    "generate": "inmemory",
    "SpecError": "spec",
    "TaskSpec": "spec",
    "load_task": "load",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import lazily: the ``simulacra`` command loads this package for every command."""
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
