"""TabularSynthesizer on real data (UCI Adult): fidelity, conditions, constraints, privacy, persistence."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from simulacra import TabularSynthesizer
from simulacra.datasets import load_adult
from simulacra.errors import ConditionError, ConstraintError, DataError, ModelFormatError, UsageError
from simulacra.evaluation.tabular.fidelity import accuracy
from simulacra.evaluation.tabular.privacy import identical_match_share
from simulacra.schema import Schema, infer_schema
from simulacra.schema.kinds import Kind
from simulacra.tabular.models import SequentialTrees, model_params


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult("train")


@pytest.fixture(scope="module")
def small(adult: pd.DataFrame) -> pd.DataFrame:
    return adult.sample(6000, random_state=1)  # keeps Adult's row labels, so the rest can be a holdout


@pytest.fixture(scope="module")
def fitted(small: pd.DataFrame) -> TabularSynthesizer:
    return TabularSynthesizer(seed=3).fit(small)


def test_sample_has_shape_types_and_values_of_the_training_table(small, fitted) -> None:
    syn = fitted.sample(4000)
    assert list(syn.columns) == list(small.columns)
    assert len(syn) == 4000
    for col in small.columns:
        assert pd.api.types.is_numeric_dtype(syn[col]) == pd.api.types.is_numeric_dtype(small[col]), col
    for col in ("workclass", "education", "income", "native-country"):
        assert set(syn[col].dropna()) <= set(small[col].dropna()), col
    assert syn["age"].between(small["age"].min(), small["age"].max()).all()


def test_fidelity_is_close_to_a_real_sample(adult, small, fitted) -> None:
    syn = fitted.sample(6000, seed=1)
    real_other = adult.drop(small.index).sample(6000, random_state=2)
    fid_syn = accuracy(small, syn)["overall"]
    fid_real = accuracy(small, real_other)["overall"]
    assert fid_syn > 0.95
    assert fid_syn > fid_real - 0.03
    # and far better than columns shuffled independently (no joint structure)
    shuffled = pd.DataFrame(
        {c: small[c].sample(frac=1, random_state=i).to_numpy() for i, c in enumerate(small.columns)}
    )
    assert accuracy(small, syn)["bivariate"] > accuracy(small, shuffled)["bivariate"] + 0.03


def test_missing_values_are_learned_with_their_dependence(small, fitted) -> None:
    syn = fitted.sample(6000, seed=2)
    real_rate = small["occupation"].isna().mean()
    assert abs(syn["occupation"].isna().mean() - real_rate) < 0.02
    # in Adult, occupation is missing when workclass is missing: the dependence must survive
    real_joint = small.loc[small["workclass"].isna(), "occupation"].isna().mean()
    syn_joint = syn.loc[syn["workclass"].isna(), "occupation"].isna().mean()
    assert real_joint > 0.95
    assert syn_joint > 0.8


def test_same_seed_same_rows_whatever_the_chunking(fitted) -> None:
    a = fitted.sample(3000, seed=11)
    b = fitted.sample(3000, seed=11)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(fitted.sample(3000, seed=12))
    whole = pd.concat(list(fitted.iter_sample(3000, seed=11, chunk_rows=1000)), ignore_index=True)
    prefix = pd.concat(list(fitted.iter_sample(2000, seed=11, chunk_rows=1000)), ignore_index=True)
    pd.testing.assert_frame_equal(whole.iloc[:2000], prefix)


def test_no_training_row_is_copied_more_than_a_real_sample_repeats_them(adult, small, fitted) -> None:
    syn = fitted.sample(6000, seed=5)
    real_other = adult.drop(small.index).sample(6000, random_state=5)
    assert identical_match_share(small, syn) <= identical_match_share(small, real_other)


def test_condition_on_category_is_exact_and_keeps_the_conditional_distribution(small, fitted) -> None:
    syn = fitted.sample(3000, conditions={"income": ">50K"}, seed=6)
    assert (syn["income"] == ">50K").all()
    real_share = (small.loc[small["income"] == ">50K", "sex"] == "Female").mean()
    assert abs((syn["sex"] == "Female").mean() - real_share) < 0.05
    assert syn["age"].mean() > small.loc[small["income"] == "<=50K", "age"].mean() + 3


def test_several_conditions_and_numeric_ranges(small, fitted) -> None:
    syn = fitted.sample(
        2000, conditions={"sex": "Female", "age": (30, 40), "race": ["Black", "Asian-Pac-Islander"]}, seed=7
    )
    assert (syn["sex"] == "Female").all()
    assert syn["age"].between(30, 40).all()
    assert syn["race"].isin(["Black", "Asian-Pac-Islander"]).all()
    # a column conditioned late in the column order still shapes the earlier ones
    real = small[(small["sex"] == "Female") & small["age"].between(30, 40)]
    assert (
        abs(
            (syn["marital-status"] == "Married-civ-spouse").mean()
            - (real["marital-status"] == "Married-civ-spouse").mean()
        )
        < 0.1
    )


def test_rare_condition_is_met_without_giving_up(small, fitted) -> None:
    rare = small["native-country"].value_counts()
    value = rare[rare >= 5].index[-1]  # a rare but learned country
    syn = fitted.sample(500, conditions={"native-country": value, "income": ">50K"}, seed=8)
    assert len(syn) == 500
    assert (syn["native-country"] == value).all() and (syn["income"] == ">50K").all()


def test_rebalance_makes_classes_equal(fitted) -> None:
    syn = fitted.sample(1001, rebalance="income", seed=9)
    counts = syn["income"].value_counts()
    assert set(counts.index) == {"<=50K", ">50K"}
    assert abs(counts.iloc[0] - counts.iloc[1]) <= 1


@pytest.mark.parametrize(
    ("conditions", "fragment"),
    [
        ({"nope": 1}, "unknown column 'nope'"),
        ({"income": "rich"}, "never occurs in column 'income'"),
        ({"age": "abc"}, "not a number"),
        ({"age": (200, 300)}, "impossible"),
        ({"age": (40, 30)}, "empty"),
        ({"income": (1, 2)}, "categorical"),
    ],
)
def test_bad_conditions_raise_one_clear_error(fitted, conditions, fragment) -> None:
    with pytest.raises(ConditionError, match=fragment):
        fitted.sample(10, conditions=conditions)


def test_bad_sample_requests(fitted) -> None:
    for n in (0, -3):
        with pytest.raises(UsageError, match="positive"):
            fitted.sample(n)
    with pytest.raises(ConditionError, match="categorical"):
        fitted.sample(10, rebalance="age")


def test_save_load_gives_identical_samples_and_no_pickle(tmp_path, fitted) -> None:
    fitted.save(tmp_path / "m")
    loaded = TabularSynthesizer.load(tmp_path / "m")
    pd.testing.assert_frame_equal(fitted.sample(2000, seed=4), loaded.sample(2000, seed=4))
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["arrays.npz", "model.json"]
    with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


def test_newer_or_damaged_model_is_refused(tmp_path, fitted) -> None:
    fitted.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    meta["format_version"] = 99
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="newer"):
        TabularSynthesizer.load(tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match="damaged"):
        TabularSynthesizer.load(tmp_path / "m")


def test_estimator_contract_params_and_sampling_plan(small, fitted) -> None:
    """Parameters from the signature (an unfitted copy from them), and the public sampling plan."""
    assert fitted.get_params() == {"model": "trees", "seed": 3}
    synth = TabularSynthesizer("trees", seed=2, min_samples_leaf=20)
    assert synth.get_params() == {"model": "trees", "seed": 2, "min_samples_leaf": 20}
    assert TabularSynthesizer(**synth.get_params()).get_params() == synth.get_params()
    assert model_params("trees") == ["min_samples_leaf", "max_depth", "order", "seed", "leaf_scoring"]
    assert model_params("copula") == ["seed"]
    assert SequentialTrees(min_samples_leaf=5).get_params()["min_samples_leaf"] == 5
    plan = fitted.plan(3000, conditions={"sex": "Female"}, seed=11, chunk_rows=1000)
    chunks = list(fitted.iter_sample(3000, conditions={"sex": "Female"}, seed=11, chunk_rows=1000))
    pd.testing.assert_frame_equal(fitted.sample_chunk(plan, 2), chunks[2])
    with pytest.raises(UsageError, match="chunk 3 is out of range"):
        fitted.sample_chunk(plan, 3)
    with pytest.raises(ConditionError, match="nope"):
        fitted.plan(10, conditions={"nope": 1})
    with pytest.raises(UsageError, match="not fitted"):
        TabularSynthesizer().plan(10)
    with pytest.raises(UsageError, match="unknown synthesizer 'nope'"):
        TabularSynthesizer("nope").fit(small)


def test_kinds_fix_column_kinds_and_overrides_is_a_deprecated_alias(small) -> None:
    head = small.head(500)
    synth = TabularSynthesizer(seed=0).fit(head, kinds={"age": "float"})
    assert synth.schema_.columns["age"].kind == Kind.FLOAT
    with pytest.warns(DeprecationWarning, match="kinds="):
        old = TabularSynthesizer(seed=0).fit(head, overrides={"age": "float"})
    pd.testing.assert_frame_equal(old.sample(200), synth.sample(200))


def _damage(model, folder, name: str):  # noqa: ANN001, ANN202
    """A copy of a saved model, damaged as a disk or a hand edit would damage it."""
    target = folder / name
    shutil.copytree(model, target)
    meta = json.loads((target / "model.json").read_text())
    if name == "truncated":
        arrays = target / "arrays.npz"
        arrays.write_bytes(arrays.read_bytes()[: arrays.stat().st_size // 2])
    elif name == "garbled":
        (target / "model.json").write_text(json.dumps(meta)[:-30])
    elif name == "edited":
        del meta["model_columns"]
        (target / "model.json").write_text(json.dumps(meta))
    elif name == "missing_array":
        with np.load(target / "arrays.npz") as z:
            kept = {k: z[k] for k in z.files if not k.startswith("model.tree3.")}
        np.savez_compressed(target / "arrays.npz", **kept)
    return target


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("truncated", ["truncated/arrays.npz", "damaged", "refit"]),
        ("garbled", ["garbled/model.json", "not valid json", "refit"]),
        ("edited", ["edited/model.json", "'model_columns' is missing", "refit"]),
        ("missing_array", ["missing_array/arrays.npz", "tree3", "refit"]),
    ],
)
def test_damaged_model_directory_is_one_line_through_the_cli(tmp_path, fitted_model, cli, name, fragments):  # noqa: ANN001
    """`simulacra sample` on a damaged model: one line naming the file and what to do, exit 2."""
    _damage(fitted_model.path, tmp_path, name)
    with ThreadPoolExecutor(2) as pool:  # the streamed and the scale-engine path read the model alike
        runs = [
            pool.submit(cli, "sample", name, "-n", "10", "--out", "x.csv", cwd=tmp_path),
            pool.submit(cli, "sample", name, "-n", "10", "--workers", "2", "--out", "y.csv", cwd=tmp_path),
        ]
        for result in (r.result() for r in runs):
            shown = f"rc={result.returncode}\nstderr={result.stderr!r}"
            assert result.returncode == 2 and "Traceback" not in result.stderr, shown
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error:"), shown
            assert "internal error" not in lines[0], shown
            for fragment in fragments:
                assert fragment.lower() in lines[0].lower(), shown
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "y.csv").exists()


def test_copula_baseline_fits_samples_conditions_and_saves(tmp_path, small) -> None:
    cop = TabularSynthesizer("copula", seed=1).fit(small)
    syn = cop.sample(3000)
    assert accuracy(small, syn)["univariate"] > 0.95
    cond = cop.sample(500, conditions={"sex": "Female", "income": ">50K"})
    assert (cond["sex"] == "Female").all() and (cond["income"] == ">50K").all()
    cop.save(tmp_path / "c")
    pd.testing.assert_frame_equal(
        cop.sample(100, seed=2), TabularSynthesizer.load(tmp_path / "c").sample(100, seed=2)
    )


def test_too_few_rows_and_duplicate_columns(small) -> None:
    with pytest.raises(DataError, match="at least"):
        TabularSynthesizer().fit(small.head(1))
    dup = small.head(50).copy()
    dup.columns = ["age"] * len(dup.columns)
    with pytest.raises(DataError, match="twice"):
        TabularSynthesizer().fit(dup)


def test_constant_all_null_and_mixed_columns_work(small) -> None:
    df = small.head(500).copy()
    df["const"] = 7
    df["empty"] = np.nan
    df["mixed"] = np.where(np.arange(len(df)) % 3 == 0, "n/a", (np.arange(len(df)) % 5).astype(str))
    syn = TabularSynthesizer(seed=1).fit(df).sample(300)
    assert (syn["const"] == 7).all()
    assert syn["empty"].isna().all()
    assert set(syn["mixed"]) <= set(df["mixed"])


def test_pyarrow_input_is_accepted(small) -> None:
    syn = TabularSynthesizer(seed=1).fit(pa.Table.from_pandas(small.head(800))).sample(100)
    assert list(syn.columns) == list(small.columns)


# -- constraints ---------------------------------------------------------------------------------


def _bookings(adult: pd.DataFrame) -> pd.DataFrame:
    """A hotel-bookings table derived from real Adult rows (dates, stays and prices follow the data)."""
    df = adult.head(4000)
    checkin = pd.Timestamp("2024-01-01") + pd.to_timedelta(df["age"] * 5 + df["education-num"], unit="D")
    nights = (df["hours-per-week"] // 10 + 1).astype(int)
    price = (df["fnlwgt"] % 200 + 50).astype(float)
    return pd.DataFrame(
        {
            "checkin": checkin.dt.strftime("%Y-%m-%d"),
            "checkout": (checkin + pd.to_timedelta(nights, unit="D")).dt.strftime("%Y-%m-%d"),
            "price": price,
            "nights": nights,
            "total": price * nights,
            "education": df["education"].to_numpy(),
            "education-num": df["education-num"].to_numpy(),
            "age": df["age"].to_numpy(),
        }
    )


def test_constraints_hold_on_every_row(adult) -> None:
    df = _bookings(adult)
    schema = infer_schema(df)
    assert schema.columns["checkin"].format == "%Y-%m-%d"
    schema = Schema.from_dict(
        {
            **schema.to_dict(),
            "constraints": [
                {"inequality": "checkout > checkin"},
                {"fixed": ["education", "education-num"]},
                {"formula": "total = price * nights"},
                {"range": "age", "min": 18, "max": 80},
            {"range": "total", "min": 50},
            ],
        }
    )
    df = df[df["age"].between(18, 80)]
    synth = TabularSynthesizer(seed=2).fit(df, schema=schema)
    syn = synth.sample(5000)
    cin = pd.to_datetime(syn["checkin"], format="%Y-%m-%d")
    cout = pd.to_datetime(syn["checkout"], format="%Y-%m-%d")
    assert (cout > cin).all()
    real_pairs = set(map(tuple, df[["education", "education-num"]].to_numpy().tolist()))
    assert set(map(tuple, syn[["education", "education-num"]].to_numpy().tolist())) <= real_pairs
    assert np.allclose(syn["total"], syn["price"] * syn["nights"])
    assert syn["age"].between(18, 80).all()
    assert (syn["total"] >= 50).all()
    # the learned stay length follows the data, it is not just "anything positive"
    stay = (cout - cin).dt.days
    real_stay = (pd.to_datetime(df["checkout"]) - pd.to_datetime(df["checkin"])).dt.days
    assert abs(stay.mean() - real_stay.mean()) < 0.5
    # a condition on one column of a fixed combination keeps the combination valid
    cond = synth.sample(300, conditions={"education": "Masters"})
    assert (cond["education-num"] == 14).all()


def test_constraint_violated_by_training_data_is_reported(adult) -> None:
    df = _bookings(adult)
    schema = Schema.from_dict(
        {**infer_schema(df).to_dict(), "constraints": [{"inequality": "checkin > checkout"}]}
    )
    with pytest.raises(ConstraintError, match="violated by 4000 training rows"):
        TabularSynthesizer().fit(df, schema=schema)


def test_cannot_condition_on_a_computed_column(adult) -> None:
    df = _bookings(adult)
    schema = Schema.from_dict(
        {**infer_schema(df).to_dict(), "constraints": [{"formula": "total = price * nights"}]}
    )
    synth = TabularSynthesizer(seed=1).fit(df, schema=schema)
    with pytest.raises(ConditionError, match="computed"):
        synth.sample(10, conditions={"total": (100, 200)})


# -- PII, ids and free text ----------------------------------------------------------------------


def test_pii_columns_are_regenerated_and_canaries_never_leak(small) -> None:
    df = small.head(3000).reset_index(drop=True)
    rng = np.random.default_rng(0)
    first = rng.choice(["Alice", "Bob", "Carmen", "Deepak", "Erin"], len(df))
    last = rng.choice(["Okafor", "Lindqvist", "Tanaka", "Moreau"], len(df))
    df.insert(0, "customer_id", [f"C{i:06d}" for i in range(len(df))])
    df["full_name"] = [f"{f} {ln}" for f, ln in zip(first, last, strict=True)]
    df["email"] = [
        f"{f.lower()}.{ln.lower()}{i}@corp-mail.io" for i, (f, ln) in enumerate(zip(first, last, strict=True))
    ]
    df["phone"] = [f"(415) 6{i % 100:02d}-{1000 + i:04d}" for i in range(len(df))]
    df.loc[17, ["full_name", "email"]] = ["Zyxq Canarywood", "zyxq.canary.8812@corp-mail.io"]
    synth = TabularSynthesizer(seed=1).fit(df)
    kinds = {n: (c.pii.value if c.pii else c.kind.value) for n, c in synth.schema_.columns.items()}
    assert kinds["email"] == "email" and kinds["full_name"] == "person_name" and kinds["phone"] == "phone"
    assert kinds["customer_id"] == "id"
    syn = synth.sample(5000)
    for col in ("email", "full_name", "phone", "customer_id"):
        assert not set(syn[col]) & set(df[col]), col
    assert syn["customer_id"].is_unique
    # consistent within a row: the email is made from the person's name
    last_syn = syn["full_name"].str.split().str[-1].str.lower().str.replace(r"[^a-z]", "", regex=True)
    local = syn["email"].str.split("@").str[0]
    made_from_name = [ln in e for ln, e in zip(last_syn, local, strict=True)]
    assert np.mean(made_from_name) > 0.95


def test_free_text_is_not_copied(small) -> None:
    df = small.head(400).copy()
    df["comment"] = [
        f"customer {i} said the {w} service was slow on tuesday"
        for i, w in enumerate(df["occupation"].fillna("unknown"))
    ]
    synth = TabularSynthesizer(seed=1).fit(df)
    assert synth.schema_.columns["comment"].kind.value == "text"
    syn = synth.sample(400)
    assert not set(syn["comment"]) & set(df["comment"])


# -- scale ---------------------------------------------------------------------------------------


def test_high_cardinality_and_wide_tables_work(small) -> None:
    rng = np.random.default_rng(3)
    n = 30_000
    big = pd.DataFrame(
        {
            "product": [f"P{v}" for v in rng.zipf(1.3, n) % 20_000],
            "qty": rng.poisson(3, n),
        }
    )
    synth = TabularSynthesizer(seed=1).fit(big)
    syn = synth.sample(10_000)
    assert syn["product"].nunique() > 500
    assert set(syn["product"]) <= set(big["product"])
    wide = pd.concat([small.head(400).reset_index(drop=True)] * 1, axis=1)
    extra = pd.DataFrame(rng.normal(size=(400, 210)), columns=[f"x{i}" for i in range(210)])
    extra["x1"] = extra["x0"] * 2 + rng.normal(scale=0.1, size=400)
    wide = pd.concat([wide, extra], axis=1)
    syn_w = TabularSynthesizer(seed=1).fit(wide).sample(400)
    assert syn_w.shape == (400, wide.shape[1])
    assert np.corrcoef(syn_w["x0"], syn_w["x1"])[0, 1] > 0.8
