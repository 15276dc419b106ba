"""The text report: diversity, realism, utility (train-synthetic, test-real) and leakage sections,
every score beside its real reference, in the same dict shape as the tabular report. Each section is
built beside its metrics (:mod:`.diversity`, :mod:`.realism`, :mod:`.utility`, :mod:`.leakage`);
this module reads the inputs and assembles the report.

References come from real data scored the same way. The real holdout is split at random into two
halves, A and B: where synthetic texts are compared with real ones (length and vocabulary
distributions, detection, centroids, shared spans with unseen texts), the synthetic texts are compared
with half A and the reference is half B compared with half A — what a fresh real sample of the same
source scores. Within-corpus scores (distinct n-grams, Vendi, duplicates) take the whole holdout as
reference, on equal token budgets or equal sample sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import DataError, UsageError
from ...progress import ProgressLike, as_progress
from ...seeding import derive_rng
from ..report import Report
from ..scores import jsonable, verdict
from . import SECTION_ALIASES, TEXT_SECTIONS
from .corpus import Run, cap_rows, compute_vectors, label_names, read_texts
from .diversity import diversity_section
from .embed import INSTALL_HINT, Embedder, load_embedder
from .leakage import leakage_section
from .realism import realism_section
from .utility import FEATURIZERS, SETUP_NAMES, utility_section

__all__ = ["MIN_HOLDOUT", "MIN_SYNTHETIC", "evaluate_text"]

MIN_HOLDOUT = 20
MIN_SYNTHETIC = 10

PASS_TEXT = (
    "The synthetic texts are as varied, realistic, useful and free of copies as the checks below can tell, "
    "judged against real held-out texts."
)

REASONS = {
    (
        "diversity",
        "fail",
    ): "The synthetic texts repeat themselves far more than real texts do: a model trained "
    "on them sees few distinct examples.",
    (
        "diversity",
        "warn",
    ): "The synthetic texts are less varied than real texts (vocabulary, meaning, length or "
    "duplicates): check the diversity scores below.",
    ("realism", "warn"): "The synthetic texts are easy to tell from real ones or drift from their topics: "
    "a model trained on them learns their style too.",
    ("utility", "fail"): "Classifiers trained with the synthetic texts do worse on real held-out texts than "
    "those trained on the real examples alone: do not train on them as they are.",
    (
        "utility",
        "warn",
    ): "The synthetic texts help less than hoped on real held-out texts: check the per-label "
    "precision and recall.",
    ("leakage", "fail"): "The synthetic texts copy real examples or their personal data: do not share or "
    "train on them as they are.",
    ("leakage", "warn"): "Some synthetic texts reuse long runs of real text, contain personal data or skew "
    "the labels: review the leakage table.",
}
REASON_KEYS = (
    "vendi",
    "distinct_2",
    "verbatim_train",
    "span_train",
    "pii_train_values",
    "pii_texts",
    "exact_duplicates",
    "detection_auc_tfidf",
    "label_balance",
    "tstr_both_embeddings",
    "tstr_both_tfidf",
)


def _sections(sections: Sequence[str]) -> list[str]:
    chosen: list[str] = []
    for s in sections:
        names = SECTION_ALIASES.get(s, (s,))
        for name in names:
            if name not in TEXT_SECTIONS:
                choices = ", ".join(TEXT_SECTIONS + tuple(SECTION_ALIASES))
                raise UsageError(f"unknown text report section '{s}'; choose from {choices}")
            if name not in chosen:
                chosen.append(name)
    if not chosen:
        raise UsageError(f"no report section chosen; choose from {', '.join(TEXT_SECTIONS)}")
    return [s for s in TEXT_SECTIONS if s in chosen]


def evaluate_text(
    *,
    synthetic: Any,
    train: Any,
    holdout: Any,
    text_field: str,
    target: str | None = None,
    sections: Sequence[str] = TEXT_SECTIONS,
    seed: int = 0,
    max_rows: int = 10_000,
    embeddings: bool | Embedder = True,
    embed_rows: int = 3_000,
    attributes: list[str] | None = None,
    sources: dict[str, str] | None = None,
    progress: ProgressLike = None,
) -> Report:
    """Check synthetic texts against the real ``train`` texts (the seeds) on the real ``holdout``.

    Frames or file paths (.jsonl, .csv, .parquet) are accepted; ``text_field`` names the text field
    and ``target`` the label field (it enables train-synthetic/test-real and label checks).
    ``sections`` picks among diversity, realism, utility and leakage (fidelity and privacy are
    accepted as aliases). ``embeddings=False`` skips sentence embeddings; an :class:`Embedder` reuses
    one (and its cache); at most ``embed_rows`` synthetic texts (a random sample) are embedded.
    ``attributes`` names the generation attribute fields for the coverage check (default: detected).
    At most ``max_rows`` synthetic and holdout texts are used. The same inputs and seed give the same
    report.
    """
    chosen = _sections(sections)
    if not isinstance(text_field, str) or not text_field:
        raise UsageError("text_field must name the field that holds the texts")
    step = as_progress(progress)
    trn = read_texts(train, "train", text_field, target, sources)
    hol = read_texts(holdout, "holdout", text_field, target, sources)
    syn = read_texts(synthetic, "synthetic", text_field, target, sources)
    if len(hol.texts) < MIN_HOLDOUT:
        raise DataError(
            f"{hol.where}: has {len(hol.texts)} usable texts; the report needs at least "
            f"{MIN_HOLDOUT} real held-out texts"
        )
    if len(syn.texts) < MIN_SYNTHETIC:
        raise DataError(
            f"{syn.where}: has {len(syn.texts)} usable texts; the report needs at least {MIN_SYNTHETIC}"
        )
    rng = derive_rng(seed, "evaluate", "text", "holdout")
    hol, syn = cap_rows(hol, max_rows, rng), cap_rows(syn, max_rows, rng)
    hol.frame = hol.frame.reset_index(drop=True).assign(__row__=np.arange(len(hol.texts)))
    perm = rng.permutation(len(hol.texts))
    half_a = hol.take(np.sort(perm[: len(perm) // 2]), "holdout")
    half_b = hol.take(np.sort(perm[len(perm) // 2 :]), "holdout")

    skipped = None
    embedder: Embedder | None = None
    if isinstance(embeddings, Embedder):
        embedder = embeddings
    elif embeddings:
        embedder, skipped = load_embedder()
    else:
        skipped = "turned off"
    run = Run(trn, hol, syn, half_a, half_b, target, text_field, seed, embedder, skipped, embed_rows)
    step.status("embeddings")
    step(1)
    compute_vectors(run)

    out: dict[str, dict] = {}
    builders = {
        "diversity": lambda: diversity_section(run, attributes),
        "realism": lambda: realism_section(run),
        "utility": lambda: utility_section(run),
        "leakage": lambda: leakage_section(run),
    }
    for name in chosen:
        step.status(name)
        step(1)
        out[name] = builders[name]()

    decision = verdict(out, reasons=REASONS, reason_keys=REASON_KEYS, pass_text=PASS_TEXT)
    notes = []
    if skipped:
        notes.append(
            f"Sentence embeddings were skipped ({skipped}): the semantic checks ran on TF-IDF vectors "
            f"instead, and the embedding classifier was not trained. For them: {INSTALL_HINT}."
        )
    for t in (trn, hol, syn):
        if t.dropped:
            notes.append(
                f"{t.where}: {t.dropped:,} rows without a text{' or label' if target else ''} were left out."
            )
        if t.capped_from:
            notes.append(
                f"{t.where}: a random {len(t.texts):,} of its {t.capped_from:,} texts were used (max_rows)."
            )
    if run.syn_vec is not None and run.syn_vec is not syn:
        notes.append(
            f"Sentence embeddings were computed for a random {len(run.syn_vec.texts):,} of the "
            f"{len(syn.texts):,} synthetic texts (embed_rows); the word-based checks use them all."
        )
    if "utility" in out and out["utility"].get("best", {}).get("setup"):
        best = out["utility"]["best"]
        notes.append(
            f"Best training set on the real holdout: {SETUP_NAMES[best['setup']]} "
            f"(macro-F1 {best['macro_f1']:.3f}, {FEATURIZERS[best['featurizer']]})."
        )
    from ... import __version__

    data = {
        "title": "Synthetic text report",
        "simulacra_version": __version__,
        "seed": seed,
        "created_from": sources or {},
        "inputs": {
            "kind": "text",
            "train_rows": len(trn.texts),
            "holdout_rows": len(hol.texts),
            "synthetic_rows": len(syn.texts),
            "columns": [text_field] + ([target] if target else []),
            "text_field": text_field,
            "target": target,
            "task": "classification" if target else None,
            "labels": label_names(run) if target else [],
            "embeddings": embedder.name if embedder is not None else None,
            "embeddings_skipped": skipped,
        },
        "verdict": decision,
        "notes": notes,
        "sections": out,
    }
    return Report(jsonable(data))
