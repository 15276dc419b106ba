"""What is learned for one table of a database, and the names of the columns added to its model frame."""

from __future__ import annotations

from dataclasses import dataclass

from ..tabular.synthesizer import TabularSynthesizer
from .matching import ParentClusters

PARENT = "__parent."
COUNT = "__count."
MATCH = "__match."
INDEX = "__index"
SAME = "__same."
PREV = "__prev."
AGAIN = "__again."
AGAIN_SHARE = 0.05  # a fresh-id column repeats its previous sibling's value this often to be learned
PREV_MAX = 16  # at most this many previous-sibling columns (the most dependent ones) are given
PREV_MIN_DEPENDENCE = 0.2  # ... and only those whose value depends on the previous sibling's this much
KIND = "relational"


@dataclass
class TablePart:
    """What is learned for one table."""

    columns: list[str]  # the table's columns in source order
    dtypes: dict[str, str]
    data: list[str]  # own columns in the model frame
    profile: list[str]  # model-frame columns a child gets as context
    parent_profile: list[str]  # the context parent's profile (given as PARENT + column)
    counts: dict[str, str]  # context child → count column
    matches: dict[int, str]  # foreign-key index → match column
    agree: dict[int, list[str]]  # foreign-key index → columns the picked parent should share
    copied: list[str]  # columns taken from the context parent row (a transaction's card device)
    deltas: dict[str, str]  # child date → the parent date it is learned after (as seconds)
    previous: list[str]  # model-frame columns whose previous-sibling value is given as PREV + column
    again: list[str]  # regenerated columns that repeat the previous sibling's value where AGAIN + column
    key_column: str | None
    key_shape: dict | None
    n_rows: int
    synth: TabularSynthesizer
    clusters: ParentClusters | None = None
