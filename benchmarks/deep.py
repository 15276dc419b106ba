"""Deep-model benchmark: simulacra's [torch] models beside MOSTLY AI's TabularARGN and SDV's CTGAN on Adult.

Run from the repository root::

    python benchmarks/deep.py                      # everything, one run
    python benchmarks/deep.py --ctgan-epochs 100   # SDV CTGAN's epochs (SDV's default is 300)
    python benchmarks/deep.py --only autoregressive,mostlyai_argn

Every contender fits on Adult's training split (32,561 rows) and samples as many rows, each in its own
child process (this script re-invoked with ``--child NAME``) so that time and memory are its own; all
run on the same CPUs one after the other, torch with its default threads. The samples are scored by
``benchmarks/tabular.py``'s ``_score`` (simulacra's fidelity accuracy against the training split, TSTR
ROC-AUC on the test split, identical matches, DCR); the fidelity accuracy against the test split is
added, and the issue's targets are judged on that one. Results go to ``benchmarks/results/deep.json``,
with provenance (``benchmarks/provenance.py``).

Budgets: every simulacra network trains under the same cap (``--deep-minutes``, default 10), and
TabularARGN gets at least that (``--argn-minutes`` defaults to it and is raised to it if lower); a fit
that ran into its cap is marked "(cap hit)" beside its time. The trees have no cap (they take
seconds); CTGAN runs a fixed number of epochs, which took longer than any cap here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from provenance import Opt, Run  # noqa: E402
from tabular import (  # noqa: E402  (benchmarks/ is not a package)
    REFERENCE_LABEL,
    _contender,
    _machine,
    _markdown,
    _peak_mb,
    _score,
    _versions,
    _write_sample,
)

DEFAULT_OUTPUT = HERE / "results" / "deep.json"
SEED = 0
EPSILON, DELTA = 2.0, 1e-5

CONTENDERS = {
    "trees": 'simulacra default ("trees", CPU, no torch)',
    "autoregressive": 'simulacra "autoregressive"',
    "autoregressive_dp": f'simulacra "autoregressive" DP ε={EPSILON:g}, δ={DELTA:g}',
    "diffusion": 'simulacra "diffusion"',
    "gan": 'simulacra "gan"',
    "mostlyai_argn": "MOSTLY AI TabularARGN",
    "sdv_ctgan": "SDV CTGAN",
}
DEEP = ("autoregressive", "autoregressive_dp", "diffusion", "gan")
DP_FIDELITY = 0.93
ARGN_FIDELITY_GAP = 0.01
PACKAGES = ("torch", "opacus", "sdv", "mostlyai-engine", "numpy", "pandas", "scikit-learn", "pyarrow")

_METRICS = {
    "fidelity": {"overall": float, "univariate": float, "bivariate": float},
    "fidelity_test": float,
    "utility": {"*": Any},
    "identical_match_share": float,
    "dcr": {"*": Any},
}
_CONTENDER = {
    "name": str,
    "status": str,
    "error": Opt(str),
    "traceback": Opt(str),
    "log_tail": Opt([str]),
    "child_wall_s": float,
    "import_s": Opt(float),
    "fit_s": Opt(float),
    "sample_s": Opt(float),
    "n_synthetic": Opt(int),
    "peak_mb": Opt(float),
    "training": Opt(Any),
    "privacy": Opt(Any),
    "cap_minutes": Opt((float, None)),
    "cap_hit": Opt((bool, None)),
    "metrics": Opt(_METRICS),
}
# what this script writes under "results" (checked on write and by tests/test_results_files.py)
SCHEMA = {
    "args": {"deep_minutes": float, "argn_minutes": float, "ctgan_epochs": int, "only": (str, None)},
    "machine": {"*": Any},
    "main": {
        "n_train": int,
        "n_holdout": int,
        "reference": {
            "fidelity_train": float,
            "fidelity_test": float,
            "auc_real": float,
            "identical_match_share": float,
        },
        "contenders": {"*": _CONTENDER},
    },
    "targets": [{"target": str, "status": str, "detail": str}],
    "printed": str,
}


def _ours(name: str, minutes: float) -> tuple[Callable, Callable]:
    from simulacra import TabularSynthesizer

    params: dict[str, Any] = {
        "trees": {},
        "autoregressive": {"max_minutes": minutes},
        "autoregressive_dp": {"epsilon": EPSILON, "delta": DELTA, "max_minutes": minutes},
        "diffusion": {"max_minutes": minutes},
        "gan": {"max_minutes": minutes},
    }[name]
    model = "trees" if name == "trees" else name.removesuffix("_dp")
    return (
        lambda df: TabularSynthesizer(model, seed=SEED, **params).fit(df),
        lambda m, n: m.sample(n),
    )


def _ctgan(epochs: int) -> tuple[Callable, Callable]:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer

    def fit(df: pd.DataFrame) -> Any:
        md = Metadata.detect_from_dataframes({"adult": df})
        synth = CTGANSynthesizer(md, epochs=epochs, enforce_rounding=True)
        synth.fit({"adult": df})
        return synth

    def sample(m: Any, n: int) -> pd.DataFrame:
        out = m.sample(num_rows=n)
        return out["adult"] if isinstance(out, dict) else out

    return fit, sample


def run_child(name: str, workdir: Path, args: argparse.Namespace) -> None:
    """Fit one contender in this (child) process; write NAME.parquet and NAME.json."""
    warnings.filterwarnings("ignore")
    result: dict[str, Any] = {"name": name, "status": "ok"}
    try:
        from simulacra.datasets import load_adult

        train = load_adult("train")
        t0 = time.perf_counter()
        try:
            if name == "mostlyai_argn":
                fit, sample = _contender(name, workdir, args.argn_minutes)
            elif name == "sdv_ctgan":
                fit, sample = _ctgan(args.ctgan_epochs)
            else:
                fit, sample = _ours(name, args.deep_minutes)
        except Exception as exc:
            result.update(status="unavailable", error=f"{type(exc).__name__}: {exc}")
            return
        result["import_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        model = fit(train)
        result["fit_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        syn = sample(model, len(train))
        result["sample_s"] = time.perf_counter() - t0
        result["n_synthetic"] = len(syn)
        result["peak_mb"] = _peak_mb()
        inner = getattr(model, "model_", None)
        if inner is not None and hasattr(inner, "report_"):
            rep = inner.report_
            result["training"] = rep.to_dict() if hasattr(rep, "to_dict") else rep
            result["privacy"] = getattr(inner, "privacy_", None)
        result["cap_minutes"], result["cap_hit"] = _cap(name, args, result)
        _write_sample(syn, workdir / f"{name}.parquet")
    except Exception as exc:
        result.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    finally:
        (workdir / f"{name}.json").write_text(json.dumps(result, indent=2, default=str))


def _cap(name: str, args: argparse.Namespace, result: dict[str, Any]) -> tuple[float | None, bool | None]:
    """The training-time cap a contender ran under and whether it was hit (None: no cap / not known)."""
    if name == "mostlyai_argn":
        # TabularARGN reports no stop reason here: its fit (analyse + encode + train) reaching the
        # cap means its training ran into it
        return args.argn_minutes, result["fit_s"] >= args.argn_minutes * 60
    if name in DEEP:
        training = result.get("training")
        stopped = (
            training.get("stopped") if isinstance(training, dict) else getattr(training, "stopped", None)
        )
        return args.deep_minutes, None if stopped is None else stopped == "time"
    return None, None  # trees (no cap) and CTGAN (an epoch budget, no time cap)


PROCESS_LIMIT_S = 2400  # a wall-clock guard on each contender's process (fit, sample and scoring)


def spawn(name: str, workdir: Path, args: argparse.Namespace, timeout_s: float) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        name,
        "--workdir",
        str(workdir),
        "--argn-minutes",
        str(args.argn_minutes),
        "--ctgan-epochs",
        str(args.ctgan_epochs),
        "--deep-minutes",
        str(args.deep_minutes),
    ]
    log = workdir / f"{name}.log"
    t0 = time.perf_counter()
    try:
        with log.open("w") as fh:
            rc = subprocess.run(
                cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout_s, check=False
            ).returncode
    except subprocess.TimeoutExpired:
        rc = None
    out = workdir / f"{name}.json"
    res = json.loads(out.read_text()) if out.exists() else {"name": name, "status": "error"}
    res["child_wall_s"] = time.perf_counter() - t0
    if rc != 0 and res["status"] == "ok":
        res["status"] = "error"
    if res["status"] != "ok":
        res.setdefault("error", "timed out" if rc is None else f"exit status {rc}")
        res["log_tail"] = log.read_text(errors="replace").splitlines()[-30:]
    return res


def table(main: dict[str, Any]) -> list[str]:
    headers = [
        "contender",
        "fidelity (test)",
        "fidelity (train)",
        "TSTR AUC (ratio)",
        "identical matches",
        "DCR share (p)",
        "fit s",
        "sample s",
        "peak MB",
    ]
    ref = main["reference"]
    rows = [
        [
            REFERENCE_LABEL,
            f"{ref['fidelity_test']:.4f} (train rows)",
            f"{ref['fidelity_train']:.4f}",
            f"{ref['auc_real']:.4f} (TRTR)",
            f"{ref['identical_match_share']:.4f}",
            "",
            "",
            "",
            "",
        ]
    ]
    for name, r in main["contenders"].items():
        label = CONTENDERS[name]
        if r["status"] != "ok":
            rows.append([label, f"{r['status']}: {str(r.get('error'))[:60]}", *[""] * 7])
            continue
        m = r["metrics"]
        u, d = m["utility"], m["dcr"]
        rows.append(
            [
                label,
                f"{m['fidelity_test']:.4f}",
                f"{m['fidelity']['overall']:.4f}",
                f"{u['auc_synthetic']:.4f} ({u['ratio']:.3f})",
                f"{m['identical_match_share']:.4f}",
                f"{d['share_closer_to_train']:.3f} (p={d['p_value']:.2g})",
                f"{r['fit_s']:.1f}" + (" (cap hit)" if r.get("cap_hit") else ""),
                f"{r['sample_s']:.1f}",
                f"{r['peak_mb']:.0f}",
            ]
        )
    return _markdown(headers, rows)


def targets(main: dict[str, Any]) -> list[dict[str, Any]]:
    c = main["contenders"]
    out: list[dict[str, Any]] = []

    def add(name: str, ok: bool | None, detail: str) -> None:
        out.append(
            {"target": name, "status": "SKIP" if ok is None else ("PASS" if ok else "FAIL"), "detail": detail}
        )

    def ok(k: str) -> bool:
        return c.get(k, {}).get("status") == "ok"

    def fid(k: str) -> float:
        return c[k]["metrics"]["fidelity_test"]

    def auc(k: str) -> float:
        return c[k]["metrics"]["utility"]["auc_synthetic"]

    ar, argn, ctgan = "autoregressive", "mostlyai_argn", "sdv_ctgan"
    if ok(ar) and ok(argn):
        gap = fid(argn) - fid(ar)
        add(
            "autoregressive fidelity within 0.01 of TabularARGN",
            gap <= ARGN_FIDELITY_GAP,
            f"{fid(ar):.4f} vs ARGN {fid(argn):.4f} (gap {gap:+.4f})",
        )
        ratio = c[argn]["fit_s"] / c[ar]["fit_s"]
        add(
            "autoregressive fit time <= TabularARGN's",
            c[ar]["fit_s"] <= c[argn]["fit_s"],
            f"{c[ar]['fit_s']:.1f} s vs ARGN {c[argn]['fit_s']:.1f} s (ARGN / ours = {ratio:.2f}x)",
        )
    else:
        add("autoregressive vs TabularARGN", None, "a contender did not run")
    if ok(ctgan):
        if ok(ar):
            add(
                "autoregressive beats CTGAN on fidelity",
                fid(ar) > fid(ctgan),
                f"{fid(ar):.4f} vs {fid(ctgan):.4f}",
            )
            add(
                "autoregressive beats CTGAN on TSTR AUC",
                auc(ar) > auc(ctgan),
                f"{auc(ar):.4f} vs {auc(ctgan):.4f}",
            )
            t_ar = c[ar]["fit_s"] + c[ar]["sample_s"]
            t_ct = c[ctgan]["fit_s"] + c[ctgan]["sample_s"]
            add(
                "autoregressive beats CTGAN on time",
                t_ar < t_ct,
                f"{t_ar:.1f} s vs {t_ct:.1f} s (CTGAN / ours = {t_ct / t_ar:.1f}x)",
            )
        for k in ("diffusion", "gan"):
            if ok(k):
                add(f"{k} beats CTGAN on fidelity", fid(k) > fid(ctgan), f"{fid(k):.4f} vs {fid(ctgan):.4f}")
    else:
        add("against CTGAN", None, "CTGAN did not run")
    if ok("autoregressive_dp"):
        p = c["autoregressive_dp"].get("privacy") or {}
        add(
            f"DP (ε={EPSILON:g}, δ={DELTA:g}) fidelity >= {DP_FIDELITY}",
            fid("autoregressive_dp") >= DP_FIDELITY,
            f"{fid('autoregressive_dp'):.4f} (against train "
            f"{c['autoregressive_dp']['metrics']['fidelity']['overall']:.4f}); "
            f"ε spent {p.get('epsilon_spent')}",
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--deep-minutes",
        type=float,
        default=10.0,
        help="training-time cap of every simulacra network (autoregressive, DP, diffusion, GAN)",
    )
    p.add_argument(
        "--argn-minutes",
        type=float,
        default=None,
        help="TabularARGN max_training_time (default and minimum: --deep-minutes, the budget our models get)",
    )
    p.add_argument("--ctgan-epochs", type=int, default=100, help="SDV CTGAN epochs (SDV default 300)")
    p.add_argument("--only", help="comma-separated contenders")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.argn_minutes is None or args.argn_minutes < args.deep_minutes:
        args.argn_minutes = args.deep_minutes  # an anchor gets at least the budget our models get
    if args.child:
        run_child(args.child, args.workdir, args)
        return 0
    run = Run(__file__, PACKAGES, SCHEMA)

    from simulacra.datasets import ADULT_TARGET, load_adult
    from simulacra.evaluation.tabular.fidelity import accuracy
    from simulacra.evaluation.tabular.privacy import identical_match_share
    from simulacra.evaluation.tabular.utility import tstr_auc

    started = datetime.now(UTC)
    train, holdout = load_adult("train"), load_adult("test")
    reference = {
        "fidelity_train": float(accuracy(train, holdout)["overall"]),
        "fidelity_test": float(accuracy(holdout, train)["overall"]),
        "auc_real": tstr_auc(train, train, holdout, ADULT_TARGET)["auc_real"],
        "identical_match_share": identical_match_share(train, holdout),
    }
    names = args.only.split(",") if args.only else list(CONTENDERS)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="simulacra_deep_") as tmp:
        workdir = Path(tmp)
        for name in names:
            print(f"[deep] {CONTENDERS[name]} ...", flush=True)
            res = spawn(name, workdir, args, timeout_s=PROCESS_LIMIT_S)
            if res["status"] == "ok":
                syn = pd.read_parquet(workdir / f"{name}.parquet")
                res["metrics"] = _score(train, holdout, syn, len(syn))
                res["metrics"]["fidelity_test"] = float(accuracy(holdout, syn)["overall"])
                fid_test = res["metrics"]["fidelity_test"]
                print(f"[deep]   fit {res['fit_s']:.1f} s, fidelity (test) {fid_test:.4f}", flush=True)
            else:
                print(f"[deep]   {res['status']}: {res.get('error')}", flush=True)
                print("\n".join(res.get("log_tail", [])), flush=True)
            results[name] = res
    main_res = {
        "n_train": len(train),
        "n_holdout": len(holdout),
        "reference": reference,
        "contenders": results,
    }
    checks = targets(main_res)
    lines = [
        "",
        f"UCI Adult: fit on {len(train):,} rows, sample {len(train):,}; fidelity accuracy against the "
        f"{len(holdout):,}-row test split (and the training split), TSTR AUC on the test split",
        "",
    ]
    lines += table(main_res)
    lines += ["", "Targets (issue #7):"] + [f"  [{t['status']}] {t['target']}: {t['detail']}" for t in checks]
    m = _machine()
    lines += [
        "",
        f"settings: training-time cap {args.deep_minutes} min for every simulacra network, "
        f"{args.argn_minutes} min for TabularARGN; CTGAN {args.ctgan_epochs} epochs (SDV default 300, no "
        f"training-time cap); every contender's process is stopped after {PROCESS_LIMIT_S / 60:.0f} min of "
        "wall time ('timed out'); '(cap hit)' marks a fit that ran into its cap",
        f"machine: {m['cpu_count']} CPUs ({m['cpu_model']}), {m['memory_gb']:.1f} GB, shared with other "
        "jobs; " + ", ".join(f"{k} {v}" for k, v in _versions().items() if v),
        f"wall time: {(datetime.now(UTC) - started).total_seconds():.0f} s",
    ]
    text = "\n".join(lines)
    print(text)
    report = {
        "args": {
            "deep_minutes": args.deep_minutes,
            "argn_minutes": args.argn_minutes,
            "ctgan_epochs": args.ctgan_epochs,
            "only": args.only,
        },
        "machine": m,
        "main": main_res,
        "targets": checks,
        "printed": text,
    }
    run.write(args.output, json.loads(json.dumps(report, default=str)))
    print(f"\nresults written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
