"""Keys: does every foreign key value exist in its parent, and is every primary key unique?"""

from __future__ import annotations

import pandas as pd

from ...relational.metadata import Metadata
from ...relational.split import key_strings

__all__ = ["primary_key_uniqueness", "referential_integrity"]


def referential_integrity(metadata: Metadata, tables: dict[str, pd.DataFrame]) -> dict:
    """Per foreign key: rows with a (non-null) key, how many find their parent row, and the share; and
    ``share`` over all keys (``None`` when no row has a key). Null keys reference nothing and are fine."""
    per_key, checked, valid = [], 0, 0
    for fk in metadata.foreign_keys:
        keys = key_strings(tables[fk.child], fk.columns).dropna()
        parents = set(key_strings(tables[fk.parent], fk.parent_columns).dropna())
        found = int(keys.isin(parents).sum())
        per_key.append({"key": fk.label, "checked": len(keys), "orphans": len(keys) - found,
                        "share": found / len(keys) if len(keys) else None})
        checked += len(keys)
        valid += found
    return {"share": valid / checked if checked else None, "keys": per_key}


def primary_key_uniqueness(metadata: Metadata, tables: dict[str, pd.DataFrame]) -> dict:
    """Per table with a primary key: the share of rows whose key is present and found once; and
    ``share`` over all such rows (``None`` when no table has a primary key or rows)."""
    per_table, rows, good = [], 0, 0
    for name, table in metadata.tables.items():
        if not table.primary_key:
            continue
        keys = key_strings(tables[name], table.primary_key)
        unique = int((keys.notna() & ~keys.duplicated(keep=False)).sum())
        per_table.append({"table": name, "rows": len(keys), "duplicates_or_missing": len(keys) - unique,
                          "share": unique / len(keys) if len(keys) else None})
        rows += len(keys)
        good += unique
    return {"share": good / rows if rows else None, "tables": per_table}
