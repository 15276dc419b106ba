"""Tabular benchmark: simulacra side by side with SDV and MOSTLY AI's open engine on UCI Adult.

Run from the repository root::

    python benchmarks/tabular.py              # full run: main comparison + stress part
    python benchmarks/tabular.py --quick      # no TabularARGN, DCR on 5,000 synthetic rows
    python benchmarks/tabular.py --skip-argn  # everything but TabularARGN
    python benchmarks/tabular.py --no-stress  # main comparison only
    python benchmarks/tabular.py --stress     # stress part only

Main part: every contender is fitted on Adult's training split (32,561 rows) and samples as many rows,
each in its own child process (this script re-invoked with ``--child NAME``) so that time and peak
memory are its own. The child writes its sample to a parquet file and its timings to JSON; this
process scores the samples with simulacra's evaluation modules (fidelity, TSTR utility on the real
test split, identical matches, DCR) and checks the targets of the issue.

Stress part (simulacra's default model only): a 200,000-row table with a 100,000-value categorical
column, a 2,000 x 220 table, and a table with datetime columns; again one child process per case.

All numbers go to ``benchmarks/results/tabular.json``, with provenance (``benchmarks/provenance.py``).
See ``benchmarks/README.md``. Budgets: simulacra's models run without a time cap, and so does
TabularARGN unless ``--argn-minutes`` sets one; a fit that ran into a cap is marked "(cap hit)".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from provenance import Opt, Run

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "tabular.json"
SEED = 0

# contender key -> printed label (order = table order)
CONTENDERS = {
    "simulacra": 'simulacra default ("trees")',
    "simulacra_copula": 'simulacra "copula"',
    "sdv_gaussian_copula": "SDV GaussianCopula",
    "mostlyai_argn": "MOSTLY AI TabularARGN",
}
REFERENCE_LABEL = "real holdout (reference)"

# the targets (checked for simulacra's default model)
TARGET_FIDELITY = 0.975
TARGET_UTILITY_RATIO = 0.98
TARGET_DCR_SHARE = 0.52
TARGET_ARGN_SPEEDUP = 20.0
TARGET_SAMPLE_ROWS_PER_S = 500_000
TARGET_PEAK_MB = 1024.0  # 1 GB, as MiB like every memory figure here

THROUGHPUT_ROWS = 1_000_000
QUICK_METRIC_ROWS = 5_000
# TabularARGN's max_training_time. simulacra's own models here run without a time cap, so by default
# neither does the anchor (None: the engine's own default, i.e. it stops when its validation loss does)
DEFAULT_ARGN_MINUTES: float | None = None
PACKAGES = (
    "sdv",
    "mostlyai-engine",
    "mostlyai-qa",
    "torch",
    "numpy",
    "pandas",
    "scikit-learn",
    "pyarrow",
    "psutil",
)

# stress cases: key -> (description, column-kind overrides passed to fit, None = inferred)
STRESS_CASES = {
    "high_cardinality": ("200,000 rows, 'product' with 100,000 distinct values (kind inferred)", None),
    "wide": ("2,000 rows x 220 columns (150 numeric, 70 categorical, 5 latent factors)", None),
    "datetime": ("100,000 rows with datetime (seconds), date and numeric columns", None),
}


# ==================================================================================================
# child process: fit one contender, sample, measure
# ==================================================================================================


def _peak_mb() -> float:
    """Peak resident memory of this process (and of any process it started and waited for), in MiB.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss`` alone: Linux carries a process's maxrss over fork + exec,
    so a child would report at least the parent's RSS at spawn time (here the parent holds the data and
    the scored samples). ``VmHWM`` in /proc/self/status is the high-water mark of the memory map made
    at exec, i.e. of this interpreter only. Grandchildren count via RUSAGE_CHILDREN (their inherited
    floor is this process's RSS, which VmHWM already bounds).
    """
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return max(int(line.split()[1]) / 1024.0, kids)
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, kids)  # not Linux


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _contender(name: str, workdir: Path, argn_minutes: float | None) -> tuple[Callable, Callable]:
    """Import the contender's library and return ``(fit(df) -> model, sample(model, n) -> df)``."""
    if name in ("simulacra", "simulacra_copula"):
        from simulacra import TabularSynthesizer

        model = "trees" if name == "simulacra" else "copula"
        return (
            lambda df: TabularSynthesizer(model, seed=SEED).fit(df),
            lambda m, n: m.sample(n),
        )

    if name == "sdv_gaussian_copula":
        from sdv.metadata import Metadata
        from sdv.single_table import GaussianCopulaSynthesizer

        # sdv 2.0: Metadata.detect_from_dataframes only (no detect_from_dataframe); fit() takes
        # {table_name: frame} and sample() returns {table_name: frame}. Detection counts as fitting.
        def fit(df: pd.DataFrame) -> Any:
            md = Metadata.detect_from_dataframes({"adult": df})
            synth = GaussianCopulaSynthesizer(md)
            synth.fit({"adult": df})
            return synth

        def sample(m: Any, n: int) -> pd.DataFrame:
            out = m.sample(num_rows=n)
            return out["adult"] if isinstance(out, dict) else out

        return fit, sample

    if name == "mostlyai_argn":
        # mostlyai-engine 2.7.3 is installed with --no-deps, so xgrammar, torchvision and torchaudio
        # (used by its LLM path) are absent. The import below and the tabular fit/sample do not need
        # them (checked: `import mostlyai.engine` works and TabularARGN fits), so no stub modules
        # are inserted. If the import fails anyway, the child reports ARGN as unavailable.
        from mostlyai.engine import TabularARGN

        budget = {} if argn_minutes is None else {"max_training_time": argn_minutes}

        def fit(df: pd.DataFrame) -> Any:
            return TabularARGN(
                **budget,
                device="cpu",
                random_state=SEED,
                workspace_dir=workdir / "argn_workspace",
                verbose=0,
            ).fit(df)

        return fit, lambda m, n: m.sample(n_samples=n)

    raise ValueError(f"unknown contender {name!r}")


_METRICS = {
    "fidelity": {"overall": float, "univariate": float, "bivariate": float},
    "utility": {"*": Any},  # simulacra.evaluation.tabular.utility.tstr_auc's dict
    "identical_match_share": float,
    "dcr": {"*": Any},  # simulacra.evaluation.tabular.privacy.dcr's dict
}
_CHILD = {
    "name": str,
    "status": str,
    "error": Opt(str),
    "traceback": Opt(str),
    "log_tail": Opt([str]),
    "child_wall_s": float,
    "n_train": Opt(int),
    "rss_after_load_mb": Opt(float),
    "import_s": Opt(float),
    "rss_after_import_mb": Opt(float),
    "fit_s": Opt(float),
    "sample_s": Opt(float),
    "n_synthetic": Opt(int),
    "peak_mb": Opt(float),
    "kinds": Opt({"*": str}),
    "throughput": Opt({"rows": int, "seconds": float, "rows_per_s": float, "peak_mb": float}),
}
# what this script writes under "results" (checked on write and by tests/test_results_files.py)
SCHEMA = {
    "args": {
        "quick": bool,
        "skip_argn": bool,
        "argn_minutes": (float, None),
        "throughput_rows": int,
        "stress": bool,
        "no_stress": bool,
        "output": str,
    },
    "machine": {
        "cpu_count": int,
        "cpus_usable": int,
        "cpu_model": str,
        "memory_gb": float,
        "platform": str,
        "python": str,
    },
    "main": Opt(
        {
            "n_train": int,
            "n_holdout": int,
            "dcr_rows": int,
            "reference": {
                "fidelity": {"overall": float, "univariate": float, "bivariate": float},
                "auc_real": float,
                "identical_match_share": float,
            },
            "contenders": {
                "*": (
                    {**_CHILD, "cap_minutes": (float, None), "cap_hit": bool, "metrics": Opt(_METRICS)},
                    {"name": str, "status": str, "error": str},
                )
            },
        }
    ),
    "targets": Opt([{"target": str, "status": str, "detail": str, "value": Opt((float, int, None))}]),
    "stress": Opt(
        {
            "*": {
                **_CHILD,
                "description": str,
                "checks": Opt({"*": Any}),
                "shape": Opt([int]),
            }
        }
    ),
    "printed": str,
}


def _write_sample(df: pd.DataFrame, path: Path) -> None:
    df.reset_index(drop=True).to_parquet(path, index=False)


def run_child(name: str, workdir: Path, argn_minutes: float | None, throughput_rows: int) -> None:
    """Entry point of a child process; writes ``NAME.parquet`` (the sample) and ``NAME.json``."""
    warnings.filterwarnings("ignore")
    result: dict[str, Any] = {"name": name, "status": "ok"}
    out_json = workdir / f"{name}.json"
    try:
        stress = name.startswith("stress_")
        if stress:
            case = name.removeprefix("stress_")
            train = pd.read_parquet(workdir / f"stress_input_{case}.parquet")
            overrides = STRESS_CASES[case][1]
        else:
            from simulacra.datasets import load_adult

            train = load_adult("train")
        result["n_train"] = len(train)
        result["rss_after_load_mb"] = _rss_mb()

        t0 = time.perf_counter()
        try:
            if stress:
                from simulacra import TabularSynthesizer

                fit = lambda df: TabularSynthesizer(seed=SEED).fit(df, overrides=overrides)  # noqa: E731
                sample = lambda m, n: m.sample(n)  # noqa: E731
            else:
                fit, sample = _contender(name, workdir, argn_minutes)
        except Exception as exc:  # missing optional dependency and the like
            result.update(
                status="unavailable", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
            )
            return
        result["import_s"] = time.perf_counter() - t0
        result["rss_after_import_mb"] = _rss_mb()

        t0 = time.perf_counter()
        model = fit(train)
        result["fit_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        syn = sample(model, len(train))
        result["sample_s"] = time.perf_counter() - t0
        result["n_synthetic"] = len(syn)
        result["peak_mb"] = _peak_mb()  # before anything else allocates
        if stress:
            result["kinds"] = {c: s.kind.value for c, s in model.schema_.columns.items()}
        _write_sample(syn, workdir / f"{name}.parquet")

        if name == "simulacra" and throughput_rows > 0:
            del syn
            t0 = time.perf_counter()
            big = sample(model, throughput_rows)
            seconds = time.perf_counter() - t0
            result["throughput"] = {
                "rows": len(big),
                "seconds": seconds,
                "rows_per_s": len(big) / seconds,
                "peak_mb": _peak_mb(),
            }
    except Exception as exc:
        result.update(status="error", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    finally:
        out_json.write_text(json.dumps(result, indent=2))


def spawn_child(name: str, workdir: Path, args: argparse.Namespace, timeout_s: float) -> dict[str, Any]:
    """Run ``name`` in a fresh interpreter; return its JSON (plus the log tail on failure)."""
    log = workdir / f"{name}.log"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        name,
        "--workdir",
        str(workdir),
        *([] if args.argn_minutes is None else ["--argn-minutes", str(args.argn_minutes)]),
        "--throughput-rows",
        str(args.throughput_rows),
    ]
    t0 = time.perf_counter()
    try:
        with log.open("w") as fh:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        rc = None
    wall = time.perf_counter() - t0
    out = workdir / f"{name}.json"
    result = json.loads(out.read_text()) if out.exists() else {"name": name, "status": "error"}
    result["child_wall_s"] = wall
    if rc != 0 and result["status"] == "ok":
        result["status"] = "error"
    if result["status"] != "ok":
        if rc is None:
            result.setdefault("error", f"timed out after {timeout_s:.0f} s")
        elif rc != 0:
            result.setdefault("error", f"child exited with status {rc}")
        result["log_tail"] = log.read_text(errors="replace").splitlines()[-40:]
    return result


# ==================================================================================================
# main comparison on Adult
# ==================================================================================================


def _score(train: pd.DataFrame, holdout: pd.DataFrame, syn: pd.DataFrame, dcr_rows: int) -> dict[str, Any]:
    from simulacra.datasets import ADULT_TARGET
    from simulacra.evaluation.tabular.fidelity import accuracy
    from simulacra.evaluation.tabular.privacy import dcr, identical_match_share
    from simulacra.evaluation.tabular.utility import tstr_auc

    acc = accuracy(train, syn)
    d = dcr(train, holdout, syn, max_rows=min(dcr_rows, len(syn)))
    return {
        "fidelity": {k: float(acc[k]) for k in ("overall", "univariate", "bivariate")},
        "utility": tstr_auc(train, syn, holdout, ADULT_TARGET),
        "identical_match_share": identical_match_share(train, syn),
        "dcr": d,
    }


def run_main(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from simulacra.datasets import ADULT_TARGET, load_adult
    from simulacra.evaluation.tabular.fidelity import accuracy
    from simulacra.evaluation.tabular.privacy import identical_match_share
    from simulacra.evaluation.tabular.utility import tstr_auc

    train, holdout = load_adult("train"), load_adult("test")
    dcr_rows = QUICK_METRIC_ROWS if args.quick else len(train)

    # real holdout as the reference: what fresh, real records score
    acc = accuracy(train, holdout)
    reference = {
        "fidelity": {k: float(acc[k]) for k in ("overall", "univariate", "bivariate")},
        "auc_real": tstr_auc(train, train, holdout, ADULT_TARGET)["auc_real"],
        "identical_match_share": identical_match_share(train, holdout),
    }

    results: dict[str, Any] = {}
    for name, label in CONTENDERS.items():
        if name == "mostlyai_argn" and (args.skip_argn or args.quick):
            results[name] = {"name": name, "status": "skipped", "error": "--skip-argn / --quick"}
            print(f"[bench] {label}: skipped", flush=True)
            continue
        print(f"[bench] {label}: fitting on {len(train):,} rows in a child process ...", flush=True)
        cap = args.argn_minutes if name == "mostlyai_argn" else None
        timeout = (cap or 60) * 60 + 900 if name == "mostlyai_argn" else 1800
        res = spawn_child(name, workdir, args, timeout)
        # simulacra's models have no time cap; TabularARGN reports no stop reason, so its fit (analyse,
        # encode, train) reaching the cap counts as having hit it
        res["cap_minutes"] = cap
        res["cap_hit"] = bool(cap is not None and res.get("fit_s", 0.0) >= cap * 60)
        if res["status"] == "ok":
            print(
                f"[bench]   fit {res['fit_s']:.2f} s, sample {res['sample_s']:.2f} s, "
                f"peak {res['peak_mb']:.0f} MB; scoring ...",
                flush=True,
            )
            syn = pd.read_parquet(workdir / f"{name}.parquet")
            res["metrics"] = _score(train, holdout, syn, dcr_rows)
        else:
            print(f"[bench]   {res['status']}: {res.get('error')}", flush=True)
            if res.get("traceback"):
                print(res["traceback"], flush=True)
            elif res.get("log_tail"):
                print("\n".join(res["log_tail"]), flush=True)
        results[name] = res
    return {
        "n_train": len(train),
        "n_holdout": len(holdout),
        "dcr_rows": dcr_rows,
        "reference": reference,
        "contenders": results,
    }


def _fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def _markdown(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return [line(headers), sep, *(line(r) for r in rows)]


def main_table(main: dict[str, Any]) -> list[str]:
    headers = [
        "contender",
        "fidelity",
        "utility AUC (ratio)",
        "identical-match share",
        "DCR share (p)",
        "fit s",
        "sample s",
        "sample rows/s",
        "peak MB",
    ]
    ref = main["reference"]
    rows = [
        [
            REFERENCE_LABEL,
            f"{ref['fidelity']['overall']:.4f}",
            f"{ref['auc_real']:.4f} (TRTR)",
            f"{ref['identical_match_share']:.4f}",
            "n/a",
            "",
            "",
            "",
            "",
        ]
    ]
    for name, label in CONTENDERS.items():
        r = main["contenders"][name]
        if r["status"] != "ok":
            rows.append([label, f"{r['status']}: {str(r.get('error', ''))[:60]}", "", "", "", "", "", "", ""])
            continue
        m = r["metrics"]
        u, d = m["utility"], m["dcr"]
        rows.append(
            [
                label,
                f"{m['fidelity']['overall']:.4f}",
                f"{u['auc_synthetic']:.4f} ({u['ratio']:.3f})",
                f"{m['identical_match_share']:.4f}",
                f"{d['share_closer_to_train']:.3f} (p={d['p_value']:.2g})",
                f"{r['fit_s']:.2f}" + (" (cap hit)" if r.get("cap_hit") else ""),
                f"{r['sample_s']:.2f}",
                f"{r['n_synthetic'] / r['sample_s']:,.0f}",
                f"{r['peak_mb']:.0f}",
            ]
        )
    return _markdown(headers, rows)


def check_targets(main: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, for simulacra's default model; status PASS / FAIL / SKIP."""
    c = main["contenders"]
    sim = c["simulacra"]
    checks: list[dict[str, Any]] = []

    def add(name: str, ok: bool | None, detail: str, value: float | None = None) -> None:
        status = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
        checks.append({"target": name, "status": status, "detail": detail, "value": value})

    if sim["status"] != "ok":
        add("simulacra default runs", False, str(sim.get("error")))
        return checks
    m = sim["metrics"]
    fid, u, d = m["fidelity"]["overall"], m["utility"], m["dcr"]
    ims, ims_ref = m["identical_match_share"], main["reference"]["identical_match_share"]
    add(f"fidelity >= {TARGET_FIDELITY}", fid >= TARGET_FIDELITY, f"{fid:.4f}", fid)
    add(
        f"utility AUC ratio >= {TARGET_UTILITY_RATIO}",
        u["ratio"] >= TARGET_UTILITY_RATIO,
        f"{u['ratio']:.4f} (synthetic {u['auc_synthetic']:.4f} / real {u['auc_real']:.4f})",
        u["ratio"],
    )
    add("identical-match share <= holdout's", ims <= ims_ref, f"{ims:.4f} vs holdout {ims_ref:.4f}", ims)
    add(
        f"DCR share closer to train <= {TARGET_DCR_SHARE}",
        d["share_closer_to_train"] <= TARGET_DCR_SHARE,
        f"{d['share_closer_to_train']:.4f} (p={d['p_value']:.2g}, n={d['n_synthetic']:,})",
        d["share_closer_to_train"],
    )

    sim_time = sim["fit_s"] + sim["sample_s"]
    sdv = c["sdv_gaussian_copula"]
    if sdv["status"] == "ok":
        sdv_time = sdv["fit_s"] + sdv["sample_s"]
        add(
            "fit+sample time <= SDV GaussianCopula's",
            sim_time <= sdv_time,
            f"simulacra {sim_time:.2f} s vs SDV {sdv_time:.2f} s -> SDV / simulacra = "
            f"{sdv_time / sim_time:.1f}x",
            sdv_time / sim_time,
        )
    else:
        add("fit+sample time <= SDV GaussianCopula's", None, f"SDV {sdv['status']}: {sdv.get('error')}")
    argn = c["mostlyai_argn"]
    if argn["status"] == "ok":
        argn_time = argn["fit_s"] + argn["sample_s"]
        ratio = argn_time / sim_time
        add(
            f">= {TARGET_ARGN_SPEEDUP:.0f}x faster than TabularARGN",
            ratio >= TARGET_ARGN_SPEEDUP,
            f"ARGN {argn_time:.1f} s vs simulacra {sim_time:.2f} s -> ARGN / simulacra = {ratio:.0f}x",
            ratio,
        )
    else:
        add(
            f">= {TARGET_ARGN_SPEEDUP:.0f}x faster than TabularARGN",
            None,
            f"ARGN {argn['status']}: {argn.get('error')}",
        )
    tp = sim.get("throughput")
    if tp:
        add(
            f"sampling >= {TARGET_SAMPLE_ROWS_PER_S:,} rows/s",
            tp["rows_per_s"] >= TARGET_SAMPLE_ROWS_PER_S,
            f"{tp['rows']:,} rows in {tp['seconds']:.2f} s = {tp['rows_per_s']:,.0f} rows/s "
            f"(peak {tp['peak_mb']:.0f} MB while holding them)",
            tp["rows_per_s"],
        )
    else:
        add(f"sampling >= {TARGET_SAMPLE_ROWS_PER_S:,} rows/s", None, "throughput run disabled")
    add(
        "peak memory <= 1 GB",
        sim["peak_mb"] <= TARGET_PEAK_MB,
        f"{sim['peak_mb']:.0f} MB (fit + sample of {sim['n_synthetic']:,} rows, whole process)",
        sim["peak_mb"],
    )
    return checks


# ==================================================================================================
# stress part (simulacra default only)
# ==================================================================================================


def make_stress_inputs(workdir: Path) -> None:
    rng = np.random.default_rng(SEED)

    # (a) 200k rows; every one of 100k product ids appears at least once, the rest are zipf draws
    n, k = 200_000, 100_000
    ranks = np.concatenate([rng.permutation(k), np.minimum(rng.zipf(1.3, n - k) - 1, k - 1)])
    ranks = rng.permutation(ranks)
    price = np.round(np.exp(5.0 - 0.25 * np.log1p(ranks) + rng.normal(0, 0.3, n)), 2)
    qty = rng.poisson(1 + 2 * (ranks < 100), n) + 1
    pd.DataFrame(
        {
            "product": pd.Series(ranks).map(lambda r: f"P{r:06d}"),
            "price": price,
            "quantity": qty,
            "amount": np.round(price * qty * rng.uniform(0.9, 1.0, n), 2),
            "channel": rng.choice(["web", "store", "phone"], n, p=[0.6, 0.3, 0.1]),
        }
    ).to_parquet(workdir / "stress_input_high_cardinality.parquet", index=False)

    # (b) 2,000 x 220: 150 numeric + 70 categorical columns driven by 5 latent factors
    n, f = 2_000, 5
    z = rng.normal(size=(n, f))
    cols: dict[str, Any] = {}
    for j in range(150):
        x = z @ rng.normal(size=f) + rng.normal(0, 1.0, n)
        cols[f"num_{j:03d}"] = (
            np.round(x * 10 + 50, 1) if j % 3 else np.round(np.exp(x / 2) * 100).astype(int)
        )
    for j in range(70):
        x = z @ rng.normal(size=f) + rng.normal(0, 1.0, n)
        levels = 3 + j % 6
        codes = np.digitize(x, np.quantile(x, np.linspace(0, 1, levels + 1)[1:-1]))
        cols[f"cat_{j:03d}"] = np.array([f"L{j}_{c}" for c in range(levels)])[codes]
    pd.DataFrame(cols).to_parquet(workdir / "stress_input_wide.parquet", index=False)

    # (c) datetimes: signup (second resolution), last_login after signup, a date-only column
    n = 100_000
    start = np.datetime64("2015-01-01T00:00:00")
    signup = start + rng.integers(0, 9 * 365 * 86_400, n).astype("timedelta64[s]")
    plan = rng.choice(["free", "basic", "pro"], n, p=[0.6, 0.3, 0.1])
    active_days = rng.gamma(2.0, 60.0, n) * np.where(plan == "pro", 3, 1)
    pd.DataFrame(
        {
            "signup": signup.astype("datetime64[ns]"),
            "last_login": (signup + (active_days * 86_400).astype("timedelta64[s]")).astype("datetime64[ns]"),
            "birth_date": pd.to_datetime(
                np.datetime64("1950-01-01") + rng.integers(0, 50 * 365, n).astype("timedelta64[D]")
            ),
            "plan": plan,
            "spend": np.round(rng.gamma(2.0, 20.0, n) * np.where(plan == "free", 0.1, 1.0), 2),
        }
    ).to_parquet(workdir / "stress_input_datetime.parquet", index=False)


def _stress_checks(case: str, train: pd.DataFrame, syn: pd.DataFrame) -> dict[str, Any]:
    from simulacra.evaluation.tabular.fidelity import accuracy

    out: dict[str, Any] = {"fidelity": float(accuracy(train, syn)["overall"])}
    if case.startswith("high_cardinality"):
        out["product_distinct_train"] = int(train["product"].nunique())
        out["product_distinct_synthetic"] = int(syn["product"].nunique())
        out["product_share_seen_in_train"] = float(syn["product"].isin(set(train["product"])).mean())
    elif case == "wide":
        num = [c for c in train.columns if c.startswith("num_")]
        diff = np.abs(train[num].corr().to_numpy() - syn[num].astype(float).corr().to_numpy())
        out["numeric_corr_mean_abs_diff"] = float(np.nanmean(diff[np.triu_indices(len(num), 1)]))
    elif case == "datetime":
        for col in ("signup", "last_login", "birth_date"):
            s = syn[col]
            out[f"{col}_dtype"] = str(s.dtype)
            if pd.api.types.is_datetime64_any_dtype(s):
                out[f"{col}_within_train_range"] = bool(
                    s.min() >= train[col].min() and s.max() <= train[col].max()
                )
        if all(pd.api.types.is_datetime64_any_dtype(syn[c]) for c in ("signup", "last_login")):
            ok = syn["last_login"] >= syn["signup"]
            out["last_login_after_signup_share"] = float(
                ok[syn[["signup", "last_login"]].notna().all(axis=1)].mean()
            )
    return out


def run_stress(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    print("[bench] stress part: building inputs ...", flush=True)
    make_stress_inputs(workdir)
    results: dict[str, Any] = {}
    for case, (desc, _) in STRESS_CASES.items():
        print(f"[bench] stress {case}: {desc} ...", flush=True)
        res = spawn_child(f"stress_{case}", workdir, args, timeout_s=1800)
        res["description"] = desc
        if res["status"] == "ok":
            train = pd.read_parquet(workdir / f"stress_input_{case}.parquet")
            syn = pd.read_parquet(workdir / f"stress_{case}.parquet")
            res["checks"] = _stress_checks(case, train, syn)
            res["shape"] = list(train.shape)
            print(
                f"[bench]   fit {res['fit_s']:.2f} s, sample {res['sample_s']:.2f} s, "
                f"peak {res['peak_mb']:.0f} MB",
                flush=True,
            )
        else:
            print(f"[bench]   {res['status']}: {res.get('error')}", flush=True)
            print(res.get("traceback") or "\n".join(res.get("log_tail", [])), flush=True)
        results[case] = res
    return results


def stress_table(stress: dict[str, Any]) -> list[str]:
    headers = ["case", "rows x cols", "fit s", "sample s", "sample rows/s", "peak MB", "fidelity", "notes"]
    rows = []
    for case, r in stress.items():
        if r["status"] != "ok":
            rows.append([case, "", "", "", "", "", "", f"{r['status']}: {str(r.get('error'))[:80]}"])
            continue
        ch = r["checks"]
        if case.startswith("high_cardinality"):
            note = (
                f"product kind {r['kinds']['product']}; distinct {ch['product_distinct_synthetic']:,} "
                f"(train {ch['product_distinct_train']:,}); seen in train "
                f"{ch['product_share_seen_in_train']:.1%}"
            )
        elif case == "wide":
            learned = sum(k in ("integer", "float", "categorical", "boolean") for k in r["kinds"].values())
            note = (
                f"{learned} columns learned; numeric corr mean |diff| {ch['numeric_corr_mean_abs_diff']:.3f}"
            )
        else:
            note = ", ".join(
                f"{c} {r['kinds'][c]}/{ch.get(f'{c}_dtype')}"
                f"{' in range' if ch.get(f'{c}_within_train_range') else ''}"
                for c in ("signup", "last_login", "birth_date")
            )
            if "last_login_after_signup_share" in ch:
                note += f"; last_login >= signup {ch['last_login_after_signup_share']:.1%}"
        rows.append(
            [
                case,
                f"{r['shape'][0]:,} x {r['shape'][1]}",
                f"{r['fit_s']:.2f}",
                f"{r['sample_s']:.2f}",
                f"{r['n_synthetic'] / r['sample_s']:,.0f}",
                f"{r['peak_mb']:.0f}",
                f"{ch['fidelity']:.4f}",
                note,
            ]
        )
    return _markdown(headers, rows)


# ==================================================================================================
# driver
# ==================================================================================================


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for pkg in ("simulacra", *PACKAGES):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _machine() -> dict[str, Any]:
    import psutil

    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": psutil.virtual_memory().total / 2**30,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"skip TabularARGN and compute DCR on {QUICK_METRIC_ROWS:,} synthetic rows",
    )
    p.add_argument("--skip-argn", action="store_true", help="skip MOSTLY AI TabularARGN")
    p.add_argument(
        "--argn-minutes",
        type=float,
        default=DEFAULT_ARGN_MINUTES,
        help="TabularARGN max_training_time in minutes (default: none, like simulacra's own models)",
    )
    p.add_argument(
        "--throughput-rows",
        type=int,
        default=THROUGHPUT_ROWS,
        help="rows for simulacra's sampling throughput run (default %(default)s; 0 = off)",
    )
    part = p.add_mutually_exclusive_group()
    part.add_argument("--stress", action="store_true", help="run only the stress part")
    part.add_argument("--no-stress", action="store_true", help="skip the stress part")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        run_child(args.child, args.workdir, args.argn_minutes, args.throughput_rows)
        return 0

    run = Run(__file__, PACKAGES, SCHEMA)
    started = datetime.now(UTC)
    report: dict[str, Any] = {
        "args": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("child", "workdir")
        },
        "machine": _machine(),
    }
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="simulacra_bench_") as tmp:
        workdir = Path(tmp)
        if not args.stress:
            main_res = run_main(args, workdir)
            report["main"] = main_res
            report["targets"] = check_targets(main_res)
            n = main_res["n_train"]
            lines += [
                "",
                f"UCI Adult: fit on {n:,} training rows, sample {n:,} rows; scored against the "
                f"{main_res['n_holdout']:,}-row test split (DCR on {main_res['dcr_rows']:,} synthetic rows)",
                "",
            ]
            lines += main_table(main_res)
            lines += ["", 'Targets (simulacra default, model "trees"):']
            lines += [f"  [{t['status']}] {t['target']}: {t['detail']}" for t in report["targets"]]
        if not args.no_stress:
            report["stress"] = run_stress(args, workdir)
            lines += ["", "Stress (simulacra default, one child process per case):", ""]
            lines += stress_table(report["stress"])
            over = [
                c
                for c, r in report["stress"].items()
                if r["status"] == "ok" and r["peak_mb"] > TARGET_PEAK_MB
            ]
            verdict = "exceeded by " + ", ".join(over) if over else "all cases"
            lines.append(f"  stress peak memory <= 1 GB: {verdict}")

    m = report["machine"]
    lines += [
        "",
        f"machine: {m['cpu_count']} CPUs ({m['cpu_model']}), {m['memory_gb']:.1f} GB; "
        + ", ".join(f"{k} {v}" for k, v in _versions().items() if v),
        f"wall time: {(datetime.now(UTC) - started).total_seconds():.0f} s",
    ]
    text = "\n".join(lines)
    print(text)
    report["printed"] = text
    run.write(args.output, json.loads(json.dumps(report, default=str)))
    print(f"\nresults written to {args.output}")
    # a missed target is a result, not an error; exit non-zero only if simulacra itself failed
    sim = report.get("main", {}).get("contenders", {}).get("simulacra", {"status": "ok"})
    stress_failed = any(r["status"] != "ok" for r in report.get("stress", {}).values())
    return 1 if sim["status"] != "ok" or stress_failed else 0


if __name__ == "__main__":
    sys.exit(main())
