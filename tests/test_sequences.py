"""Sequences: entities with histories learned from real data (sktime's Japanese vowels, statsmodels'
macrodata) and sampled; determinism, persistence, conditions, privacy, the report section, and every
bad input refused through the real ``simulacra`` command with one line and exit code 2."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulacra.errors import ConditionError, DataError, ModelFormatError, UsageError
from simulacra.evaluation.sequences import compare_sequences, sequence_section
from simulacra.sequences import ENTITY_CHUNK, SequenceSynthesizer, is_sequence_model, make_windows

Runner = Callable[..., subprocess.CompletedProcess]
CHANNELS = [f"c{i}" for i in range(12)]
KEY, ORDER = "utterance", "frame"


# --------------------------------------------------------------------------------------------------
# real data


@pytest.fixture(scope="module")
def vowels() -> pd.DataFrame:
    """sktime's Japanese vowels in long format: utterance, speaker (context), frame, 12 channels."""
    from sktime.datasets import load_japanese_vowels

    x, y = load_japanese_vowels(return_type="pd-multiindex")
    df = x.reset_index()
    df.columns = [KEY, ORDER, *CHANNELS]
    df.insert(1, "speaker", np.asarray(y)[df[KEY].to_numpy()].astype(str))
    return df


@pytest.fixture(scope="module")
def split(vowels: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    ids = np.random.default_rng(0).permutation(vowels[KEY].nunique())
    train = vowels[vowels[KEY].isin(ids[:480])].reset_index(drop=True)
    holdout = vowels[vowels[KEY].isin(ids[480:])].reset_index(drop=True)
    return train, holdout


@pytest.fixture(scope="module")
def model(split: tuple[pd.DataFrame, pd.DataFrame]) -> SequenceSynthesizer:
    return SequenceSynthesizer(seed=0).fit(split[0], KEY, order_by=ORDER, context=["speaker"])


@pytest.fixture(scope="module")
def synthetic(model: SequenceSynthesizer) -> pd.DataFrame:
    return model.sample(480, seed=1)


@pytest.fixture(scope="module")
def macro() -> pd.DataFrame:
    """statsmodels' quarterly US macrodata with a real date column."""
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    d["date"] = pd.PeriodIndex.from_fields(
        year=d["year"].astype(int), quarter=d["quarter"].astype(int), freq="Q"
    ).to_timestamp()
    return d.drop(columns=["year", "quarter"])


# --------------------------------------------------------------------------------------------------
# the model


def test_sample_has_the_shape_of_the_data(split, model, synthetic) -> None:
    train = split[0]
    assert list(synthetic.columns) == list(train.columns)
    assert synthetic[KEY].nunique() == 480
    lengths = synthetic.groupby(KEY).size()
    real = train.groupby(KEY).size()
    assert lengths.min() >= real.min() and lengths.max() <= real.max()
    assert lengths.std() > 1.5  # variable lengths, not one fixed length
    # frames count 0, 1, 2, ... inside every entity; context constant per entity
    assert (synthetic.groupby(KEY)[ORDER].diff().dropna() == 1).all()
    assert (synthetic.groupby(KEY)[ORDER].min() == 0).all()
    assert (synthetic.groupby(KEY)["speaker"].nunique() == 1).all()
    assert set(synthetic["speaker"]) <= set(train["speaker"])
    assert synthetic[ORDER].dtype == np.int64 and synthetic["c0"].dtype == np.float64
    # values stay in the training range
    for c in CHANNELS:
        assert synthetic[c].between(train[c].min(), train[c].max()).all()


def test_fidelity_close_to_a_fresh_real_sample(split, synthetic) -> None:
    train, holdout = split
    kw = {"sequence_key": KEY, "order_by": ORDER, "context": ["speaker"]}
    syn, ref = compare_sequences(train, synthetic, **kw), compare_sequences(train, holdout, **kw)
    assert syn["ks"] < ref["ks"] + 0.05, (syn["ks"], ref["ks"])
    assert syn["acf_diff"] < ref["acf_diff"] + 0.03, (syn["acf_diff"], ref["acf_diff"])
    assert syn["ccf_diff"] < ref["ccf_diff"] + 0.05, (syn["ccf_diff"], ref["ccf_diff"])


def test_length_distribution_learned(split, synthetic) -> None:
    from scipy.stats import ks_2samp

    real = split[0].groupby(KEY).size()
    syn = synthetic.groupby(KEY).size()
    assert ks_2samp(real, syn).statistic < 0.12
    assert abs(real.mean() - syn.mean()) < 1.0


def test_same_seed_same_output_and_chunks_do_not_matter(model) -> None:
    a = model.sample(300, seed=7)
    pd.testing.assert_frame_equal(a, model.sample(300, seed=7))
    assert not a.equals(model.sample(300, seed=8))
    big = model.sample(ENTITY_CHUNK + 50, seed=3)
    parts = list(model.iter_sample(ENTITY_CHUNK + 50, seed=3))
    assert len(parts) == 2 and parts[1][KEY].nunique() == 50
    pd.testing.assert_frame_equal(big, pd.concat(parts, ignore_index=True))
    first = model.sample(ENTITY_CHUNK, seed=3)  # the first chunk does not depend on n
    pd.testing.assert_frame_equal(big[big[KEY] < ENTITY_CHUNK].reset_index(drop=True), first)


def test_estimator_contract_params_and_sampling_plan(model) -> None:
    """Parameters from the signature (an unfitted copy from them), and the public sampling plan."""
    params = model.get_params()
    assert params == {
        "step_model": "joint",
        "seed": 0,
        "entity_model": "trees",
        "min_samples_leaf": None,
        "max_fit_steps": 400_000,
    }
    assert SequenceSynthesizer(**params).get_params() == params
    plan = model.plan(ENTITY_CHUNK + 50, seed=3)
    assert plan.sizes == [ENTITY_CHUNK, 50]
    tail = model.sample_chunk(plan, 1)
    assert tail[KEY].nunique() == 50 and tail[KEY].min() == ENTITY_CHUNK
    pd.testing.assert_frame_equal(model.sample_chunk(model.plan(200, seed=3), 0), model.sample(200, seed=3))
    with pytest.raises(UsageError, match="chunk 2 is out of range"):
        model.sample_chunk(plan, 2)
    with pytest.raises(ConditionError, match="c3"):
        model.plan(5, conditions={"c3": 0.1})
    with pytest.raises(UsageError, match="not fitted"):
        SequenceSynthesizer().plan(5)


def test_unsorted_input_gives_the_same_model(split) -> None:
    train = split[0].iloc[:3000]
    shuffled = train.sample(frac=1.0, random_state=0)
    a = SequenceSynthesizer(seed=0).fit(train, KEY, order_by=ORDER, context=["speaker"]).sample(50)
    b = SequenceSynthesizer(seed=0).fit(shuffled, KEY, order_by=ORDER, context=["speaker"]).sample(50)
    pd.testing.assert_frame_equal(a, b)


def test_conditioning_on_context(split, model) -> None:
    train = split[0]
    out = model.sample(200, conditions={"speaker": "3"}, seed=2)
    assert set(out["speaker"]) == {"3"}
    # the context → sequence relation: speaker 3's synthetic channel means sit nearer to speaker 3's real
    # ones than to the other speakers'
    real_means = train.groupby("speaker")[CHANNELS].mean()
    syn_means = out[CHANNELS].mean()
    dist = ((real_means - syn_means) ** 2).sum(axis=1)
    assert dist.idxmin() == "3", dist
    with pytest.raises(ConditionError, match="only context columns"):
        model.sample(5, conditions={"c1": 0.3})
    with pytest.raises(ConditionError, match="never occurs"):
        model.sample(5, conditions={"speaker": "42"})


def test_save_load_round_trip_without_pickle(model, tmp_path: Path) -> None:
    path = model.save(tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == ["arrays.npz", "model.json"]
    assert is_sequence_model(path)
    with np.load(path / "arrays.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    again = SequenceSynthesizer.load(path)
    pd.testing.assert_frame_equal(model.sample(120, seed=5), again.sample(120, seed=5))
    meta = json.loads((path / "model.json").read_text())
    meta["sequence_format"] = 99
    (path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="newer"):
        SequenceSynthesizer.load(path)


def test_per_channel_step_model(split, tmp_path: Path) -> None:
    """The alternative step model (one tree per channel, each seeing the channels drawn before it)."""
    train, holdout = split
    sub = train[train[KEY] < 200]
    synth = SequenceSynthesizer(seed=0, step_model="channels").fit(
        sub, KEY, order_by=ORDER, context=["speaker"]
    )
    out = synth.sample(150)
    again = SequenceSynthesizer.load(synth.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(out, again.sample(150))
    kw = {"sequence_key": KEY, "order_by": ORDER}
    syn, ref = compare_sequences(sub, out, **kw), compare_sequences(sub, holdout, **kw)
    assert syn["ks"] < ref["ks"] + 0.1 and syn["acf_diff"] < ref["acf_diff"] + 0.05
    with pytest.raises(UsageError, match="step_model"):
        SequenceSynthesizer(step_model="rnn").fit(sub, KEY, order_by=ORDER)


def test_no_training_sequence_is_copied(split, synthetic) -> None:
    train = split[0]

    def rows(df: pd.DataFrame) -> set[tuple]:
        return set(map(tuple, np.round(df[CHANNELS].to_numpy(), 9)))

    assert not rows(train) & rows(synthetic)  # not one event, let alone a sequence
    first = synthetic.groupby(KEY)[CHANNELS].first().to_numpy()
    real_first = train.groupby(KEY)[CHANNELS].first().to_numpy()
    d = np.sqrt(((first[:, None, :] - real_first[None, :, :]) ** 2).sum(-1)).min(axis=1)
    assert (d > 1e-6).all()


def test_single_event_entities_are_kept(split) -> None:
    train = split[0]
    singles = train[train[KEY] < 60].groupby(KEY).head(1)
    data = pd.concat([train[train[KEY] >= 60], singles], ignore_index=True)
    out = SequenceSynthesizer(seed=0).fit(data, KEY, order_by=ORDER).sample(400)
    lengths = out.groupby(KEY).size()
    assert (lengths == 1).any() and lengths.max() > 10


def test_mixed_event_kinds_and_no_order_column(macro) -> None:
    """Windows of a single long series; a date, a category and numbers as event columns."""
    data = macro.assign(direction=np.where(macro["realgdp"].diff() < 0, "down", "up"))
    w = make_windows(data, 12, stride=2, order_by="date")
    assert w["window"].nunique() == (len(data) - 12) // 2 + 1
    out = SequenceSynthesizer(seed=0).fit(w, "window").sample(60)
    assert out["date"].dtype.kind == "M"
    assert set(out["direction"]) <= {"up", "down"} and out["direction"].nunique() == 2
    assert (out.groupby("window").size() == 12).all()  # every window has the same length
    # dates move forward about a quarter per event, as in the data
    step = out.groupby("window")["date"].diff().dropna().dt.days
    assert 80 <= step.median() <= 100


def test_dates_as_order_trends_and_calendar_grid(macro) -> None:
    w = make_windows(macro, 20, stride=1, order_by="date")
    out = SequenceSynthesizer(seed=0).fit(w, "window", order_by="date").sample(150)
    dates = out["date"]
    assert dates.dtype.kind == "M"
    assert (dates.dt.day == 1).all() and dates.dt.month.isin([1, 4, 7, 10]).all()  # quarter starts
    assert (out.groupby("window")["date"].diff().dropna().dt.days.between(89, 93)).all()
    # the trend: real GDP grows inside almost every real window, and inside most synthetic ones
    growth = out.groupby("window")["realgdp"].agg(lambda s: s.iloc[-1] - s.iloc[0])
    real_growth = w.groupby("window")["realgdp"].agg(lambda s: s.iloc[-1] - s.iloc[0])
    assert (growth > 0).mean() > (real_growth > 0).mean() - 0.15
    r = compare_sequences(w, out, sequence_key="window", order_by="date")
    assert r["acf_diff"] < 0.1 and r["ks"] < 0.3


def test_irregular_gaps_are_learned(macro) -> None:
    """Quarters of high inflation only: events arrive at irregular intervals."""
    hot = macro[macro["infl"] > 3.0].reset_index(drop=True)
    w = make_windows(hot, 10, stride=1, order_by="date")
    out = SequenceSynthesizer(seed=0).fit(w, "window", order_by="date").sample(200)
    real_gap = w.groupby("window")["date"].diff().dropna().dt.days
    syn_gap = out.groupby("window")["date"].diff().dropna().dt.days
    assert (syn_gap > 0).all()
    assert abs((syn_gap > 100).mean() - (real_gap > 100).mean()) < 0.1
    assert syn_gap.max() <= real_gap.max() + 92  # within the learned range, up to one quarter of snapping


def test_bad_input_in_the_python_api(split) -> None:
    train = split[0]
    with pytest.raises(DataError, match="'nope' is not in the data"):
        SequenceSynthesizer().fit(train, "nope")
    with pytest.raises(DataError, match="context column 'c0' takes several values"):
        SequenceSynthesizer().fit(train, KEY, order_by=ORDER, context=["c0"])
    with pytest.raises(UsageError, match="positive integer"):
        SequenceSynthesizer().fit(train.iloc[:2000], KEY, order_by=ORDER).sample(0)
    with pytest.raises(UsageError, match="not fitted"):
        SequenceSynthesizer().sample(3)
    with pytest.raises(UsageError, match="at least 2"):
        make_windows(train, 1)


# --------------------------------------------------------------------------------------------------
# the report


def test_report_section_scores_beside_references(split, synthetic) -> None:
    train, holdout = split
    sec = sequence_section(train, holdout, synthetic, sequence_key=KEY, order_by=ORDER, context=["speaker"])
    keys = {s["key"]: s for s in sec["scores"]}
    assert {
        "sequence_stats_ks",
        "autocorrelation_diff",
        "cross_correlation_diff",
        "forecast_tstr",
        "sequence_detection_auc",
        "sequence_copies",
        "sequence_dcr_share",
        "sequence_mia_auc",
    } <= set(keys)
    for s in sec["scores"]:
        assert s["reference"] is not None and s["explain"]
    assert keys["sequence_copies"]["value"] == 0.0
    assert keys["sequence_dcr_share"]["status"] != "fail"
    assert keys["forecast_tstr"]["value"] > keys["forecast_tstr"]["reference"] - 0.15
    assert sec["status"] in ("pass", "warn")


def test_report_flags_copied_sequences(split) -> None:
    """Handing the training data back as 'synthetic' is caught at the entity level."""
    train, holdout = split
    trn = train[train[KEY] < 200]
    sec = sequence_section(trn, holdout, trn, sequence_key=KEY, order_by=ORDER, context=["speaker"])
    keys = {s["key"]: s for s in sec["scores"]}
    assert keys["sequence_copies"]["value"] == 1.0 and keys["sequence_copies"]["status"] == "fail"
    assert sec["status"] == "fail"


# --------------------------------------------------------------------------------------------------
# the command line: the two commands, evaluate, and one-line errors


def _err(result: subprocess.CompletedProcess, *fragments: str) -> None:
    shown = f"rc={result.returncode}\nstdout={result.stdout!r}\nstderr={result.stderr!r}"
    assert "Traceback" not in result.stderr, shown
    assert result.returncode == 2, shown
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), shown
    assert "internal error" not in lines[0], shown
    for f in fragments:
        assert f.lower() in lines[0].lower(), f"{f!r} not in the error line\n{shown}"


DAMAGES = ("truncated", "garbled", "edited", "edited_entities")


def _damage_copies(model: Path, folder: Path) -> None:
    """Copies of a saved sequence model, each damaged as a disk or a hand edit would damage it."""
    for name in DAMAGES:
        shutil.copytree(model, folder / f"damaged_{name}")
    arrays = folder / "damaged_truncated" / "arrays.npz"
    arrays.write_bytes(arrays.read_bytes()[: arrays.stat().st_size // 2])
    garbled = folder / "damaged_garbled" / "model.json"
    garbled.write_text(garbled.read_text()[:-40])
    meta = json.loads((model / "model.json").read_text())
    edited = {k: v for k, v in meta.items() if k != "channels"}
    (folder / "damaged_edited" / "model.json").write_text(json.dumps(edited))
    meta["entities"]["model_columns"][0]["kind"] = "nonsense"
    (folder / "damaged_edited_entities" / "model.json").write_text(json.dumps(meta))


@pytest.fixture(scope="module")
def cli_runs(
    cli: Runner, split, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Future[subprocess.CompletedProcess]]:
    """Every command of this file, started at once on two threads; the chain of fit → sample →
    evaluate runs in order on one of them."""
    train, holdout = split
    d = tmp_path_factory.mktemp("seqcli")
    small = train[train[KEY] < 240]
    small.to_csv(d / "visits.csv", index=False)
    holdout.to_csv(d / "holdout.csv", index=False)
    bad = {
        "missing_order": small.assign(frame=small[ORDER].astype(float).where(small.index != 7)),
        "dup_order": small.assign(frame=np.where(small.index == 3, small[ORDER].shift(1), small[ORDER])),
        "text_order": small.assign(frame="step-" + small[ORDER].astype(str)),
        "one_event": small.groupby(KEY).head(1),
        "few": small[small[KEY] < 20].assign(utterance=lambda f: f[KEY] % 4),
        "missing_key": small.assign(utterance=small[KEY].astype(float).where(small.index != 11)),
    }
    for name, frame in bad.items():
        frame.to_csv(d / f"{name}.csv", index=False)

    pool = ThreadPoolExecutor(max_workers=2)

    def chain() -> dict[str, object]:
        """fit, then the commands that read its model (on both threads)."""
        out: dict[str, object] = {"folder": d}
        out["fit"] = cli(
            "fit",
            "visits.csv",
            "--sequence-key",
            KEY,
            "--order-by",
            ORDER,
            "--context",
            "speaker",
            "--out",
            "model",
            cwd=d,
        )
        shutil.copytree(d / "model", d / "newer")
        meta = json.loads((d / "newer" / "model.json").read_text())
        meta["sequence_format"] = 7
        (d / "newer" / "model.json").write_text(json.dumps(meta))
        _damage_copies(d / "model", d)
        later = {
            "sample_csv": ("sample", "model", "-n", "12", "--where", "speaker=2", "--out", "s2.csv"),
            "where_event": ("sample", "model", "-n", "5", "--where", "c3=0.1", "--out", "x.csv"),
            "rebalance": ("sample", "model", "-n", "5", "--rebalance", "speaker", "--out", "x.csv"),
            "newer": ("sample", "newer", "-n", "5", "--out", "x.csv"),
            **{f"damaged_{n}": ("sample", f"damaged_{n}", "-n", "10", "--out", "x.csv") for n in DAMAGES},
        }
        futures = {name: pool.submit(cli, *args, cwd=d) for name, args in later.items()}
        out["sample"] = cli("sample", "model", "-n", "150", "--out", "synthetic_visits.parquet", cwd=d)
        out["evaluate"] = cli(
            "evaluate",
            "--synthetic",
            "synthetic_visits.parquet",
            "--train",
            "visits.csv",
            "--holdout",
            "holdout.csv",
            "--sequence-key",
            KEY,
            "--order-by",
            ORDER,
            "--context",
            "speaker",
            "--sections",
            "fidelity",
            "--json",
            "report.json",
            "--quiet",
            cwd=d,
        )
        out.update({name: f.result() for name, f in futures.items()})
        return out

    fit = ["fit", "--out", "m", "--sequence-key", KEY, "--order-by", ORDER]
    singles = {
        "no_key": ("visits.csv", "fit", "visits.csv", "--out", "m", "--sequence-key", "patient"),
        "missing_order": ("missing_order.csv", fit[0], "missing_order.csv", *fit[1:]),
        "dup_order": ("dup_order.csv", fit[0], "dup_order.csv", *fit[1:]),
        "text_order": ("text_order.csv", fit[0], "text_order.csv", *fit[1:]),
        "one_event": ("one_event.csv", fit[0], "one_event.csv", *fit[1:]),
        "few": ("few.csv", fit[0], "few.csv", *fit[1:]),
        "missing_key": ("missing_key.csv", fit[0], "missing_key.csv", *fit[1:]),
        "ctx_varies": ("visits.csv", fit[0], "visits.csv", *fit[1:], "--context", "speaker,c2"),
        "order_without_key": ("visits.csv", "fit", "visits.csv", "--out", "m", "--order-by", ORDER),
        "eval_order_without_key": (
            "visits.csv",
            "evaluate",
            "--synthetic",
            "visits.csv",
            "--train",
            "visits.csv",
            "--holdout",
            "holdout.csv",
            "--order-by",
            ORDER,
        ),
    }
    runs: dict[str, Future] = {"chain": pool.submit(chain)}
    for name, (_, *args) in singles.items():
        runs[name] = pool.submit(cli, *args, cwd=d)
    return runs


def test_cli_fit_and_sample_entities_with_histories(cli_runs, split) -> None:
    r = cli_runs["chain"].result()
    assert r["fit"].returncode == 0, r["fit"].stderr
    assert f"{split[0].query('utterance < 240')[KEY].nunique()} sequences" in r["fit"].stdout
    assert r["sample"].returncode == 0, r["sample"].stderr
    out = pd.read_parquet(r["folder"] / "synthetic_visits.parquet")
    assert out[KEY].nunique() == 150 and list(out.columns) == list(split[0].columns)
    assert "150 synthetic sequences" in r["sample"].stdout
    s2 = pd.read_csv(r["folder"] / "s2.csv")
    assert r["sample_csv"].returncode == 0 and set(s2["speaker"]) == {2}


def test_cli_evaluate_adds_the_sequence_section(cli_runs) -> None:
    r = cli_runs["chain"].result()
    assert r["evaluate"].returncode == 0, r["evaluate"].stderr
    report = json.loads((r["folder"] / "report.json").read_text())
    sec = report["sections"]["sequences"]
    assert report["inputs"]["sequence_key"] == KEY and KEY not in report["inputs"]["columns"]
    assert {s["key"] for s in sec["scores"]} >= {
        "sequence_stats_ks",
        "autocorrelation_diff",
        "sequence_copies",
    }
    assert all(s["reference"] is not None for s in sec["scores"])


def test_cli_sample_errors(cli_runs) -> None:
    r = cli_runs["chain"].result()
    _err(r["where_event"], "c3", "context")
    _err(r["rebalance"], "--rebalance", "sequence")
    _err(r["newer"], "newer")
    assert not (r["folder"] / "x.csv").exists()


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("truncated", ["damaged_truncated/arrays.npz", "damaged", "refit"]),
        ("garbled", ["damaged_garbled/model.json", "not valid json", "refit"]),
        ("edited", ["damaged_edited/model.json", "'channels' is missing", "refit"]),
        ("edited_entities", ["damaged_edited_entities/model.json", "nonsense", "refit"]),
    ],
)
def test_cli_damaged_model_one_line(cli_runs, name: str, fragments: list[str]) -> None:
    """A damaged or hand-edited model directory: one line naming the file and what to do, exit 2."""
    _err(cli_runs["chain"].result()[f"damaged_{name}"], *fragments)


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("no_key", ["'patient'", "not in the data"]),
        ("missing_order", ["'frame'", "missing", "row"]),
        ("dup_order", ["same 'frame' value", "unique"]),
        ("text_order", ["'frame'", "numbers or dates"]),
        ("one_event", ["one event", "tabular"]),
        ("few", ["4 entities", "at least 10"]),
        ("missing_key", ["'utterance'", "missing"]),
        ("ctx_varies", ["'c2'", "one value per entity"]),
        ("order_without_key", ["--sequence-key"]),
        ("eval_order_without_key", ["--sequence-key"]),
    ],
)
def test_cli_bad_input_one_line(cli_runs, name: str, fragments: list[str]) -> None:
    _err(cli_runs[name].result(), *fragments)
