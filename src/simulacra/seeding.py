"""The one place randomness is made.

A generator is derived from ``(seed, *keys)`` with :class:`numpy.random.SeedSequence`, where keys
name the table, column, purpose and chunk. Output therefore depends only on the seed and on the
(fixed) chunk size, never on how many workers ran the chunks or in which order.

torch generators (for the deep models) come from here too, with torch imported inside the helpers
only; and so does the one kind of randomness a seed must not reproduce: the noise of differential
privacy (:func:`secret_rng`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

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


def derive_seed(seed: int, *keys: str | int) -> int:
    """A non-negative integer seed determined by ``seed`` and ``keys`` (for APIs that take an int)."""
    return int(derive_rng(seed, *keys).integers(0, 2**31 - 1))


def chunk_sizes(n: int, chunk_rows: int = CHUNK_ROWS) -> list[int]:
    """Split ``n`` rows into fixed-size chunks (the last one may be shorter)."""
    full, rest = divmod(int(n), chunk_rows)
    return [chunk_rows] * full + ([rest] if rest else [])


# --------------------------------------------------------------------------------------------- torch
# torch is imported inside these helpers only: ``import simulacra`` never needs it.


def torch_seed(seed: int, *keys: str | int) -> int:
    """The integer that seeds torch for ``(seed, *keys)``: ``seed`` itself without keys, else a draw of
    :func:`derive_rng`."""
    if not keys:
        if seed is None or int(seed) < 0:
            raise ValueError("seed must be a non-negative integer")
        return int(seed)
    return int(derive_rng(seed, *keys).integers(0, 2**62))


def step_seed(seed: int, step: int, stride: int = 1) -> int:
    """``seed * stride + step``: the per-step integer seeds the deep models have always used (their
    output bytes depend on them, so they stay; new code should pass keys to :func:`torch_generator`)."""
    return int(seed) * int(stride) + int(step)


def torch_generator(seed: int, *keys: str | int, device: Any = "cpu") -> Any:
    """A ``torch.Generator`` on ``device`` determined by ``(seed, *keys)`` (see :func:`torch_seed`)."""
    import torch

    return torch.Generator(device=device).manual_seed(torch_seed(seed, *keys))


def torch_generator_from(rng: np.random.Generator) -> Any:
    """A CPU ``torch.Generator`` seeded by one draw of ``rng`` (a generator made by :func:`derive_rng`)."""
    import torch

    return torch.Generator().manual_seed(int(rng.integers(0, 2**62)))


@contextmanager
def torch_rng(seed: int, *keys: str | int, device: Any = "cpu") -> Iterator[None]:
    """Run a block with torch's global generator (and that of a GPU ``device``) seeded from
    ``(seed, *keys)``, and restore their states after.

    Layers initialise their weights, and dropout or ``torch.randn`` draw, from the global generator:
    forking it makes a fit reproducible without changing the random state its caller sees.
    """
    import torch

    dev = torch.device(device)
    gpus = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    value = torch_seed(seed, *keys)
    with torch.random.fork_rng(devices=gpus):
        torch.random.default_generator.manual_seed(value)
        for index in gpus:
            torch.cuda.default_generators[index].manual_seed(value)
        yield


# --------------------------------------------------------------------------------------------- secret
def secret_rng() -> np.random.Generator:
    """A generator from fresh operating-system entropy, reproducible from nothing public.

    For the noise of differential privacy: noise that a published seed reproduces could be
    subtracted again. Not a cryptographic generator (PCG64 seeded with 128 bits of OS entropy).
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence()))


def secret_torch_generator(device: Any = "cpu") -> Any:
    """A ``torch.Generator`` on ``device`` seeded from fresh OS entropy (see :func:`secret_rng`)."""
    import torch

    return torch.Generator(device=device).manual_seed(int(secret_rng().integers(0, 2**62)))
