"""A text job and what it yields: :class:`Job` (spec, size, seed), each example's :class:`Outcome`, the
run's :class:`Stats`, and :class:`GenerationError` when the backend fails for good."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..errors import SimulacraError, UsageError
from .prompt import Planned, Prompter
from .spec import TaskSpec


class GenerationError(SimulacraError):
    """The backend failed for good (refused the request, or stayed down through every retry)."""


@dataclass
class Job:
    """A spec with the run's seed and size. ``Job(spec)`` takes both from the spec (n defaults to 100)."""

    spec: TaskSpec
    n: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        self.seed = self.spec.seed if self.seed is None else int(self.seed)
        self.n = int(self.n if self.n is not None else (self.spec.n or 100))
        if self.n <= 0:
            raise UsageError(f"-n must be a positive number of examples, got {self.n}")
        if self.seed < 0:
            raise UsageError(f"--seed must be a non-negative integer, got {self.seed}")
        self.prompter = Prompter(self.spec, self.seed)

    def plan(self, index: int) -> Planned:
        """Attributes, few-shot seeds, prompt and LLM seed of example ``index``."""
        return self.prompter.plan(index)


@dataclass
class Outcome:
    """What became of one example index: kept (``record``) or rejected (``reason``, ``detail``)."""

    index: int
    record: dict[str, Any] | None
    reason: str | None = None
    detail: str = ""
    answer: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cached: int = 0
    attempts: int = 0

    @property
    def accepted(self) -> bool:
        return self.record is not None

    def reject_line(self) -> dict[str, Any]:
        """The line written to the rejects file."""
        return {
            "index": self.index,
            "reason": self.reason,
            "detail": self.detail,
            "attributes": self.attributes,
            "answer": self.answer,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
        }


@dataclass
class Stats:
    """Running totals, shown by the progress bar and saved as the summary."""

    n: int
    accepted: int = 0
    rejected: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    cached: int = 0
    requests: int = 0
    retries: int = 0
    reasons: Counter = field(default_factory=Counter)
    pii_flagged: int = 0
    stopped: str | None = None  # "budget" when the budget stopped the run
    started: float = field(default_factory=time.monotonic)
    resumed: int = 0  # examples already in the file when the run started

    def add(self, o: Outcome) -> None:
        self.tokens_in += o.tokens_in
        self.tokens_out += o.tokens_out
        self.cost += o.cost
        self.cached += o.cached
        if o.accepted:
            self.accepted += 1
            if o.record and o.record.get("_meta", {}).get("pii"):
                self.pii_flagged += 1
        else:
            self.rejected += 1
            self.reasons[o.reason] += 1

    def status_line(self) -> str:
        """Rate, tokens per second, cost so far and the commonest reject reasons, for a progress bar."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        made = self.accepted - self.resumed
        reasons = ", ".join(f"{k} {v}" for k, v in self.reasons.most_common(3))
        line = f"{made / elapsed:.2f} ex/s  {self.tokens_out / elapsed:.0f} tok/s  ${self.cost:.4f}"
        return line + (f"  rejects: {reasons}" if reasons else "")

    def to_dict(self) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            "n": self.n,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejects_by_reason": dict(self.reasons),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cost_usd": round(self.cost, 6),
            "cached_requests": self.cached,
            "requests": self.requests,
            "retries": self.retries,
            "pii_flagged": self.pii_flagged,
            "stopped": self.stopped,
            "seconds": round(elapsed, 3),
        }
