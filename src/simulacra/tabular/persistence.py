"""Model directories: ``model.json`` (format version, schema, parameters) plus ``arrays.npz``, and
network weights in ``weights.safetensors`` for the deep models. No pickle."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..errors import ModelFormatError, UsageError

FORMAT_VERSION = 2  # 2: network weights in weights.safetensors (models without them still write 1)
MODEL_FILE = "model.json"
ARRAYS_FILE = "arrays.npz"
WEIGHTS_FILE = "weights.safetensors"
WEIGHTS_PREFIX = "model.weights."  # arrays with this prefix go to WEIGHTS_FILE


class ModelArrays(dict):
    """A model's named arrays; a missing one raises :class:`ModelFormatError` naming the file."""

    def __init__(self, arrays: dict[str, np.ndarray], source: str | os.PathLike) -> None:
        super().__init__(arrays)
        self.source = source

    def __missing__(self, key: str) -> np.ndarray:
        raise ModelFormatError(f"{self.source}: lacks the array '{key}' (damaged or edited); refit the model")

    def under(self, prefix: str) -> ModelArrays:
        """The arrays whose names start with ``prefix``, with the prefix taken off."""
        return ModelArrays(
            {k[len(prefix) :]: v for k, v in self.items() if k.startswith(prefix)}, self.source
        )


def format_reason(exc: BaseException) -> str:
    """A short reason for a model that cannot be rebuilt: the missing key, or the error's first line."""
    if isinstance(exc, KeyError) and exc.args:
        return f"{exc.args[0]!r} is missing"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def write_model_dir(path: str | os.PathLike, meta: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write a model directory atomically (a half-written model is never left behind)."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target}: exists and is not a directory; choose another --out")
    if target.is_dir() and any(target.iterdir()) and not (target / MODEL_FILE).exists():
        raise UsageError(f"{target}: is a non-empty directory that holds no model; choose another --out")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for k, v in arrays.items():
            if v.dtype == object:
                raise TypeError(f"array {k} has dtype object, which would need pickle")
        from ..io import current_umask

        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; give the usual mode
        weights = {k: np.ascontiguousarray(v) for k, v in arrays.items() if k.startswith(WEIGHTS_PREFIX)}
        np.savez_compressed(tmp / ARRAYS_FILE, **{k: v for k, v in arrays.items() if k not in weights})
        if weights:
            from safetensors.numpy import save_file

            save_file(weights, str(tmp / WEIGHTS_FILE))
        version = FORMAT_VERSION if weights else 1
        (tmp / MODEL_FILE).write_text(json.dumps({"format_version": version, **meta}, indent=1))
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


def read_model_dir(path: str | os.PathLike) -> tuple[dict, ModelArrays]:
    """Read a model directory; a missing, damaged or newer-format model raises :class:`ModelFormatError`
    naming the file at fault (one line: what is wrong and what to do)."""
    p = Path(path)
    if not p.exists():
        raise ModelFormatError(f"{p}: no such model directory (create one with `simulacra fit`)")
    if not (p / MODEL_FILE).exists():
        raise ModelFormatError(f"{p}: is not a model directory ({MODEL_FILE} is missing)")
    try:
        meta = json.loads((p / MODEL_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelFormatError(f"{p / MODEL_FILE}: is damaged (not valid JSON); refit the model") from None
    except OSError as exc:
        raise ModelFormatError(f"{p / MODEL_FILE}: cannot be read ({exc.strerror}); check the file") from None
    if not isinstance(meta, dict):
        raise ModelFormatError(f"{p / MODEL_FILE}: is damaged (not a JSON object); refit the model")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise ModelFormatError(f"{p / MODEL_FILE}: has no format_version; refit the model")
    if version > FORMAT_VERSION:
        raise ModelFormatError(
            f"{p}: model format {version} is newer than this simulacra reads ({FORMAT_VERSION}); "
            "upgrade simulacra (pip install -U simulacra)"
        )
    try:
        with np.load(p / ARRAYS_FILE, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise ModelFormatError(f"{p}: {ARRAYS_FILE} is missing; refit the model") from None
    except _DAMAGED as exc:  # a truncated or overwritten file fails in zipfile, zlib or numpy
        raise ModelFormatError(
            f"{p / ARRAYS_FILE}: is damaged ({_short(exc)}); refit the model or restore the file"
        ) from None
    if version >= 2 and (p / WEIGHTS_FILE).exists():
        try:
            from safetensors.numpy import load_file
        except ImportError:
            raise ModelFormatError(
                f"{p}: holds network weights; reading them needs pip install 'simulacra[torch]'"
            ) from None
        try:
            arrays.update(load_file(str(p / WEIGHTS_FILE)))
        except Exception as exc:  # safetensors raises its own error types for damaged files
            raise ModelFormatError(
                f"{p / WEIGHTS_FILE}: is damaged ({_short(exc)}); refit the model"
            ) from None
    return meta, ModelArrays(arrays, p / ARRAYS_FILE)


_DAMAGED = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:80] + "...") if len(text) > 80 else text or type(exc).__name__
