"""The ``payments`` domain pack: tables, relations, test-range PANs, fraud typologies, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulacra.rules import SpecError, generate, load_spec, plan, run_rules
from simulacra.rules.generate import generate_chunk, regenerate_chunk, to_arrow
from simulacra.rules.packs import payments as pay

N = 200_000
CHUNK = 50_000
RATE = "fraud_rate"
MORE_CARDS = {"customers.rows": "2000"}  # 4x the pack's cards, so that fraud groups rarely share a card


@pytest.fixture(scope="module")
def out() -> dict[str, pd.DataFrame]:
    return generate("payments", n=N, seed=3, chunk_rows=CHUNK, overrides=MORE_CARDS)


@pytest.fixture(scope="module")
def tx(out: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cards = out["cards"].set_index("card_id")
    t = out["transactions"].copy()
    t["card_device"] = cards["device_id"].reindex(t["card_id"]).to_numpy()
    t["card_country"] = cards["issuing_country"].astype(str).reindex(t["card_id"]).to_numpy()
    t["fraud_type"] = t["fraud_type"].astype(str)
    t["txn_type"] = t["txn_type"].astype(str)
    t["channel"] = t["channel"].astype(str)
    t["ip_country"] = t["ip_country"].astype(str)
    return t


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def test_pack_loads_and_generates_every_table(out: dict[str, pd.DataFrame]) -> None:
    assert set(out) == {"transactions", "customers", "accounts", "cards", "merchants"}
    t = out["transactions"]
    assert len(t) == N and len(t.columns) >= 10
    assert len(out["customers"]) == N // 50 and len(out["merchants"]) == N // 200
    for table, frame in out.items():
        assert len(frame) > 0, table
        assert not frame.drop(columns=["counterparty_card_id"], errors="ignore").isna().any().any(), table
    assert out["customers"]["email"].str.contains("@").all()
    assert t["amount"].gt(0).all()


def test_foreign_keys_are_valid(out: dict[str, pd.DataFrame]) -> None:
    t, cards, merchants = out["transactions"], out["cards"], out["merchants"]
    assert t["card_id"].isin(cards["card_id"]).all()
    assert t["merchant_id"].isin(merchants["merchant_id"]).all()
    cp = t["counterparty_card_id"].dropna()
    assert len(cp) > 0 and cp.isin(cards["card_id"]).all()
    assert out["cards"]["account_id"].isin(out["accounts"]["account_id"]).all()
    assert out["accounts"]["customer_id"].isin(out["customers"]["customer_id"]).all()
    # the transaction's MCC is its merchant's MCC; a counterparty exactly on transfers
    mcc = merchants.set_index("merchant_id")["mcc"].reindex(t["merchant_id"]).to_numpy()
    assert (t["mcc"].to_numpy() == mcc).all()
    assert (t["counterparty_card_id"].notna() == (t["txn_type"].astype(str) == "transfer")).all()
    assert ((t["mcc"] == 6011) == (t["txn_type"].astype(str) == "withdrawal")).all()


def test_card_numbers_are_luhn_valid_test_range_and_unique(out: dict[str, pd.DataFrame]) -> None:
    pans = out["cards"]["card_number"]
    assert pans.str.fullmatch(r"\d{16}").all()
    assert pans.str[:6].isin(["411111", "424242", "555555", "222300"]).all()
    assert pans.is_unique
    assert all(_luhn_ok(p) for p in pans)
    assert not _luhn_ok(pans.iloc[0][:-1] + str((int(pans.iloc[0][-1]) + 1) % 10))  # the check can fail
    network = np.where(pans.str[0] == "4", "visa", "mastercard")
    assert (out["cards"]["network"].astype(str).to_numpy() == network).all()


def test_merchants_use_real_mccs_with_descriptions(out: dict[str, pd.DataFrame]) -> None:
    m = out["merchants"]
    known = {code: desc for code, desc, _, _ in pay.MCCS}
    assert len(known) >= 30
    assert m["mcc"].isin(list(known)).all()
    assert m["mcc"].nunique() >= 25
    assert (m["mcc_description"].astype(str) == m["mcc"].map(known)).all()
    assert known[5411] == "Grocery Stores, Supermarkets" and known[6011] == "Automated Cash Disbursements"


def test_fraud_rate_label_and_types_are_consistent(tx: pd.DataFrame) -> None:
    assert abs(tx["is_fraud"].mean() - 0.01) < 0.0015  # sd of the rate = 0.00022
    assert ((tx["fraud_type"] != "none") == tx["is_fraud"]).all()
    shares = tx.loc[tx["is_fraud"], "fraud_type"].value_counts(normalize=True)
    expected = dict(zip(pay.FRAUD_TYPES[1:], pay.FRAUD_SHARES, strict=True))
    assert set(shares.index) == set(expected)
    for name, share in expected.items():
        assert abs(shares[name] - share) < 0.02, name


def test_fraud_rate_override_and_bad_rate() -> None:
    high = generate("payments", n=50_000, seed=3, chunk_rows=10_000, overrides={RATE: "0.05"})
    assert abs(high["transactions"]["is_fraud"].mean() - 0.05) < 0.006
    none = generate("payments", n=20_000, seed=3, chunk_rows=10_000, overrides={RATE: "0"})
    assert not none["transactions"]["is_fraud"].any()
    with pytest.raises(SpecError, match="fraud_rate"):
        generate("payments", n=1_000, seed=3, overrides={RATE: "0.9"})
    with pytest.raises(SpecError, match="fraud_rate"):
        generate("payments", n=1_000, seed=3, overrides={RATE: "lots"})


def test_card_testing_is_bursts_of_tiny_amounts_on_one_card(tx: pd.DataFrame) -> None:
    ct = tx[tx["fraud_type"] == "card_testing"]
    assert len(ct) > 100
    assert ct["amount"].between(0.5, 2.0).all()
    assert (ct["channel"] == "ecom").all()
    assert ct["mcc"].isin([5815, 5816, 5818]).all()
    assert (ct["device_id"] != ct["card_device"]).all()
    per_card = ct.groupby("card_id").agg(
        rows=("txn_id", "size"), t0=("timestamp", "min"), t1=("timestamp", "max")
    )
    assert (per_card["rows"] >= 2).mean() > 0.9  # bursts, not scattered rows
    assert ((per_card["t1"] - per_card["t0"]) <= pd.Timedelta(minutes=10)).mean() > 0.9
    normal = tx[~tx["is_fraud"]]
    assert normal["amount"].median() > 10 * ct["amount"].median()


def test_account_takeover_new_device_foreign_ip_and_large_amounts(tx: pd.DataFrame) -> None:
    ato = tx[tx["fraud_type"] == "account_takeover"]
    normal = tx[~tx["is_fraud"]]
    assert len(ato) > 100
    assert (ato["device_id"] != ato["card_device"]).all()
    assert (ato["ip_country"] != ato["card_country"]).all()
    assert (normal["device_id"] == normal["card_device"]).mean() > 0.9  # the usual device is usual
    assert (normal["ip_country"] == normal["card_country"]).mean() > 0.9
    assert ato["amount"].median() > 10 * normal["amount"].median()
    span = ato.groupby("card_id")["timestamp"].agg(lambda s: s.max() - s.min())
    assert (span <= pd.Timedelta(hours=1)).mean() > 0.9


def test_merchant_collusion_small_ring_round_amounts_and_refunds(tx: pd.DataFrame, out: dict) -> None:
    col = tx[tx["fraud_type"] == "merchant_collusion"]
    normal = tx[~tx["is_fraud"]]
    assert len(col) > 100
    assert col["merchant_id"].nunique() <= 0.03 * len(out["merchants"])
    ring = pay.colluding(col["merchant_id"].to_numpy(), 3)
    assert ring.all()
    assert (col["amount"] % 50 == 0).all()
    assert (col["txn_type"] == "refund").mean() > 0.3
    assert (normal["txn_type"] == "refund").mean() < 0.05


def test_money_mule_fan_in_then_fan_out(tx: pd.DataFrame) -> None:
    mule = tx[tx["fraud_type"] == "money_mule"]
    assert len(mule) > 100
    assert (mule["txn_type"] == "transfer").all() and (mule["mcc"] == 4829).all()
    senders = mule.groupby("counterparty_card_id").agg(
        n_in=("card_id", "nunique"), last_in=("timestamp", "max"), sum_in=("amount", "sum")
    )
    outgoing = mule.groupby("card_id").agg(
        n_out=("txn_id", "size"), first_out=("timestamp", "min"), sum_out=("amount", "sum")
    )
    mules = senders.join(outgoing, how="inner")
    mules = mules[mules["n_in"] >= 3]
    assert len(mules) >= 0.8 * len(mule) / pay.MULE_GROUP
    assert (mules["first_out"] > mules["last_in"]).mean() > 0.9
    ratio = mules["sum_out"] / mules["sum_in"]
    assert ratio.between(0.9, 1.0).mean() > 0.9


def test_amounts_by_category_and_time_seasonality(tx: pd.DataFrame) -> None:
    assert tx["timestamp"].between("2024-01-01", "2024-12-31 23:59:59").all()  # fraud rows included
    normal = tx[~tx["is_fraud"]]
    med = normal.groupby("mcc")["amount"].median()
    assert med[4511] > 5 * med[5812] and med[5815] < med[5411]
    assert (normal.loc[normal["mcc"] == 6011, "amount"] % 20 == 0).all()
    weekday = normal["timestamp"].dt.weekday.value_counts(normalize=True)
    assert weekday[5] > 1.3 * weekday[6]  # Saturday 1.25 vs Sunday 0.8
    hours = normal["timestamp"].dt.hour.value_counts(normalize=True)
    assert hours[12] > 10 * hours[3]


def test_parquet_values_do_not_depend_on_chunk_grouping(tmp_path: Path) -> None:
    frames = {}
    for chunks in (1, 3):
        dest = tmp_path / f"g{chunks}"
        summary = run_rules("payments", 20_000, dest, 5, chunks, "parquet", {}, chunk_rows=4_000)
        frames[chunks] = {t: pd.read_parquet(dest / f"{t}.parquet") for t in summary}
    assert (tmp_path / "g1" / "transactions.parquet").is_dir()
    for table in frames[1]:
        pd.testing.assert_frame_equal(frames[1][table], frames[3][table])
    assert frames[1]["transactions"]["is_fraud"].any()


def test_a_chunk_alone_equals_its_rows_in_the_full_run() -> None:
    spec = load_spec("payments", MORE_CARDS)
    # 125 / 3 / 1 chunks of transactions / customers / merchants
    whole = generate(spec, n=250_000, seed=8, chunk_rows=2_000)
    p = plan(spec, 250_000, 8, 2_000)
    alone = to_arrow(spec, "transactions", generate_chunk(spec, p, "transactions", 77)).to_pandas()
    rows = whole["transactions"].iloc[154_000:156_000].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, rows, check_categorical=False)
    assert alone["is_fraud"].any()
    for table, k in (("cards", 2), ("merchants", 0)):
        start, size = int(p.offsets[table][k]), int(p.sizes[table][k])
        child = to_arrow(spec, table, regenerate_chunk(spec, p, table, k)).to_pandas()
        assert len(child) == size > 0
        expect = whole[table].iloc[start : start + size].reset_index(drop=True)
        pd.testing.assert_frame_equal(child, expect, check_categorical=False)
    other = to_arrow(
        spec, "transactions", generate_chunk(spec, plan(spec, 250_000, 9, 2_000), "transactions", 77)
    )
    assert not other.to_pandas()["fraud_type"].equals(alone["fraud_type"])
