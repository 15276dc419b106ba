"""Attack-based privacy risk (singling out, linkability, inference) on real data: UCI Adult.

Three disjoint samples of Adult's training file: the rows a synthesizer learns from, a fresh real sample
it never saw, and the control (holdout). A synthesizer that copies a share of its training rows can
raise a risk by that share at most (the attacks' excess success on training rows is the copies'), so
5% copies give risks up to 0.05 and 20% copies up to 0.20.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simulacra
from simulacra import TabularSynthesizer
from simulacra.datasets import load_adult
from simulacra.errors import DataError
from simulacra.evaluation.scores import ATTACK_FAIL, ATTACK_WARN, attack_status
from simulacra.evaluation.tabular.attacks import (
    attack_risk,
    attack_risks,
    inference_risk,
    linkability_risk,
    singling_out_risk,
)

N = 8000
ATTACKS = ("singling_out", "linkability", "inference")


@pytest.fixture(scope="module")
def adult() -> dict[str, pd.DataFrame]:
    data = load_adult("train")
    perm = np.random.default_rng(0).permutation(len(data))
    train, fresh, control = (data.iloc[perm[i * N : (i + 1) * N]].reset_index(drop=True) for i in range(3))
    synthetic = TabularSynthesizer(seed=0).fit(train).sample(N)
    return {"train": train, "fresh": fresh, "control": control, "synthetic": synthetic}


def copying(d: dict[str, pd.DataFrame], share: float) -> pd.DataFrame:
    """The default model's rows with the first ``share`` of them replaced by training rows."""
    k = int(share * len(d["synthetic"]))
    rows = pd.concat([d["train"].iloc[:k], d["synthetic"].iloc[k:]], ignore_index=True)
    return rows.sample(frac=1.0, random_state=1).reset_index(drop=True)


def risks(d: dict[str, pd.DataFrame], synthetic: pd.DataFrame) -> dict[str, dict]:
    return attack_risks(d["train"], d["control"], synthetic, n_attacks=2000, target="income", seed=0)


def test_five_percent_copies_are_singled_out_and_linked(adult):
    r = risks(adult, copying(adult, 0.05))
    for key in ("singling_out", "linkability"):
        risk, (lo, hi) = r[key]["risk"], r[key]["ci"]
        assert lo > 0, (key, risk, lo, hi)
        assert risk >= 0.025 and lo <= 0.05, (key, risk, lo, hi)  # at most the copied share
        assert attack_status(risk, [lo, hi]) == "warn"
    # inference of the target: the excess is 5% of (1 - control success ~ 0.78); at 2000 attacks
    # the interval holds both 0 and the copied share
    lo, hi = r["inference"]["ci"]
    assert lo <= 0.05 <= hi


def test_twenty_percent_copies_are_flagged_by_all_three_attacks(adult):
    r = risks(adult, copying(adult, 0.20))
    for key in ATTACKS:
        assert r[key]["risk"] >= 0.05 and r[key]["ci"][0] > 0, (key, r[key]["risk"], r[key]["ci"])
    assert r["linkability"]["ci"][0] <= 0.20 <= r["linkability"]["ci"][1] + 0.02


@pytest.mark.parametrize("source", ["synthetic", "fresh"])
def test_default_model_and_fresh_real_rows_stay_within_the_interval_around_zero(adult, source):
    r = risks(adult, adult[source])
    for key in ATTACKS:
        risk, (lo, hi) = r[key]["risk"], r[key]["ci"]
        assert lo == 0.0 and attack_status(risk, [lo, hi]) == "pass", (source, key, risk, lo, hi)
        assert hi < 0.2, (source, key, hi)
    assert r["singling_out"]["univariate"]["n_queries"] == 2000
    assert r["inference"]["secrets"] == ["income"]


def test_holdout_against_itself_is_zero_within_its_interval(adult):
    hol = adult["control"]
    r = attack_risks(hol, hol, adult["synthetic"], n_attacks=1000, seed=3)
    for key in ATTACKS:
        assert r[key]["risk"] == 0.0 or r[key]["ci"][0] == 0.0, (key, r[key])
        assert r[key]["ci"][0] == 0.0 and r[key]["ci"][1] < 0.2


def test_risk_is_anonymeters_formula():
    # 300 of 1000 on training rows, 200 of 1000 on control rows: Wilson rates, (a - c) / (1 - c)
    r = attack_risk(1000, 300, 200)
    z = 1.959963984540054
    a = (300 + z * z / 2) / (1000 + z * z)
    c = (200 + z * z / 2) / (1000 + z * z)
    assert r["risk"] == pytest.approx((a - c) / (1 - c))
    assert r["ci"][0] < r["risk"] < r["ci"][1]
    assert attack_risk(1000, 10, 200)["risk"] == 0.0  # clipped, as anonymeter
    assert attack_status(0.5, [0.0, 0.9]) == "pass"  # not significant
    assert attack_status(ATTACK_FAIL, [0.01, 0.2]) == "fail"
    assert attack_status(ATTACK_WARN / 2, [0.001, 0.02]) == "pass"


def test_same_seed_same_risks_other_seed_other_attacks(adult):
    a = linkability_risk(adult["train"], adult["control"], adult["synthetic"], n_attacks=300, seed=5)
    b = linkability_risk(adult["train"], adult["control"], adult["synthetic"], n_attacks=300, seed=5)
    assert a == b
    s1 = singling_out_risk(adult["train"], adult["control"], adult["fresh"], mode="univariate",
                           n_attacks=300, seed=1)
    s2 = singling_out_risk(adult["train"], adult["control"], adult["fresh"], mode="univariate",
                           n_attacks=300, seed=2)
    assert (s1["n_success"], s1["n_control"]) != (s2["n_success"], s2["n_control"])


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda t, c, s: singling_out_risk(t, c, s, n_attacks=0), "n_attacks"),
        (lambda t, c, s: linkability_risk(t, c, s, n_attacks=2.5), "n_attacks"),
        (lambda t, c, s: inference_risk(t, c, s, n_attacks=True), "n_attacks"),
        (lambda t, c, s: singling_out_risk(t, c, s, mode="bivariate"), "mode"),
        (lambda t, c, s: singling_out_risk(t, c, s, n_cols=0), "n_cols"),
        (lambda t, c, s: linkability_risk(t, c, s, aux_cols=(["age", "sex"], ["sex"])), "share"),
        (lambda t, c, s: linkability_risk(t, c, s, aux_cols=(["age"], ["salary"])), "salary"),
        (lambda t, c, s: linkability_risk(t, c, s, n_neighbors=0), "n_neighbors"),
        (lambda t, c, s: inference_risk(t, c, s, secrets=["salary"]), "salary"),
        (lambda t, c, s: inference_risk(t, c, s.drop(columns=["age"])), "age"),
    ],
)
def test_bad_arguments_are_one_line_errors(adult, call, words):
    t, c, s = (adult[k].iloc[:200] for k in ("train", "control", "synthetic"))
    with pytest.raises(DataError) as err:
        call(t, c, s)
    assert "\n" not in str(err.value) and words in str(err.value)


def test_report_shows_the_risks_and_fails_a_copy(adult):
    train, control = adult["train"].iloc[:3000], adult["control"].iloc[:3000]
    copy = copying({"train": train, "synthetic": adult["synthetic"].iloc[:3000]}, 0.6)
    rep = simulacra.evaluate(synthetic=copy, train=train, holdout=control, sections=["privacy"],
                             attacks=1000, seed=0).to_dict()
    scores = {s["key"]: s for s in rep["sections"]["privacy"]["scores"]}
    for key in ATTACKS:
        s = scores[f"{key}_risk"]
        assert s["reference"] == 0.0 and s["ci"][0] > 0 and s["status"] == "fail", s
    assert rep["sections"]["privacy"]["attacks"]["linkability"]["reference_ci"][0] == 0.0
    assert any("Linkability attack risk" in r for r in rep["verdict"]["reasons"])
    off = simulacra.evaluate(synthetic=copy, train=train, holdout=control, sections=["privacy"],
                             attacks=0, seed=0).to_dict()
    assert not any(s["key"].endswith("_risk") for s in off["sections"]["privacy"]["scores"])
    assert "attacks" not in off["sections"]["privacy"]
