"""Word tokens, normal forms and equal-size samples shared by the text checks."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits; inner apostrophes kept, punctuation dropped)."""
    return _WORD.findall(text.lower())


def tokenize_all(texts: Sequence[str]) -> list[list[str]]:
    """:func:`tokenize` for every text."""
    return [tokenize(t) for t in texts]


def normal_form(tokens: Sequence[str]) -> str:
    """The text as its tokens joined by single spaces: case, punctuation and spacing do not count."""
    return " ".join(tokens)


def token_budget_sample(
    tokens: Sequence[Sequence[str]], budget: int, rng: np.random.Generator
) -> list[Sequence[str]]:
    """Texts in random order until exactly ``budget`` tokens are taken (the last one cut short).

    Counting distinct n-grams or word frequencies on the same number of tokens for two corpora makes
    them comparable whatever their sizes and text lengths.
    """
    out: list[Sequence[str]] = []
    left = budget
    for i in rng.permutation(len(tokens)):
        if left <= 0:
            break
        t = tokens[i]
        if not t:
            continue
        out.append(t[:left])
        left -= len(out[-1])
    return out


def total_tokens(tokens: Sequence[Sequence[str]]) -> int:
    """The number of tokens over all texts."""
    return int(sum(len(t) for t in tokens))
