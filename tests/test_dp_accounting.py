"""Differential privacy of the autoregressive model, checked from outside on real data (UCI Adult).

A private fit may read the data only through its accountant: two tables of the same schema but
different rows (two disjoint halves of Adult's training split) must give the same training record,
the same learning-rate schedule, the same number of epochs and the same ``model.json`` apart from what
the noisy histograms decide (bins, categories and so the network's shape); the ε in the ledger must
be what Opacus' RDP accountant gives for the noise multiplier, sampling rate and steps that an
independent computation here expects. The number of rows is public (both halves have the same).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("opacus")

from opacus.accountants import RDPAccountant  # noqa: E402
from opacus.accountants.utils import get_noise_multiplier  # noqa: E402

from simulacra import TabularSynthesizer  # noqa: E402
from simulacra.datasets import load_adult  # noqa: E402
from simulacra.progress import Progress  # noqa: E402
from simulacra.schema import infer_schema  # noqa: E402
from simulacra.schema.model import Schema  # noqa: E402

ROWS = 6000  # per half
EPSILON, DELTA = 2.0, 1e-5
DP = {"epsilon": EPSILON, "delta": DELTA, "dp_epochs": 3, "dp_hidden": 32}
CODEC_SHARE = 0.2  # the codecs' share of ε and δ, as the model documents it


@pytest.fixture(scope="module")
def halves() -> tuple[pd.DataFrame, pd.DataFrame, Schema]:
    full = load_adult("train")
    first = full.iloc[:ROWS].reset_index(drop=True)
    second = full.iloc[ROWS : 2 * ROWS].reset_index(drop=True)
    assert not first.equals(second)
    return first, second, infer_schema(full)  # the schema is public: one for both tables


@pytest.fixture(scope="module")
def fits(halves: tuple, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[list[str], dict]]:
    """Both halves fitted privately with the same seed: (progress messages, saved model.json)."""
    first, second, schema = halves
    class Notes(Progress):  # keeps every line a CLI would print or show beside the bar
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def note(self, text: str) -> None:
            self.lines.append(text)

        def status(self, text: str) -> None:
            self.lines.append(text)

    out = []
    for i, df in enumerate((first, second)):
        notes = Notes()
        synth = TabularSynthesizer("autoregressive", seed=0, **DP).fit(df, schema=schema, progress=notes)
        path = tmp_path_factory.mktemp("dp") / f"half{i}"
        synth.save(path)
        out.append((notes.lines, json.loads((path / "model.json").read_text())))
    return out


def _without_noisy_histograms(meta: dict) -> dict:
    """model.json less what the noisy histograms decide: the codecs, the column sizes and order they
    give the network, and the per-column summary of the ledger."""
    meta = copy.deepcopy(meta)
    del meta["model_columns"]
    del meta["model"]["cards"], meta["model"]["order"]
    del meta["model"]["privacy"]["codecs"]["columns"]
    return meta


def _keys(obj: object) -> list[str]:
    if isinstance(obj, dict):
        return [k for k, v in obj.items() for k in (k, *_keys(v))]
    if isinstance(obj, list):
        return [k for v in obj for k in _keys(v)]
    return []


def test_the_training_record_is_the_same_whatever_the_rows(fits: list) -> None:
    (_, a), (_, b) = fits
    ta, tb = a["model"]["training"], b["model"]["training"]
    assert ta == tb
    assert set(ta) == {"epochs_run", "stopped", "device", "schedule", "lr"}
    assert ta["epochs_run"] == DP["dp_epochs"] and ta["stopped"] == "epochs"
    lr = a["model"]["params"]["lr"]
    assert len(ta["lr"]) == DP["dp_epochs"] and ta["lr"][0] == pytest.approx(lr)
    assert all(x >= y for x, y in zip(ta["lr"], ta["lr"][1:], strict=False))
    # the differences are only in what the noisy histograms decide
    assert a["model_columns"] != b["model_columns"]
    assert _without_noisy_histograms(a) == _without_noisy_histograms(b)


def test_no_loss_is_kept_or_shown(fits: list) -> None:
    for messages, meta in fits:
        keys = set(_keys(meta))
        assert not keys & {"loss", "history", "best_val", "best_epoch", "seconds", "val_loss"}, sorted(keys)
        assert len(messages) == DP["dp_epochs"]
        assert all(m.startswith("epoch ") and "lr " in m and "loss" not in m for m in messages), messages


def test_the_ledger_is_what_opacus_accounts(fits: list) -> None:
    eps_sgd, delta_sgd = EPSILON * (1 - CODEC_SHARE), DELTA * (1 - CODEC_SHARE)
    batch = min(2048, ROWS // 10)  # the model's dp_batch_size, capped at a tenth of the rows
    steps_per_epoch = math.ceil(ROWS / batch)
    sample_rate = 1 / steps_per_epoch
    sigma = get_noise_multiplier(
        target_epsilon=eps_sgd, target_delta=delta_sgd, sample_rate=sample_rate, epochs=DP["dp_epochs"]
    )
    accountant = RDPAccountant()
    accountant.history = [(sigma, sample_rate, DP["dp_epochs"] * steps_per_epoch)]
    expected = accountant.get_epsilon(delta_sgd)
    for _, meta in fits:
        ledger = meta["model"]["privacy"]
        sgd = ledger["dp_sgd"]
        assert sgd["noise_multiplier"] == pytest.approx(sigma, rel=1e-12)
        assert sgd["sample_rate"] == pytest.approx(sample_rate, rel=1e-12)
        assert sgd["steps"] == DP["dp_epochs"] * steps_per_epoch
        assert sgd["delta"] == pytest.approx(delta_sgd)
        assert sgd["epsilon_spent"] == pytest.approx(expected, rel=1e-9)
        assert ledger["codecs"]["epsilon"] == pytest.approx(EPSILON * CODEC_SHARE)
        assert ledger["epsilon_spent"] == pytest.approx(expected + EPSILON * CODEC_SHARE, rel=1e-9)
        assert ledger["epsilon_spent"] <= EPSILON
        assert ledger["codecs"]["histograms"] == ledger["codecs"]["histograms_released"]


def test_the_noise_is_not_replayed_from_the_seed(halves: tuple) -> None:
    """DP-SGD alone (the network fitted on codes, no codecs): one seed, one table, two fits, and the
    weights differ, because the noise and the Poisson sampling are not drawn from the seed."""
    from simulacra.tabular.models.deep import AutoregressiveModel

    first = halves[0].head(2000)
    texts = first.select_dtypes("object").fillna("?")
    codes = np.column_stack([pd.factorize(texts[c])[0] for c in texts.columns]).astype(np.int32)
    cards = [int(codes[:, j].max()) + 1 for j in range(codes.shape[1])]
    fits = [AutoregressiveModel(seed=0, **{**DP, "dp_epochs": 1}).fit(codes, cards) for _ in range(2)]
    a, b = (f.to_state()[1] for f in fits)
    assert a.keys() == b.keys()
    assert any(not np.array_equal(a[k], b[k]) for k in a), "two private fits with one seed gave one model"
    # the seed still fixes everything that is not noise: a plain fit replays exactly
    plain = [AutoregressiveModel(seed=0, epochs=1).fit(codes, cards).to_state()[1] for _ in range(2)]
    assert all(np.array_equal(plain[0][k], plain[1][k]) for k in plain[0])


def test_the_budget_covers_every_histogram_of_a_difference_column(halves: tuple) -> None:
    """``age`` has a schema range but is learned as ``age − education-num``: two histograms, not one."""
    first, _, schema = halves
    constrained = Schema.from_dict(
        {
            **schema.to_dict(),
            "constraints": [{"range": "age", "min": 17, "max": 90}, {"inequality": "age > education-num"}],
        }
    )
    synth = TabularSynthesizer("autoregressive", seed=0, **{**DP, "dp_epochs": 1})
    synth.fit(first.head(2000), schema=constrained)
    codecs = synth.model_.privacy_["codecs"]
    numbers, categories = 6, 9  # Adult: age, fnlwgt, education-num, capital-gain/-loss, hours; 9 texts
    assert codecs["histograms"] == 2 * numbers + categories
    assert codecs["histograms_released"] == codecs["histograms"]


def test_a_cli_private_fit_writes_the_same_training_record(cli, tmp_path: Path) -> None:
    """Through the command line too: the two halves give one training record and one ledger ε."""
    full = load_adult("train")
    records = []
    for i in range(2):
        full.iloc[i * 1500 : (i + 1) * 1500].to_csv(tmp_path / f"h{i}.csv", index=False)
        r = cli(
            "fit", f"h{i}.csv", "--model", "autoregressive", "--epsilon", "3", "--out", f"m{i}", cwd=tmp_path
        )
        assert r.returncode == 0, r.stderr
        meta = json.loads((tmp_path / f"m{i}" / "model.json").read_text())["model"]
        records.append((meta["training"], meta["privacy"]["epsilon_spent"], meta["privacy"]["dp_sgd"]))
    assert records[0] == records[1]
