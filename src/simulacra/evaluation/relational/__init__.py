"""Checks for databases (tables joined by keys), each beside the real holdout's score:
:mod:`.integrity` (foreign keys found, primary keys unique), :mod:`.cardinality` (children per parent),
:mod:`.trends` (parent column × child aggregate correlations), :mod:`.detection` (aggregation
detection on parent rows enriched by :mod:`.aggregates`); :mod:`.section` builds the relational
section, :mod:`.tables` the per-table fidelity and privacy sections, :mod:`.report` assembles the
report and :mod:`.plots` lists its figures."""

from __future__ import annotations

from .report import evaluate_database

__all__ = ["evaluate_database"]
