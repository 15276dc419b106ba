"""The text task spec: a YAML file that says what examples to make, checked before anything runs.

The program chooses every label and attribute; the model writes only the free text, so labels are
right by construction. A spec looks like this (every key but ``instruction`` and ``output`` is
optional)::

    name: reviews                      # used in provenance; default: the file name
    n: 500                             # examples to keep (``-n`` overrides)
    seed: 0                            # attribute sampling and LLM seeds derive from it (``--seed``)
    instruction: |                     # {field} and {persona.key} are filled from the attributes
      Write a one-sentence {label} movie review of a {genre} film.
    attributes:                        # sampled per example, in this order
      label: {fresh: 1, rotten: 1}     # weighted values (weights need not sum to 1)
      genre: [drama, comedy, horror]   # a list: equally likely values
      stars: {range: [1, 5]}           # an integer drawn uniformly from the closed range
      topic:                           # a nested taxonomy: one value per level, weights by key
        levels: [product, issue, severity]
        tree:
          router:
            _weight: 2                 # optional weight of a branch (default 1)
            no connection: [low, high]
            slow: {low: 3, high: 1}
          phone: {battery: [low, high]}
      persona:                         # personas: the field is the name; {persona.KEY} in prompts
        personas:
          - {name: retiree, description: a retired teacher, polite and not technical}
          - {name: developer, description: a software developer in a hurry, weight: 2}
    output:                            # the fields the model writes: a JSON schema's properties
      text: {type: string, minLength: 20, maxLength: 300}
      # (or a whole schema: {type: object, properties: {...}, required: [...]})
    conversation:                      # optional: multi-turn output as ``messages``
      roles: {customer: user, agent: assistant}   # spec role -> chat role (a list maps to user, assistant)
      first: customer                  # who speaks first (default: the first role)
      turns: [2, 6]                    # number of turns: a fixed number or a closed range
      max_chars: 400                   # per turn
      system: You are a helpful support agent.    # optional system message for exports
    seeds:                             # optional real examples shown as few-shot, matched to attributes
      file: package:simulacra/text/data/rt_snippets.csv   # or a path beside the spec
      columns: {label: category}       # spec field -> column of the file
      examples: [{label: fresh, text: ...}]      # and/or inline examples
      match: [label]                   # fields a seed must share with the example (default: all shared)
      k: 3                             # few-shot examples per prompt
      max_chars: 600                   # seeds longer than this (as JSON) are not used
    generation: {max_tokens: 200, temperature: 0.8, top_p: 0.95}
    quality:
      min_chars: 10                    # shortest generated text kept
      max_chars: 5000
      language: en                     # reject text that is clearly not this language (en only; null: off)
      refusals: true                   # reject "As an AI ..." answers
      echo: true                       # reject prompt or template echoes and exact copies of a seed
      seed_copy: {near: 0.5}           # reject text sharing this share of its word 3-grams with one seed
      dedupe: {exact: true, near: 0.85}   # near: MinHash Jaccard threshold (false: off)
      label_check: {field: label, margin: 0.0}   # embedding check against seed centroids (needs torch)
      pii: flag                        # flag (default) or reject generated text that contains PII
      judge: {rubric: "Reads like a real critic; matches the label.", min_score: 3}   # LLM judge, 1-5

From Python, ``output`` may also be a pydantic model class with plain fields
(``load_task({"instruction": ..., "output": Review})``).

This module holds the checked spec: :class:`TaskSpec` and its sections (pydantic models, checked
for shape when loaded); :mod:`.load` reads and checks a file (:func:`load_task`), :mod:`.attributes`
the attribute kinds, :mod:`.seeds` the seed examples. Loading raises :class:`SpecError` (file, line,
field and what to do) on any problem, before any request is sent. Sampling for example ``i``
uses ``derive_rng(seed, "text", i)`` only, so example ``i`` is the same whatever the chunking or the
number of workers.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import SpecError
from ..seeding import derive_rng
from .attributes import Attribute, Personas

__all__ = ["Conversation", "Generation", "Quality", "Seeds", "SpecError", "TaskSpec", "load_task"]

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}")
"""``{field}`` or ``{persona.key}`` inside the instruction."""

Whole = Annotated[int, Field(strict=True)]
Number = Annotated[float, Field(strict=True)]
Flag = Annotated[bool, Field(strict=True)]
Text = Annotated[str, Field(strict=True)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------
# sections


class Conversation(_Section):
    """Multi-turn output: the model writes ``turns`` strings, spoken alternately from ``first``."""

    roles: dict[str, str] = {"user": "user", "assistant": "assistant"}  # spec role -> chat role
    first: Text = ""  # default: the first role
    turns: tuple[int, int] = (2, 2)  # closed range
    max_chars: Whole = Field(600, ge=1)
    system: Text | None = None

    @field_validator("roles", mode="before")
    @classmethod
    def _roles(cls, roles: Any) -> dict[str, str]:
        if isinstance(roles, list):
            if len(roles) != 2 or not all(isinstance(r, str) for r in roles) or roles[0] == roles[1]:
                raise ValueError("expected two role names, e.g. [customer, agent]")
            return dict(zip(roles, ("user", "assistant"), strict=True))
        if not isinstance(roles, dict):
            raise ValueError("expected a list of two roles or a mapping role: chat role")
        if len(roles) < 2 or any(v not in ("user", "assistant", "system") for v in roles.values()):
            raise ValueError("expected role: user|assistant pairs, e.g. {customer: user, agent: assistant}")
        return {str(k): str(v) for k, v in roles.items()}

    @field_validator("first")
    @classmethod
    def _first(cls, first: str, info: Any) -> str:
        roles = info.data.get("roles") or {}
        if first and first not in roles:
            raise ValueError(f"'{first}' is not one of the roles ({', '.join(roles)})")
        return first or next(iter(roles), "")

    @field_validator("turns", mode="before")
    @classmethod
    def _turns(cls, turns: Any) -> tuple[int, int]:
        if isinstance(turns, int) and not isinstance(turns, bool):
            turns = [turns, turns]
        if not (
            isinstance(turns, list | tuple)
            and len(turns) == 2
            and all(isinstance(t, int) and not isinstance(t, bool) for t in turns)
            and 1 <= turns[0] <= turns[1] <= 40
        ):
            raise ValueError(f"expected a number of turns (1-40) or [low, high], got {turns!r}")
        return (turns[0], turns[1])

    @model_validator(mode="after")
    def _first_default(self) -> Conversation:
        if not self.first:
            object.__setattr__(self, "first", next(iter(self.roles)))
        return self

    def speakers(self, turns: int) -> list[str]:
        """The spec role of each turn, alternating from ``first``."""
        order = list(self.roles)
        start = order.index(self.first)
        return [order[(start + t) % len(order)] for t in range(turns)]


class Generation(_Section):
    """Sampling parameters sent with every request."""

    max_tokens: Whole = Field(256, ge=1)
    temperature: Number = Field(0.8, ge=0.0, le=2.0)
    top_p: Number = Field(0.95, ge=0.0, le=1.0)


class Dedupe(_Section):
    """Duplicates among the kept examples: exact (normalised text) and near (MinHash Jaccard)."""

    exact: Flag = True
    near: Number | None = Field(0.85, ge=0.01, le=1.0)

    @field_validator("near", mode="before")
    @classmethod
    def _off(cls, near: Any) -> Any:
        return None if near is False else near


class LabelCheck(_Section):
    """The embedding check of a label field against the seeds' centroids."""

    field: Text
    margin: Number = Field(0.0, ge=-1.0, le=1.0)


class Judge(_Section):
    """An LLM judge: a 1-5 score against a rubric in words."""

    rubric: Text = Field(min_length=1)
    min_score: Whole = Field(3, ge=1, le=5)


class SeedCopy(_Section):
    """Near copies of seed examples: ``near`` is the share of a generated string's word 3-grams found in
    one seed string at which it counts as a copy (``false``: only exact copies are caught)."""

    near: Number | None = Field(0.5, gt=0.0, le=1.0)
    min_words: Whole = Field(6, ge=3)

    @field_validator("near", mode="before")
    @classmethod
    def _off(cls, near: Any) -> Any:
        return None if near is False else near


class Quality(_Section):
    """Filters applied to every generated example (see :mod:`simulacra.text.filters`)."""

    min_chars: Whole = Field(1, ge=0)
    max_chars: Whole = Field(20_000, ge=1)
    language: Literal["en"] | None = "en"
    refusals: Flag = True
    echo: Flag = True
    seed_copy: SeedCopy = SeedCopy()
    dedupe: Dedupe = Dedupe()
    label_check: LabelCheck | None = None
    pii: Literal["flag", "reject"] = "flag"
    judge: Judge | None = None

    @field_validator("dedupe", mode="before")
    @classmethod
    def _dedupe_off(cls, dedupe: Any) -> Any:
        return {"exact": False, "near": False} if dedupe is False else dedupe

    @field_validator("seed_copy", mode="before")
    @classmethod
    def _seed_copy_off(cls, seed_copy: Any) -> Any:
        return {"near": False} if seed_copy is False else seed_copy

    @model_validator(mode="after")
    def _lengths(self) -> Quality:
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) is above max_chars ({self.max_chars})")
        return self

    # the flat names the pipeline reads
    @property
    def dedupe_exact(self) -> bool:
        return self.dedupe.exact

    @property
    def dedupe_near(self) -> float | None:
        return self.dedupe.near

    @property
    def label_field(self) -> str | None:
        return self.label_check.field if self.label_check is not None else None

    @property
    def label_margin(self) -> float:
        return self.label_check.margin if self.label_check is not None else 0.0

    @property
    def judge_rubric(self) -> str | None:
        return self.judge.rubric if self.judge is not None else None

    @property
    def judge_min_score(self) -> int:
        return self.judge.min_score if self.judge is not None else 3


class SeedsOptions(_Section):
    """The ``seeds`` section as written (checked against the output by :mod:`.seeds`)."""

    file: Text | None = None
    columns: dict[str, str] = {}
    examples: list[dict[str, Any]] = []
    match: list[str] | None = None
    k: Whole = Field(3, ge=0)
    max_chars: Whole = Field(600, ge=10)


class TaskModel(_Section):
    """The top level of a task spec as written (shape only; :mod:`.load` checks the meaning)."""

    name: Any = None
    n: Whole | None = Field(None, ge=1)
    seed: Whole = Field(0, ge=0)
    instruction: Text
    attributes: dict[str, Any] | None = None
    output: Any = None
    conversation: Conversation | None = None
    seeds: SeedsOptions | None = None
    generation: Generation | None = None
    quality: Quality | None = None


@dataclass(frozen=True)
class Seeds:
    """Real examples shown as few-shot, chosen per example among those matching its attributes."""

    records: tuple[dict[str, Any], ...]
    match: tuple[str, ...]
    k: int


# --------------------------------------------------------------------------------------------------
# the checked spec


@dataclass
class TaskSpec:
    """A checked text task. Build it with :func:`load_task`."""

    source: str
    name: str
    n: int | None
    seed: int
    instruction: str
    attributes: list[Attribute]
    output_schema: dict[str, Any]  # JSON schema of what the model writes (conversation: ``turns``)
    conversation: Conversation | None
    seeds: Seeds | None
    generation: Generation
    quality: Quality
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    # ---- derived -----------------------------------------------------------------------------
    @property
    def attribute_fields(self) -> list[str]:
        return [f for a in self.attributes for f in a.fields]

    @property
    def output_fields(self) -> list[str]:
        return list(self.output_schema["properties"])

    @property
    def fingerprint(self) -> str:
        """A hash of everything that shapes the prompts (the file's path is left out)."""
        blob = json.dumps(self.raw, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def persona_details(self, attrs: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """``{field: persona dict}`` for every persona attribute of ``attrs``."""
        return {
            a.name: a.details(attrs[a.name])
            for a in self.attributes
            if isinstance(a, Personas) and a.name in attrs
        }

    def sample_attributes(self, index: int, seed: int | None = None) -> dict[str, Any]:
        """The attributes of example ``index``: from ``derive_rng(seed, "text", index)`` alone."""
        rng = derive_rng(self.seed if seed is None else seed, "text", int(index))
        out: dict[str, Any] = {}
        for attr in self.attributes:
            out.update(attr.sample(rng))
        return out

    def schema_for(self, turns: int | None) -> dict[str, Any]:
        """The JSON schema of one answer (a conversation fixes its number of turns)."""
        if self.conversation is None or turns is None:
            return self.output_schema
        schema = json.loads(json.dumps(self.output_schema))
        schema["properties"]["turns"]["minItems"] = turns
        schema["properties"]["turns"]["maxItems"] = turns
        return schema

    def sample_turns(self, index: int, seed: int | None = None) -> int | None:
        """The number of turns of example ``index`` (None for single examples)."""
        if self.conversation is None:
            return None
        lo, hi = self.conversation.turns
        if lo == hi:
            return lo
        rng = derive_rng(self.seed if seed is None else seed, "text", int(index), "turns")
        return int(rng.integers(lo, hi + 1))


def load_task(spec: Any, *, source: str | None = None) -> TaskSpec:
    """Load and check a task spec (see :func:`simulacra.text.load.load_task`, which this calls)."""
    from .load import load_task as load

    return load(spec, source=source)
