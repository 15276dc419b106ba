"""The validation report on real data: verdicts for good, copied, shuffled and leaky synthetic data."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import simulacra
from simulacra import TabularSynthesizer
from simulacra.datasets import load_adult
from simulacra.errors import DataError, UsageError


@pytest.fixture(scope="module")
def split() -> dict[str, pd.DataFrame]:
    train = load_adult("train").sample(8000, random_state=0).reset_index(drop=True)
    test = load_adult("test").sample(8000, random_state=0).reset_index(drop=True)
    return {
        "train": train,
        "holdout": test.iloc[:4000].reset_index(drop=True),
        "fresh": test.iloc[4000:].reset_index(drop=True),
    }


@pytest.fixture(scope="module")
def good(split) -> pd.DataFrame:
    return TabularSynthesizer(seed=0).fit(split["train"]).sample(len(split["train"]))


def _scores(report) -> dict[str, dict]:
    return {s["key"]: s for sec in report.to_dict()["sections"].values() for s in sec["scores"]}


def _perturbed_copy(train: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The training data with 10% of each numeric column nudged by a few percent: a disguised copy."""
    rng = np.random.default_rng(seed)
    out = train.copy()
    for col in ("age", "fnlwgt", "hours-per-week", "education-num"):
        hit = rng.random(len(out)) < 0.1
        out[col] = out[col].astype(float)
        out.loc[hit, col] = np.round(out.loc[hit, col] * rng.uniform(0.95, 1.05, hit.sum()))
    return out


def test_fresh_real_data_passes_and_every_score_has_a_reference(split) -> None:
    report = simulacra.evaluate(
        synthetic=split["fresh"], train=split["train"], holdout=split["holdout"], target="income"
    )
    assert report.verdict == "pass", report.to_dict()["verdict"]
    for s in _scores(report).values():
        assert s["reference"] is not None or s["not_computable"], s["key"]
    assert 0.45 < _scores(report)["dcr_share"]["value"] < 0.55
    # the distance scores are judged, not passed by default: fresh real rows are as far as the holdout's
    assert _scores(report)["dcr_median"]["status"] == "pass"
    assert _scores(report)["nndr"]["status"] == "pass"


def test_distance_scores_warn_on_a_copy(split) -> None:
    report = simulacra.evaluate(
        synthetic=_perturbed_copy(split["train"]), train=split["train"], holdout=split["holdout"],
        sections=["privacy"],
    )
    scores = _scores(report)
    assert scores["dcr_median"]["status"] == "warn", scores["dcr_median"]
    assert scores["nndr"]["status"] == "warn", scores["nndr"]
    assert scores["dcr_median"]["value"] < 0.5 * scores["dcr_median"]["reference"]


def test_nothing_computable_is_not_a_pass(tmp_path, split, good) -> None:
    report = simulacra.evaluate(
        synthetic=good, train=split["train"], holdout=split["holdout"], sections=["utility"]
    )
    assert report.verdict == "n/a"
    reasons = report.to_dict()["verdict"]["reasons"]
    assert reasons[0].startswith("Not computable") and any("--target" in r for r in reasons)
    html = report.save_html(tmp_path / "r.html").read_text()
    assert "Not computable" in html and "Pass —" not in html


def test_fidelity_is_compared_at_equal_sizes(split) -> None:
    from simulacra.evaluation.tabular.fidelity import accuracy

    small = split["holdout"].head(500)
    report = simulacra.evaluate(
        synthetic=split["fresh"], train=split["train"], holdout=small, sections=["fidelity"]
    )
    fid = report.to_dict()["sections"]["fidelity"]
    acc = _scores(report)["accuracy"]
    assert fid["compared_rows"] == 500
    # a fresh real sample 8x the holdout's size scores like the holdout once both have 500 rows ...
    assert abs(acc["value"] - acc["reference"]) < 0.015, acc
    # ... while on all its rows it would look clearly better than real data (accuracy rises with n)
    assert accuracy(split["train"], split["fresh"])["overall"] > acc["reference"] + 0.025


def test_default_synthesizer_passes(split, good) -> None:
    report = simulacra.evaluate(
        synthetic=good, train=split["train"], holdout=split["holdout"], target="income"
    )
    scores = _scores(report)
    assert report.verdict in ("pass", "warn"), report.to_dict()["verdict"]
    assert scores["dcr_share"]["status"] == "pass"
    assert scores["tstr_ratio"]["value"] > 0.95
    lo, hi = scores["tstr"]["ci"]
    assert lo <= scores["tstr"]["value"] <= hi


def test_perturbed_copy_fails_on_privacy_although_fidelity_is_high(split) -> None:
    copy = _perturbed_copy(split["train"])
    report = simulacra.evaluate(
        synthetic=copy, train=split["train"], holdout=split["holdout"], sections=["fidelity", "privacy"]
    )
    scores = _scores(report)
    assert report.verdict == "fail"
    assert report.to_dict()["sections"]["privacy"]["status"] == "fail"
    assert scores["dcr_share"]["status"] == "fail"
    assert scores["identical_match_share"]["status"] == "fail"
    assert scores["accuracy"]["value"] > scores["accuracy"]["reference"]  # fidelity alone would approve it
    assert any("too close to the training rows" in r for r in report.to_dict()["verdict"]["reasons"])


def test_shuffled_columns_fail_on_fidelity_and_utility(split) -> None:
    rng = np.random.default_rng(1)
    shuffled = pd.DataFrame(
        {
            c: split["train"][c].to_numpy()[rng.permutation(len(split["train"]))]
            for c in split["train"].columns
        }
    )
    report = simulacra.evaluate(
        synthetic=shuffled, train=split["train"], holdout=split["holdout"], target="income"
    )
    sections = report.to_dict()["sections"]
    assert sections["utility"]["status"] == "fail"
    assert sections["fidelity"]["status"] in ("warn", "fail")
    assert _scores(report)["detection_auc"]["value"] > 0.8


def test_pii_canary_in_the_output_fails(split, good) -> None:
    train = split["train"].head(3000).copy()
    train["email"] = [f"person{i}.zq@corp-mail.io" for i in range(len(train))]
    holdout = split["holdout"].head(2000).copy()
    holdout["email"] = [f"other{i}.kx@corp-mail.io" for i in range(len(holdout))]
    syn = good.head(3000).copy()
    syn["email"] = [f"fresh{i}@example.com" for i in range(len(syn))]
    clean = simulacra.evaluate(synthetic=syn, train=train, holdout=holdout, sections=["privacy"])
    assert _scores(clean)["pii_leaks"]["value"] == 0
    syn.loc[17, "email"] = "person42.zq@corp-mail.io"
    leaky = simulacra.evaluate(synthetic=syn, train=train, holdout=holdout, sections=["privacy"])
    assert _scores(leaky)["pii_leaks"]["value"] == 1
    assert leaky.verdict == "fail"


def test_same_seed_same_report_and_html_is_self_contained(tmp_path, split, good) -> None:
    kw = {
        "synthetic": good,
        "train": split["train"],
        "holdout": split["holdout"],
        "target": "income",
        "seed": 3,
    }
    a, b = simulacra.evaluate(**kw), simulacra.evaluate(**kw)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    a.save_html(tmp_path / "a.html")
    b.save_html(tmp_path / "b.html")
    html = (tmp_path / "a.html").read_text()
    assert html == (tmp_path / "b.html").read_text()
    assert "<svg" in html and "https://" not in html.split("<svg")[0]
    # no raw extreme values of the real data in the figures: outer bins are open-ended
    marg = next(
        m for m in a.to_dict()["sections"]["fidelity"]["figures"]["marginals"] if m["column"] == "fnlwgt"
    )
    assert str(int(split["train"]["fnlwgt"].max())) not in " ".join(marg["labels"])
    assert "<table" in a._repr_html_() and "<html" not in a._repr_html_()


def test_bad_inputs_are_clear(split, good) -> None:
    with pytest.raises(DataError, match="lacks column 'age'"):
        simulacra.evaluate(synthetic=good.drop(columns="age"), train=split["train"], holdout=split["holdout"])
    with pytest.raises(DataError, match="target column 'salary'"):
        simulacra.evaluate(synthetic=good, train=split["train"], holdout=split["holdout"], target="salary")
    with pytest.raises(DataError, match="holdout data has 5 rows"):
        simulacra.evaluate(synthetic=good, train=split["train"], holdout=split["holdout"].head(5))
    with pytest.raises(UsageError, match="section"):
        simulacra.evaluate(synthetic=good, train=split["train"], holdout=split["holdout"], sections=["speed"])
    const = [f.assign(income="<=50K") for f in (split["train"], split["holdout"], good)]
    report = simulacra.evaluate(
        train=const[0], holdout=const[1], synthetic=const[2], target="income", sections=["utility"]
    )
    assert (
        _scores(report)["tstr"]["not_computable"]
        and "single class" in _scores(report)["tstr"]["not_computable"]
    )
    empty = [f.assign(note=np.nan) for f in (split["train"], split["holdout"], good)]
    report = simulacra.evaluate(train=empty[0], holdout=empty[1], synthetic=empty[2], sections=["fidelity"])
    assert "note" not in report.to_dict()["inputs"]["columns"]
    assert any("note" in r for r in report.to_dict()["verdict"]["reasons"])


def test_cli_evaluate_strict_exit_codes(tmp_path, split, good) -> None:
    paths = {}
    for name, df in (
        ("train", split["train"]),
        ("holdout", split["holdout"]),
        ("good", good),
        ("copy", _perturbed_copy(split["train"])),
    ):
        paths[name] = tmp_path / f"{name}.parquet"
        df.to_parquet(paths[name])

    def run(syn: str, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "simulacra",
                "evaluate",
                "--synthetic",
                str(paths[syn]),
                "--train",
                str(paths["train"]),
                "--holdout",
                str(paths["holdout"]),
                "--quiet",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )

    bad = run("copy", "--strict", "--sections", "privacy", "--json", str(tmp_path / "m.json"))
    assert bad.returncode == 1, bad.stderr
    assert json.loads((tmp_path / "m.json").read_text())["verdict"]["status"] == "fail"
    ok = run("good", "--strict", "--sections", "privacy")
    assert ok.returncode == 0, ok.stderr
    wrong = run("good", "--sections", "speed", "--out", str(tmp_path / "r.html"))
    assert wrong.returncode == 2 and wrong.stderr.startswith("error:") and "section" in wrong.stderr
    assert not (tmp_path / "r.html").exists()


def test_fresh_ids_are_left_out_of_the_comparison(split) -> None:
    # every table numbers its rows from 1, and a generator gives fresh ids past the training ones:
    # judged as data, the ids alone would put every synthetic row closer to train than to holdout
    def numbered(df: pd.DataFrame, start: int) -> pd.DataFrame:
        return df.assign(record_id=np.arange(start, start + len(df)))  # without the fix: share 0.80

    train = numbered(split["train"], 1)
    holdout = numbered(split["holdout"], 1)
    fresh = numbered(split["fresh"], len(train) + 1)
    report = simulacra.evaluate(synthetic=fresh, train=train, holdout=holdout, sections=["privacy"], seed=0)
    share = _scores(report)["dcr_share"]
    assert 0.4 < share["value"] < 0.6
    assert "record_id" not in report.to_dict()["inputs"]["columns"]
    assert any("record_id" in r for r in report.to_dict()["verdict"]["reasons"])
