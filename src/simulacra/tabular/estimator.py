"""The estimator contract every synthesizer follows (scikit-learn's conventions).

- parameters are set in ``__init__`` and stored as given, with no logic; ``get_params`` reads their
  names from the signature (a ``**params`` catch-all contributes the dict it was stored in); they are
  checked in ``fit`` (``check_params``), as scikit-learn does;
- what ``fit`` learns lives in attributes with a trailing underscore;
- ``fit`` / ``sample`` / ``save`` / ``load``, and a public sampling plan: ``plan(n, ...)`` resolves
  the conditions once (errors raise there) and ``sample_chunk(plan, k)`` makes chunk ``k`` from the
  plan alone, so scale-out jobs run chunks anywhere and get the bytes one process would write.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UsageError
from ..seeding import chunk_sizes


def init_params(cls: type) -> list[str]:
    """The names of the parameters ``cls.__init__`` declares (``self`` and ``*args`` left out)."""
    sig = inspect.signature(cls.__init__)
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in list(sig.parameters.values())[1:] if p.kind in kinds]


class Estimator:
    """``get_params`` from the signature, and the check that ``fit`` has run."""

    _fitted_attr = "model_"  # an attribute only ``fit`` / ``load`` set
    _not_fitted = "the synthesizer is not fitted yet; call fit(data) first"

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters as given: ``type(self)(**self.get_params())`` is an unfitted copy."""
        out: dict[str, Any] = {}
        for p in list(inspect.signature(type(self).__init__).parameters.values())[1:]:
            if p.kind == inspect.Parameter.VAR_KEYWORD:
                out.update(getattr(self, p.name, None) or {})
            elif p.kind != inspect.Parameter.VAR_POSITIONAL:
                out[p.name] = getattr(self, p.name)
        return out

    def check_params(self) -> None:
        """Raise a :class:`UsageError` for parameters that cannot work; ``fit`` calls it first (none here)."""

    def iter_chunks(self, plan: SamplingPlan, progress: Callable[[int], None] | None = None) -> Iterator[Any]:
        """Every chunk of ``plan`` in order (``sample_chunk(plan, 0)``, ``1``, ...), reporting each size."""
        for k, size in enumerate(plan.sizes):
            frame = self.sample_chunk(plan, k)  # type: ignore[attr-defined]
            if progress:
                progress(size)
            yield frame

    def check_fitted(self) -> None:
        """Raise a :class:`UsageError` unless the estimator was fitted or loaded."""
        if not hasattr(self, self._fitted_attr):
            raise UsageError(self._not_fitted)


@dataclass(frozen=True)
class SamplingPlan:
    """Everything a sample depends on besides the fitted model: made by ``plan``, read by ``sample_chunk``.

    ``parts`` holds the synthesizer's resolved conditions (code weights, rebalanced shares ...).
    """

    n: int
    seed: int
    chunk_rows: int
    parts: Any
    unit: str = "rows"

    @property
    def sizes(self) -> list[int]:
        """The size of every chunk, in order."""
        return chunk_sizes(self.n, self.chunk_rows)

    def chunk_size(self, k: int) -> int:
        """The size of chunk ``k``; an out-of-range ``k`` is a :class:`UsageError`."""
        sizes = self.sizes
        if not 0 <= k < len(sizes):
            raise UsageError(f"chunk {k} is out of range: {self.n:,} {self.unit} make {len(sizes)} chunks")
        return sizes[k]


def check_count(n: Any, what: str) -> int:
    """``n`` as a positive int, else a :class:`UsageError` naming ``what`` (rows, sequences)."""
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n <= 0:
        raise UsageError(f"the number of {what} must be a positive integer, got {n!r}")
    return int(n)


def check_seed(seed: Any) -> int:
    """``seed`` as a non-negative int, else a :class:`UsageError`."""
    if seed < 0:
        raise UsageError(f"the seed must be a non-negative integer, got {seed}")
    return int(seed)
