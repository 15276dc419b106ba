"""Rule-based generation (simulacra.rules): determinism, relations, distributions, spec errors, output."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import SimulacraError
from simulacra.rules import SpecError, generate, load_spec, plan, run_rules
from simulacra.rules.generate import generate_chunk, regenerate_chunk, to_arrow

SHOP = Path(__file__).resolve().parents[1] / "examples" / "rules" / "shop.yaml"
CHUNK = 1_000  # small fixed chunk size so that several chunks are made quickly


@pytest.fixture(scope="module")
def shop() -> dict[str, pd.DataFrame]:
    return generate(str(SHOP), n=6_000, seed=11, chunk_rows=CHUNK)


def _gen(text: str, n: int | None = None, seed: int = 3, chunk_rows: int = CHUNK) -> dict[str, pd.DataFrame]:
    return generate(text, n=n, seed=seed, chunk_rows=chunk_rows)


# --------------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_same_frames_and_other_seed_differs() -> None:
    a = generate(str(SHOP), n=3_000, seed=5, chunk_rows=CHUNK)
    b = generate(str(SHOP), n=3_000, seed=5, chunk_rows=CHUNK)
    c = generate(str(SHOP), n=3_000, seed=6, chunk_rows=CHUNK)
    for table in ("customers", "orders"):
        pd.testing.assert_frame_equal(a[table], b[table])
    assert not a["customers"]["age"].equals(c["customers"]["age"])
    assert not a["customers"]["email"].equals(c["customers"]["email"])
    assert len(a["orders"]) != len(c["orders"]) or not a["orders"]["amount"].equals(c["orders"]["amount"])


def test_spec_seed_is_the_default_and_seed_argument_overrides_it() -> None:
    spec_seed = generate(str(SHOP), n=500, chunk_rows=CHUNK)  # the file says seed: 1
    one = generate(str(SHOP), n=500, seed=1, chunk_rows=CHUNK)
    two = generate(str(SHOP), n=500, seed=2, chunk_rows=CHUNK)
    pd.testing.assert_frame_equal(spec_seed["customers"], one["customers"])
    assert not spec_seed["customers"]["income"].equals(two["customers"]["income"])


def test_a_chunk_is_a_pure_function_of_seed_and_index() -> None:
    """Chunk 3 made on its own equals rows 3000..3999 of the whole table: no state between chunks."""
    spec = load_spec(str(SHOP))
    whole = generate(spec, n=5_000, seed=9, chunk_rows=CHUNK)["customers"]
    p = plan(spec, 5_000, 9, CHUNK)
    alone = to_arrow(spec, "customers", generate_chunk(spec, p, "customers", 3)).to_pandas()
    pd.testing.assert_frame_equal(alone, whole.iloc[3_000:4_000].reset_index(drop=True))
    orders = generate(spec, n=5_000, seed=9, chunk_rows=CHUNK)["orders"]
    start = int(p.offsets["orders"][3])
    child = to_arrow(spec, "orders", regenerate_chunk(spec, p, "orders", 3)).to_pandas()
    assert len(child) == p.sizes["orders"][3] > 0
    pd.testing.assert_frame_equal(child, orders.iloc[start : start + len(child)].reset_index(drop=True))
    assert child["customer_id"].between(3_001, 4_000).all()  # the children of parent chunk 3


def test_files_hold_the_same_values_whatever_the_chunk_grouping(tmp_path: Path) -> None:
    frames = {}
    for chunks in (1, 2, 100):
        out = tmp_path / f"p{chunks}"
        summary = run_rules(str(SHOP), 4_500, out, 4, chunks, "parquet", {}, chunk_rows=CHUNK)
        frames[chunks] = {t: pd.read_parquet(out / f"{t}.parquet") for t in summary}
    assert (tmp_path / "p1" / "customers.parquet").is_dir()  # 5 chunks -> 5 part files
    assert len(list((tmp_path / "p2" / "customers.parquet").iterdir())) == 3
    assert (tmp_path / "p100" / "customers.parquet").is_file()  # all chunks in one part -> one file
    for table in ("customers", "orders"):
        for chunks in (2, 100):
            pd.testing.assert_frame_equal(frames[1][table], frames[chunks][table])
    texts = []
    for chunks in (1, 3):
        out = tmp_path / f"c{chunks}"
        run_rules(str(SHOP), 4_500, out, 4, chunks, "csv", {}, chunk_rows=CHUNK)
        texts.append((out / "orders.csv").read_bytes())
    assert texts[0] == texts[1]


# --------------------------------------------------------------------------------------------------
# Relations


def test_foreign_keys_are_valid_and_counts_follow_the_poisson_mean(shop: dict[str, pd.DataFrame]) -> None:
    customers, orders = shop["customers"], shop["orders"]
    assert orders["customer_id"].isin(customers["customer_id"]).all()
    counts = orders.groupby("customer_id").size().reindex(customers["customer_id"], fill_value=0)
    assert abs(counts.mean() - 3) < 0.1  # lam 3; sd of the mean = sqrt(3 / 6000) = 0.022
    assert abs(counts.var() - 3) < 0.3
    assert orders["order_id"].tolist() == list(range(1, len(orders) + 1))
    assert orders["customer_id"].is_monotonic_increasing


def test_timelines_increase_within_each_parent_and_start_after_it(shop: dict[str, pd.DataFrame]) -> None:
    customers, orders = shop["customers"], shop["orders"]
    signup = customers.set_index("customer_id")["signup"]
    first = orders.groupby("customer_id")["placed_at"].min()
    assert (first > signup.loc[first.index]).all()
    diffs = orders.groupby("customer_id")["placed_at"].diff().dropna()
    assert (diffs > pd.Timedelta(0)).all()
    gaps = pd.concat([first - signup.loc[first.index], diffs]).dt.total_seconds()
    assert abs(gaps.mean() / (2 * 86_400) - 1) < 0.05  # gamma(shape 2, scale 86400)


def test_foreign_key_to_another_root_table_uses_its_ids() -> None:
    spec = """
tables:
  products:
    rows: 50
    columns:
      sku: {type: unique_id, prefix: "P-", width: 4}
      pid: {type: sequence, start: 100, step: 5}
  customers:
    rows: 300
    columns:
      id: {type: sequence}
      favourite: {type: foreign_key, references: products.sku}
      favourite_id: {type: foreign_key, references: products.pid}
"""
    out = _gen(spec, n=50)
    assert len(out["customers"]) == 300  # -n scales the first root, the others keep their proportion
    assert out["customers"]["favourite"].isin(out["products"]["sku"]).all()
    assert out["customers"]["favourite_id"].isin(out["products"]["pid"]).all()
    assert out["customers"]["favourite"].nunique() > 30
    assert len(_gen(spec, n=100)["customers"]) == 600


def test_grandchildren_follow_their_parent_chunks() -> None:
    spec = """
tables:
  a:
    rows: 1500
    columns:
      id: {type: sequence}
      t0: {type: datetime, start: "2021-01-01", end: "2021-12-31"}
  b:
    per_parent: {parent: a, distribution: uniform, min: 1, max: 3, round: 0}
    columns:
      id: {type: sequence}
      a_id: {type: foreign_key, references: a.id}
      t1: {type: timeline, parent_column: a.t0, gap: {distribution: exponential, scale: 60}}
  c:
    per_parent: {parent: b, distribution: poisson, lam: 2}
    columns:
      b_id: {type: foreign_key, references: b.id}
      t2: {type: timeline, parent_column: b.t1, gap: {distribution: exponential, scale: 60}}
"""
    out = _gen(spec)
    a, b, c = out["a"], out["b"], out["c"]
    assert b.groupby("a_id").size().between(1, 3).all() and b["a_id"].isin(a["id"]).all()
    assert c["b_id"].isin(b["id"]).all()
    merged = c.merge(b, left_on="b_id", right_on="id")
    assert (merged["t2"] > merged["t1"]).all()
    assert b["id"].is_unique


# --------------------------------------------------------------------------------------------------
# Columns


def test_unique_ids_are_unique_even_when_the_width_is_exactly_full() -> None:
    out = _gen(
        "tables:\n  t:\n    rows: 1000\n    columns:\n      u: {type: unique_id, prefix: X, width: 3}\n",
        chunk_rows=300,
    )
    u = out["t"]["u"]
    assert u.is_unique and len(u) == 1000
    assert u.str.fullmatch(r"X\d{3}").all()
    assert u.tolist() != sorted(u.tolist())  # a permutation, not the row order
    big = _gen("tables:\n  t:\n    rows: 20000\n    columns:\n      u: {type: unique_id, width: 12}\n")["t"][
        "u"
    ]
    assert big.is_unique and big.str.len().eq(12).all()


DIST_SPEC = """
tables:
  t:
    rows: 40000
    columns:
      norm: {type: number, distribution: normal, mean: 10, sd: 2}
      trunc: {type: number, distribution: normal, mean: 40, sd: 12, min: 18, max: 95, round: 0}
      logn: {type: number, distribution: lognormal, mean: 1.5, sigma: 0.5}
      gam: {type: number, distribution: gamma, shape: 2, scale: 3}
      bet: {type: number, distribution: beta, a: 2, b: 5, min: 10, max: 20}
      poi: {type: number, distribution: poisson, lam: 4}
      zip: {type: number, distribution: zipf, a: 2.5, max: 1000}
      uni: {type: number, distribution: uniform, min: -1, max: 3}
      expo: {type: number, distribution: exponential, scale: 5}
      emp: {type: number, distribution: empirical, values: [1, 2, 10], weights: [0.5, 0.3, 0.2]}
"""


def test_distributions_match_their_parameters() -> None:
    df = _gen(DIST_SPEC)["t"]
    assert abs(df["norm"].mean() - 10) < 0.05 and abs(df["norm"].std() - 2) < 0.05
    assert df["trunc"].between(18, 95).all() and df["trunc"].dtype == np.int64
    assert df["trunc"].min() == 18 and df["trunc"].max() > 80
    assert abs(np.log(df["logn"]).mean() - 1.5) < 0.02 and abs(np.log(df["logn"]).std() - 0.5) < 0.02
    assert abs(df["gam"].mean() - 6) < 0.1 and abs(df["gam"].var() - 18) < 1.0
    assert df["bet"].between(10, 20).all() and abs(df["bet"].mean() - (10 + 10 * 2 / 7)) < 0.05
    assert abs(df["poi"].mean() - 4) < 0.05 and df["poi"].dtype == np.int64
    assert df["zip"].min() == 1 and df["zip"].max() <= 1000 and abs((df["zip"] == 1).mean() - 0.7454) < 0.015
    assert df["uni"].between(-1, 3).all() and abs(df["uni"].mean() - 1) < 0.03
    assert abs(df["expo"].mean() - 5) < 0.1
    freq = df["emp"].value_counts(normalize=True)
    assert abs(freq[1] - 0.5) < 0.01 and abs(freq[2] - 0.3) < 0.01 and abs(freq[10] - 0.2) < 0.01


def test_choice_weights_and_when_conditions_are_honoured(shop: dict[str, pd.DataFrame]) -> None:
    c = shop["customers"]
    assert abs((c["segment"] == "business").mean() - 0.3) < 0.02
    gold = c["tier"] == "gold"
    assert abs(gold[c["segment"] == "business"].mean() - 0.6) < 0.04
    assert abs(gold[c["segment"] == "retail"].mean() - 0.2) < 0.03
    channel = shop["orders"]["channel"].value_counts(normalize=True)
    assert set(channel.index) == {"web", "app", "store"} and (abs(channel - 1 / 3) < 0.02).all()


def test_expressions_agree_with_pandas(shop: dict[str, pd.DataFrame]) -> None:
    c, o = shop["customers"], shop["orders"]
    expected = (c["income"] > 60_000) & (c["segment"].astype(str) == "business")
    assert expected.any() and (c["vip"] == expected).all()
    assert np.allclose(o["total"], np.round(o["amount"] * 1.2, 2))
    spec = """
tables:
  t:
    rows: 2000
    columns:
      x: {type: number, distribution: normal, mean: 0, sd: 3}
      y: {type: number, distribution: uniform, min: 1, max: 5}
      s: {type: choice, values: [a, b, c]}
      e1: {type: expression, expr: "where(x > 0, x ** 2, -x) % 4 + y // 2"}
      e2: {type: expression, expr: "max(x, y, 2) - min(abs(x), log(y)) + exp(y / 5) + sqrt(y)"}
      e3: {type: expression, expr: "s in ['a', 'c'] or not (x < 1 and y >= 2) or s != 'b'"}
      e4: {type: expression, expr: "round(-x * 2.5, 1)"}
      e5: {type: expression, expr: "1 < y <= 3"}
"""
    df = _gen(spec)["t"]
    x, y, s = df["x"], df["y"], df["s"].astype(str)
    pd.testing.assert_series_equal(
        df["e1"], (np.where(x > 0, x**2, -x) % 4 + y // 2).rename("e1"), check_dtype=False
    )
    e2 = np.maximum(np.maximum(x, y), 2) - np.minimum(x.abs(), np.log(y)) + np.exp(y / 5) + np.sqrt(y)
    assert np.allclose(df["e2"], e2)
    assert (df["e3"] == (s.isin(["a", "c"]) | ~((x < 1) & (y >= 2)) | (s != "b"))).all()
    assert np.allclose(df["e4"], np.round(-x * 2.5, 1))
    assert (df["e5"] == ((y > 1) & (y <= 3))).all()


def test_person_fields_agree_within_a_row(shop: dict[str, pd.DataFrame]) -> None:
    c = shop["customers"]
    slug = c["last_name"].str.lower().str.replace(r"[^a-z0-9]", "", regex=True)
    assert all(s in e for s, e in zip(slug, c["email"], strict=True))
    assert c["email"].str.fullmatch(r"[a-z0-9._]+@example\.(com|org|net)").all()
    assert c["phone"].str.fullmatch(r"\(\d{3}\) 555-01\d{2}").all()
    spec = """
tables:
  p:
    rows: 500
    columns:
      first: {type: person, field: first_name}
      last: {type: person, field: last_name}
      full: {type: person, field: full_name}
      street: {type: person, field: street_address}
"""
    p = _gen(spec)["p"]
    assert (p["full"] == p["first"] + " " + p["last"]).all()
    assert p["street"].str.match(r"\d{3,5} ").all()


def test_datetime_seasonality_and_bounds() -> None:
    spec = """
tables:
  t:
    rows: 20000
    columns:
      at:
        type: datetime
        start: "2023-01-01"
        end: "2023-12-31 23:59:59"
        seasonality:
          weekday: [1, 1, 1, 1, 1, 0, 0]
          hour: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
          month: [2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
      plain: {type: datetime, start: "2020-01-01", end: "2020-01-31", format: "%Y/%m/%d"}
"""
    df = _gen(spec)["t"]
    at = df["at"]
    assert at.between(pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-31 23:59:59")).all()
    assert at.dt.dayofweek.max() <= 4 and at.dt.hour.between(9, 16).all()
    jan_per_day = (at.dt.month == 1).sum() / 22
    jun_per_day = (at.dt.month == 6).sum() / 22
    assert 1.7 < jan_per_day / jun_per_day < 2.3  # January weighs twice
    assert df["plain"].str.fullmatch(r"2020/01/\d{2}").all()
    assert (df["plain"] == "2020/01/31").any()  # a date alone as the end includes that day


# --------------------------------------------------------------------------------------------------
# Output


def test_run_rules_output_is_one_dataset_with_the_right_rows(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    summary = run_rules(str(SHOP), 2_500, out, 1, None, "parquet", {}, chunk_rows=CHUNK)
    assert summary["customers"] == 2_500 and summary["orders"] > 0
    for table, rows in summary.items():
        assert len(pd.read_parquet(out / f"{table}.parquet")) == rows
        import pyarrow.dataset as ds

        assert ds.dataset(out / f"{table}.parquet", format="parquet").count_rows() == rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop"]  # no temp folder left
    run_rules(str(SHOP), 700, out, 1, None, "jsonl", {}, chunk_rows=CHUNK)
    assert len(pd.read_json(out / "customers.jsonl", lines=True)) == 700
    csv_summary = run_rules(str(SHOP), 700, out, 1, None, "csv", {}, chunk_rows=CHUNK)
    assert len(pd.read_csv(out / "orders.csv")) == csv_summary["orders"]


def test_overrides_change_the_spec(tmp_path: Path) -> None:
    summary = run_rules(str(SHOP), None, tmp_path / "o", 1, None, "csv", {"customers.rows": "40"})
    assert summary["customers"] == 40
    df = pd.read_csv(tmp_path / "o" / "customers.csv")
    assert len(df) == 40
    run_rules(
        str(SHOP),
        400,
        tmp_path / "o",
        1,
        None,
        "csv",
        {"tables.customers.columns.age.mean": "80", "customers.columns.age.sd": "1"},
    )
    assert pd.read_csv(tmp_path / "o" / "customers.csv")["age"].between(75, 85).all()
    with pytest.raises(SpecError, match="override customers.colums.age: no field 'colums'"):
        run_rules(str(SHOP), 10, tmp_path / "x", 1, None, "csv", {"customers.colums.age": "1"})


def test_a_failure_midway_leaves_no_output_and_a_rerun_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simulacra.rules.writer as writer

    calls = {"n": 0}
    real = writer.to_arrow

    def flaky(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "to_arrow", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        run_rules(str(SHOP), 3_000, tmp_path / "out", 1, None, "parquet", {}, chunk_rows=CHUNK)
    # no output, only the hidden staging folder with the one finished part (customers + orders)
    assert [x.name for x in tmp_path.iterdir()] == [".out.simulacra-staging"]
    manifest = (tmp_path / ".out.simulacra-staging" / "manifest.jsonl").read_text().splitlines()
    assert len(manifest) == 1
    before = calls["n"]
    run_rules(str(SHOP), 3_000, tmp_path / "out", 1, None, "parquet", {}, chunk_rows=CHUNK)
    assert calls["n"] - before == 2 * 2  # the two parts left, two tables each: part 0 was not redone
    assert [x.name for x in tmp_path.iterdir()] == ["out"]
    monkeypatch.setattr(writer, "to_arrow", real)
    run_rules(str(SHOP), 3_000, tmp_path / "clean", 1, None, "parquet", {}, chunk_rows=CHUNK)
    for table in ("customers", "orders"):
        resumed = sorted((tmp_path / "out" / f"{table}.parquet").iterdir())
        clean = sorted((tmp_path / "clean" / f"{table}.parquet").iterdir())
        assert [f.read_bytes() for f in resumed] == [f.read_bytes() for f in clean]


def test_a_changed_job_does_not_reuse_staged_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import simulacra.rules.writer as writer

    real = writer.to_arrow
    calls = {"n": 0}

    def flaky(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("stop")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer, "to_arrow", flaky)
    with pytest.raises(RuntimeError):
        run_rules(str(SHOP), 3_000, tmp_path / "out", 1, None, "csv", {}, chunk_rows=CHUNK)
    monkeypatch.setattr(writer, "to_arrow", real)
    run_rules(str(SHOP), 3_000, tmp_path / "out", 2, None, "csv", {}, chunk_rows=CHUNK)  # other seed
    run_rules(str(SHOP), 3_000, tmp_path / "ref", 2, None, "csv", {}, chunk_rows=CHUNK)
    for table in ("customers", "orders"):
        got = (tmp_path / "out" / f"{table}.csv").read_bytes()
        assert got == (tmp_path / "ref" / f"{table}.csv").read_bytes()


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    for kwargs, message in (
        ({"fmt": "xlsx"}, "use one of parquet, csv, jsonl"),
        ({"n": -1}, "cannot be negative"),
        ({"chunks": 0}, "at least 1"),
    ):
        args = {"n": 10, "chunks": None, "fmt": "csv"} | kwargs
        with pytest.raises(SimulacraError, match=message):
            run_rules(str(SHOP), args["n"], tmp_path / "o", 1, args["chunks"], args["fmt"], {})
    with pytest.raises(SpecError, match=r"no such spec file or pack \(packs: .*shop"):
        run_rules(str(tmp_path / "nope.yaml"), 10, tmp_path / "o", 1, None, "csv", {})
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# Bad specs: one clear error naming file, line and field, before anything is written

T10 = "tables:\n  t:\n    rows: 10\n    columns:\n"
HEAD = T10 + "      a: {type: number, distribution: normal, mean: 0, sd: 1}\n"

BAD_SPECS = [
    (
        HEAD + "      b: {type: numbr}\n",
        6,
        "tables.t.columns.b.type: unknown column type 'numbr' (use one of",
    ),
    (
        HEAD + "      b: {type: number, distribution: normall, mean: 1, sd: 1}\n",
        6,
        "tables.t.columns.b.distribution: unknown distribution 'normall' (use one of normal, lognormal",
    ),
    (
        HEAD + "      b:\n        type: number\n        distribution: normal\n        mean: 1\n",
        6,
        "tables.t.columns.b: distribution 'normal' needs parameter 'sd'",
    ),
    (
        HEAD + "      b: {type: sequence, strat: 3}\n",
        6,
        "tables.t.columns.b.strat: unknown parameter 'strat' (expected one of missing, start, step)",
    ),
    (
        HEAD + "      b: {type: datetime, start: '2020-01-01'}\n",
        6,
        "tables.t.columns.b.end: missing required parameter",
    ),
    (
        HEAD + "      b: {type: choice, values: {x: 0.5, y: 0.6}}\n",
        6,
        "tables.t.columns.b.values: weights must sum to 1 (they sum to 1.1)",
    ),
    (
        HEAD + "      b: {type: expression, expr: 'a + c'}\n",
        6,
        "tables.t.columns.b.expr: unknown column 'c' in 'a + c' (earlier columns: a)",
    ),
    (HEAD + "      b: {type: expression, expr: 'b * 2'}\n", 6, "unknown column 'b'"),
    (HEAD + '      b: {type: expression, expr: "a.__class__"}\n', 6, "'Attribute' is not allowed"),
    (HEAD + "      b: {type: expression, expr: \"open('x')\"}\n", 6, "unknown function 'open'"),
    (
        HEAD + "      b:\n        type: choice\n        values: [x, y]\n        when:\n"
        '          - {if: "zz > 1", values: [x]}\n',
        10,
        "tables.t.columns.b.when.0.if: unknown column 'zz'",
    ),
    (
        HEAD + "      b: {type: number, distribution: uniform, min: 5, max: 1}\n",
        6,
        "tables.t.columns.b.min: min (5) is greater than max (1)",
    ),
    (
        HEAD + "      b: {type: datetime, start: '2021-01-01', end: '2020-01-01'}\n",
        6,
        "start (2021-01-01) is after end",
    ),
    (HEAD + "      b: {type: person, field: shoe_size}\n", 6, "unknown person field 'shoe_size'"),
    (
        HEAD + "      s: {type: choice, values: [x, y]}\n      b: {type: expression, expr: 's - a'}\n",
        7,
        "tables.t.columns.b.expr: cannot be evaluated (",
    ),
    (HEAD + "      b: {type: sequence, null: 0.1}\n", 6, "for missing values write 'missing: share'"),
    (
        HEAD + "      b: {type: person, field: email, missing: 1.5}\n",
        6,
        "tables.t.columns.b.missing: Input should be less",
    ),
    (
        T10
        + "      a: {type: sequence, missing: 0.1}\n  u:\n    per_parent: {parent: t, lam: 2}\n    columns:\n"
        "      f: {type: foreign_key, references: t.a}\n",
        9,
        "'t.a' has missing values, so it cannot be referenced",
    ),
    (
        HEAD + "  u:\n    per_parent: {parent: t, lam: 2}\n    columns:\n"
        "      f: {type: foreign_key, references: nope.id}\n",
        9,
        "tables.u.columns.f.references: unknown table 'nope' (tables: t, u)",
    ),
    (
        HEAD + "  u:\n    per_parent: {parent: t, lam: 2}\n    columns:\n"
        "      f: {type: foreign_key, references: t.id}\n",
        9,
        "table 't' has no column 'id' (columns: a)",
    ),
    (
        HEAD + "  u:\n    rows: 3\n    columns:\n      f: {type: foreign_key, references: t.a}\n",
        9,
        "must reference a sequence or unique_id column ('t.a' is number)",
    ),
    (
        HEAD + "  u:\n    per_parent: {parent: t, lam: 2}\n    columns:\n"
        "      f: {type: timeline, parent_column: t.a, gap: {distribution: exponential, scale: 1}}\n",
        9,
        "'t.a' is not a datetime or timeline column",
    ),
    (
        "tables:\n  a:\n    per_parent: {parent: b, lam: 1}\n    columns:\n      x: {type: sequence}\n"
        "  b:\n    per_parent: {parent: a, lam: 1}\n    columns:\n      y: {type: sequence}\n",
        3,
        "tables.a.per_parent.parent: parent cycle: a -> b -> a",
    ),
    (
        "tables:\n  a:\n    per_parent: {parent: zz, lam: 1}\n    columns:\n      x: {type: sequence}\n",
        3,
        "tables.a.per_parent.parent: unknown table 'zz'",
    ),
    (
        "tables:\n  t:\n    rows: 1001\n    columns:\n      u: {type: unique_id, width: 3}\n",
        5,
        "tables.t.columns.u.width: width 3 allows 1,000 ids but the table has 1,001 rows",
    ),
    ("tables:\n  t:\n    rows: 10\n    columns:\n      a: {type: sequence\n", 6, "invalid YAML"),
    (
        T10 + "      a: {type: number, distribution: gamma, shape: -1, scale: 1}\n",
        5,
        "tables.t.columns.a.shape: shape must be > 0",
    ),
    (
        T10 + "      a: {type: number, distribution: empirical, values: [1, 2], weights: [1]}\n",
        5,
        "1 weights for 2 values",
    ),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_SPECS, ids=[m[:40] for _, _, m in BAD_SPECS])
def test_bad_specs_name_file_line_and_field(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    with pytest.raises(SpecError) as info:
        run_rules(str(path), None, out, 1, None, "parquet", {})
    text_msg = str(info.value)
    assert text_msg.startswith(f"{path}: line {line}: "), text_msg
    assert message in text_msg, text_msg
    assert isinstance(info.value, SimulacraError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]  # nothing written


def test_spec_errors_without_a_file_still_name_the_field() -> None:
    with pytest.raises(
        SpecError, match=re.escape("<spec>: tables.t.columns.a.type: unknown column type 'x'")
    ):
        load_spec({"tables": {"t": {"rows": 1, "columns": {"a": {"type": "x"}}}}})
    with pytest.raises(SpecError, match="missing required parameter 'rows'"):
        generate({"tables": {"t": {"columns": {"a": {"type": "sequence"}}}}})
    assert len(generate({"tables": {"t": {"columns": {"a": {"type": "sequence"}}}}}, n=7)["t"]) == 7


# --------------------------------------------------------------------------------------------------
# Contracts and edge cases


def test_values_come_from_the_seed_table_column_and_chunk_alone() -> None:
    from simulacra.seeding import derive_rng

    spec = "tables:\n  t:\n    rows: 2500\n    columns:\n"
    spec += "      x: {type: number, distribution: gamma, shape: 2, scale: 3}\n"
    df = _gen(spec, seed=21)["t"]
    for k in range(3):
        expected = derive_rng(21, "rules", "t", "x", k).gamma(2, 3, min(CHUNK, 2500 - k * CHUNK))
        assert np.array_equal(df["x"].to_numpy()[k * CHUNK : (k + 1) * CHUNK], expected)


EDGE = """
tables:
  a:
    rows: 2500
    columns:
      id: {type: unique_id, prefix: A, width: 5}
      t0: {type: datetime, start: "2021-01-01", end: "2021-12-31", format: "%Y-%m-%d"}
      s: {type: choice, values: [x, y]}
      one: {type: expression, expr: "1"}
      late: {type: expression, expr: "t0 > '2021-06-01'"}
      hit: {type: expression, expr: "id == 'A00001' or s == 'x'"}
  b:
    per_parent: {parent: a, distribution: poisson, lam: 0.0004}
    columns:
      aid: {type: foreign_key, references: a.id}
      s2: {type: foreign_key, references: a.s}
      t1: {type: timeline, parent_column: a.t0, gap: {distribution: normal, mean: 10, sd: 100}}
  z:
    rows: 0
    columns:
      q: {type: sequence}
"""


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_empty_chunks_and_empty_tables_are_written(tmp_path: Path, fmt: str) -> None:
    summary = run_rules(EDGE, None, tmp_path / "o", 2, 1, fmt, {}, chunk_rows=CHUNK)
    assert summary["a"] == 2500 and summary["z"] == 0 and summary["b"] < 10
    if fmt == "parquet":
        a = pd.read_parquet(tmp_path / "o" / "a.parquet")
        b = pd.read_parquet(tmp_path / "o" / "b.parquet")
        assert len(pd.read_parquet(tmp_path / "o" / "z.parquet")) == 0
        day = pd.to_datetime(a["t0"])
        other = day != "2021-06-01"  # on that day the (unformatted) time decides
        assert (a["one"] == 1).all() and (a["late"][other] == (day[other] > "2021-06-01")).all()
        assert (a["hit"] == (a["s"] == "x")).all()
        assert len(b) == summary["b"] and b["aid"].isin(a["id"]).all()
    else:
        assert (tmp_path / "o" / f"b.{fmt}").exists() and (tmp_path / "o" / f"z.{fmt}").exists()


def test_bundled_pack_loads_by_name(tmp_path: Path) -> None:
    from simulacra.rules import list_packs

    assert "shop" in list_packs()
    import yaml

    from simulacra.rules.spec import PACKS_DIR

    assert yaml.safe_load((PACKS_DIR / "shop.yaml").read_text()) == yaml.safe_load(SHOP.read_text())
    summary = run_rules("shop", 300, tmp_path / "o", 1, None, "csv", {})
    assert summary["customers"] == 300
    assert len(pd.read_csv(tmp_path / "o" / "orders.csv")) == summary["orders"] > 0


def test_missing_shares_are_written_as_missing_values(tmp_path: Path) -> None:
    spec = """
tables:
  t:
    rows: 3000
    columns:
      id: {type: unique_id, width: 6, missing: 0.2}
      s: {type: choice, values: [a, b], missing: 0.1}
      x: {type: number, distribution: normal, mean: 0, sd: 1, missing: 0.3}
      at: {type: datetime, start: "2020-01-01", end: "2020-02-01", missing: 0.05}
      name: {type: person, field: first_name, missing: 0.5}
      y: {type: expression, expr: "x * 2"}
"""
    run_rules(spec, None, tmp_path / "o", 1, None, "parquet", {}, chunk_rows=CHUNK)
    df = pd.read_parquet(tmp_path / "o" / "t.parquet")
    shares = df.isna().mean()
    for column, share in {"id": 0.2, "s": 0.1, "x": 0.3, "at": 0.05, "name": 0.5}.items():
        assert abs(shares[column] - share) < 0.03, column
    assert shares["y"] == 0  # expressions see the drawn values; only the output of x is masked
    assert df["id"].dropna().is_unique


def test_progress_hears_every_row_once(tmp_path: Path) -> None:
    from simulacra.progress import Progress

    class Recorder(Progress):
        def __init__(self) -> None:
            super().__init__()
            self.starts: list[tuple[int | None, str | None]] = []
            self.steps: list[int] = []

        def start(self, total: int | None, label: str | None = None) -> None:
            super().start(total, label)
            self.starts.append((total, label))

        def advance(self, k: int = 1) -> None:
            super().advance(k)
            self.steps.append(k)

    seen = Recorder()
    summary = run_rules(str(SHOP), 1_500, tmp_path / "o", 1, None, "parquet", {}, seen, chunk_rows=CHUNK)
    total = sum(summary.values())
    assert seen.starts == [(total, "rules")]
    assert sum(seen.steps) == seen.done == total
    assert len(seen.steps) == 2  # one report per unit (1,500 customers in chunks of 1,000)
    plain: list[int] = []  # a plain callable is a progress too
    run_rules(str(SHOP), 1_500, tmp_path / "p", 1, None, "csv", {}, plain.append, chunk_rows=CHUNK)
    assert sum(plain) == total


def test_cli_rules_writes_tables_and_refuses_bad_specs(tmp_path: Path) -> None:
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "simulacra", "rules", *args], capture_output=True, text=True, timeout=120
        )

    ok = run("shop", "-n", "500", "--out", str(tmp_path / "out"), "--seed", "4", "--format", "csv", "--quiet")
    assert ok.returncode == 0, ok.stderr
    customers = pd.read_csv(tmp_path / "out" / "customers.csv")
    orders = pd.read_csv(tmp_path / "out" / "orders.csv")
    assert len(customers) == 500
    assert orders["customer_id"].isin(customers["customer_id"]).all()
    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text(
        "tables:\n  t:\n    rows: 10\n    columns:\n      x: {type: number, distribution: normall}\n"
    )
    bad = run(str(bad_spec), "--out", str(tmp_path / "bad_out"))
    assert bad.returncode == 2
    assert bad.stderr.startswith("error:") and "line 5" in bad.stderr and "normall" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad_out").exists()
