"""From a spec and an example index to the exact request: attributes, few-shot seeds, prompt, LLM seed.

Everything here is a pure function of ``(spec, seed, index)``: example ``i`` gets the same prompt
whatever the chunking, the worker or the order it runs in.

The prompt is few-shot completion text, which base models (the embedded Gemma 3 270M) follow and
chat models read just as well::

    <instruction>

    Input: label: fresh; genre: drama
    Output: {"text": "..."}

    Input: label: rotten; genre: comedy
    Output:

The model continues with one JSON object (constrained by the output schema where the backend can).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..seeding import derive_rng
from .spec import PLACEHOLDER, TaskSpec

LLM_SEED_MAX = 2**31 - 1


@dataclass(frozen=True)
class Prompt:
    """One rendered request: completion text and the same content as chat messages."""

    text: str
    messages: tuple[dict[str, str], ...]

    def with_feedback(self, bad_answer: str, problem: str) -> Prompt:
        """The prompt for a retry: the rejected answer and why, so the model can correct itself."""
        note = f"(A previous answer was rejected: {problem}. Write a valid one.)\n"
        head, sep, tail = self.text.rpartition("\nInput: ")
        text = f"{head}\n{note}{sep.lstrip(chr(10))}{tail}" if sep else note + self.text
        messages = (
            *self.messages,
            {"role": "assistant", "content": bad_answer},
            {
                "role": "user",
                "content": f"That answer was rejected: {problem}. Reply with a corrected JSON object only.",
            },
        )
        return Prompt(text, messages)


@dataclass(frozen=True)
class Planned:
    """Everything decided for example ``index`` before any request is sent."""

    index: int
    attributes: dict[str, Any]
    turns: int | None
    speakers: list[str] | None
    fewshot: list[dict[str, Any]]
    prompt: Prompt
    schema: dict[str, Any]
    llm_seed: int
    meta: dict[str, Any] = field(default_factory=dict)


def llm_seed(seed: int, index: int, attempt: int = 0) -> int:
    """The sampling seed sent with attempt ``attempt`` of example ``index``."""
    rng = derive_rng(seed, "text", int(index), "llm", int(attempt))
    return int(rng.integers(0, LLM_SEED_MAX))


class Prompter:
    """Plans examples of one spec: attribute sampling, few-shot matching and prompt rendering."""

    def __init__(self, spec: TaskSpec, seed: int | None = None) -> None:
        self.spec = spec
        self.seed = spec.seed if seed is None else int(seed)
        self._index: dict[tuple, list[int]] = defaultdict(list)
        self._levels: list[tuple[str, ...]] = []
        if spec.seeds is not None:
            match = spec.seeds.match
            # relax the match one field at a time, from the last, when no seed shares every field
            self._levels = [match[:cut] for cut in range(len(match), -1, -1)]
            for i, rec in enumerate(spec.seeds.records):
                for level in self._levels:
                    if all(f in rec for f in level):
                        self._index[(level, tuple(_key(rec[f]) for f in level))].append(i)

    def fewshot(self, index: int, attrs: dict[str, Any]) -> list[dict[str, Any]]:
        """Up to ``k`` seed examples that share the most matched attributes with ``attrs``."""
        seeds = self.spec.seeds
        if seeds is None or seeds.k == 0:
            return []
        rng = derive_rng(self.seed, "text", int(index), "fewshot")
        for level in self._levels:
            pool = self._index.get((level, tuple(_key(attrs.get(f)) for f in level)))
            if pool:
                take = min(seeds.k, len(pool))
                picks = rng.choice(len(pool), size=take, replace=False)
                return [seeds.records[pool[int(p)]] for p in sorted(picks)]
        return []

    def plan(self, index: int) -> Planned:
        """The attributes, few-shot examples, prompt, schema and LLM seed of example ``index``."""
        spec = self.spec
        attrs = spec.sample_attributes(index, self.seed)
        turns = spec.sample_turns(index, self.seed)
        speakers = spec.conversation.speakers(turns) if spec.conversation is not None and turns else None
        shots = self.fewshot(index, attrs)
        prompt = self.render(attrs, shots, turns)
        return Planned(
            index, attrs, turns, speakers, shots, prompt, spec.schema_for(turns), llm_seed(self.seed, index)
        )

    # ---- rendering -----------------------------------------------------------------------------
    def instruction(self, attrs: dict[str, Any]) -> str:
        personas = self.spec.persona_details(attrs)

        def fill(m: Any) -> str:
            head, key = m.group(1), m.group(2)
            if key is not None:
                return str(personas.get(head, {}).get(key, ""))
            return str(attrs.get(head, ""))

        return PLACEHOLDER.sub(fill, self.spec.instruction)

    def describe(self, attrs: dict[str, Any], turns: int | None) -> str:
        """The ``Input:`` line: every attribute (a persona with its description) and the turns."""
        personas = self.spec.persona_details(attrs)
        parts = []
        for name in self.spec.attribute_fields:
            if name not in attrs:
                continue
            value = attrs[name]
            if name in personas and personas[name].get("description"):
                value = f"{value} ({personas[name]['description']})"
            parts.append(f"{name}: {value}")
        if turns is not None and self.spec.conversation is not None:
            parts.append(f"turns: {turns} ({', '.join(self.spec.conversation.speakers(turns))})")
        return "; ".join(parts) if parts else "(none)"

    def answer(self, rec: dict[str, Any]) -> str:
        """A seed's output fields as the one-line JSON object the model is asked to write."""
        return json.dumps({f: _plain(rec[f]) for f in self.spec.output_fields}, ensure_ascii=False)

    def render(self, attrs: dict[str, Any], shots: list[dict[str, Any]], turns: int | None) -> Prompt:
        fields = ", ".join(self.spec.output_fields)
        head = f"{self.instruction(attrs)}\nEach answer is one JSON object with the fields: {fields}."
        blocks = []
        for rec in shots:
            rec_turns = len(rec["turns"]) if self.spec.conversation is not None else None
            blocks.append(f"Input: {self.describe(rec, rec_turns)}\nOutput: {self.answer(rec)}")
        ask = f"Input: {self.describe(attrs, turns)}\nOutput:"
        text = "\n\n".join([head, *blocks, ask])
        user = "\n\n".join([*blocks, ask]) + " (reply with the JSON object only)"
        messages = ({"role": "system", "content": head}, {"role": "user", "content": user})
        return Prompt(text, messages)


def _key(value: Any) -> str:
    return str(value).strip().lower()


def _plain(value: Any) -> Any:
    """numpy / pandas scalars to plain Python for JSON."""
    if hasattr(value, "item") and not isinstance(value, list | dict | str):
        try:
            return value.item()
        except (AttributeError, ValueError):
            return value
    return value
