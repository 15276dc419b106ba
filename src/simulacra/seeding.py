"""The one place randomness is made.

A generator is derived from ``(seed, *keys)`` with :class:`numpy.random.SeedSequence`, where keys
name the table, column, purpose and chunk. Output therefore depends only on the seed and on the
(fixed) chunk size, never on how many workers ran the chunks or in which order.
"""

from __future__ import annotations

import hashlib

import numpy as np

CHUNK_ROWS = 65_536
"""Rows per sampling chunk. Fixed: changing it changes the bytes a seed produces."""


def _key_to_int(key: str | int) -> int:
    if isinstance(key, int | np.integer):
        return int(key)
    digest = hashlib.blake2b(str(key).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def derive_rng(seed: int, *keys: str | int) -> np.random.Generator:
    """Return a generator determined by ``seed`` and the ordered ``keys`` alone."""
    if seed is None or int(seed) < 0:
        raise ValueError("seed must be a non-negative integer")
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(_key_to_int(k) for k in keys))
    return np.random.Generator(np.random.PCG64(ss))


def chunk_sizes(n: int, chunk_rows: int = CHUNK_ROWS) -> list[int]:
    """Split ``n`` rows into fixed-size chunks (the last one may be shorter)."""
    full, rest = divmod(int(n), chunk_rows)
    return [chunk_rows] * full + ([rest] if rest else [])
