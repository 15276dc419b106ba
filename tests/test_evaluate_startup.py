"""The fixed cost of ``simulacra evaluate`` on tables: what a fidelity-only run loads, and the shortcut that
spares schema inference on columns of repeating values, checked against the full inference on real data
(UCI Adult, with a real row number as an id and its rows written out as free text)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulacra.datasets import load_adult
from simulacra.evaluation.tabular.columns import fresh_by_design, fresh_columns


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return pd.concat([load_adult("train"), load_adult("test")], ignore_index=True)


def _with_fresh_columns(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.insert(0, "person_id", range(100_000, 100_000 + len(out)))  # distinct, consecutive: an id
    out["record_code"] = [f"R{i:07d}" for i in range(len(out))]  # distinct codes with digits: an id
    out["note"] = (out["occupation"].astype(str) + " working " + out["hours-per-week"].astype(str)
                   + " hours in " + out["native-country"].astype(str) + " sampling weight "
                   + out["fnlwgt"].astype(str))
    return out


@pytest.mark.parametrize("rows", [1_500, 12_000])
def test_fresh_by_design_is_the_id_and_text_of_full_inference(adult: pd.DataFrame, rows: int) -> None:
    df = _with_fresh_columns(adult.sample(rows, random_state=rows).reset_index(drop=True))
    expected = [c for c, k in fresh_columns(df, seed=5).items() if k in ("id", "text")]
    assert "person_id" in expected and "record_code" in expected and "note" in expected
    assert fresh_by_design(df, seed=5) == expected
    # repeating values only: the same answer (none), without inference
    plain = adult.head(rows)
    inferred = [c for c, k in fresh_columns(plain, 5).items() if k in ("id", "text")]
    assert fresh_by_design(plain, seed=5) == inferred == []


def test_fidelity_run_loads_no_synthesizer_and_no_figures(adult: pd.DataFrame, tmp_path: Path) -> None:
    df = adult.sample(frac=1.0, random_state=1).reset_index(drop=True)
    numeric = df.select_dtypes("number")
    for role, part in (("train", numeric.iloc[:6_000]), ("holdout", numeric.iloc[6_000:10_000]),
                       ("synthetic", numeric.iloc[10_000:16_000])):
        part.reset_index(drop=True).to_parquet(tmp_path / f"{role}.parquet", index=False)
    args = ["evaluate", *(x for r in ("train", "holdout", "synthetic")
                          for x in (f"--{r}", str(tmp_path / f"{r}.parquet"))),
            "--sections", "fidelity", "--json", str(tmp_path / "r.json"), "--quiet"]
    code = ("import sys, json\nfrom simulacra.cli.main import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print(json.dumps(sorted(sys.modules)))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = set(json.loads(run.stdout.strip().splitlines()[-1]))
    assert json.loads((tmp_path / "r.json").read_text())["sections"]["fidelity"]["scores"]
    # the synthesizers, databases, schema inference (numbers that repeat) and the page's figures stay unloaded
    for heavy in ("simulacra.tabular", "simulacra.relational", "simulacra.schema", "matplotlib", "jinja2",
                  "simulacra.evaluation.images.report", "simulacra.evaluation.tabular.privacy",
                  "simulacra.evaluation.tabular.attacks"):
        assert heavy not in loaded, heavy
    assert "simulacra.evaluation.tabular.detection" in loaded
