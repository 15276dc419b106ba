"""Private synthesis benchmark: simulacra's AIM and MST beside smartnoise-synth's MST and AIM, on UCI Adult.

Run from the repository root::

    python benchmarks/privacy.py --anchor-python PATH   # PATH: a Python with smartnoise-synth 1.0.8
    python benchmarks/privacy.py --skip-anchors --epsilons 1   # simulacra only (a smoke run)

smartnoise-synth pins opacus, numpy and JAX versions the project's environment must not take, so the
anchors run in their own virtual environment (``python -m venv V && V/bin/pip install torch==2.13.0
smartnoise-synth==1.0.8``), each fit as a child process (``benchmarks/privacy_anchor.py``) with a time
cap; a cap that was hit is written beside the contender. Every contender learns from Adult's training
split (32,561 rows), samples as many rows, and is scored against the test split by the same code:

- **fidelity**: ``simulacra.evaluation.tabular.fidelity.accuracy(train, synthetic)["overall"]`` (the
  tabular benchmark's score), beside the test split's own against train;
- **TSTR**: ROC-AUC on the test split of a gradient-boosted classifier of ``income`` trained on the
  synthetic rows, over the one trained on the real training rows (ratio).

Budgets: ε ∈ {0.3, 1, 3}, δ = 1e-6, for every contender. simulacra's AIM runs with its defaults (chosen
by ``benchmarks/tune_aim.py`` on tables that are not this scoreboard). simulacra spends 20% of ε on its
private codecs (bins and categories); smartnoise gets the same share as ``preprocessor_eps`` for its
continuous columns' bins. The project's own DP-SGD (the autoregressive model, ε = 1) runs too when torch is
installed. Targets (issue #18), for simulacra's AIM and for its MST: at ε = 1, fidelity ≥ 0.95 and TSTR
ratio ≥ 0.90, ahead of smartnoise's MST and AIM, fit ≤ 5 minutes.

All numbers go to ``benchmarks/results/privacy.json``, with provenance (``benchmarks/provenance.py``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from provenance import Opt, Run

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "privacy.json"
EPSILONS = (0.3, 1.0, 3.0)
DELTA = 1e-6
ANCHOR_CAP_S = 600.0
FIDELITY_TARGET, TSTR_TARGET, FIT_TARGET_S = 0.95, 0.90, 300.0
PACKAGES = ("scikit-learn", "numpy", "pandas", "torch", "opacus")

_SCORES = {"fidelity": float, "auc_synthetic": float, "tstr_ratio": float}
_RUN = {
    "label": str,
    "epsilon": float,
    "status": str,
    "error": Opt(str),
    "cap_s": Opt(float),
    "cap_hit": Opt(bool),
    "fit_s": Opt(float),
    "sample_s": Opt(float),
    "scores": Opt(_SCORES),
}
SCHEMA = {
    "args": {"epsilons": [float], "delta": float, "anchors": bool, "dp_sgd": bool, "anchor_cap_s": float},
    "data": {"train_rows": int, "test_rows": int, "columns": int},
    "reference": {"fidelity": float, "auc_real": float},
    "runs": {"*": _RUN},
    "targets": {"*": (bool, None)},
}


def _score(train: pd.DataFrame, test: pd.DataFrame, syn: pd.DataFrame) -> dict[str, float]:
    from simulacra.datasets import ADULT_TARGET
    from simulacra.evaluation.tabular.fidelity import accuracy
    from simulacra.evaluation.tabular.utility import tstr_auc

    syn = syn[list(train.columns)]
    auc = tstr_auc(train, syn, test, ADULT_TARGET)
    return {
        "fidelity": float(accuracy(train, syn)["overall"]),
        "auc_synthetic": float(auc["auc_synthetic"]),
        "tstr_ratio": float(auc["ratio"]),
    }


def _ours(model: str, eps: float, train: pd.DataFrame, test: pd.DataFrame, schema: Any) -> dict[str, Any]:
    from simulacra import TabularSynthesizer

    params: dict[str, Any] = {"epsilon": eps, "delta": DELTA}
    t0 = time.perf_counter()
    synth = TabularSynthesizer(model, seed=0, **params).fit(train, schema)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    syn = synth.sample(len(train), seed=1)
    sample_s = time.perf_counter() - t0
    return {"status": "ok", "fit_s": fit_s, "sample_s": sample_s, "scores": _score(train, test, syn)}


def _anchor(
    python: str, synth: str, eps: float, train_csv: Path, train: pd.DataFrame, test: pd.DataFrame, work: Path
) -> dict[str, Any]:
    from simulacra.schema import infer_schema
    from simulacra.schema.kinds import Kind

    schema = infer_schema(train)
    nums = [c for c, col in schema.columns.items() if col.kind in (Kind.INTEGER, Kind.FLOAT)]
    cats = [c for c in train.columns if c not in nums]
    out = work / f"{synth}-{eps}.csv"
    cmd = [
        python,
        str(HERE / "privacy_anchor.py"),
        "--synth",
        synth,
        "--epsilon",
        str(eps),
        "--delta",
        str(DELTA),
        "--train",
        str(train_csv),
        "--out",
        str(out),
        "--rows",
        str(len(train)),
        "--categorical",
        ",".join(cats),
        "--continuous",
        ",".join(nums),
    ]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=ANCHOR_CAP_S)
    except subprocess.TimeoutExpired:
        return {"status": "capped", "cap_s": ANCHOR_CAP_S, "cap_hit": True, "error": "time cap hit"}
    wall = time.perf_counter() - t0
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"status": "error", "cap_s": ANCHOR_CAP_S, "cap_hit": False, "error": tail[0][:300]}
    times = json.loads(done.stdout.strip().splitlines()[-1])
    syn = pd.read_csv(out)
    for c in train.columns:  # back to the training dtypes (the CSV round trip reads text)
        if pd.api.types.is_numeric_dtype(train[c]):
            syn[c] = pd.to_numeric(syn[c], errors="coerce")
        else:
            # the child wrote a missing category as the text "nan": missing again here
            text = syn[c].astype(str)
            syn[c] = syn[c].astype(object).where(syn[c].notna() & (text != "nan"), None)
    return {
        "status": "ok",
        "cap_s": ANCHOR_CAP_S,
        "cap_hit": False,
        "fit_s": float(times["fit_s"]),
        "sample_s": float(times["sample_s"]),
        "scores": _score(train, test, syn),
        "error": None if wall < ANCHOR_CAP_S else "slow",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor-python", default=None, help="A Python with smartnoise-synth 1.0.8.")
    parser.add_argument("--skip-anchors", action="store_true")
    parser.add_argument("--skip-dp-sgd", action="store_true")
    parser.add_argument("--epsilons", default=",".join(str(e) for e in EPSILONS))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    from simulacra.datasets import ADULT_TARGET, load_adult
    from simulacra.evaluation.tabular.fidelity import accuracy
    from simulacra.evaluation.tabular.utility import tstr_auc
    from simulacra.schema import infer_schema

    epsilons = [float(e) for e in args.epsilons.split(",")]
    anchors = not args.skip_anchors
    if anchors and not args.anchor_python:
        parser.error("--anchor-python is required unless --skip-anchors")
    dp_sgd = not args.skip_dp_sgd
    if dp_sgd:
        try:
            import opacus  # noqa: F401
            import torch  # noqa: F401
        except ImportError:
            dp_sgd = False
    run = Run(__file__, PACKAGES, SCHEMA)
    train, test = load_adult("train"), load_adult("test")
    schema = infer_schema(train)  # public: the kinds of Adult's columns, as a user would declare them
    ref_auc = tstr_auc(train, train, test, ADULT_TARGET)["auc_real"]
    results: dict[str, Any] = {
        "args": {
            "epsilons": epsilons,
            "delta": DELTA,
            "anchors": anchors,
            "dp_sgd": dp_sgd,
            "anchor_cap_s": ANCHOR_CAP_S,
        },
        "data": {"train_rows": len(train), "test_rows": len(test), "columns": train.shape[1]},
        "reference": {"fidelity": float(accuracy(train, test)["overall"]), "auc_real": float(ref_auc)},
        "runs": {},
    }
    print(f"reference (test split): fidelity {results['reference']['fidelity']:.4f}, AUC {ref_auc:.3f}")
    with tempfile.TemporaryDirectory(prefix="privacy-bench-") as tmp:
        work = Path(tmp)
        train_csv = work / "train.csv"
        train.to_csv(train_csv, index=False)
        plan: list[tuple[str, str, float]] = [("simulacra_aim", "simulacra AIM", e) for e in epsilons]
        plan += [("simulacra_mst", "simulacra MST", e) for e in epsilons]
        if dp_sgd and 1.0 in epsilons:
            plan.append(("simulacra_dpsgd", "simulacra autoregressive, DP-SGD", 1.0))
        if anchors:
            plan += [("smartnoise_mst", "smartnoise-synth MST", e) for e in epsilons]
            plan += [("smartnoise_aim", "smartnoise-synth AIM", e) for e in epsilons]
        for key, label, eps in plan:
            print(f"[bench] {label}, ε = {eps:g} ...", flush=True)
            try:
                if key in ("simulacra_aim", "simulacra_mst"):
                    r = _ours(key.split("_")[1], eps, train, test, schema)
                elif key == "simulacra_dpsgd":
                    r = _ours("autoregressive", eps, train, test, schema)
                else:
                    r = _anchor(args.anchor_python, key.split("_")[1], eps, train_csv, train, test, work)
            except Exception as exc:  # a contender that fails is recorded, not hidden
                r = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
            r = {"label": label, "epsilon": eps, **{k: v for k, v in r.items() if v is not None}}
            results["runs"][f"{key}@{eps:g}"] = r
            s = r.get("scores")
            line = (
                f"fidelity {s['fidelity']:.4f}, TSTR ratio {s['tstr_ratio']:.3f}, fit {r['fit_s']:.1f} s"
                if s
                else f"{r['status']}: {r.get('error', '')}"
            )
            print(f"        {line}", flush=True)
    results["targets"] = _targets(results["runs"])
    for k, v in results["targets"].items():
        print(f"target {k}: {'n/a' if v is None else ('met' if v else 'MISSED')}")
    run.write(args.output, json.loads(json.dumps(results)))
    print(f"→ {args.output}")
    return 0


def _targets(runs: dict[str, Any]) -> dict[str, bool | None]:
    out: dict[str, bool | None] = {}
    for model in ("aim", "mst"):
        run = runs.get(f"simulacra_{model}@1", {})
        ours = run.get("scores")
        out[f"{model}_fidelity_at_eps1"] = None if ours is None else ours["fidelity"] >= FIDELITY_TARGET
        out[f"{model}_tstr_at_eps1"] = None if ours is None else ours["tstr_ratio"] >= TSTR_TARGET
        out[f"{model}_fit_within_5_min"] = None if ours is None else run["fit_s"] <= FIT_TARGET_S
        for anchor in ("smartnoise_mst", "smartnoise_aim"):
            theirs = runs.get(f"{anchor}@1", {}).get("scores")
            out[f"{model}_ahead_of_{anchor}_at_eps1"] = (
                None
                if ours is None or theirs is None
                else ours["fidelity"] >= theirs["fidelity"] and ours["tstr_ratio"] >= theirs["tstr_ratio"]
            )
        dp = runs.get("simulacra_dpsgd@1", {}).get("scores")
        out[f"{model}_ahead_of_dp_sgd_at_eps1"] = (
            None if ours is None or dp is None else ours["tstr_ratio"] >= dp["tstr_ratio"]
        )
    return out


if __name__ == "__main__":
    sys.exit(main())
