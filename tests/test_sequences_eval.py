"""Sequence evaluation measures on real data (sktime's Japanese vowels): the next-step forecast score
with one numeric channel, checked against an independent computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

from simulacra.evaluation.sequences import sequence_section
from simulacra.evaluation.sequences.metrics import forecast_r2, read_sequences

KEY, ORDER = "utterance", "frame"


@pytest.fixture(scope="module")
def one_channel() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Vowels with one numeric event column (c0, ordered by frame: the gap never varies), split in three."""
    from sktime.datasets import load_japanese_vowels

    x, _ = load_japanese_vowels(return_type="pd-multiindex")
    df = x.reset_index().iloc[:, :3]
    df.columns = [KEY, ORDER, "c0"]
    ids = df[KEY].unique()
    parts = np.array_split(ids, 3)
    train, holdout, other = (df[df[KEY].isin(p)].reset_index(drop=True) for p in parts)
    return train, holdout, other


def _next_change_r2(train: pd.DataFrame, test: pd.DataFrame, mu: float, sd: float) -> float:
    """The ridge next-change R² written out for one channel: x = (last value, last change)."""

    def design(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for _, g in df.sort_values([KEY, ORDER]).groupby(KEY, sort=False):
            v = (g["c0"].to_numpy() - mu) / sd
            for t in range(2, v.size):
                xs.append([v[t - 1], v[t - 1] - v[t - 2]])
                ys.append(v[t] - v[t - 1])
        return np.array(xs), np.array(ys)

    xt, yt = design(train)
    xs, ys = design(test)
    return float(r2_score(ys, Ridge(alpha=1.0).fit(xt, yt).predict(xs)))


def test_forecast_r2_with_one_numeric_channel(one_channel) -> None:
    train, holdout, other = one_channel
    seq = {
        name: read_sequences(d, KEY, ORDER, [], ["c0"], False, name)
        for name, d in (("train", train), ("holdout", holdout))
    }
    v = seq["train"].values
    mu, sd = float(np.nanmean(v)), float(np.nanstd(v))
    got = forecast_r2(seq["train"], seq["holdout"], (np.array([mu]), np.array([sd])))
    assert got is not None
    assert got == pytest.approx(_next_change_r2(train, holdout, mu, sd), abs=1e-9)
    assert 0.0 < got < 1.0  # LPC frames are predictable, not perfectly


def test_report_section_with_one_numeric_channel(one_channel) -> None:
    train, holdout, other = one_channel
    sec = sequence_section(train, holdout, other, sequence_key=KEY, order_by=ORDER, max_lag=3)
    assert sec["channels"] == ["c0"]
    f = next(s for s in sec["scores"] if s["key"] == "forecast_tstr")
    assert f["status"] != "n/a"
    # other real utterances forecast the holdout about as well as the training ones do
    assert abs(f["value"] - f["reference"]) < 0.1
