"""Provenance for benchmark results files: every ``benchmarks/results/*.json`` is written through here.

A results file is ``{"provenance": {...}, "results": {...}}``. The provenance block holds the command
line, the git commit (and whether the working tree was dirty), start and end time (UTC, ISO 8601), the
load average at start and end, the CPU count, Python's and the named packages' versions, and a SHA-256
digest of the results block. Each script declares ``SCHEMA``, the shape of what it writes; ``write``
refuses results that do not match it, and ``tests/test_results_files.py`` checks every file against its
script's schema and digest, so a hand edit (a key added or removed, a value rounded) fails the suite.

Schema language (plain Python values):

- a type (``float``, ``int``, ``str``, ``bool``): the value has exactly that JSON type (``int`` is not
  ``float`` and ``bool`` is not ``int``); ``None`` means JSON null; ``Any`` accepts anything;
- a tuple of schemas: any one of them, e.g. ``(float, None)``;
- ``[schema]``: a list whose items all match;
- ``{"key": schema, ...}``: a dict with exactly these keys (wrap a value in :class:`Opt` when the key
  may be absent); ``{"*": schema}``: a dict with any keys, every value matching.

Values are written at full precision (``float`` repr); round only when rendering.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"

Num = (int, float)


@dataclass(frozen=True)
class Opt:
    """A dict value whose key may be missing."""

    schema: Any


PROVENANCE_SCHEMA: dict[str, Any] = {
    "script": str,
    "command": [str],
    "git_commit": (str, None),
    "git_dirty": (bool, None),
    "started_utc": str,
    "finished_utc": str,
    "wall_s": float,
    "load_average_start": [float],
    "load_average_end": [float],
    "cpu_count": int,
    "cpus_usable": int,
    "platform": str,
    "python": str,
    "versions": {"*": (str, None)},
    "results_sha256": str,
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def versions(packages: list[str] | tuple[str, ...]) -> dict[str, str | None]:
    """Installed version of each named distribution (``None`` when absent)."""
    out: dict[str, str | None] = {}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def digest(results: Any) -> str:
    """SHA-256 of the results block's canonical JSON (sorted keys, full-precision floats)."""
    text = json.dumps(results, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def check(value: Any, schema: Any, path: str = "$") -> list[str]:
    """Every place where ``value`` departs from ``schema`` (empty when it matches)."""
    if schema is Any:
        return []
    if schema is None:
        return [] if value is None else [f"{path}: expected null, got {type(value).__name__}"]
    if isinstance(schema, tuple):
        for alt in schema:
            if not check(value, alt, path):
                return []
        return [f"{path}: {value!r:.60} matches none of {schema}"]
    if isinstance(schema, type):
        ok = isinstance(value, schema) and not (schema is int and isinstance(value, bool))
        return [] if ok else [f"{path}: expected {schema.__name__}, got {type(value).__name__}"]
    if isinstance(schema, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        return [e for i, item in enumerate(value) for e in check(item, schema[0], f"{path}[{i}]")]
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        if set(schema) == {"*"}:
            return [e for k, v in value.items() for e in check(v, schema["*"], f"{path}.{k}")]
        errors = [f"{path}: unexpected key {k!r}" for k in value if k not in schema]
        for k, sub in schema.items():
            if k not in value:
                if not isinstance(sub, Opt):
                    errors.append(f"{path}: missing key {k!r}")
                continue
            errors += check(value[k], sub.schema if isinstance(sub, Opt) else sub, f"{path}.{k}")
        return errors
    raise TypeError(f"{path}: unknown schema element {schema!r}")


def plain(value: Any) -> Any:
    """``value`` with numpy scalars/arrays, tuples and paths turned into JSON types (floats unrounded)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalar or array
        return plain(value.tolist())
    return str(value)


class Run:
    """One benchmark run: records provenance at creation and writes the results file at the end."""

    def __init__(self, script: str, packages: list[str] | tuple[str, ...], schema: dict[str, Any]):
        self.script = Path(script).resolve()
        self.packages = list(packages)
        self.schema = schema
        self.started = _now()
        self._t0 = datetime.now(UTC)
        self.load_start = list(os.getloadavg())
        status = _git("status", "--porcelain", "--untracked-files=no")
        self.commit = (_git("rev-parse", "HEAD") or "").strip() or None
        self.dirty = None if status is None else bool(status.strip())
        self.command = [Path(sys.executable).name, *sys.argv]

    def provenance(self, results: dict[str, Any]) -> dict[str, Any]:
        """The provenance block for ``results``, stamped now."""
        try:
            script = str(self.script.relative_to(ROOT))
        except ValueError:
            script = str(self.script)
        return {
            "script": script,
            "command": self.command,
            "git_commit": self.commit,
            "git_dirty": self.dirty,
            "started_utc": self.started,
            "finished_utc": _now(),
            "wall_s": (datetime.now(UTC) - self._t0).total_seconds(),
            "load_average_start": self.load_start,
            "load_average_end": list(os.getloadavg()),
            "cpu_count": os.cpu_count() or 0,
            "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "versions": versions(["simulacra", *self.packages]),
            "results_sha256": digest(results),
        }

    def write(self, path: Path, results: dict[str, Any]) -> Path:
        """Validate ``results`` against the script's schema and write ``path`` with provenance."""
        results = plain(results)
        errors = check(results, self.schema)
        if errors:
            raise ValueError("results do not match the script's SCHEMA:\n  " + "\n  ".join(errors[:20]))
        doc = {"provenance": self.provenance(results), "results": results}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(doc, indent=1, allow_nan=True) + "\n")
        tmp.replace(path)
        return path


def load(path: Path) -> dict[str, Any]:
    """The results block of a results file."""
    return json.loads(Path(path).read_text())["results"]


def finite(x: Any) -> bool:
    """True for a finite number."""
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
