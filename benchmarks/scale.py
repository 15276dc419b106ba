"""Scale-out benchmark: the payments pack on one process, two local processes and two Ray workers.

Run from the repository root (needs ``pip install 'simulacra[ray]'``)::

    python benchmarks/scale.py                 # 10M transactions (plus customers, accounts, cards, merchants)
    python benchmarks/scale.py --rows 2000000  # a quick run

One run, in this order: ``run_rules("payments", N)`` on this process (``--engine local``), on two
local processes (``--workers 2``), then on a local Ray started with two CPUs (``--engine ray``;
Ray's start-up is timed apart, as a cluster is normally already running). The three outputs are
compared file by file (SHA-256). Every unit records how long it ran inside its worker; from those:

- **Ray overhead** = (wall time on Ray − ideal time) / wall time on Ray, where the ideal time is the
  busiest worker's unit time plus the job's serial part (planning, assembling) measured on one process.
- **Scaling model**: ``T(W) = serial + ceil(U / W) * unit + U * overhead_per_unit / W`` for ``U`` units
  of the default chunk (1M rows), fitted on this run, predicting rows per second on 8, 64 and 512
  workers for 1 billion transactions. Assumptions are printed with it.

Then the **whole process a user waits for**: ``simulacra rules payments -n N --out DIR`` run as a
command, timed from start to exit (interpreter start-up, imports, Ray's start-up and its workers'
imports included), for one process, ``--workers 2`` and ``--engine ray --workers 2``, at several job
sizes (``--sizes``), and the smallest size at which Ray's whole process beat one process.

Results go to ``benchmarks/results/scale.json``, with provenance (``benchmarks/provenance.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from provenance import Run

from simulacra.rules.writer import RulesJob

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
TARGETS = {"ray_speedup": 1.7, "ray_overhead": 0.05}
PACKAGES = ("ray", "numpy", "pyarrow")
ENGINES = {
    "1 process": [],
    "2 processes": ["--workers", "2"],
    "Ray, 2 CPUs": ["--engine", "ray", "--workers", "2"],
}

_RUN = {
    "wall_s": float,
    "plan_s": float,
    "finish_s": float,
    "units": int,
    "unit_s": [float],
    "busy_by_worker_s": [float],
    "digest": str,
}
_PREDICTION = {"seconds": float, "rows_per_s": float}
# what this script writes under "results" (checked on write and by tests/test_results_files.py)
SCHEMA = {
    "args": {"rows": int, "seed": int, "sizes": [int]},
    "result": {
        "runs": {
            "local-1": _RUN,
            "local-2": _RUN,
            "ray-2": _RUN,
            "ray_start_s": float,
            "ray_warm_up_s": float,
        },
        "rows_transactions": int,
        "rows_all_tables": int,
    },
    "speedup_local_2": float,
    "speedup_ray_2": float,
    "identical": bool,
    "model": {
        "unit_s": float,
        "serial_s_this_run": float,
        "serial_s_1b": float,
        "ray_overhead_share": float,
        "ray_overhead_per_unit_s": float,
        "predictions_1b_transactions": {"*": _PREDICTION},
        "assumptions": [str],
    },
    "whole_process": {"*": {"*": {"wall_s": float, "returncode": int}}},
    "ray_pays_off_from_rows": (int, None),
    "targets": {"ray_speedup": float, "ray_overhead": float},
}


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class TimedRulesJob(RulesJob):
    """The rules job, with each unit's time inside its worker recorded in the manifest."""

    def run_unit(self, unit: int, staging: Path) -> list[dict[str, Any]]:
        start = time.perf_counter()
        entries = super().run_unit(unit, staging)
        seconds = time.perf_counter() - start
        return [{**e, "seconds": seconds, "pid": os.getpid()} for e in entries]

    def finish(self, staging: Path, out: Path, entries: dict[int, list[dict[str, Any]]]) -> Any:
        start = time.perf_counter()
        result = super().finish(staging, out, entries)
        self.finish_seconds = time.perf_counter() - start
        self.unit_log = {u: (e[0]["seconds"], e[0]["pid"]) for u, e in entries.items()}
        return result


def _warm_up() -> int:
    """Import the generator in a Ray worker (what a long-running cluster's workers have done already)."""
    import simulacra.rules.writer  # noqa: F401

    time.sleep(0.5)  # hold the CPU so the next warm-up task lands on the other worker
    return os.getpid()


def run(rows: int, seed: int, work: Path) -> dict[str, Any]:
    """Time the three engines on the same job; return every number."""
    from simulacra.rules import load_spec, plan
    from simulacra.rules.generate import probe
    from simulacra.scale import connect_ray, run_job

    spec = load_spec("payments", {})
    runs: dict[str, Any] = {}
    for name, engine, workers in (("local-1", "local", 1), ("local-2", "local", 2), ("ray-2", "ray", 2)):
        if engine == "ray":
            start = time.perf_counter()
            ray = connect_ray(workers)
            runs["ray_start_s"] = time.perf_counter() - start
            start = time.perf_counter()
            warm = ray.remote(num_cpus=1)(_warm_up)
            ray.get([warm.remote() for _ in range(workers)])
            runs["ray_warm_up_s"] = time.perf_counter() - start
        out = work / name
        start = time.perf_counter()
        p = plan(spec, rows, seed)
        probe(spec, p.seed)
        job = TimedRulesJob("payments", {}, rows, "parquet", 1, p)
        plan_s = time.perf_counter() - start
        run_job(job, out, engine, workers)
        wall = time.perf_counter() - start
        busy: dict[int, float] = {}
        for seconds, pid in job.unit_log.values():
            busy[pid] = busy.get(pid, 0.0) + seconds
        runs[name] = {
            "wall_s": wall,
            "plan_s": plan_s,
            "finish_s": job.finish_seconds,
            "units": len(job.unit_log),
            "unit_s": sorted(s for s, _ in job.unit_log.values()),
            "busy_by_worker_s": sorted(busy.values(), reverse=True),
            "digest": _digest(out),
        }
        print(
            f"{name:8s} wall {wall:7.2f} s  ({len(busy)} worker(s) busy {sum(busy.values()):.2f} s)",
            flush=True,
        )
    rows_all = sum(plan(spec, rows, seed).rows(t) for t in spec.tables)
    return {"runs": runs, "rows_transactions": rows, "rows_all_tables": rows_all}


def scaling_model(result: dict[str, Any]) -> dict[str, Any]:
    """Fit ``T(W) = serial + ceil(U/W) * unit + U * o / W`` on this run and predict bigger clusters."""
    one, ray = result["runs"]["local-1"], result["runs"]["ray-2"]
    serial = one["plan_s"] + one["finish_s"]
    # most units are a full 1M-transaction chunk; the median skips the first unit's warm-up and the
    # small units of the customers and merchants roots
    unit = statistics.median(one["unit_s"])
    ideal = ray["plan_s"] + ray["finish_s"] + ray["busy_by_worker_s"][0]
    overhead_share = max(0.0, (ray["wall_s"] - ideal) / ray["wall_s"])
    per_unit_overhead = max(0.0, ray["wall_s"] - ideal) * 2 / ray["units"]
    rows_per_unit = 1_000_000
    total_rows = 1_000_000_000
    units = total_rows // rows_per_unit
    # serial planning grows with the number of chunks (child counts are drawn per chunk)
    serial_big = serial * units / max(1, math.ceil(result["rows_transactions"] / rows_per_unit))
    predictions = {}
    for w in (1, 2, 8, 64, 512):
        t = serial_big + math.ceil(units / w) * unit + units * per_unit_overhead / w
        predictions[w] = {"seconds": t, "rows_per_s": total_rows / t}
    return {
        "unit_s": unit,
        "serial_s_this_run": serial,
        "serial_s_1b": serial_big,
        "ray_overhead_share": overhead_share,
        "ray_overhead_per_unit_s": per_unit_overhead,
        "predictions_1b_transactions": predictions,
        "assumptions": [
            "one worker per core, each unit a 1M-transaction chunk with its customers/accounts/cards",
            "the output folder is shared storage fast enough for every worker (no bandwidth limit)",
            "Ray's per-task overhead stays what it was here; the driver plans and assembles alone",
            "assembling Parquet parts is a rename per part (no copy), so it grows with the part count",
        ],
    }


def whole_process(sizes: list[int], seed: int, work: Path) -> dict[str, dict[str, Any]]:
    """Wall time of ``simulacra rules payments -n N`` as a command, per size and engine."""
    cli = [sys.executable, "-m", "simulacra.cli.main"] if not shutil.which("simulacra") else ["simulacra"]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    out: dict[str, dict[str, Any]] = {}
    for rows in sizes:
        out[str(rows)] = {}
        for name, extra in ENGINES.items():
            target = work / f"whole-{rows}-{len(extra)}"
            cmd = [
                *cli,
                "rules",
                "payments",
                "-n",
                str(rows),
                "--out",
                str(target),
                "--seed",
                str(seed),
                *extra,
            ]
            start = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - start
            shutil.rmtree(target, ignore_errors=True)
            out[str(rows)][name] = {"wall_s": wall, "returncode": proc.returncode}
            print(f"  whole process, {rows:>11,} transactions, {name:12s} {wall:7.2f} s", flush=True)
    return out


def pays_off(whole: dict[str, dict[str, Any]]) -> int | None:
    """The smallest size from which Ray's whole process beat one process at every measured size."""
    sizes = sorted(whole, key=int)
    for i, rows in enumerate(sizes):
        if all(whole[r]["Ray, 2 CPUs"]["wall_s"] < whole[r]["1 process"]["wall_s"] for r in sizes[i:]):
            return int(rows)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="transactions (default 10,000,000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--sizes",
        default="1000000,3000000,10000000",
        help="transactions per whole-process run, comma-separated (default 1M, 3M, 10M)",
    )
    ap.add_argument("--output", type=Path, default=RESULTS)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    prov = Run(__file__, PACKAGES, SCHEMA)
    work = Path(tempfile.mkdtemp(prefix="simulacra-scale-"))
    try:
        result = run(args.rows, args.seed, work)
        import ray

        ray.shutdown()  # the commands below must start their own Ray, as a user's would
        whole = whole_process(sizes, args.seed, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    runs = result["runs"]
    same = runs["local-1"]["digest"] == runs["local-2"]["digest"] == runs["ray-2"]["digest"]
    model = scaling_model(result)
    speed_local = runs["local-1"]["wall_s"] / runs["local-2"]["wall_s"]
    speed_ray = runs["local-1"]["wall_s"] / runs["ray-2"]["wall_s"]
    print()
    print(f"payments: {args.rows:,} transactions, {result['rows_all_tables']:,} rows in all tables")
    for name in ("local-1", "local-2", "ray-2"):
        r = runs[name]
        rate = result["rows_all_tables"] / r["wall_s"]
        print(f"  {name:8s} {r['wall_s']:7.2f} s  {rate:12,.0f} rows/s  ({r['units']} units)")
    print(
        f"  Ray start-up {runs['ray_start_s']:.2f} s and worker warm-up (import simulacra) "
        f"{runs['ray_warm_up_s']:.2f} s, not in the job time"
    )
    print(f"speed-up, 2 local processes vs 1: {speed_local:.2f}x")
    print(
        f"speed-up, 2 Ray workers vs 1 local process: {speed_ray:.2f}x (target >= {TARGETS['ray_speedup']})"
    )
    print(f"identical outputs (1 process, 2 processes, Ray): {same} ({len(runs['ray-2']['digest'])} files)")
    print(
        f"Ray overhead: {model['ray_overhead_share']:.1%} of the job time "
        f"(target < {TARGETS['ray_overhead']:.0%}); {model['ray_overhead_per_unit_s'] * 1000:.0f} ms per unit"
    )
    print(
        f"scaling model (1B transactions, unit {model['unit_s']:.2f} s, serial {model['serial_s_1b']:.1f} s):"
    )
    for w, pred in model["predictions_1b_transactions"].items():
        print(f"  {w:4d} workers: {pred['seconds']:9.1f} s  {pred['rows_per_s']:14,.0f} transactions/s")
    for runs_ in runs.values():
        if isinstance(runs_, dict):
            runs_["digest"] = hashlib.sha256(json.dumps(runs_["digest"], sort_keys=True).encode()).hexdigest()
    payoff = pays_off(whole)
    print(
        "whole process (start-up, imports, Ray start-up and worker imports included): Ray beat one process "
        + (f"from {payoff:,} transactions on" if payoff else "at none of the sizes measured")
    )
    record = {
        "args": {"rows": args.rows, "seed": args.seed, "sizes": sizes},
        "result": result,
        "speedup_local_2": speed_local,
        "speedup_ray_2": speed_ray,
        "identical": same,
        "model": model,
        "whole_process": whole,
        "ray_pays_off_from_rows": payoff,
        "targets": {k: float(v) for k, v in TARGETS.items()},
    }
    prov.write(args.output, record)
    print(f"written: {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")


if __name__ == "__main__":
    main()
