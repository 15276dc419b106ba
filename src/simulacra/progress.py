"""Progress reporting: the library says how much work is done through one type; the CLI draws it.

Library code takes ``progress: ProgressLike = None``, turns it into a :class:`Progress` with
:func:`as_progress`, and then calls:

- ``progress.start(total, label)`` when a phase begins and it knows how many units it has
  (``None``: unknown);
- ``progress(k)`` (the same as ``progress.advance(k)``) each time ``k`` more units are done (rows,
  examples, epochs, report sections);
- ``progress.note(text)`` for a line worth keeping (an epoch's loss), and ``progress.status(text)``
  for a short state shown beside the count (a rate, the cost so far), replaced by the next one.

The base class only counts, so library code never checks for ``None``. The command line subclasses it
to draw a rich bar (:mod:`simulacra.cli.render`); this module imports nothing of rich. A plain callable
``f(k)`` is accepted wherever a :class:`Progress` is (``as_progress`` wraps it), and a
:class:`Progress` can be passed wherever a plain ``f(k)`` callback is expected.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "ProgressLike", "as_progress"]


class Progress:
    """Work done so far. Silent: subclass it (or pass a callable ``f(k)``) to show it."""

    def __init__(self, total: int | None = None) -> None:
        self.total = total
        self.done = 0

    def start(self, total: int | None, label: str | None = None) -> None:
        """A phase of ``total`` units begins (``None`` when unknown); ``label`` names it."""
        self.total = total

    def advance(self, k: int = 1) -> None:
        """Count ``k`` more units as done."""
        self.done += int(k)

    def note(self, text: str) -> None:
        """A line worth keeping (an epoch's loss). The base class drops it."""

    def status(self, text: str) -> None:
        """A short state beside the count, replaced by the next one. The base class drops it."""

    def __call__(self, k: int = 1) -> None:
        self.advance(k)


class _Callback(Progress):
    """A plain callable ``f(k)`` seen as a :class:`Progress`."""

    def __init__(self, fn: Callable[[int], object]) -> None:
        super().__init__()
        self.fn = fn

    def advance(self, k: int = 1) -> None:
        super().advance(k)
        self.fn(int(k))


ProgressLike = Progress | Callable[[int], object] | None
"""What a library function accepts as ``progress``: a :class:`Progress`, a callable ``f(k)``, or None."""


def as_progress(progress: ProgressLike) -> Progress:
    """``progress`` as a :class:`Progress` (a silent one for ``None``)."""
    if isinstance(progress, Progress):
        return progress
    if progress is None:
        return Progress()
    if not callable(progress):
        raise TypeError(f"progress must be a Progress or a callable f(k), got {type(progress).__name__}")
    return _Callback(progress)
