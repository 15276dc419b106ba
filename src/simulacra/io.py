"""Reading and writing tables by file extension (.csv, .tsv, .parquet, .jsonl, .json).

Writes are atomic: the data goes to a temporary file beside the target, which is renamed into
place only once complete, so a failure never leaves a half-written output behind.

:class:`ChunkWriter` is the one way the package writes a table chunk by chunk (a sample streamed
by one process, a part file of a scale-out job, a rules table): CSV/TSV with the header once,
Parquet with one row group per chunk in the first chunk's schema, JSONL with ISO dates in
microseconds (what pandas keeps of a timestamp beyond milliseconds is not dropped).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError, UsageError

READABLE = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json", ".csv.gz", ".tsv.gz")
WRITABLE = (".csv", ".tsv", ".parquet", ".jsonl")


def suffix_of(path: str | os.PathLike) -> str:
    """The table extension of ``path`` (longest known one first: ``.csv.gz`` before ``.gz``), lower case."""
    path = Path(path)
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
    ext = suffix_of(p)
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
    ext = suffix_of(p)
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


def to_pandas(data: Any) -> pd.DataFrame:
    """Accept pandas, polars or pyarrow tables (or a path) and return a pandas DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str | os.PathLike):
        return read_table(data)
    if hasattr(data, "to_pandas"):
        return data.to_pandas()
    raise UsageError(f"expected a pandas/polars/pyarrow table or a file path, got {type(data).__name__}")


def jsonl_text(df: pd.DataFrame) -> str:
    """``df`` as JSON lines (ISO dates in microseconds), ending in a newline; "" for no rows."""
    if len(df) == 0:
        return ""
    text = df.to_json(orient="records", lines=True, date_format="iso", date_unit="us")
    return text if text.endswith("\n") else text + "\n"


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``df`` to ``path`` (type chosen by extension), atomically."""
    p = check_writable(path)
    ext = suffix_of(p)
    with atomic_path(p) as tmp:
        if ext == ".csv":
            df.to_csv(tmp, index=False)
        elif ext == ".tsv":
            df.to_csv(tmp, index=False, sep="\t")
        elif ext == ".parquet":
            df.to_parquet(tmp, index=False)
        elif ext == ".jsonl":
            tmp.write_text(jsonl_text(df), encoding="utf-8")
    return p


class ChunkWriter:
    """One table file written chunk by chunk (pandas or pyarrow chunks), renamed into place on close.

    ``fmt`` is the extension (``.csv``, ``.tsv``, ``.parquet``, ``.jsonl``; default: from ``path``).
    ``header=False`` leaves the CSV header out (a part file that is not the first). With
    ``atomic=True`` the data goes to a temporary file beside ``path`` and :meth:`close` renames it;
    ``atomic=False`` writes ``path`` itself (the caller made it a temporary name). Use it as a context
    manager: an exception drops the unfinished file. A file that got no chunk is an empty text file,
    or a Parquet file without columns.
    """

    def __init__(
        self, path: str | os.PathLike, fmt: str | None = None, header: bool = True, atomic: bool = True
    ) -> None:
        self.path = Path(path)
        ext = (fmt if fmt is None or fmt.startswith(".") else f".{fmt}") or suffix_of(self.path)
        if ext not in WRITABLE:
            raise UsageError(f"{self.path}: unknown output type '{ext}'; use one of {', '.join(WRITABLE)}")
        self.ext, self.header, self.rows = ext, header, 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if atomic:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
            os.close(fd)
            self.tmp = Path(tmp)
        else:
            self.tmp = self.path
        self.atomic = atomic
        self._parquet: Any = None
        self._schema: Any = None
        self._fh: Any = None
        self._chunks = 0

    def write(self, chunk: pd.DataFrame | Any) -> None:
        """Append one chunk (a pandas DataFrame or a pyarrow Table)."""
        self.rows += len(chunk)
        if self.ext == ".parquet":
            self._write_parquet(chunk)
        else:
            if self._fh is None:
                self._fh = open(self.tmp, "w", encoding="utf-8", newline="")  # noqa: SIM115 - kept open
            df = chunk if isinstance(chunk, pd.DataFrame) else chunk.to_pandas()
            if self.ext == ".jsonl":
                self._fh.write(jsonl_text(df))
            else:
                header = self.header and self._chunks == 0
                df.to_csv(self._fh, index=False, header=header, sep="\t" if self.ext == ".tsv" else ",")
        self._chunks += 1

    def _write_parquet(self, chunk: pd.DataFrame | Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if isinstance(chunk, pd.DataFrame):  # later chunks take the first chunk's schema
            table = pa.Table.from_pandas(chunk, preserve_index=False, schema=self._schema)
        else:
            same = self._schema is None or chunk.schema == self._schema
            table = chunk if same else chunk.cast(self._schema)
        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(self.tmp, self._schema)
        self._parquet.write_table(table)

    def close(self) -> Path:
        """Finish the file and (atomic) move it into place; return its path."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        elif self.ext == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({}), self.tmp)
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        elif self.ext != ".parquet":
            self.tmp.write_text("", encoding="utf-8")
        if self.atomic:
            os.chmod(self.tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; give the usual mode
            os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the unfinished file (after an error)."""
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_chunks(chunks: Iterable[pd.DataFrame], path: str | os.PathLike) -> tuple[Path, int]:
    """Stream DataFrame chunks into one file (atomically); return the path and the row count."""
    p = check_writable(path)
    with ChunkWriter(p) as writer:
        for chunk in chunks:
            writer.write(chunk)
    return p, writer.rows
