"""The trees choose their leaf size on held-out training rows (simulacra.tabular.models.leaf_size)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from simulacra import TabularSynthesizer
from simulacra.errors import UsageError
from simulacra.tabular.models import leaf_size
from simulacra.tabular.models.trees import SequentialTrees


@pytest.fixture(scope="module")
def wine() -> pd.DataFrame:
    return load_wine(as_frame=True).frame


def test_leaf_rule_is_the_documented_formula() -> None:
    assert leaf_size.leaf_rule(178, 2.0) == round(2 * np.sqrt(178))
    assert leaf_size.leaf_rule(50_000, 2.0) == 500  # n/100 wins on large tables
    assert leaf_size.leaf_rule(30, 1.0) == 10  # never under 10 rows
    assert leaf_size.leaf_rule(10_000_000, 2.0) == 1000  # nor over 1000


def test_heldout_loglik_of_a_tree_without_splits_is_the_smoothed_marginal() -> None:
    fit = np.array([[0], [0], [0], [1]])
    test = np.array([[0], [1], [2]])
    one_leaf = lambda pos, f: np.zeros(f.shape[0], np.int64)  # noqa: E731
    got = leaf_size.heldout_loglik(one_leaf, [0], [3], fit, test, ranges=False)
    marg = (np.array([3, 1, 0]) + 0.5) / (4 + 1.5)
    a = leaf_size.PSEUDO_COUNT
    expected = np.log((np.array([3, 1, 0]) + a * marg) / (4 + a))
    assert got.shape == (3, 1)
    assert got[:, 0] == pytest.approx(expected)


def test_ranges_are_runs_of_neighbouring_codes_of_about_equal_mass() -> None:
    even = np.repeat(np.arange(10), 7)
    assert leaf_size.group_codes(even, 10, 5).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    by_frequency = np.repeat(np.arange(6), [50, 20, 10, 10, 5, 5])
    assert leaf_size.group_codes(by_frequency, 6, 3).tolist() == [0, 1, 2, 2, 2, 2]
    # scored on ranges, a held-out code the leaf never saw still gets the mass of its neighbours
    one_leaf = lambda pos, f: np.zeros(f.shape[0], np.int64)  # noqa: E731
    fit = np.arange(0, 100, 2)[:, None]  # even codes only
    test = np.array([[51]])
    exact = leaf_size.heldout_loglik(one_leaf, [0], [100], fit, test, ranges=False)[0, 0]
    ranged = leaf_size.heldout_loglik(one_leaf, [0], [100], fit, test, ranges=True)[0, 0]
    assert ranged > exact + 1.0


def test_scored_on_ranges_a_small_labelled_table_keeps_its_label(wine: pd.DataFrame) -> None:
    from sklearn.ensemble import RandomForestClassifier

    table = wine.assign(target=wine["target"].astype(str))
    order = np.random.default_rng(0).permutation(len(table))
    train, test = table.iloc[order[:118]], table.iloc[order[118:]]
    accuracy, median_leaf = {}, {}
    for scoring in ("ranges", "codes"):
        synth = TabularSynthesizer("trees", seed=0, leaf_scoring=scoring).fit(train)
        syn = synth.sample(len(train), seed=5)
        clf = RandomForestClassifier(100, random_state=0).fit(syn.drop(columns="target"), syn["target"])
        accuracy[scoring] = float((clf.predict(test.drop(columns="target")) == test["target"]).mean())
        median_leaf[scoring] = float(np.median(synth.model_.leaf_choice_["rows_per_leaf"]))
    assert accuracy["ranges"] >= 0.85
    assert median_leaf["codes"] > median_leaf["ranges"]  # exact codes: larger leaves, less use
    with pytest.raises(UsageError, match="leaf_scoring"):
        TabularSynthesizer("trees", leaf_scoring="exact").fit(train)


def test_columns_share_the_table_rung_unless_clearly_better_with_smaller_leaves() -> None:
    tried: list[int] = []
    rng = np.random.default_rng(0)
    noise = rng.normal(scale=0.01, size=400)

    def score(leaf: int, fit_rows: np.ndarray, test_rows: np.ndarray) -> np.ndarray:
        assert not set(fit_rows) & set(test_rows)
        assert fit_rows.size + test_rows.size == 400
        tried.append(leaf)
        e = noise[test_rows]
        return np.column_stack(
            [
                -abs(leaf - 72) / 10 + e,  # the table's choice: by far best at 72 rows a leaf
                -abs(leaf - 36) / 100 + e,  # clearly best at 36 rows: leaves the shared rung
                -abs(leaf - 54) / 1e6 + e,  # best at 54 rows by a hair: stays on the shared rung
                -abs(leaf - 215) / 100 + e,  # best with larger leaves: never leaves for larger ones
            ]
        )

    cs, totals = leaf_size.choose_multipliers(400, seed=3, score=score)
    n_fit = 320
    assert list(totals) == [f"{m:g}" for m in leaf_size.MULTIPLIERS[: len(totals)]]
    rows = [leaf_size.leaf_rule(n_fit, c) for c in cs]
    assert rows == [72, 36, 72, 72]
    # every fold is scored on a table this small, and the last rung tried is the first that cannot split
    assert len(tried) == leaf_size.FOLDS * len(totals)
    last = leaf_size.leaf_rule(n_fit, float(list(totals)[-1]))
    assert 2 * last > n_fit and all(2 * leaf <= n_fit for leaf in set(tried) - {last})


def test_a_small_table_of_dependent_measurements_gets_larger_leaves(wine: pd.DataFrame) -> None:
    synth = TabularSynthesizer("trees", seed=0).fit(wine)
    choice = synth.model_.leaf_choice_
    fixed = leaf_size.leaf_rule(len(wine), leaf_size.FIXED_MULTIPLIER)
    assert len(choice["rows_per_leaf"]) == wine.shape[1]
    assert np.median(choice["rows_per_leaf"]) > fixed
    assert min(choice["rows_per_leaf"]) >= fixed


def test_a_strong_pair_among_unrelated_columns_keeps_its_dependence() -> None:
    rng = np.random.default_rng(3)
    wide = pd.DataFrame(rng.normal(size=(400, 60)), columns=[f"x{i}" for i in range(60)])
    wide["x1"] = wide["x0"] * 2 + rng.normal(scale=0.1, size=400)
    synth = TabularSynthesizer("trees", seed=1).fit(wide)
    syn = synth.sample(2000, seed=2)
    assert np.corrcoef(syn["x0"], syn["x1"])[0, 1] > 0.8
    leaves = dict(
        zip(  # noqa: B905
            [synth.model_columns_[j].name for j in synth.model_.order_],
            synth.model_.leaf_choice_["rows_per_leaf"],
        )
    )
    assert leaves["x1"] < np.median(list(leaves.values()))


def test_the_choice_is_seeded_saved_and_given_sizes_win(wine: pd.DataFrame, tmp_path) -> None:
    a = TabularSynthesizer("trees", seed=4).fit(wine)
    b = TabularSynthesizer("trees", seed=4).fit(wine)
    assert a.model_.leaf_choice_ == b.model_.leaf_choice_
    assert a.sample(300, seed=1).equals(b.sample(300, seed=1))
    a.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert json.dumps(a.model_.leaf_choice_) in json.dumps(meta)
    loaded = TabularSynthesizer.load(tmp_path / "m")
    assert loaded.model_.leaf_choice_ == a.model_.leaf_choice_
    assert loaded.sample(300, seed=1).equals(a.sample(300, seed=1))

    given = SequentialTrees(min_samples_leaf=15).fit(np.zeros((200, 2), dtype=np.int32), [1, 1])
    assert given.leaf_choice_ == {"given": 15, "rows_per_leaf": [15, 15]}
    few = SequentialTrees().fit(np.zeros((40, 2), dtype=np.int32), [1, 1])
    assert few.leaf_choice_ == {"multiplier": 2.0, "rows_per_leaf": [leaf_size.leaf_rule(40, 2.0)] * 2}


def test_every_drawn_column_is_scored() -> None:
    assert leaf_size.scored_positions(20, 0) == set(range(1, 20))  # the first column has no tree
    assert leaf_size.scored_positions(20, 3) == set(range(3, 20))  # given columns are not drawn
