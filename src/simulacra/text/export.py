"""Exports of a generated JSONL file: OpenAI chat fine-tuning JSONL, a Hugging Face dataset folder,
Parquet, CSV and plain JSONL. Every format keeps each record's provenance (``_meta``: model, attributes,
seed, tokens) except ``openai-chat``, whose lines must hold ``messages`` only.

- ``openai-chat``: one ``{"messages": [...]}`` per line. A conversation maps its roles with the spec's
  ``conversation.roles`` (kept in ``_meta.chat_roles``) and starts with its ``system`` message if any.
  A single example becomes a user message (``--prompt-field``, default: the attributes as
  ``name: value`` lines) and an assistant message (``--completion-field``, default: the generated
  fields; one field as plain text, several as JSON).
- ``hf-dataset``: a folder written by ``datasets.Dataset.save_to_disk`` (``datasets.load_from_disk``).
- ``parquet`` / ``csv`` / ``jsonl``: one row per example; ``_meta`` becomes ``meta_*`` columns, lists and
  mappings become JSON text in CSV.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import DataError, UsageError
from ..io import atomic_path

FORMATS = ("openai-chat", "hf-dataset", "parquet", "csv", "jsonl")


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of a ``simulacra text`` output file (one JSON object per line)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, expected the JSONL file written by simulacra text")
    records = []
    with open(p, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                raise DataError(
                    f"{p}: line {n} is not JSON; give the JSONL file written by simulacra text"
                ) from None
            if not isinstance(rec, dict):
                raise DataError(f"{p}: line {n} is not a JSON object")
            records.append(rec)
    if not records:
        raise DataError(f"{p}: holds no examples")
    return records


def _fields(rec: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(attribute fields, generated fields) of a record, from its shape and ``_meta``."""
    meta = rec.get("_meta", {})
    generated = meta.get("generated")
    if generated is None:
        generated = [k for k, v in rec.items() if k != "_meta" and (k == "messages" or isinstance(v, str))]
    attrs = [k for k in rec if k not in generated and k != "_meta"]
    return attrs, generated


def to_chat(
    rec: dict[str, Any],
    prompt_field: str | None = None,
    completion_field: str | None = None,
    system: str | None = None,
) -> dict[str, Any]:
    """One OpenAI chat fine-tuning line for a record."""
    meta = rec.get("_meta", {})
    messages: list[dict[str, str]] = []
    sys_text = system if system is not None else meta.get("system")
    if sys_text:
        messages.append({"role": "system", "content": sys_text})
    if isinstance(rec.get("messages"), list) and prompt_field is None and completion_field is None:
        roles = meta.get("chat_roles") or {}
        for m in rec["messages"]:
            role = roles.get(m.get("role"), m.get("role"))
            if role not in ("system", "user", "assistant"):
                raise DataError(f"role '{m.get('role')}' has no chat role; it is not in _meta.chat_roles")
            messages.append({"role": role, "content": str(m.get("content", ""))})
        return {"messages": messages}
    for name in (prompt_field, completion_field):
        if name is not None and name not in rec:
            raise UsageError(
                f"field '{name}' is not in the records (fields: {', '.join(k for k in rec if k != '_meta')})"
            )
    attrs, generated = _fields(rec)
    if prompt_field is not None:
        user = _text(rec[prompt_field])
    else:
        user = "\n".join(f"{k}: {_text(rec[k])}" for k in attrs if k != completion_field)
    if completion_field is not None:
        assistant = _text(rec[completion_field])
    else:
        gen = [k for k in generated if k != prompt_field]
        assistant = (
            _text(rec[gen[0]]) if len(gen) == 1 else json.dumps({k: rec[k] for k in gen}, ensure_ascii=False)
        )
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def flat(rec: dict[str, Any]) -> dict[str, Any]:
    """A record with ``_meta`` spread into ``meta_*`` columns."""
    out = {k: v for k, v in rec.items() if k != "_meta"}
    for key, value in (rec.get("_meta") or {}).items():
        out[f"meta_{key}"] = value
    return out


def export(
    src: str | os.PathLike,
    fmt: str,
    out: str | os.PathLike,
    *,
    prompt_field: str | None = None,
    completion_field: str | None = None,
    system: str | None = None,
) -> tuple[Path, int]:
    """Write ``src`` (simulacra text output) as ``fmt`` to ``out``; returns (path, records)."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{out}: folder {out.parent} does not exist; create it or choose another --out")
    records = read_records(src)
    if fmt == "openai-chat":
        lines = [to_chat(r, prompt_field, completion_field, system) for r in records]
        with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
        return out, len(lines)
    rows = [flat(r) for r in records]
    if fmt == "jsonl":
        with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        return out, len(rows)
    if fmt == "csv":
        import pandas as pd

        df = pd.DataFrame(
            [
                {
                    k: (json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v)
                    for k, v in r.items()
                }
                for r in rows
            ]
        )
        with atomic_path(out) as tmp:
            df.to_csv(tmp, index=False)
        return out, len(rows)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows)
        with atomic_path(out) as tmp:
            pq.write_table(table, tmp)
        return out, len(rows)
    # hf-dataset
    try:
        import datasets
    except ImportError:
        raise UsageError(
            "--format hf-dataset needs the datasets package: pip install 'simulacra[hf]'"
        ) from None
    if out.exists():
        raise UsageError(f"{out}: already exists; choose a new folder for the dataset")
    ds = datasets.Dataset.from_list(rows)
    tmp_dir = out.with_name(f".{out.name}.part")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    try:
        ds.save_to_disk(str(tmp_dir))
        os.replace(tmp_dir, out)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return out, len(rows)
