"""Read a database: its tables, primary keys and foreign keys from its own catalog, and its rows.

SQLite, DuckDB (the ``duckdb`` package) and PostgreSQL (psycopg 3) through SQLAlchemy 2, imported
inside the functions so that ``import simulacra`` stays light. DuckDB's constraints are read from its
own ``duckdb_constraints()`` (duckdb-engine's SQLAlchemy reflection does not work with SQLAlchemy 2.1).
Every failure is one line that names the source with any password masked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from .metadata import ForeignKey, Metadata, Table

FILE_SUFFIXES = {".sqlite": "sqlite", ".sqlite3": "sqlite", ".db": "sqlite", ".duckdb": "duckdb"}
SCHEMES = {"sqlite": "sqlite", "duckdb": "duckdb", "postgresql": "postgresql", "postgres": "postgresql"}
DRIVERS = {"sqlite": "sqlite", "duckdb": "duckdb", "postgresql": "postgresql+psycopg"}
INSTALL = "pip install 'simulacra[db]'"
SQLITE_MAGIC = b"SQLite format 3\x00"


def is_database(source: str) -> bool:
    """True for a database URL (``sqlite:///x.db``, ``postgresql://...``) or a .sqlite/.db/.duckdb path."""
    text = str(source)
    if "://" in text:
        return True
    return Path(text).suffix.lower() in FILE_SUFFIXES


def mask_password(source: str) -> str:
    """``source`` with the password of a URL replaced by ``***``."""
    return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", str(source))


@dataclass
class Location:
    """Where a database is: its SQLAlchemy URL, dialect, file (for SQLite/DuckDB) and schema."""

    url: Any  # sqlalchemy.engine.URL
    dialect: str  # sqlite | duckdb | postgresql
    path: Path | None
    schema: str | None
    display: str  # the source as messages show it (password masked)


def _sniff(path: Path) -> str:
    """A ``.db`` file that exists is SQLite or DuckDB by its first bytes; a new one is SQLite."""
    if path.suffix.lower() == ".db" and path.is_file():
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head[8:12] == b"DUCK":
            return "duckdb"
    return FILE_SUFFIXES.get(path.suffix.lower(), "sqlite")


def locate(source: str, schema: str | None = None) -> Location:
    """Parse a database source (URL or file path); raise :class:`DataError` (one line) if it is not one."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    display = mask_password(source)
    text = str(source)
    if "://" not in text:
        path = Path(text)
        dialect = _sniff(path)
        return Location(make_url(f"{DRIVERS[dialect]}:///{path}"), dialect, path, None, display)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):  # a malformed URL, or a port that is not a number
        raise DataError(
            f"{display}: not a database URL (expected e.g. sqlite:///shop.db, duckdb:///shop.duckdb "
            "or postgresql://user@host:5432/db)"
        ) from None
    scheme = url.drivername.split("+")[0]
    dialect = SCHEMES.get(scheme)
    if dialect is None:
        raise DataError(
            f"{display}: unsupported database type '{scheme}'; simulacra reads and writes sqlite, duckdb "
            "and postgresql"
        )
    path = None
    if dialect in ("sqlite", "duckdb"):
        if not url.database or url.database == ":memory:":
            raise DataError(f"{display}: give a database file (e.g. {dialect}:///shop.{dialect[:6]})")
        path = Path(url.database)
    query = dict(url.query)
    schema = schema or query.pop("schema", None)
    if isinstance(schema, tuple):
        schema = schema[-1]
    driver = url.drivername if "+" in url.drivername else DRIVERS[dialect]
    url = url.set(drivername=driver, query=query)
    return Location(url, dialect, path, schema, display)


def engine_for(loc: Location, read_only: bool = False) -> Any:
    """A SQLAlchemy engine for ``loc``; a missing driver is one line naming the pip extra."""
    try:
        import sqlalchemy as sa
        from sqlalchemy.exc import NoSuchModuleError
    except ImportError:
        raise DataError(f"{loc.display}: reading databases needs SQLAlchemy; {INSTALL}") from None
    connect_args: dict[str, Any] = {}
    if loc.dialect == "duckdb" and read_only:
        connect_args["read_only"] = True
    if loc.dialect == "postgresql":
        connect_args["connect_timeout"] = 10
    try:
        return sa.create_engine(loc.url, connect_args=connect_args)
    except (ImportError, NoSuchModuleError):
        raise DataError(
            f"{loc.display}: the {loc.dialect} driver ({loc.url.drivername}) is not installed; {INSTALL}"
        ) from None


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (the driver's own, when SQLAlchemy wraps it)."""
    inner = getattr(exc, "orig", None) or exc
    for line in str(inner).splitlines():
        if line.strip():
            return line.strip()
    return type(inner).__name__


def connect_error(loc: Location, exc: BaseException) -> DataError:
    """One line for a database that cannot be opened (server down, bad credentials, damaged file)."""
    message = first_line(exc)
    if loc.url.password:
        message = message.replace(str(loc.url.password), "***")
    return DataError(f"{loc.display}: cannot open the database ({message})")


# ------------------------------------------------------------------------------------------- types
def pandas_dtype(sql_type: str) -> str:
    """The pandas dtype a column of this SQL type is read as (Int64, float64, boolean, datetime, object)."""
    name = sql_type.upper()
    if "INT" in name and "INTERVAL" not in name and "POINT" not in name:
        return "Int64"
    if "BOOL" in name:
        return "boolean"
    if any(word in name for word in ("DOUBLE", "FLOAT", "REAL", "NUMERIC", "DECIMAL")):
        return "float64"
    if ("TIMESTAMP" in name and "WITH TIME ZONE" in name) or "TIMESTAMPTZ" in name:
        return "datetime64[ns, UTC]"
    if "TIMESTAMP" in name or "DATETIME" in name or name == "DATE":
        return "datetime64[ns]"
    return "object"


def typed_frame(rows: Sequence[Sequence[Any]], columns: list[str], types: dict[str, str]) -> pd.DataFrame:
    """A DataFrame of ``rows`` with each column cast to the pandas dtype of its SQL type (kept as read
    where a value does not fit, as SQLite's loose typing allows)."""
    data = {}
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    for i, col in enumerate(columns):
        values = list(transposed[i])
        dtype = pandas_dtype(types.get(col, ""))
        try:
            if dtype.startswith("datetime64"):
                series = pd.to_datetime(pd.Series(values, dtype=object), utc="UTC" in dtype)
            elif dtype == "object":
                series = pd.Series(values, dtype=object)
            else:
                series = pd.Series(pd.array(values, dtype=dtype if dtype != "float64" else "Float64"))
                if dtype == "float64":
                    series = series.astype("float64")
        except (TypeError, ValueError, OverflowError):
            series = pd.Series(values, dtype=object)
        data[col] = series
    return pd.DataFrame(data, columns=columns)


# ------------------------------------------------------------------------------------------- catalog
@dataclass
class _Catalog:
    tables: list[str]
    columns: dict[str, list[str]]
    types: dict[str, dict[str, str]]
    primary_keys: dict[str, list[str]]
    foreign_keys: list[tuple[str, list[str], str, list[str], str]]  # child, cols, parent, pcols, name


def _duckdb_catalog(conn: Any, schema: str | None) -> _Catalog:
    schema = schema or conn.exec_driver_sql("SELECT current_schema()").scalar()
    db = conn.exec_driver_sql("SELECT current_database()").scalar()
    where = "WHERE database_name = ? AND schema_name = ?"
    names = [
        r[0]
        for r in conn.exec_driver_sql(
            f"SELECT table_name FROM duckdb_tables() {where} ORDER BY table_oid", (db, schema)
        )
    ]
    columns: dict[str, list[str]] = {t: [] for t in names}
    types: dict[str, dict[str, str]] = {t: {} for t in names}
    for table, col, dtype in conn.exec_driver_sql(
        f"SELECT table_name, column_name, data_type FROM duckdb_columns() {where} ORDER BY table_oid, "
        "column_index",
        (db, schema),
    ):
        if table in columns:
            columns[table].append(col)
            types[table][col] = dtype
    pks: dict[str, list[str]] = {}
    fks = []
    for table, kind, cols, name, ref, ref_cols in conn.exec_driver_sql(
        "SELECT table_name, constraint_type, constraint_column_names, constraint_name, referenced_table, "
        f"referenced_column_names FROM duckdb_constraints() {where} ORDER BY table_oid, constraint_index",
        (db, schema),
    ):
        if kind == "PRIMARY KEY":
            pks[table] = list(cols)
        elif kind == "FOREIGN KEY" and ref:
            fks.append((table, list(cols), ref, list(ref_cols), name or ""))
    return _Catalog(names, columns, types, pks, fks)


def _sqlalchemy_catalog(conn: Any, schema: str | None) -> _Catalog:
    import sqlalchemy as sa

    insp = sa.inspect(conn)
    names = insp.get_table_names(schema=schema)
    columns: dict[str, list[str]] = {}
    types: dict[str, dict[str, str]] = {}
    pks: dict[str, list[str]] = {}
    fks = []
    for table in names:
        cols = insp.get_columns(table, schema=schema)
        columns[table] = [c["name"] for c in cols]
        types[table] = {c["name"]: _type_name(c["type"]) for c in cols}
        pk = insp.get_pk_constraint(table, schema=schema).get("constrained_columns") or []
        if pk:
            pks[table] = list(pk)
        for fk in insp.get_foreign_keys(table, schema=schema):
            if fk.get("referred_schema") not in (None, schema):
                continue  # a key into another schema: outside what is read
            fks.append(
                (
                    table,
                    list(fk["constrained_columns"]),
                    fk["referred_table"],
                    list(fk["referred_columns"]),
                    fk.get("name") or "",
                )
            )
    return _Catalog(names, columns, types, pks, fks)


def _type_name(sql_type: Any) -> str:
    try:
        return str(sql_type)
    except Exception:  # a type without a compiled name (SQLite's untyped columns)
        return type(sql_type).__name__


def _select_all(
    conn: Any, loc: Location, table: str, columns: list[str], types: dict[str, str]
) -> pd.DataFrame:
    import sqlalchemy as sa

    cols = [sa.column(c) for c in columns]
    stmt = sa.select(*cols).select_from(sa.table(table, schema=loc.schema))
    rows = conn.execute(stmt).fetchall()
    return typed_frame(rows, columns, types)


def read_database(source: str, tables: list[str] | None = None) -> tuple[Metadata, dict[str, pd.DataFrame]]:
    """Read the tables of a database (all, or those named in ``tables``) with the keys its catalog declares.

    Returns the :class:`Metadata` (each table and key with its reason and row count) and one DataFrame
    per table. Keys that point at a table outside ``tables`` are dropped. Raises :class:`DataError` or
    :class:`SchemaError` with one line for an unreachable server, a bad URL, a missing driver or file,
    an empty database or an unknown table name.
    """
    from sqlalchemy.exc import SQLAlchemyError

    loc = locate(source)
    if loc.path is not None and not loc.path.is_file():
        raise DataError(f"{loc.display}: no such database file")
    if loc.path is not None and loc.dialect == "sqlite" and loc.path.stat().st_size:
        with open(loc.path, "rb") as fh:
            if fh.read(16) != SQLITE_MAGIC:
                raise DataError(f"{loc.display}: is not a SQLite database file")
    engine = engine_for(loc, read_only=True)
    try:
        with engine.connect() as conn:
            catalog = (_duckdb_catalog if loc.dialect == "duckdb" else _sqlalchemy_catalog)(conn, loc.schema)
            if not catalog.tables:
                where = f" in schema '{loc.schema}'" if loc.schema else ""
                raise DataError(f"{loc.display}: the database has no tables{where}; nothing to learn")
            names = _choose(catalog.tables, tables, loc.display)
            frames = {t: _select_all(conn, loc, t, catalog.columns[t], catalog.types[t]) for t in names}
    except SQLAlchemyError as exc:
        raise connect_error(loc, exc) from None
    finally:
        engine.dispose()
    return _metadata(catalog, names, frames, loc.display), frames


def _choose(known: list[str], wanted: list[str] | None, display: str) -> list[str]:
    if not wanted:
        return list(known)
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise DataError(
            f"{display}: no table named {', '.join(repr(t) for t in unknown)}; the database has "
            f"{', '.join(known)}"
        )
    return list(dict.fromkeys(wanted))


def _metadata(catalog: _Catalog, names: list[str], frames: dict[str, pd.DataFrame], display: str) -> Metadata:
    chosen = set(names)
    tables = []
    for t in names:
        pk = catalog.primary_keys.get(t, [])
        reason = "primary key declared in the database" if pk else "no primary key declared in the database"
        tables.append(Table(t, list(pk), reason=reason, rows=len(frames[t])))
    fks = []
    for child, cols, parent, pcols, name in catalog.foreign_keys:
        if child not in chosen or parent not in chosen:
            continue
        label = f" ({name})" if name else ""
        fks.append(
            ForeignKey(child, cols, parent, pcols, reason=f"foreign key declared in the database{label}")
        )
    return Metadata(tables, fks, source=display)
