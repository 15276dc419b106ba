"""Write a database: a folder of Parquet/CSV files, a SQLite or DuckDB file, or a PostgreSQL schema.

Tables are created parents first (``metadata.order``) with their primary and foreign key constraints
declared, so the database itself checks every key of what is written. Nothing is half-written: files go
to a temporary name beside the target and are renamed into place; PostgreSQL is written in one
transaction. An existing output is refused (one line), never overwritten.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError, UsageError
from ..io import READABLE, current_umask, suffix_of, write_table
from .catalog import Location, connect_error, engine_for, first_line, is_database, locate
from .metadata import Metadata

FOLDER_FORMATS = ("parquet", "csv")


def write_database(
    tables: dict[str, pd.DataFrame],
    metadata: Metadata,
    out: str,
    fmt: str | None = None,
    *,
    schema: str | None = None,
) -> str:
    """Write ``tables`` to ``out`` (a folder, a .sqlite/.db/.duckdb file or a postgresql:// URL) and
    return what was written. ``fmt`` ("parquet" or "csv") applies to a folder; ``schema`` (or
    ``?schema=NAME`` in the URL) is the PostgreSQL schema to create the tables in."""
    missing = [t for t in metadata.order if t not in tables]
    if missing:
        raise DataError(f"{out}: no data for table(s) {', '.join(missing)} of the metadata")
    if not is_database(out):
        if suffix_of(out) in READABLE:
            raise UsageError(
                f"{out}: a database is written to a folder (one file per table), a .sqlite/.duckdb file "
                "or a postgresql:// URL, not to one table file"
            )
        return _write_folder(tables, metadata, Path(out), fmt)
    if fmt is not None:
        raise UsageError(f"{out}: a format ({fmt}) applies to a folder output, not to a database")
    loc = locate(out, schema)
    if loc.dialect == "postgresql":
        _write_postgres(tables, metadata, loc)
        return loc.display
    _write_file(tables, metadata, loc)
    return str(loc.path)


# --------------------------------------------------------------------------------------------- folder
def _write_folder(tables: dict[str, pd.DataFrame], metadata: Metadata, out: Path, fmt: str | None) -> str:
    fmt = (fmt or "parquet").lower().lstrip(".")
    if fmt not in FOLDER_FORMATS:
        raise UsageError(f"{out}: unknown folder format '{fmt}'; use parquet or csv")
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: already exists and is not a folder; choose a new folder name")
    if out.is_dir() and any(out.iterdir()):
        raise DataError(f"{out}: the folder is not empty; choose a new or empty folder (nothing was written)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        for name in metadata.order:
            write_table(tables[name], tmp / f"{name}.{fmt}")
        os.chmod(tmp, 0o777 & ~current_umask())
        os.replace(tmp, out)  # onto a missing or empty folder
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return str(out)


# --------------------------------------------------------------------------------------------- types
def _kind(series: pd.Series) -> str:
    """int | float | bool | datetime | datetimetz | date | text: what SQL type a column gets."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        values = series.dropna()
        if len(values) and bool((values == values.round()).all()) and values.abs().max() < 2**53:
            return "int"  # whole numbers stored as float because of missing values
        return "float"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetimetz"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(series, skipna=True)
        return {
            "integer": "int",
            "floating": "float",
            "mixed-integer-float": "float",
            "boolean": "bool",
            "datetime": "datetime",
            "datetime64": "datetime",
            "date": "date",
        }.get(inferred, "text")
    return "text"


def _sql_type(kind: str) -> Any:
    import sqlalchemy as sa

    return {
        "int": sa.BigInteger(),
        "float": sa.Double(),
        "bool": sa.Boolean(),
        "datetime": sa.DateTime(),
        "datetimetz": sa.DateTime(timezone=True),
        "date": sa.Date(),
    }.get(kind, sa.Text())


def _kinds(tables: dict[str, pd.DataFrame], metadata: Metadata) -> dict[str, dict[str, str]]:
    """Each column's kind; a foreign key column takes its parent column's kind so that the key matches."""
    kinds = {t: {str(c): _kind(tables[t][c]) for c in tables[t].columns} for t in metadata.order}
    for table in metadata.order:
        for fk in metadata.parents(table):
            for col, pcol in zip(fk.columns, fk.parent_columns, strict=True):
                kinds[table][col] = kinds[fk.parent][pcol]
    return kinds


def _python_values(series: pd.Series, kind: str) -> list:
    """The column as Python values (None for missing) of the given kind."""
    mask = series.isna().to_numpy()
    if kind == "int":
        values = pd.to_numeric(series, errors="raise").astype("Int64").astype(object)
    elif kind == "float":
        values = pd.to_numeric(series, errors="raise").astype("float64").astype(object)
    elif kind == "bool":
        values = series.astype("boolean").astype(object)
    elif kind in ("datetime", "datetimetz"):
        values = pd.Series([v.to_pydatetime() if not pd.isna(v) else None for v in pd.to_datetime(series)])
    elif kind == "date":
        values = series.astype(object)
    else:
        values = series.astype(str).astype(object)
    out = values.tolist()
    for i in mask.nonzero()[0]:
        out[i] = None
    return out


def _sa_metadata(tables: dict[str, pd.DataFrame], metadata: Metadata, kinds: dict, schema: str | None) -> Any:
    import sqlalchemy as sa

    md = sa.MetaData(schema=schema)
    for name in metadata.order:
        table = metadata.tables[name]
        cols = [
            sa.Column(str(c), _sql_type(kinds[name][str(c)]), autoincrement=False)
            for c in tables[name].columns
        ]
        constraints: list[Any] = []
        if table.primary_key:
            constraints.append(sa.PrimaryKeyConstraint(*table.primary_key))
        for fk in metadata.parents(name):
            prefix = f"{schema}.{fk.parent}" if schema else fk.parent
            constraints.append(
                sa.ForeignKeyConstraint(list(fk.columns), [f"{prefix}.{c}" for c in fk.parent_columns])
            )
        sa.Table(name, md, *cols, *constraints)
    return md


def _columns(df: pd.DataFrame, kinds: dict[str, str], where: str) -> list[list]:
    """Each column as Python values; a value that does not fit its column's type is one line."""
    columns = []
    for col in df.columns:
        try:
            columns.append(_python_values(df[col], kinds[str(col)]))
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"{where}: column '{col}' holds values that are not {kinds[str(col)]} ({first_line(exc)})"
            ) from None
    return columns


# --------------------------------------------------------------------------------------------- files
def _write_file(tables: dict[str, pd.DataFrame], metadata: Metadata, loc: Location) -> None:
    import sqlalchemy as sa

    target = loc.path
    assert target is not None
    if target.exists():
        raise DataError(f"{target}: already exists; choose a new file name (nothing was written)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.part{target.suffix}"
    tmp_loc = Location(loc.url.set(database=str(tmp)), loc.dialect, tmp, None, str(target))
    engine = engine_for(tmp_loc)
    if loc.dialect == "sqlite":
        sa.event.listen(engine, "connect", lambda dbapi, _rec: dbapi.execute("PRAGMA foreign_keys=ON"))
    try:
        _load(engine, tables, metadata, tmp_loc)
        engine.dispose()
        os.chmod(tmp, 0o666 & ~current_umask())
        try:
            os.link(tmp, target)  # never replaces a file that appeared meanwhile
        except FileExistsError:
            raise DataError(
                f"{target}: already exists; choose a new file name (nothing was written)"
            ) from None
    finally:
        engine.dispose()
        for leftover in (tmp, Path(f"{tmp}.wal"), Path(f"{tmp}-journal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _load(engine: Any, tables: dict[str, pd.DataFrame], metadata: Metadata, loc: Location) -> None:
    """Create the tables (keys declared) and insert the rows, parents first, in one transaction."""
    from sqlalchemy.exc import SQLAlchemyError

    kinds = _kinds(tables, metadata)
    driver_error = getattr(engine.dialect.loaded_dbapi, "Error", SQLAlchemyError)
    current = ""
    try:
        with engine.begin() as conn:
            if loc.dialect == "postgresql":
                _check_schema(conn, metadata, loc)
            md = _sa_metadata(tables, metadata, kinds, loc.schema)
            md.create_all(conn, checkfirst=False)
            for name in metadata.order:
                current = name
                key = f"{loc.schema}.{name}" if loc.schema else name
                _insert(
                    conn, loc.dialect, md.tables[key], tables[name], kinds[name], f"{loc.display}: {name}"
                )
    except (SQLAlchemyError, driver_error) as exc:
        if not current:
            raise connect_error(loc, exc) from None
        raise DataError(
            f"{loc.display}: the database refused the rows of '{current}' ({first_line(exc)}); "
            "nothing was written"
        ) from None


def _insert(conn: Any, dialect: str, table: Any, df: pd.DataFrame, kinds: dict[str, str], where: str) -> None:
    if not len(df):
        return
    prep = conn.dialect.identifier_preparer
    cols = ", ".join(prep.quote(str(c)) for c in df.columns)
    name = prep.format_table(table)
    if dialect == "duckdb":
        view = f"simulacra_{uuid.uuid4().hex[:12]}"
        raw = conn.connection.driver_connection
        raw.register(view, _duckdb_frame(df, kinds, where))
        try:
            conn.exec_driver_sql(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {view}")
        finally:
            with contextlib.suppress(Exception):  # after a refused insert the transaction is aborted
                raw.unregister(view)
        return
    columns = _columns(df, kinds, where)
    if dialect == "sqlite":  # SQLite keeps date-times as ISO text
        for i, col in enumerate(df.columns):
            if kinds[str(col)] in ("datetime", "datetimetz", "date"):
                columns[i] = [v if v is None else v.isoformat() for v in columns[i]]
    rows = list(zip(*columns, strict=True))
    cursor = conn.connection.cursor()
    try:
        if dialect == "postgresql":
            with cursor.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in df.columns)
            cursor.executemany(f"INSERT INTO {name} ({cols}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def _duckdb_frame(df: pd.DataFrame, kinds: dict[str, str], where: str) -> pd.DataFrame:
    """A frame DuckDB scans with the table's column types (typed pandas columns, text as Python str)."""
    out = {}
    for col in df.columns:
        kind = kinds[str(col)]
        try:
            if kind == "int":
                out[str(col)] = pd.to_numeric(df[col]).astype("Int64")
            elif kind == "float":
                out[str(col)] = pd.to_numeric(df[col]).astype("float64")
            elif kind == "bool":
                out[str(col)] = df[col].astype("boolean")
            elif kind in ("datetime", "datetimetz"):
                out[str(col)] = pd.to_datetime(df[col])
            else:
                out[str(col)] = pd.Series(_python_values(df[col], kind), index=df.index, dtype=object)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"{where}: column '{col}' holds values that are not {kind} ({first_line(exc)})"
            ) from None
    return pd.DataFrame(out, index=df.index)


# --------------------------------------------------------------------------------------------- postgres
def _write_postgres(tables: dict[str, pd.DataFrame], metadata: Metadata, loc: Location) -> None:
    engine = engine_for(loc)
    try:
        _load(engine, tables, metadata, loc)
    finally:
        engine.dispose()


def _check_schema(conn: Any, metadata: Metadata, loc: Location) -> None:
    """The target schema must be new or empty (created here, inside the transaction); without a schema
    none of the tables may exist yet."""
    import sqlalchemy as sa

    insp = sa.inspect(conn)
    if not loc.schema:
        clash = [t for t in metadata.order if insp.has_table(t)]
        if clash:
            raise DataError(
                f"{loc.display}: table(s) {', '.join(clash)} already exist; write into a new schema with "
                "?schema=NAME (nothing was written)"
            )
    elif not insp.has_schema(loc.schema):
        conn.execute(sa.schema.CreateSchema(loc.schema))
    else:
        present = insp.get_table_names(schema=loc.schema)
        if present:
            raise DataError(
                f"{loc.display}: schema '{loc.schema}' already holds {len(present)} table(s) "
                f"({', '.join(present[:5])}); write into a new or empty schema (nothing was written)"
            )
