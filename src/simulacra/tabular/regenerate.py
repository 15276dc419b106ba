"""Columns that are never learned — PII, ids, free text — regenerated fresh for every row.

Only the *shape* of such a column is kept (an id's prefix and width, a text's length quantiles, the
share of missing values); no value of the training data is stored or reproduced.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from ..schema.kinds import Kind, PiiKind
from ..schema.model import ColumnSchema

_NUMBERED = re.compile(r"^([A-Za-z_\-#:/.]*?)(\d+)$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def learn_shape(values: pd.Series, col: ColumnSchema) -> dict:
    """What is kept of a regenerated column: its shape, never its values."""
    nonnull = values.dropna()
    shape: dict = {"missing": float(values.isna().mean())}
    if col.kind == Kind.ID:
        if pd.api.types.is_numeric_dtype(values):
            # fresh ids start past the training ones, so no synthetic id names a real record
            shape.update(type="int", start=int(nonnull.max()) + 1 if len(nonnull) else 1)
        else:
            s = nonnull.astype(str)
            if len(s) and s.str.fullmatch(_UUID).mean() > 0.9:
                shape.update(type="uuid")
            else:
                m = s.str.extract(_NUMBERED)
                if len(s) and m[1].notna().mean() > 0.9:
                    prefix = m[0].mode().iloc[0] if m[0].notna().any() else ""
                    digits = m[1].dropna()
                    shape.update(
                        type="numbered",
                        prefix=str(prefix),
                        width=int(digits.str.len().max()),
                        start=int(digits.astype(int).max()) + 1,
                    )
                else:
                    shape.update(type="numbered", prefix="ID", width=max(8, len(str(len(values)))))
    elif col.kind == Kind.TEXT:
        words = nonnull.astype(str).str.split().str.len()
        q = np.quantile(words, np.linspace(0, 1, 11)) if len(words) else np.ones(11)
        shape.update(type="text", word_quantiles=[float(x) for x in q])
    else:
        shape.update(type="pii", pii=col.pii.value if col.pii else None)
    return shape


@lru_cache(maxsize=1)
def _words() -> np.ndarray:
    from faker.providers.lorem.en_US import Provider

    return np.array(sorted(set(Provider.word_list)), dtype=object)


def _text(n: int, quantiles: list[float], rng: np.random.Generator) -> np.ndarray:
    q = np.asarray(quantiles)
    lengths = np.maximum(1, np.round(np.interp(rng.random(n), np.linspace(0, 1, q.size), q)).astype(int))
    words = _words()
    picks = words[rng.integers(0, words.size, size=int(lengths.sum()))]
    ends = np.cumsum(lengths)
    out = np.empty(n, dtype=object)
    start = 0
    for i, e in enumerate(ends):
        sentence = " ".join(picks[start:e])
        out[i] = sentence[:1].upper() + sentence[1:] + "."
        start = e
    return out


def regenerate(
    shapes: dict[str, dict], n: int, row_start: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Fresh values for every regenerated column of one chunk (rows ``row_start`` ...)."""
    from ..schema.fakes import fake_column, fake_people

    out: dict[str, np.ndarray] = {}
    people = None
    for name, shape in shapes.items():
        kind = shape["type"]
        if kind == "int":
            vals = np.arange(row_start, row_start + n, dtype=np.int64) + shape["start"]
        elif kind == "uuid":
            raw = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64)
            vals = np.array([f"{a:016x}{b:016x}" for a, b in raw], dtype=object)
            vals = np.array(
                [f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}" for h in vals], dtype=object
            )
        elif kind == "numbered":
            idx = np.arange(row_start, row_start + n) + shape.get("start", 1)
            vals = np.array([f"{shape['prefix']}{i:0{shape['width']}d}" for i in idx], dtype=object)
        elif kind == "text":
            vals = _text(n, shape["word_quantiles"], rng)
        else:
            if people is None:
                people = fake_people(n, rng)
            vals = fake_column(PiiKind(shape["pii"]), n, rng, people=people)
        if shape.get("missing", 0) > 0 and kind not in ("int", "uuid", "numbered"):
            vals = vals.astype(object)
            vals[rng.random(n) < shape["missing"]] = None
        out[name] = vals
    return out
