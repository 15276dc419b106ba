"""The corpora a text report compares: one role's texts with their tokens and labels (:class:`Texts`),
and everything the sections share (:class:`Run`): the three corpora, the two halves of the real
holdout, and the vectors (sentence embeddings, else TF-IDF)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...errors import DataError, UsageError
from ...formatting import format_number
from ...seeding import derive_rng
from .embed import Embedder
from .tokens import tokenize_all

__all__ = [
    "Run",
    "Texts",
    "cap_rows",
    "clip_text",
    "compute_vectors",
    "holdout_rows",
    "is_missing",
    "label_names",
    "label_strings",
    "mean_or_none",
    "read_texts",
    "sample_rows",
    "shown",
    "role_name",
]


@dataclass
class Texts:
    """One role's texts, their tokens and labels (rows with an empty text are dropped)."""

    role: str
    where: str
    frame: pd.DataFrame
    texts: list[str]
    tokens: list[list[str]]
    labels: list[str] | None
    dropped: int = 0
    capped_from: int | None = None
    lengths: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.lengths = np.array([len(t) for t in self.tokens], dtype=float)

    def take(self, idx: np.ndarray, role: str) -> Texts:
        """The subset of rows ``idx`` (for holdout halves and capped samples)."""
        return Texts(
            role,
            self.where,
            self.frame.iloc[idx],
            [self.texts[i] for i in idx],
            [self.tokens[i] for i in idx],
            [self.labels[i] for i in idx] if self.labels is not None else None,
        )

    def of_label(self, label: str) -> Texts:
        """The texts with one label."""
        idx = np.array([i for i, v in enumerate(self.labels or []) if v == label], dtype=int)
        return self.take(idx, self.role)


def role_name(role: str, sources: dict[str, str] | None) -> str:
    """How messages name a role's data: its command-line option and file, else "the <role> data"."""
    if sources and sources.get(role):
        return f"--{role} {sources[role]}"
    return f"the {role} data"


def read_texts(
    data: Any, role: str, text_field: str, target: str | None, sources: dict[str, str] | None
) -> Texts:
    """``data`` (a frame or a file path) as :class:`Texts`: rows without a text (or label) are dropped."""
    from ...tabular.synthesizer import to_pandas

    where = role_name(role, sources)
    if data is None:
        raise UsageError(f"the {role} data is required")
    df = to_pandas(data)
    df.columns = [str(c) for c in df.columns]
    fields = ", ".join(df.columns[:12]) + (", ..." if len(df.columns) > 12 else "")
    if text_field not in df.columns:
        raise DataError(
            f"{where}: has no field '{text_field}' (fields: {fields}); "
            "name the field that holds the texts with --text-field"
        )
    if target is not None and target not in df.columns:
        raise DataError(
            f"{where}: has no label field '{target}' (fields: {fields}); "
            "name the label field with --target, or leave --target out"
        )
    raw = df[text_field]
    bad = raw.map(lambda v: v is not None and not isinstance(v, str) and not is_missing(v))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{where}: field '{text_field}' holds a {type(raw.iloc[i]).__name__} in row {i + 1}, "
            "not text; --text-field must name a field of strings"
        )
    keep = raw.map(lambda v: isinstance(v, str) and v.strip() != "").to_numpy(dtype=bool)
    if target is not None:
        keep &= df[target].notna().to_numpy()
    if not keep.any():
        what = f"non-empty texts with a '{target}' label" if target is not None else "non-empty texts"
        raise DataError(f"{where}: field '{text_field}' has no {what}")
    frame = df[keep].reset_index(drop=True)
    texts = frame[text_field].tolist()
    labels = label_strings(frame[target]) if target is not None else None
    return Texts(role, where, frame, texts, tokenize_all(texts), labels, dropped=int((~keep).sum()))


def label_strings(values: pd.Series) -> list[str]:
    """Labels as strings; whole floats (1.0, as read beside missing values) lose their ".0"."""
    if pd.api.types.is_float_dtype(values) and (values == values.round()).all():
        values = values.astype("int64")
    return values.astype(str).tolist()


def is_missing(v: Any) -> bool:
    """Whether ``v`` is a missing value (None, NaN, NA); False for values pandas cannot judge."""
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def cap_rows(t: Texts, max_rows: int, rng: np.random.Generator) -> Texts:
    """At most ``max_rows`` of ``t``'s texts (a random sample that remembers the full count)."""
    if len(t.texts) <= max_rows:
        return t
    out = t.take(np.sort(rng.choice(len(t.texts), max_rows, replace=False)), t.role)
    out.capped_from = len(t.texts)
    out.dropped = t.dropped
    return out


def sample_rows(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of at most ``m`` of ``n`` rows (all of them when ``n <= m``)."""
    return np.arange(n) if n <= m else np.sort(rng.choice(n, m, replace=False))


@dataclass
class Run:
    """Everything the sections share: the three corpora, the holdout halves, the vectors."""

    train: Texts
    holdout: Texts
    synthetic: Texts
    half_a: Texts
    half_b: Texts
    target: str | None
    text_field: str
    seed: int
    embedder: Embedder | None
    skipped: str | None
    embed_rows: int = 3_000
    vectors: dict[str, Any] = field(default_factory=dict)
    rep_name: str = "TF-IDF"
    syn_vec: Texts | None = None  # the synthetic texts behind vectors["synthetic"] (a sample, or all)

    def vec(self, role: str) -> Any:
        """The main representation (embeddings, else TF-IDF) of ``role``'s texts."""
        return self.vectors[role]


def compute_vectors(run: Run) -> None:
    """Fill ``run.vectors``: sentence embeddings (of at most ``embed_rows`` synthetic texts), else TF-IDF."""
    roles = {"train": run.train, "holdout": run.holdout, "synthetic": run.synthetic}
    run.syn_vec = run.synthetic
    if run.embedder is not None:
        if len(run.synthetic.texts) > run.embed_rows:
            rng = derive_rng(run.seed, "evaluate", "text", "embed_sample")
            run.syn_vec = run.synthetic.take(
                sample_rows(len(run.synthetic.texts), run.embed_rows, rng), "synthetic"
            )
        allv = run.embedder.encode(run.train.texts + run.holdout.texts + run.syn_vec.texts)
        a, b = len(run.train.texts), len(run.train.texts) + len(run.holdout.texts)
        run.vectors = {"train": allv[:a], "holdout": allv[a:b], "synthetic": allv[b:]}
        run.rep_name = "sentence embeddings"
    else:
        from .realism import tfidf_vectors

        fit = run.holdout.texts + run.synthetic.texts
        run.vectors = dict(zip(roles, tfidf_vectors(fit, *(r.texts for r in roles.values())), strict=True))
        run.rep_name = "TF-IDF vectors"


def label_names(run: Run) -> list[str]:
    """Every label seen in the holdout, train or synthetic texts, sorted."""
    seen = dict.fromkeys(run.holdout.labels or [])
    seen.update(dict.fromkeys(run.train.labels or []))
    seen.update(dict.fromkeys(run.synthetic.labels or []))
    return sorted(seen)


def mean_or_none(x: np.ndarray) -> float | None:
    """The mean of ``x``, or None when it is empty."""
    return float(x.mean()) if len(x) else None


def shown(v: float | None, fmt: str = "0.000") -> str:
    """A number for a summary sentence (see :func:`simulacra.formatting.format_number`)."""
    return format_number(v, fmt, missing="n/a")


def clip_text(text: str, n: int = 160) -> str:
    """``text`` on one line, cut to ``n`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def holdout_rows(run: Run, part: Texts) -> np.ndarray:
    """Rows of the holdout that ``part`` (a half, or a label within it) holds."""
    return part.frame["__row__"].to_numpy()


