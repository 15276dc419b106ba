"""How fast requests go: AIMD concurrency (halved on overload, grown on success) and retry delays."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ..seeding import derive_rng


class AIMDLimiter:
    """Bounded concurrency that halves on overload (429/503/529) and grows by about one per round of
    successes (additive increase, multiplicative decrease), between 1 and ``maximum``."""

    def __init__(self, maximum: int, initial: int | None = None) -> None:
        self.maximum = max(1, int(maximum))
        self.limit = float(min(self.maximum, initial or self.maximum))
        self.in_use = 0
        self._cond = asyncio.Condition()
        self._last_cut = 0.0

    async def acquire(self) -> float:
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_use < max(1, int(self.limit)))
            self.in_use += 1
        return time.monotonic()

    async def release(self) -> None:
        async with self._cond:
            self.in_use -= 1
            self._cond.notify_all()

    def success(self) -> None:
        self.limit = min(float(self.maximum), self.limit + 1.0 / max(self.limit, 1.0))

    def overload(self, started: float) -> None:
        # one cut per round: requests sent before the last cut do not cut again
        if started >= self._last_cut:
            self.limit = max(1.0, self.limit / 2.0)
            self._last_cut = time.monotonic()


@dataclass
class RetryPolicy:
    """Transport retries with exponential backoff and full jitter; validation retries with feedback."""

    max_retries: int = 8
    base_delay: float = 0.25
    max_delay: float = 20.0
    validation_retries: int = 2
    jitter: np.random.Generator = field(
        default_factory=lambda: derive_rng(0, "text", "retry-jitter", os.getpid()), repr=False
    )  # timing only, never data: keyed by the process so that workers do not retry in step

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``attempt``: full jitter under the cap, at least ``retry_after``."""
        cap = min(self.max_delay, self.base_delay * (2**attempt))
        wait = float(self.jitter.uniform(0, cap))
        return max(wait, retry_after or 0.0)
