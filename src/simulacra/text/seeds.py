"""Seed examples: real records read from a file (or written inline) and matched to the spec's fields.

``seeds.file`` is a path beside the spec or ``package:NAME/rel/path`` inside an installed package
(the examples use ``package:simulacra/text/data/...``, shipped with simulacra; see the README there
for their sources and licences). CSV (also compressed), JSONL, Parquet and YAML (a list of records,
or a chatterbot corpus file) are read.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .attributes import Attribute, Choice
from .checking import Checker
from .spec import Conversation, Seeds, SeedsOptions


def resolve_data_path(ctx_base: Path | None, ref: str) -> Path:
    """``package:NAME/rel/path`` inside an installed package (not imported), else relative to the spec."""
    if ref.startswith("package:"):
        pkg, _, rel = ref[len("package:") :].partition("/")
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"package '{pkg}' is not installed")
        return Path(list(spec.submodule_search_locations)[0]) / rel
    p = Path(ref).expanduser()
    return p if p.is_absolute() or ctx_base is None else ctx_base / p


def read_seed_file(path: Path) -> list[dict[str, Any]]:
    """The records of a seed file (see the module docstring for the formats)."""
    import pandas as pd

    name = path.name.lower()
    if name.endswith((".yml", ".yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("conversations"), list):  # chatterbot corpus form
            return [
                {"turns": [str(t) for t in conv]}
                for conv in data["conversations"]
                if isinstance(conv, list) and len(conv) >= 2
            ]
        if isinstance(data, list):
            return [r for r in data if isinstance(r, dict)]
        raise ValueError("expected a list of records or a chatterbot corpus file")
    if name.endswith((".jsonl", ".ndjson")):
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if any(name.endswith(ext) for ext in (".csv", ".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip")):
        return pd.read_csv(path).to_dict("records")
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(path).to_dict("records")
    raise ValueError("unknown file type; use .csv(.gz/.bz2), .jsonl, .parquet or .yaml")


def check_seeds(
    ctx: Checker,
    raw: SeedsOptions,
    fields: list[str],
    schema: dict,
    conversation: Conversation | None,
    attributes: list[Attribute] = (),
) -> Seeds:
    """The usable seed examples: read, columns renamed, each with every output field, deduplicated."""
    records: list[dict[str, Any]] = []
    if raw.file is not None:
        ref = raw.file
        try:
            path = resolve_data_path(ctx.base, ref)
            rows = read_seed_file(path)
        except FileNotFoundError as exc:
            raise ctx.error(
                "seeds.file",
                f"{ref}: not found ({exc}); give a path relative to the spec or package:NAME/path",
            ) from None
        except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault
            raise ctx.error("seeds.file", f"{ref}: cannot be read ({exc})") from None
        columns = raw.columns
        rename = {str(v): str(k) for k, v in columns.items()}
        for row in rows:
            records.append({rename.get(str(k), str(k)): v for k, v in row.items()})
        if columns and rows:
            missing = [v for v in columns.values() if v not in rows[0]]
            if missing:
                raise ctx.error(
                    "seeds.columns",
                    f"column '{missing[0]}' is not in {ref} (columns: {', '.join(map(str, rows[0]))})",
                )
    records.extend(raw.examples)
    outputs = [f for f in schema["properties"]]
    usable = []
    seen: set[str] = set()
    max_chars = raw.max_chars
    for rec in records:
        if conversation is not None and "turns" not in rec and isinstance(rec.get("messages"), list):
            rec = {**rec, "turns": [m.get("content", "") for m in rec["messages"] if isinstance(m, dict)]}
        if not all(f in rec and _present(rec[f]) for f in outputs):
            continue
        if len(json.dumps({f: rec[f] for f in outputs}, ensure_ascii=False)) > max_chars:
            continue
        kept = {k: v for k, v in rec.items() if k in fields or k in outputs}
        key = json.dumps(kept, sort_keys=True, default=str)
        if key not in seen:  # a corpus may repeat an example; show each once
            seen.add(key)
            usable.append(kept)
    if not usable:
        raise ctx.error(
            "seeds",
            f"no seed example has every output field ({', '.join(outputs)}) "
            f"within {max_chars} characters; map columns with seeds.columns or raise seeds.max_chars",
        )
    match = raw.match
    if match is None:
        match = [f for f in fields if any(f in r for r in usable)]
    if not isinstance(match, list) or any(m not in fields for m in match):
        raise ctx.error(
            "seeds.match", f"expected a list of attribute fields (attributes: {', '.join(fields)})"
        )
    # a seed whose matched value no example can have (e.g. Rotten Tomatoes' 'plot' rows when the
    # label is fresh/rotten) is never shown and would skew the label check: leave it out
    allowed = {
        a.name: {str(v).strip().lower() for v in a.values} for a in attributes if isinstance(a, Choice)
    }
    usable = [
        r
        for r in usable
        if all(f not in r or f not in allowed or str(r[f]).strip().lower() in allowed[f] for f in match)
    ]
    if not usable:
        raise ctx.error(
            "seeds",
            "no seed example has a value the attributes can take in the matched fields "
            f"({', '.join(match)}); check seeds.columns and the attribute values",
        )
    return Seeds(tuple(usable), tuple(match), raw.k)


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and np.isnan(value):
        return False
    return not (isinstance(value, str) and not value.strip())
