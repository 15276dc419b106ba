"""The report's sampling policy: every table is capped at ``max_rows`` rows by a seeded uniform sample,
taken while a Parquet file is read (one row group at a time, so a large table is never held whole),
and each check's own caps are stated beside it. The same seed picks the same rows whether the report
is given files or frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulacra.seeding import derive_rng

__all__ = ["DEFAULT_MAX_ROWS", "cap_frame", "read_capped", "sampled_rows", "sampling_statement"]

DEFAULT_MAX_ROWS = 100_000
"""Rows of each table the report reads at most, unless told otherwise (0: every row)."""


def sampled_rows(n_rows: int, max_rows: int, seed: int, role: str) -> np.ndarray | None:
    """Sorted positions of the rows kept from a table of ``n_rows`` (``None``: keep every row)."""
    if not max_rows or n_rows <= max_rows:
        return None
    rng = derive_rng(seed, "evaluate", "max_rows", role)
    return np.sort(rng.choice(n_rows, max_rows, replace=False))


def cap_frame(df: pd.DataFrame, max_rows: int, seed: int, role: str) -> pd.DataFrame:
    """``df`` cut to at most ``max_rows`` rows (the seeded sample :func:`sampled_rows` picks)."""
    idx = sampled_rows(len(df), max_rows, seed, role)
    return df if idx is None else df.iloc[idx].reset_index(drop=True)


def read_capped(path: str | Path, max_rows: int, seed: int, role: str) -> tuple[pd.DataFrame, int]:
    """The table at ``path`` capped at ``max_rows`` rows, and its full row count.

    A Parquet file is read one row group at a time, keeping only the sampled rows of each; other
    formats are read whole, then sampled."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ...io import read_table, suffix_of

    p = Path(path)
    if suffix_of(p) in (".parquet", ".pq") and p.is_file():
        try:
            pf = pq.ParquetFile(p)
        except (pa.ArrowException, OSError):
            pf = None  # let read_table give its one-line error
        if pf is not None:
            n = pf.metadata.num_rows
            idx = sampled_rows(n, max_rows, seed, role)
            if idx is not None:
                parts, start = [], 0
                for g in range(pf.num_row_groups):
                    size = pf.metadata.row_group(g).num_rows
                    lo, hi = np.searchsorted(idx, [start, start + size])
                    if hi > lo:
                        parts.append(pf.read_row_group(g).take(pa.array(idx[lo:hi] - start)))
                    start += size
                table = pa.concat_tables(parts)
                return table.to_pandas(), n
    df = read_table(p)
    return cap_frame(df, max_rows, seed, role), len(df)


def sampling_statement(max_rows: int, seed: int, rows: dict[str, int], used: dict[str, int],
                       checks: dict[str, str]) -> dict[str, Any]:
    """The report's ``sampling`` block: the cap, the seed, each table's rows and rows used, each check's
    own sample, and one sentence saying so."""
    cut = [r for r in rows if used[r] < rows[r]]
    if cut:
        text = (f"Each table was capped at {max_rows:,} rows by a uniform random sample (seed {seed}): "
                + "; ".join(f"{r} {used[r]:,} of {rows[r]:,}" for r in cut)
                + ". Scores computed on samples carry 99% intervals.")
    else:
        text = (f"Every row was read (cap {max_rows:,} rows per table)." if max_rows
                else "Every row was read (no cap).")
    return {"max_rows": int(max_rows), "seed": int(seed), "rows": rows, "rows_used": used, "checks": checks,
            "text": text}
