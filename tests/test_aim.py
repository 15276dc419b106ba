"""The AIM-class private model on real data (UCI Adult).

Checked from outside: a measured three-way marginal is kept in the samples (which MST's tree cannot do);
the ledger's releases add up to the budget, and to less when the time cap stops the rounds; the model is
a function of its noisy measurements alone; the coarsening of a triple's domain follows its rules; bad
parameters, edited model files and the command line's options are answered in one line.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulacra import TabularSynthesizer
from simulacra.cli.main import main
from simulacra.datasets import load_adult
from simulacra.errors import ModelFormatError, UsageError
from simulacra.schema import infer_schema
from simulacra.tabular.models.aim import (
    AIMModel,
    coarse_groups,
    estimate_aim,
    levels_for,
    triple_groups,
)
from simulacra.tabular.models.private_codecs import rho_for

ROWS = 8000
CODEC_SHARE = 0.2  # the codecs' share of ε and δ, as the model documents it


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult("train").iloc[:ROWS].reset_index(drop=True)


@pytest.fixture(scope="module")
def private(adult: pd.DataFrame) -> TabularSynthesizer:
    return TabularSynthesizer("aim", epsilon=1.0, delta=1e-6, seed=0).fit(adult, infer_schema(adult))


@pytest.mark.parametrize("epsilon", [None, 1000.0])
def test_a_measured_triple_is_kept(adult: pd.DataFrame, epsilon: float | None) -> None:
    """With (almost) no noise, every measured triple's joint law (over its measured groups) is closer to
    the data's in samples of the model than in samples of its tree alone, which only keeps pairs."""
    synth = TabularSynthesizer("aim", epsilon=epsilon, rounds=4, seed=0).fit(adult, infer_schema(adult))
    model = synth.model_
    codes = np.column_stack([mc.codec.encode(adult[mc.name]) for mc in synth.model_columns_])
    tree_only = copy.copy(model)
    tree_only.seconds_ = {}
    ours = model.sample_codes(ROWS, np.random.default_rng(1))
    tree = tree_only.sample_codes(ROWS, np.random.default_rng(1))
    meas = model.measurements_
    assert len(meas["triples"]) == 4
    gaps = []
    for (j, p, q), levels in zip(meas["triples"], meas["levels"], strict=True):
        groups = triple_groups(meas, (p, q, j), levels)

        def law(x: np.ndarray, cols: tuple[int, int, int] = (p, q, j), groups: list = groups) -> np.ndarray:
            flat = np.ravel_multi_index(
                tuple(g[x[:, c]] for c, g in zip(cols, groups, strict=True)),
                tuple(int(g.max()) + 1 for g in groups),
            )
            return np.bincount(flat, minlength=math.prod(int(g.max()) + 1 for g in groups)) / len(x)

        real = law(codes)
        a, b = float(np.abs(law(ours) - real).sum()), float(np.abs(law(tree) - real).sum())
        assert a <= b + 0.01, (j, p, q, a, b)
        gaps.append(b - a)
    assert max(gaps) > 0.03, gaps


def test_the_ledger_adds_up_to_the_budget(private: TabularSynthesizer) -> None:
    ledger = private.model_.privacy_
    aim, codecs = ledger["aim"], ledger["codecs"]
    m = len(private.model_.cards_)
    edges = len(aim["edges"])
    tree = (
        m / (2 * aim["sigma_one_way"] ** 2)
        + edges / (2 * aim["sigma_two_way"] ** 2)
        + edges * aim["selection_epsilon_per_edge"] ** 2 / 8
    )
    rounds = aim["rounds_run"] * (
        1 / (2 * aim["sigma_three_way"] ** 2) + aim["selection_epsilon_per_round"] ** 2 / 8
    )
    assert aim["rounds_run"] == aim["rounds_planned"] == len(aim["triples"]) > 0
    assert math.isclose(tree + rounds, aim["rho_spent"], rel_tol=1e-9)
    assert math.isclose(aim["rho_spent"], aim["rho_budget"], rel_tol=1e-9)
    assert math.isclose(aim["rho_budget"], rho_for((1 - CODEC_SHARE) * 1.0, aim["delta"]), rel_tol=1e-12)
    assert math.isclose(ledger["epsilon_spent"], 1.0, rel_tol=1e-9)
    assert math.isclose(aim["delta"] + codecs["delta"], 1e-6, rel_tol=1e-12)
    assert not aim["stopped_by_time_cap"]


def test_the_time_cap_stops_the_rounds_and_spends_less(adult: pd.DataFrame) -> None:
    synth = TabularSynthesizer("aim", epsilon=1.0, max_minutes=1e-9, seed=0).fit(adult.iloc[:2000])
    aim = synth.model_.privacy_["aim"]
    assert aim["stopped_by_time_cap"] and aim["rounds_run"] == 0 < aim["rounds_planned"]
    assert aim["rho_spent"] < aim["rho_budget"]
    assert synth.model_.privacy_["epsilon_spent"] < 1.0
    assert len(synth.sample(100, seed=0)) == 100


def test_the_model_is_a_function_of_its_noisy_measurements(private: TabularSynthesizer) -> None:
    model = private.model_
    rebuilt = estimate_aim(model.measurements_, model.cards_, model.n_)
    assert rebuilt["parent"] == model.parent_ and set(rebuilt["seconds"]) == set(model.seconds_)
    for j, (q, gq, table) in rebuilt["seconds"].items():
        assert q == model.seconds_[j][0]
        np.testing.assert_array_equal(gq, model.seconds_[j][1])
        np.testing.assert_array_equal(table, model.seconds_[j][2])
    meta, arrays = model.to_state()
    m, k = len(model.cards_), len(model.measurements_["triples"])
    assert set(arrays) == (
        {f"one.{j}" for j in range(m)}
        | {f"two.{i}" for i in range(len(model.measurements_["edges"]))}
        | {f"three.{i}" for i in range(k)}
    )
    loaded = AIMModel.from_state(json.loads(json.dumps(meta)), arrays)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(model.sample_codes(500, rng_a), loaded.sample_codes(500, rng_b))


def test_the_noise_does_not_come_from_the_seed(adult: pd.DataFrame) -> None:
    schema = infer_schema(adult.iloc[:2000])
    a = TabularSynthesizer("aim", epsilon=1.0, seed=3).fit(adult.iloc[:2000], schema).model_
    b = TabularSynthesizer("aim", epsilon=1.0, seed=3).fit(adult.iloc[:2000], schema).model_
    assert not np.array_equal(a.measurements_["one"][0], b.measurements_["one"][0])


def test_coarsening_rules() -> None:
    counts = np.array([500.0, 400.0, 300.0, 200.0, 100.0, 50.0, 5.0, 1.0])
    # ordinal: neighbours merged into groups of about equal mass, order kept
    g = coarse_groups(counts, sigma=1.0, ordinal=True, levels=3)
    assert g.max() + 1 <= 3 and (np.diff(g) >= 0).all() and g[0] == 0
    # categories: the most frequent kept apart, the rest share the last group
    order = np.array([3, 0, 2, 1, 4, 5, 6, 7])
    g = coarse_groups(counts[order], sigma=1.0, ordinal=False, levels=3)
    assert g[1] == 0 and g[3] == 1 and set(g[[0, 2, 4, 5, 6, 7]]) == {2}
    # enough levels: MST's 3σ compression only (codes under 3σ = 30 together)
    g = coarse_groups(counts, sigma=10.0, ordinal=False, levels=20)
    assert g[6] == g[7] and len(set(g[:6])) == 6 and g[6] not in g[:6]
    # levels: within the cells allowed, a small column keeps all its codes
    assert levels_for((2, 50, 50), 200) == (2, 10, 10)
    assert math.prod(levels_for((40, 30, 60), 1000)) <= 1000
    assert levels_for((4, 5, 6), math.inf) == (4, 5, 6)


def test_bad_parameters_are_refused(adult: pd.DataFrame) -> None:
    for bad in (
        {"epsilon": 0},
        {"epsilon": 1, "delta": 2},
        {"rounds": -1},
        {"rounds": 1.5},
        {"max_minutes": 0},
        {"tree_share": 1.0},
        {"noise_share": 0},
    ):
        with pytest.raises(UsageError):
            TabularSynthesizer("aim", **bad).fit(adult.iloc[:200])


def test_an_edited_model_is_refused(private: TabularSynthesizer, tmp_path: Path) -> None:
    private.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    text = json.dumps(meta).replace('"levels": [[', '"levels": [[99, 99, 99], [', 1)
    assert text != json.dumps(meta)
    (tmp_path / "m" / "model.json").write_text(text)
    with pytest.raises(ModelFormatError):
        TabularSynthesizer.load(tmp_path / "m")


def test_conditions_hold_under_aim(private: TabularSynthesizer) -> None:
    out = private.sample(300, conditions={"sex": "Female"}, seed=2)
    assert len(out) == 300 and (out["sex"] == "Female").all()


def run(*args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
    return code, out.getvalue(), err.getvalue()


def test_cli_fits_and_samples_aim(adult: pd.DataFrame, tmp_path: Path) -> None:
    data = tmp_path / "adult.csv"
    adult.iloc[:3000].to_csv(data, index=False)
    code, _, err = run(
        "fit", data, "--synthesizer", "aim", "--epsilon", "1", "--delta", "1e-6", "--out", tmp_path / "m"
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    assert saved["model"]["privacy"]["aim"]["rounds_run"] > 0
    assert math.isclose(saved["model"]["privacy"]["epsilon_spent"], 1.0, rel_tol=1e-9)
    code, _, err = run("sample", tmp_path / "m", "-n", "200", "--out", tmp_path / "s.csv")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "s.csv")) == 200
    code, _, err = run("fit", data, "--model", "aim", "--epsilon", "0", "--out", tmp_path / "bad")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "epsilon" in lines[0], err
    assert not (tmp_path / "bad").exists()
