"""Attack-based privacy risk benchmark: simulacra's singling-out, linkability and inference risks beside
anonymeter 1.1.0's on the same rows, and the privacy section's time on a 100,000 x 30 table.

Run from the repository root::

    python benchmarks/attacks.py --anchor-python /work/venv-anon/bin/python
    python benchmarks/attacks.py --skip-anchor          # simulacra only

anonymeter runs in its own virtual environment (``python3 -m venv V && V/bin/pip install
anonymeter==1.1.0``; it pins numpy 1.26 and pyarrow 21), as a child process
(``benchmarks/attacks_anchor.py``) given the same parquet files.

Data: UCI Adult's train split (32,561 rows) is learned by the default trees model, which samples as
many rows; a copying synthesizer is that output with 5% of its rows replaced by training rows. The
control is Adult's test split (16,281 rows). Each tool attacks the same train, control and synthetic
rows with 2,000 attacks per risk: singling out (univariate, multivariate on 3 columns with at most
100,000 records tried), linkability (simulacra's default column split, given to both; 1 neighbour) and
inference of ``income``. Singling out is run twice: on the full train split and on a random subset of
it as large as the control. With train and control of different sizes anonymeter rescales the control's
count with a fitted model; in 1.1.0 the fit is fed the number of queries instead of the number that
single out (``_measure_queries_success`` takes ``len`` of ``_evaluate_queries``' counts), so its
rescaling reduces to about control size / train size. On equal sizes no rescaling applies, and the
two tools compute the same quantity. Agreement: simulacra's risk inside anonymeter's interval
(``within_anonymeter_ci``) and the two intervals overlapping (``intervals_overlap``); both tools draw
their attacks at random, so two runs of one tool differ by up to their intervals too.

Speed: ``privacy_section`` (copies, DCR, NNDR, membership inference, PII, the three attacks at 2,000
attacks each) on the report benchmark's 100,000-row x 30-column synthetic table (train 50,000, holdout
30,000; ``benchmarks/report.py``'s ``build_big_table``), timed in this process, with and without the
attacks. Target (issue #18): at most 60 s on 2 cores.

All numbers go to ``benchmarks/results/attacks.json``, with provenance (``benchmarks/provenance.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from provenance import Opt, Run

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "attacks.json"
SEED = 0
N_ATTACKS = 2000
MAX_ATTEMPTS = 100_000
COPY_SHARE = 0.05
SECRET = "income"
ANCHOR_CAP_S = 1800.0
SECTION_TARGET_S = 60.0
PACKAGES = ("scikit-learn", "numpy", "pandas", "scipy", "pyarrow")
ATTACKS = ("singling_out_univariate", "singling_out_multivariate", "linkability", "inference")

_RISK = {"risk": (float, None), "ci": ([float], None), "attack_rate": float, "control_rate": float,
         "seconds": float}
_PAIR = {
    "simulacra": _RISK,
    "anonymeter": Opt((_RISK, None)),
    "within_anonymeter_ci": Opt((bool, None)),
    "intervals_overlap": Opt((bool, None)),
}
SCHEMA = {
    "args": {"anchor": bool, "n_attacks": int, "max_attempts": int, "copy_share": float, "secret": str,
             "seed": int, "speed": bool},
    "data": {"train_rows": int, "control_rows": int, "synthetic_rows": int, "equal_size_train_rows": int,
             "columns": int, "aux_cols": [[str]], "fit_s": float},
    "anchor": Opt({"python": str, "version": (str, None), "error": (str, None)}),
    "comparisons": {"*": {"*": _PAIR}},
    "speed": Opt({"rows": {"train": int, "holdout": int, "synthetic": int}, "columns": int,
                  "load_1min_at_start": float, "privacy_section_s": float,
                  "privacy_section_without_attacks_s": float, "attacks_s": {"*": float},
                  "within_target": bool}),
    "summary": {"*": (bool, float, int, None)},
}


def _log(msg: str) -> None:
    print(msg, flush=True)


def _ours(name: str, train: pd.DataFrame, control: pd.DataFrame, syn: pd.DataFrame,
          aux: list[list[str]]) -> dict[str, Any]:
    from simulacra.evaluation.tabular import attacks as A

    t0 = time.perf_counter()
    if name.startswith("singling_out"):
        r = A.singling_out_risk(train, control, syn, mode=name.rsplit("_", 1)[1], n_attacks=N_ATTACKS,
                                max_attempts=MAX_ATTEMPTS, seed=SEED)
    elif name == "linkability":
        r = A.linkability_risk(train, control, syn, aux_cols=(aux[0], aux[1]), n_attacks=N_ATTACKS, seed=SEED)
    else:
        r = A.inference_risk(train, control, syn, secrets=[SECRET], n_attacks=N_ATTACKS, seed=SEED)
    return {"risk": r["risk"], "ci": r["ci"], "attack_rate": r["attack_rate"],
            "control_rate": r["control_rate"], "seconds": time.perf_counter() - t0}


def _anchor(python: str, files: dict[str, Path], aux: list[list[str]], only: list[str]) -> dict[str, Any]:
    cmd = [python, str(HERE / "attacks_anchor.py"), "--train", str(files["train"]), "--control",
           str(files["control"]), "--synthetic", str(files["synthetic"]), "--aux-a", ",".join(aux[0]),
           "--aux-b", ",".join(aux[1]), "--secret", SECRET, "--n-attacks", str(N_ATTACKS),
           "--max-attempts", str(MAX_ATTEMPTS), "--seed", str(SEED), "--only", ",".join(only)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=ANCHOR_CAP_S)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "anchor failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _pair(ours: dict[str, Any], theirs: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"simulacra": ours}
    if theirs is None:
        return out
    out["anonymeter"] = theirs
    if ours["risk"] is None or theirs["ci"] is None or ours["ci"] is None:
        out["within_anonymeter_ci"] = out["intervals_overlap"] = None
        return out
    lo, hi = theirs["ci"]
    out["within_anonymeter_ci"] = bool(lo - 1e-12 <= ours["risk"] <= hi + 1e-12)
    out["intervals_overlap"] = bool(ours["ci"][0] <= hi + 1e-12 and lo <= ours["ci"][1] + 1e-12)
    return out


def _copying(train: pd.DataFrame, syn: pd.DataFrame, share: float) -> pd.DataFrame:
    """``syn`` with ``share`` of its rows replaced by random training rows (in random places)."""
    rng = np.random.default_rng(SEED)
    k = int(share * len(syn))
    rows = pd.concat([train.iloc[rng.choice(len(train), k, replace=False)], syn.iloc[k:]], ignore_index=True)
    return rows.iloc[rng.permutation(len(rows))].reset_index(drop=True)


def run_speed() -> dict[str, Any]:
    """The privacy section on the report benchmark's 100,000 x 30 table, with and without the attacks."""
    from report import build_big_table

    from simulacra.evaluation.tabular import attacks as A
    from simulacra.evaluation.tabular.privacy import privacy_section

    with tempfile.TemporaryDirectory(prefix="attacks-speed-") as tmp:
        work = Path(tmp)
        build_big_table(100_000, 50_000, 30_000, work)
        trn, hol, syn = (pd.read_parquet(work / f"{n}.parquet") for n in ("train", "holdout", "synthetic"))
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    privacy_section(trn, hol, syn, seed=SEED, max_rows=10_000, pii_columns=None, n_attacks=N_ATTACKS)
    full = time.perf_counter() - t0
    t0 = time.perf_counter()
    privacy_section(trn, hol, syn, seed=SEED, max_rows=10_000, pii_columns=None, n_attacks=0)
    without = time.perf_counter() - t0
    parts = {}
    for name, fn, kw in (("singling_out_univariate", A.singling_out_risk, {"mode": "univariate"}),
                         ("singling_out_multivariate", A.singling_out_risk, {"mode": "multivariate"}),
                         ("linkability", A.linkability_risk, {}), ("inference", A.inference_risk, {})):
        t0 = time.perf_counter()
        fn(trn, hol, syn, n_attacks=N_ATTACKS, seed=SEED, **kw)
        parts[name] = time.perf_counter() - t0
    return {"rows": {"train": len(trn), "holdout": len(hol), "synthetic": len(syn)},
            "columns": trn.shape[1], "load_1min_at_start": load, "privacy_section_s": full,
            "privacy_section_without_attacks_s": without, "attacks_s": parts,
            "within_target": full <= SECTION_TARGET_S}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchor-python", default=None, help="A Python with anonymeter 1.1.0.")
    parser.add_argument("--skip-anchor", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    anchor = not args.skip_anchor
    if anchor and not args.anchor_python:
        parser.error("--anchor-python is required unless --skip-anchor")
    from simulacra import TabularSynthesizer
    from simulacra.datasets import load_adult
    from simulacra.evaluation.tabular import attacks as A

    run = Run(__file__, PACKAGES, SCHEMA)
    train, control = load_adult("train"), load_adult("test")
    t0 = time.perf_counter()
    trees = TabularSynthesizer(seed=SEED).fit(train).sample(len(train))
    fit_s = time.perf_counter() - t0
    synthetics = {"trees": trees, "copy_5pct": _copying(train, trees, COPY_SHARE)}
    rng = np.random.default_rng(SEED)
    equal = train.iloc[np.sort(rng.choice(len(train), len(control), replace=False))].reset_index(drop=True)
    aux = A.linkability_risk(train, control, trees, n_attacks=10, seed=SEED)["aux_cols"]
    results: dict[str, Any] = {
        "args": {"anchor": anchor, "n_attacks": N_ATTACKS, "max_attempts": MAX_ATTEMPTS,
                 "copy_share": COPY_SHARE, "secret": SECRET, "seed": SEED, "speed": not args.skip_speed},
        "data": {"train_rows": len(train), "control_rows": len(control), "synthetic_rows": len(trees),
                 "equal_size_train_rows": len(equal), "columns": train.shape[1], "aux_cols": aux,
                 "fit_s": fit_s},
        "comparisons": {},
    }
    if anchor:
        ask = "from importlib.metadata import version; print(version('anonymeter'))"
        version = subprocess.run([args.anchor_python, "-c", ask], capture_output=True, text=True)
        results["anchor"] = {"python": args.anchor_python, "error": None,
                             "version": version.stdout.strip() or None}
    with tempfile.TemporaryDirectory(prefix="attacks-bench-") as tmp:
        work = Path(tmp)
        for sname, syn in synthetics.items():
            for setting, trn in (("full_train", train), ("equal_size", equal)):
                names = list(ATTACKS) if setting == "full_train" else [a for a in ATTACKS if "singling" in a]
                files = {"train": work / "train.parquet", "control": work / "control.parquet",
                         "synthetic": work / "synthetic.parquet"}
                for key, df in (("train", trn), ("control", control), ("synthetic", syn)):
                    df.to_parquet(files[key], index=False)
                theirs: dict[str, Any] = {}
                if anchor:
                    _log(f"[bench] anonymeter on {sname}, {setting} ...")
                    try:
                        theirs = _anchor(args.anchor_python, files, aux, names)
                    except Exception as exc:  # recorded, not hidden
                        results["anchor"]["error"] = f"{type(exc).__name__}: {exc}"[:300]
                block = {}
                for name in names:
                    ours = _ours(name, trn, control, syn, aux)
                    block[name] = _pair(ours, theirs.get(name) if anchor else None)
                    p = block[name]
                    other = p.get("anonymeter")
                    _log(f"  {sname:10s} {setting:10s} {name:26s} simulacra {ours['risk']:.4f} "
                         f"[{ours['ci'][0]:.4f}, {ours['ci'][1]:.4f}] ({ours['seconds']:.1f} s)"
                         + (f"  anonymeter {other['risk']:.4f} [{other['ci'][0]:.4f}, {other['ci'][1]:.4f}]"
                            f" ({other['seconds']:.1f} s) within {p['within_anonymeter_ci']}"
                            if other else ""))
                results["comparisons"][f"{sname}@{setting}"] = block
    if not args.skip_speed:
        _log("[bench] privacy section on 100,000 x 30 ...")
        sys.path.insert(0, str(HERE))
        results["speed"] = run_speed()
        _log(f"  {results['speed']['privacy_section_s']:.1f} s with the attacks, "
             f"{results['speed']['privacy_section_without_attacks_s']:.1f} s without")
    results["summary"] = _summary(results)
    for k, v in results["summary"].items():
        _log(f"{k}: {v}")
    run.write(args.output, json.loads(json.dumps(results)))
    _log(f"→ {args.output}")
    return 0


def _summary(results: dict[str, Any]) -> dict[str, Any]:
    pairs = [(k, n, p) for k, block in results["comparisons"].items() for n, p in block.items()]
    judged = [p for _, _, p in pairs if p.get("within_anonymeter_ci") is not None]
    copy = results["comparisons"].get("copy_5pct@full_train", {})
    out: dict[str, Any] = {
        "comparisons": len(pairs),
        "within_anonymeter_ci": sum(bool(p["within_anonymeter_ci"]) for p in judged) if judged else None,
        "intervals_overlap": sum(bool(p["intervals_overlap"]) for p in judged) if judged else None,
        "judged": len(judged),
    }
    for name, p in copy.items():
        r = p["simulacra"]
        flagged = r["risk"] is not None and r["risk"] >= 0.05 and r["ci"][0] > 0
        out[f"copy_5pct_flagged_{name}"] = bool(flagged)
    trees = results["comparisons"].get("trees@full_train", {})
    for name, p in trees.items():
        r = p["simulacra"]
        out[f"trees_interval_holds_0_{name}"] = bool(r["ci"] is not None and r["ci"][0] == 0.0)
    if "speed" in results:
        out["privacy_section_s"] = results["speed"]["privacy_section_s"]
        out["privacy_section_within_60s"] = results["speed"]["within_target"]
    return out


if __name__ == "__main__":
    sys.exit(main())
