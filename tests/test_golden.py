"""Golden outputs: the same seed gives the same bytes, release after release and refactor after refactor.

Each case runs one generator end to end on real data (UCI Adult, Japanese vowels, the rules packs,
the reviews task) and hashes what it writes. The expected hashes in ``golden/hashes.json`` were
recorded from the code before a refactor; a change that moves one byte of any generator's output
fails here and must say why (and re-record with ``python tests/test_golden.py --record``).

CSV is hashed rather than Parquet so that a pyarrow upgrade (which stamps its version into Parquet
footers) does not count as a change of output.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

GOLDEN = Path(__file__).parent / "golden" / "hashes.json"
CASES: dict[str, Callable[[Path], bytes]] = {}


def case(fn: Callable[[Path], bytes]) -> Callable[[Path], bytes]:
    CASES[fn.__name__.removeprefix("golden_")] = fn
    return fn


def _adult(rows: int = 2000) -> pd.DataFrame:
    from simulacra.datasets import load_adult

    return load_adult("train").head(rows).reset_index(drop=True)


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def _folder(folder: Path) -> bytes:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.digest()


@case
def golden_tabular_trees(tmp: Path) -> bytes:
    from simulacra import TabularSynthesizer

    model = TabularSynthesizer("trees", seed=0).fit(_adult())
    plain = model.sample(700, seed=3)
    where = model.sample(300, seed=4, conditions={"sex": "Female", "age": (30, 40)})
    balanced = model.sample(200, seed=5, rebalance="race")
    return _csv(plain) + _csv(where) + _csv(balanced)


@case
def golden_tabular_copula(tmp: Path) -> bytes:
    from simulacra import TabularSynthesizer

    model = TabularSynthesizer("copula", seed=0).fit(_adult())
    return _csv(model.sample(700, seed=3))


@case
def golden_tabular_saved_and_streamed(tmp: Path) -> bytes:
    from simulacra import TabularSynthesizer
    from simulacra.tabular.job import sample_to_file

    TabularSynthesizer("trees", seed=0).fit(_adult(1500)).save(tmp / "model")
    sample_to_file(tmp / "model", 150_000, tmp / "out.csv", seed=7)
    return (tmp / "out.csv").read_bytes()


@case
def golden_sequences_vowels(tmp: Path) -> bytes:
    from sktime.datasets import load_japanese_vowels

    from simulacra.sequences import SequenceSynthesizer

    x, y = load_japanese_vowels(return_type="pd-multiindex")
    df = x.reset_index()
    df.columns = ["utterance", "frame", *[f"c{i}" for i in range(df.shape[1] - 2)]]
    df.insert(1, "speaker", np.asarray(y)[df["utterance"].to_numpy()].astype(str))
    train = df[df["utterance"] < 300].reset_index(drop=True)
    model = SequenceSynthesizer(seed=0).fit(train, "utterance", order_by="frame", context=["speaker"])
    return _csv(model.sample(60, seed=1))


def _rules(tmp: Path, pack: str, fmt: str, n: int) -> bytes:
    from simulacra.rules.writer import run_rules

    out = tmp / f"{pack}-{fmt}"
    run_rules(pack, n, out, seed=11, fmt=fmt)
    return _folder(out)


@case
def golden_rules_payments_csv(tmp: Path) -> bytes:
    return _rules(tmp, "payments", "csv", 3000)


@case
def golden_rules_ehr_fhir(tmp: Path) -> bytes:
    return _rules(tmp, "ehr", "fhir", 200)


@case
def golden_rules_shop_jsonl(tmp: Path) -> bytes:
    return _rules(tmp, "shop", "jsonl", 1000)


@case
def golden_text_plans(tmp: Path) -> bytes:
    from simulacra.text.prompt import Prompter
    from simulacra.text.spec import load_task

    spec = load_task(GOLDEN.parent / "reviews.yaml")  # a frozen copy of examples/reviews.yaml
    prompter = Prompter(spec, seed=0)
    plans = []
    for i in range(40):
        p = prompter.plan(i)
        plans.append([p.index, p.attributes, p.fewshot, p.prompt.text, p.llm_seed])
    return json.dumps(plans, sort_keys=True, default=str).encode()


def _deep(model_name: str, **params: object) -> bytes:
    pytest.importorskip("torch")
    from simulacra import TabularSynthesizer

    model = TabularSynthesizer(model_name, seed=0, **params).fit(_adult(800))
    return _csv(model.sample(300, seed=2)) + _csv(model.sample(100, seed=3, conditions={"sex": "Male"}))


@case
def golden_deep_autoregressive(tmp: Path) -> bytes:
    return _deep("autoregressive", epochs=2, batch_size=128, hidden=32)


@case
def golden_deep_diffusion(tmp: Path) -> bytes:
    return _deep("diffusion", epochs=2, batch_size=128, hidden=32, layers=1)


@case
def golden_deep_gan(tmp: Path) -> bytes:
    return _deep("gan", epochs=2, batch_size=100, eval_every=1)


def _digest(name: str, tmp: Path) -> str:
    return hashlib.sha256(CASES[name](tmp)).hexdigest()


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_seed_same_bytes(name: str, tmp_path: Path) -> None:
    expected = json.loads(GOLDEN.read_text())
    assert name in expected, f"no golden hash recorded for {name}: run python tests/test_golden.py --record"
    assert _digest(name, tmp_path) == expected[name], f"{name}: output bytes changed for the same seed"


if __name__ == "__main__":  # python tests/test_golden.py --record [name ...]
    import tempfile

    if "--record" not in sys.argv:
        raise SystemExit("usage: python tests/test_golden.py --record [case ...]")
    wanted = [a for a in sys.argv[1:] if a != "--record"] or sorted(CASES)
    hashes = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    for name in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            hashes[name] = _digest(name, Path(tmp))
            print(name, hashes[name])
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
