"""Standard errors of the capped checks over draws of every sampled side, on real rows (UCI Adult): the DCR
share's over draws of the synthetic *and* the reference rows, the detection AUC's over draws of the rows and
of the folds' models."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from simulacra.datasets import load_adult
from simulacra.evaluation.tabular.detection import _cv_auc_se, _hm_var, detection_check
from simulacra.evaluation.tabular.privacy import dcr


@pytest.fixture(scope="module")
def pools() -> dict[str, pd.DataFrame]:
    """Disjoint pools of real rows; the "synthetic" rows are fresh real ones (a share of 0.5 on average)."""
    adult = pd.concat([load_adult("train"), load_adult("test")], ignore_index=True)
    df = adult.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return {"train": df.iloc[:16_000], "holdout": df.iloc[16_000:32_000], "synthetic": df.iloc[32_000:]}


def test_dcr_share_error_matches_its_spread_over_fresh_draws(pools: dict[str, pd.DataFrame]) -> None:
    shares, ses = [], []
    for r in range(24):
        rng = np.random.default_rng(100 + r)
        t, h, s = (pools[k].iloc[rng.choice(len(pools[k]), 6_000, replace=False)].reset_index(drop=True)
                   for k in ("train", "holdout", "synthetic"))
        d = dcr(t, h, s, max_rows=1_500, max_reference_rows=1_500, seed=r)
        shares.append(d["share_closer_to_train"])
        ses.append(d["share_se"])
    spread, se = float(np.std(shares, ddof=1)), float(np.mean(ses))
    binomial = math.sqrt(0.25 / 1_500)
    # synthetic rows sharing a closest record move together: more spread than coin flips, and the
    # cluster-robust error says so
    assert se > 1.15 * binomial
    assert 0.7 * se < spread < 1.4 * se, (spread, se, binomial)


def test_detection_error_adds_the_folds_disagreement(pools: dict[str, pd.DataFrame]) -> None:
    det = detection_check(pools["train"], pools["synthetic"], max_rows=2_000, seed=1)
    hm = math.sqrt(_hm_var(det["auc"], 2_000, 2_000))
    assert det["se"] >= hm
    lo, hi = det["ci"]
    assert lo < det["auc"] < hi and hi - det["auc"] == pytest.approx(2.576 * math.sqrt(2) * det["se"])
    # folds that agree as closely as their test rows allow add nothing; folds far apart add their spread
    assert _cv_auc_se(0.6, 2_000, [(0.6, 1_000, 1_000), (0.6, 1_000, 1_000)]) == pytest.approx(
        math.sqrt(_hm_var(0.6, 2_000, 2_000)))
    wide = _cv_auc_se(0.6, 2_000, [(0.55, 1_000, 1_000), (0.65, 1_000, 1_000)])
    fold_var = _hm_var(0.55, 1_000, 1_000) / 2 + _hm_var(0.65, 1_000, 1_000) / 2
    assert wide == pytest.approx(math.sqrt(_hm_var(0.6, 2_000, 2_000) + (0.005 - fold_var) / 2))
