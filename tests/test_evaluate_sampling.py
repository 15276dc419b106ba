"""The report's sampling policy on real data (UCI Adult): each table capped at ``max_rows`` rows by a
seeded sample, the same rows whether read from a Parquet file (one row group at a time) or given as a
frame, stated at the top of the report, and scores on samples carrying intervals that hold the score
computed on every row."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import simulacra
from simulacra.cli.main import main
from simulacra.datasets import load_adult
from simulacra.evaluation.tabular.sampling import cap_frame, read_capped, sampled_rows


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return pd.concat([load_adult("train"), load_adult("test")], ignore_index=True)


@pytest.fixture(scope="module")
def splits(adult: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Disjoint real rows: train, holdout, and other real rows standing in for synthetic data."""
    df = adult.sample(frac=1.0, random_state=3).reset_index(drop=True)
    return {"train": df.iloc[:16_000].reset_index(drop=True),
            "holdout": df.iloc[16_000:24_000].reset_index(drop=True),
            "synthetic": df.iloc[24_000:40_000].reset_index(drop=True)}


def test_parquet_is_sampled_by_row_group_as_the_frame_is(adult: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "adult.parquet"
    adult.to_parquet(path, index=False, row_group_size=7_000)  # 7 row groups, the last one partial
    got, total = read_capped(path, 5_000, seed=4, role="train")
    assert total == len(adult) and len(got) == 5_000
    # the same rows, values and dtypes as reading the whole file, then sampling
    pd.testing.assert_frame_equal(got, cap_frame(pd.read_parquet(path), 5_000, seed=4, role="train"))
    # rows from every row group, in file order, none twice
    idx = sampled_rows(len(adult), 5_000, 4, "train")
    assert idx is not None and (pd.Series(idx).diff().dropna() > 0).all()
    assert set(idx // 7_000) == set(range(7))
    # another role or seed draws other rows; under the cap nothing is cut
    assert not cap_frame(adult, 5_000, 4, "holdout").equals(cap_frame(adult, 5_000, 4, "train"))
    assert sampled_rows(len(adult), len(adult), 4, "train") is None
    whole, n = read_capped(path, 0, seed=4, role="train")
    assert n == len(adult) and len(whole) == len(adult)
    csv = tmp_path / "adult.csv"
    adult.head(3_000).to_csv(csv, index=False)
    small, n_csv = read_capped(csv, 1_000, seed=4, role="train")
    assert n_csv == 3_000 and len(small) == 1_000


def test_sampled_report_states_its_sample_and_holds_the_full_score(splits: dict[str, pd.DataFrame]) -> None:
    kw = {**splits, "sections": ["fidelity"], "seed": 0}
    sampled = simulacra.evaluate(**kw, max_table_rows=4_000).data
    full = simulacra.evaluate(**kw, max_table_rows=0).data

    s = sampled["sampling"]
    assert s["max_rows"] == 4_000 and s["seed"] == 0
    assert s["rows"] == {"train": 16_000, "holdout": 8_000, "synthetic": 16_000}
    assert s["rows_used"] == {"train": 4_000, "holdout": 4_000, "synthetic": 4_000}
    assert "capped at 4,000 rows" in s["text"] and "seed 0" in s["text"]
    assert sampled["inputs"]["train_rows"] == 4_000
    assert "Every row was read" in full["sampling"]["text"]

    mine = {x["key"]: x for x in sampled["sections"]["fidelity"]["scores"]}
    whole = {x["key"]: x for x in full["sections"]["fidelity"]["scores"]}
    for key in ("accuracy", "accuracy_univariate", "accuracy_bivariate", "association_gap", "detection_auc",
                "validity"):
        lo, hi = mine[key]["ci"]
        assert lo <= mine[key]["value"] <= hi, key
        assert lo <= whole[key]["value"] <= hi, f"{key}: {whole[key]['value']} not in [{lo}, {hi}]"
    # on every row, the binned scores are exact for these tables: no interval
    assert whole["accuracy"]["ci"] is None and whole["detection_auc"]["ci"] is not None
    # accuracy rises with the rows compared: the sampled value sits below the full one, and the
    # interval reaches above the sampled value by more than it reaches below
    assert mine["accuracy"]["value"] < whole["accuracy"]["value"]
    lo, hi = mine["accuracy"]["ci"]
    assert hi - mine["accuracy"]["value"] > mine["accuracy"]["value"] - lo


def test_cli_states_the_sampling_at_the_top_of_the_page(splits: dict[str, pd.DataFrame], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    for role, df in splits.items():
        df.to_parquet(tmp_path / f"{role}.parquet", index=False, row_group_size=5_000)
    files = [x for r in splits for x in (f"--{r}", str(tmp_path / f"{r}.parquet"))]
    args = ["evaluate", *files, "--sections", "fidelity", "--max-rows", "6000",
            "--out", str(tmp_path / "r.html"), "--json", str(tmp_path / "r.json"), "--quiet"]
    assert _run(args) == 0
    page = (tmp_path / "r.html").read_text()
    head = page[: page.index("Overall verdict")]
    assert "<strong>Sampling.</strong> Each table was capped at 6,000 rows" in head
    assert "train 6,000 of 16,000" in head and "synthetic 6,000 of 16,000" in head
    # the same rows as the Python API picks from the frames
    api = simulacra.evaluate(**splits, sections=["fidelity"], max_table_rows=6_000).data
    cli = json.loads((tmp_path / "r.json").read_text())
    assert cli["sections"]["fidelity"]["scores"] == api["sections"]["fidelity"]["scores"]

    # 0 reads every row
    assert _run(["evaluate", *files, "--sections", "fidelity", "--max-rows", "0",
                 "--json", str(tmp_path / "all.json"), "--quiet"]) == 0
    every = json.loads((tmp_path / "all.json").read_text())["sampling"]
    assert every["rows_used"] == every["rows"] == {"train": 16_000, "holdout": 8_000, "synthetic": 16_000}
    assert every["text"] == "Every row was read (no cap)."

    capsys.readouterr()
    assert _run(["evaluate", *files, "--max-rows", "-3", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--max-rows" in err[0]


def _run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
