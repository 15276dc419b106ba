"""MST, the marginal-based private synthesizer of the core, on real data (UCI Adult).

Checked from outside: the zCDP ↔ (ε, δ) conversion and the composition of every release in the ledger
add up to the budget asked for; the fitted model is a function of its noisy measurements alone (rebuilt
from them, it is the same model); the noise does not come from the seed; dependencies between columns
are kept; the command line takes ``--model mst --epsilon`` and refuses what cannot work.
"""

from __future__ import annotations

import contextlib
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
from simulacra.tabular.models.mst import MSTModel, estimate, project_simplex
from simulacra.tabular.models.private_codecs import rho_for

ROWS = 8000
CODEC_SHARE = 0.2  # the codecs' share of ε and δ, as the model documents it


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult("train").iloc[:ROWS].reset_index(drop=True)


@pytest.fixture(scope="module")
def private(adult: pd.DataFrame) -> TabularSynthesizer:
    return TabularSynthesizer("mst", epsilon=1.0, delta=1e-6, seed=0).fit(adult, infer_schema(adult))


@pytest.mark.parametrize(
    ("epsilon", "delta"), [(0.1, 1e-9), (0.3, 1e-6), (1.0, 1e-6), (3.0, 1e-5), (10.0, 0.01)]
)
def test_zcdp_converts_back_to_the_epsilon_asked_for(epsilon: float, delta: float) -> None:
    rho = rho_for(epsilon, delta)
    assert rho > 0
    assert math.isclose(rho + 2 * math.sqrt(rho * math.log(1 / delta)), epsilon, rel_tol=1e-9)
    # a smaller ε or δ never buys more ρ
    assert rho_for(epsilon / 2, delta) < rho and rho_for(epsilon, delta / 10) < rho


def test_the_ledger_adds_up_to_the_budget(private: TabularSynthesizer, adult: pd.DataFrame) -> None:
    ledger = private.model_.privacy_
    mst, codecs = ledger["mst"], ledger["codecs"]
    m = len(private.model_.cards_)
    # every release's zCDP cost, recomputed here from the published noise scales
    one_way = m / (2 * mst["sigma_one_way"] ** 2)
    two_way = len(mst["edges"]) / (2 * mst["sigma_two_way"] ** 2)
    selection = len(mst["edges"]) * mst["selection_epsilon_per_round"] ** 2 / 8
    assert math.isclose(one_way + two_way + selection, mst["rho"], rel_tol=1e-9)
    assert math.isclose(mst["rho"], rho_for(mst["epsilon"], mst["delta"]), rel_tol=1e-12)
    assert math.isclose(mst["epsilon"], (1 - CODEC_SHARE) * 1.0, rel_tol=1e-12)
    assert math.isclose(codecs["epsilon"], CODEC_SHARE * 1.0, rel_tol=1e-12)
    assert math.isclose(ledger["epsilon_spent"], 1.0, rel_tol=1e-12)
    assert math.isclose(mst["delta"] + codecs["delta"], 1e-6, rel_tol=1e-12)
    assert len(mst["edges"]) == m - 1  # a spanning tree
    assert "number of rows" in " ".join(ledger["outside_budget"])


def test_the_model_is_a_function_of_its_noisy_measurements(private: TabularSynthesizer) -> None:
    model = private.model_
    rebuilt = estimate(model.measurements_, model.cards_, model.n_)
    assert rebuilt["order"] == model.order_ and rebuilt["parent"] == model.parent_
    for a, b in zip(rebuilt["cond"], model.cond_, strict=True):
        np.testing.assert_array_equal(a, b)
    meta, arrays = model.to_state()
    # what is saved is the measurements (and public shapes), nothing else computed from the data
    assert set(arrays) == {f"one.{j}" for j in range(len(model.cards_))} | {
        f"two.{i}" for i in range(len(model.measurements_["edges"]))
    }
    loaded = MSTModel.from_state(json.loads(json.dumps(meta)), arrays)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(model.sample_codes(500, rng_a), loaded.sample_codes(500, rng_b))


def test_the_noise_does_not_come_from_the_seed(adult: pd.DataFrame) -> None:
    schema = infer_schema(adult)
    a = TabularSynthesizer("mst", epsilon=1.0, seed=3).fit(adult, schema).model_
    b = TabularSynthesizer("mst", epsilon=1.0, seed=3).fit(adult, schema).model_
    assert not np.array_equal(a.measurements_["one"][0], b.measurements_["one"][0])


def test_dependent_columns_stay_dependent(adult: pd.DataFrame, private: TabularSynthesizer) -> None:
    """Adult's education and education-num name the same thing: a tree keeps the pairing, an
    independent draw would not."""
    exact = TabularSynthesizer("mst", epsilon=None, seed=0).fit(adult)
    real = adult.groupby("education")["education-num"].agg(lambda s: s.mode().iloc[0])

    def agreement(frame: pd.DataFrame) -> float:
        return float((frame["education-num"] == frame["education"].map(real)).mean())

    shuffled = adult.assign(**{"education-num": adult["education-num"].sample(frac=1, random_state=0).values})
    assert agreement(shuffled) < 0.3
    assert agreement(exact.sample(4000, seed=1)) > 0.9
    assert agreement(private.sample(4000, seed=1)) > 0.5  # ε = 1 on 8,000 rows


def test_conditions_hold_under_mst(private: TabularSynthesizer) -> None:
    out = private.sample(300, conditions={"sex": "Female"}, seed=2)
    assert len(out) == 300 and (out["sex"] == "Female").all()


def test_simplex_projection() -> None:
    v = np.array([5.0, -2.0, 3.0, 2.5])
    p = project_simplex(v, 8.0)
    assert math.isclose(p.sum(), 8.0) and (p >= 0).all()
    assert p[1] == 0 and p[0] > p[2] > p[3] > 0
    # one shift for every value kept: the Euclidean projection onto the simplex
    assert math.isclose(v[0] - p[0], v[2] - p[2]) and math.isclose(v[2] - p[2], v[3] - p[3])


def test_impossible_budgets_are_refused(adult: pd.DataFrame) -> None:
    for bad in ({"epsilon": 0}, {"epsilon": -1}, {"epsilon": 1, "delta": 0}, {"epsilon": 1, "delta": 2}):
        with pytest.raises(UsageError):
            TabularSynthesizer("mst", **bad).fit(adult.iloc[:200])


def test_an_edited_model_is_refused(private: TabularSynthesizer, tmp_path: Path) -> None:
    private.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    text = json.dumps(meta).replace('"edges": [[', '"edges": [[99, 98], [', 1)
    assert text != json.dumps(meta)
    (tmp_path / "m" / "model.json").write_text(text)
    with pytest.raises(ModelFormatError):
        TabularSynthesizer.load(tmp_path / "m")


def run(*args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
    return code, out.getvalue(), err.getvalue()


def test_cli_fits_and_samples_mst_with_its_ledger(adult: pd.DataFrame, tmp_path: Path) -> None:
    data = tmp_path / "adult.csv"
    adult.iloc[:3000].to_csv(data, index=False)
    code, _, err = run(
        "fit", data, "--model", "mst", "--epsilon", "1", "--delta", "1e-6", "--out", tmp_path / "m"
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    assert '"epsilon_spent": 1.0' in json.dumps(saved)
    code, _, err = run("sample", tmp_path / "m", "-n", "200", "--out", tmp_path / "s.csv")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "s.csv")) == 200
    for args, word in (
        (["--model", "mst", "--epsilon", "-1"], "epsilon"),
        (["--model", "trees", "--epsilon", "1"], "--epsilon"),
    ):
        code, _, err = run("fit", data, *args, "--out", tmp_path / "bad")
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and word in lines[0], err
        assert not (tmp_path / "bad").exists()
