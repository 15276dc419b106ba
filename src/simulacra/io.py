"""Reading and writing tables by file extension (.csv, .tsv, .parquet, .jsonl, .json).

Writes are atomic: the data goes to a temporary file beside the target, which is renamed into
place only once complete, so a failure never leaves a half-written output behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from .errors import DataError, UsageError

READABLE = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json", ".csv.gz", ".tsv.gz")
WRITABLE = (".csv", ".tsv", ".parquet", ".jsonl")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for ext in sorted(READABLE, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return path.suffix.lower()


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table; raise :class:`DataError` with one clear line if it cannot be used."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, expected a data file ({', '.join(WRITABLE)})")
    if not os.access(p, os.R_OK):
        raise DataError(f"{p}: cannot be read (check its permissions)")
    ext = _suffix(p)
    if p.stat().st_size == 0:
        raise DataError(f"{p}: the file is empty; give a table with a header row and data rows")
    try:
        if ext in (".csv", ".txt", ".csv.gz"):
            df = pd.read_csv(p, skipinitialspace=True, low_memory=False)
        elif ext in (".tsv", ".tsv.gz"):
            df = pd.read_csv(p, sep="\t", low_memory=False)
        elif ext in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        elif ext in (".jsonl", ".ndjson"):
            df = pd.read_json(p, lines=True)
        elif ext == ".json":
            df = pd.read_json(p)
        else:
            raise DataError(f"{p}: unknown file type '{ext}'; use one of {', '.join(WRITABLE)}")
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{p}: the file is empty; give a table with a header row and data rows") from None
    except UnicodeDecodeError:
        raise DataError(f"{p}: is not UTF-8 text; save it as UTF-8 CSV or as Parquet") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{p}: cannot be parsed as {ext} ({first})") from None
    except Exception as exc:  # pyarrow raises its own hierarchy
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{p}: cannot be parsed as {ext} ({first})") from None
    if len(df.columns) == 0:
        raise DataError(f"{p}: has no columns")
    if len(df) == 0:
        raise DataError(f"{p}: has a header but no data rows")
    dupes = [c for c in df.columns if str(c).startswith("Unnamed: ")]
    if dupes and len(dupes) == len(df.columns):
        raise DataError(f"{p}: has no header row")
    return df


def check_writable(path: str | os.PathLike) -> Path:
    """Check before any work starts that ``path`` has a known extension and a writable folder."""
    p = Path(path)
    ext = _suffix(p)
    if ext not in WRITABLE:
        raise UsageError(f"{p}: unknown output type '{ext or '(none)'}'; use one of {', '.join(WRITABLE)}")
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"{p}: {parent} is not a folder")
    if p.is_dir():
        raise UsageError(f"{p}: is a directory; give a file name ending in {ext}")
    return p


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".part", dir=p.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~current_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, p)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` to ``path`` (type chosen by extension), atomically."""
    p = check_writable(path)
    ext = _suffix(p)
    with atomic_path(p) as tmp:
        if ext == ".csv":
            df.to_csv(tmp, index=False)
        elif ext == ".tsv":
            df.to_csv(tmp, index=False, sep="\t")
        elif ext == ".parquet":
            df.to_parquet(tmp, index=False)
        elif ext == ".jsonl":
            df.to_json(tmp, orient="records", lines=True, date_format="iso")
    return p


def write_chunks(chunks: Iterator[pd.DataFrame], path: str | os.PathLike) -> tuple[Path, int]:
    """Stream DataFrame chunks into one file (atomically); return the path and the row count."""
    p = check_writable(path)
    ext = _suffix(p)
    rows = 0
    with atomic_path(p) as tmp:
        writer = None
        schema = None
        try:
            for i, chunk in enumerate(chunks):
                rows += len(chunk)
                if ext == ".parquet":
                    import pyarrow as pa
                    import pyarrow.parquet as pq

                    table = pa.Table.from_pandas(chunk, preserve_index=False, schema=schema)
                    if writer is None:
                        schema = table.schema
                        writer = pq.ParquetWriter(tmp, schema)
                    writer.write_table(table)
                elif ext in (".csv", ".tsv"):
                    chunk.to_csv(
                        tmp,
                        index=False,
                        header=i == 0,
                        mode="w" if i == 0 else "a",
                        sep="\t" if ext == ".tsv" else ",",
                    )
                else:
                    with open(tmp, "w" if i == 0 else "a", encoding="utf-8") as fh:
                        text = chunk.to_json(orient="records", lines=True, date_format="iso")
                        fh.write(text if text.endswith("\n") else text + "\n")
        finally:
            if writer is not None:
                writer.close()
    return p, rows
