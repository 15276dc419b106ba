"""Rules benchmark: the ``payments`` pack's transactions against Mimesis and Faker, and its memory.

Run from the repository root::

    python benchmarks/rules.py                      # 5M rows timed, 20k rows of each row-by-row tool,
                                                    # peak memory for 1M vs 100M rows
    python benchmarks/rules.py --big-rows 30000000  # a smaller memory case (less disk)
    python benchmarks/rules.py --quick              # 1M rows timed, 2k rows each, memory 100k vs 1M

Every measurement runs in its own child process (this script re-invoked with ``--child``), pinned to
one core with ``taskset -c 0`` when available and with ``OMP_NUM_THREADS=1`` (and the other BLAS
thread variables) plus ``pyarrow.set_cpu_count(1)``/``set_io_thread_count(1)``. Simulacra's rate is
``simulacra rules payments -n N`` (``run_rules``) into Parquet: all five tables are written, but the
rate counts transactions rows only, over the whole wall time. Mimesis and Faker make the same 14
transaction columns row by row (a Python dict per row), then one DataFrame written to Parquet; their
rate is extrapolated from the smaller row count. Peak memory is ``VmHWM`` of the child that writes
the table (``run_rules``: all five tables) and, separately, of a child that streams the transactions
table alone (``iter_chunks`` + one ``ParquetWriter``, one chunk held at a time). Results go to
``benchmarks/results/rules.json``, with provenance (``benchmarks/provenance.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from provenance import Run

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "rules.json"
TARGETS = {"rows_per_s": 1_000_000, "vs_mimesis": 30, "vs_faker": 300, "memory_ratio": 1.5}
PACKAGES = ("mimesis", "faker", "numpy", "pandas", "pyarrow")

_ERROR = {"error": str}
_TABLES = {"transactions": int, "customers": int, "accounts": int, "cards": int, "merchants": int}
_PACK = {
    "rows": int,
    "all_rows": int,
    "tables": _TABLES,
    "wall_s": float,
    "rows_per_s": float,
    "bytes_on_disk": int,
    "peak_rss_mb": float,
}
_ROW_BY_ROW = {"rows": int, "wall_s": float, "rows_per_s": float, "version": str}
_TX_ONLY = {"rows": int, "wall_s": float, "rows_per_s": float, "peak_rss_mb": float}
# what this script writes under "results" (checked on write and by tests/test_results_files.py)
SCHEMA = {
    "args": {"rows": int, "slow_rows": int, "small_rows": int, "big_rows": int, "quick": bool},
    "pinning": str,
    "columns": [str],
    "targets": {"rows_per_s": int, "vs_mimesis": int, "vs_faker": int, "memory_ratio": float},
    "throughput": {
        "simulacra": (_PACK, _ERROR),
        "mimesis": (_ROW_BY_ROW, _ERROR),
        "faker": (_ROW_BY_ROW, _ERROR),
    },
    "memory": {
        "small": (_PACK, _ERROR),
        "big": (_PACK, _ERROR),
        "transactions_only": {"small": (_TX_ONLY, _ERROR), "big": (_TX_ONLY, _ERROR)},
    },
    "summary": {
        "simulacra_rows_per_s": float,
        "mimesis_rows_per_s": (float, None),
        "faker_rows_per_s": (float, None),
        "vs_mimesis": float,
        "vs_faker": float,
        "memory_rows": [int],
        "memory_mb": [(float, None)],
        "memory_ratio": float,
        "memory_mb_transactions_only": [(float, None)],
        "memory_ratio_transactions_only": float,
        "met": {"rows_per_s": bool, "vs_mimesis": bool, "vs_faker": bool, "memory_ratio": bool},
    },
}
COLUMNS = [
    "txn_id",
    "card_id",
    "merchant_id",
    "mcc",
    "timestamp",
    "amount",
    "currency",
    "channel",
    "txn_type",
    "device_id",
    "ip_country",
    "counterparty_card_id",
    "is_fraud",
    "fraud_type",
]
_MCCS = [5411, 5812, 5814, 5541, 4111, 4511, 7011, 5311, 5732, 5999, 5912, 4814, 5815, 6011, 4829]
_FRAUD = ["card_testing", "account_takeover", "merchant_collusion", "money_mule"]


def _vmhwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _one_thread() -> None:
    import pyarrow as pa

    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


# --------------------------------------------------------------------------------------------------
# Children


def child_simulacra(rows: int, out: Path) -> dict[str, Any]:
    _one_thread()
    from simulacra.rules import run_rules

    t0 = time.perf_counter()
    summary = run_rules("payments", rows, out, 1, None, "parquet", {})
    wall = time.perf_counter() - t0
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    return {
        "rows": summary["transactions"],
        "all_rows": sum(summary.values()),
        "tables": summary,
        "wall_s": wall,
        "rows_per_s": summary["transactions"] / wall,
        "bytes_on_disk": size,
        "peak_rss_mb": _vmhwm_mb(),
    }


def child_transactions_only(rows: int, out: Path) -> dict[str, Any]:
    """Only the transactions table, streamed chunk by chunk into one Parquet file (no other tables)."""
    _one_thread()
    import pyarrow.parquet as pq

    from simulacra.rules import load_spec, plan
    from simulacra.rules.generate import iter_chunks, to_arrow

    spec = load_spec("payments")
    p = plan(spec, rows, 1)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    writer = None
    for table, _k, data in iter_chunks(spec, p, "transactions"):
        arrow = to_arrow(spec, table, data)
        del data  # hold one chunk at a time
        if writer is None:
            writer = pq.ParquetWriter(out / "transactions.parquet", arrow.schema)
        writer.write_table(arrow)
        del arrow
    if writer is not None:
        writer.close()
    wall = time.perf_counter() - t0
    return {"rows": rows, "wall_s": wall, "rows_per_s": rows / wall, "peak_rss_mb": _vmhwm_mb()}


def _write(rows: list[dict[str, Any]], out: Path) -> None:
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=COLUMNS).to_parquet(out / "transactions.parquet")


def child_mimesis(rows: int, out: Path) -> dict[str, Any]:
    _one_thread()
    from mimesis import Address, Choice, Cryptographic, Datetime, Development, Finance, Numeric

    num, choice, dt, fin, crypto, addr, dev = (
        Numeric(seed=1),
        Choice(seed=1),
        Datetime(seed=1),
        Finance(seed=1),
        Cryptographic(seed=1),
        Address(seed=1),
        Development(seed=1),
    )
    t0 = time.perf_counter()
    data = []
    for i in range(rows):
        fraud = dev.boolean() and num.integer_number(0, 49) == 0
        data.append(
            {
                "txn_id": i + 1,
                "card_id": num.integer_number(1, 180_000),
                "merchant_id": num.integer_number(1, 50_000),
                "mcc": choice(items=_MCCS),
                "timestamp": dt.datetime(start=2024, end=2024),
                "amount": num.float_number(0.5, 2000.0, precision=2),
                "currency": fin.currency_iso_code(),
                "channel": choice(items=["pos", "ecom", "atm"]),
                "txn_type": choice(items=["purchase", "refund", "withdrawal", "transfer"]),
                "device_id": crypto.uuid(),
                "ip_country": addr.country_code(),
                "counterparty_card_id": num.integer_number(1, 180_000) if dev.boolean() else None,
                "is_fraud": fraud,
                "fraud_type": choice(items=_FRAUD) if fraud else "none",
            }
        )
    _write(data, out)
    wall = time.perf_counter() - t0
    return {"rows": rows, "wall_s": wall, "rows_per_s": rows / wall, "version": metadata.version("mimesis")}


def child_faker(rows: int, out: Path) -> dict[str, Any]:
    _one_thread()
    from datetime import datetime as dt

    from faker import Faker

    fake = Faker()
    Faker.seed(1)
    start, end = dt(2024, 1, 1), dt(2024, 12, 31, 23, 59, 59)
    t0 = time.perf_counter()
    data = []
    for i in range(rows):
        fraud = fake.pybool(truth_probability=1)
        data.append(
            {
                "txn_id": i + 1,
                "card_id": fake.pyint(1, 180_000),
                "merchant_id": fake.pyint(1, 50_000),
                "mcc": fake.random_element(_MCCS),
                "timestamp": fake.date_time_between(start, end),
                "amount": float(fake.pydecimal(left_digits=4, right_digits=2, positive=True)),
                "currency": fake.currency_code(),
                "channel": fake.random_element(["pos", "ecom", "atm"]),
                "txn_type": fake.random_element(["purchase", "refund", "withdrawal", "transfer"]),
                "device_id": fake.uuid4(),
                "ip_country": fake.country_code(),
                "counterparty_card_id": fake.pyint(1, 180_000) if fake.pybool() else None,
                "is_fraud": fraud,
                "fraud_type": fake.random_element(_FRAUD) if fraud else "none",
            }
        )
    _write(data, out)
    wall = time.perf_counter() - t0
    return {"rows": rows, "wall_s": wall, "rows_per_s": rows / wall, "version": metadata.version("faker")}


CHILDREN = {
    "simulacra": child_simulacra,
    "transactions_only": child_transactions_only,
    "mimesis": child_mimesis,
    "faker": child_faker,
}


# --------------------------------------------------------------------------------------------------
# Parent


def _pin() -> tuple[list[str], str]:
    if shutil.which("taskset"):
        return ["taskset", "-c", "0"], "taskset -c 0 + OMP_NUM_THREADS=1 + pyarrow cpu/io threads 1"
    return [], "OMP_NUM_THREADS=1 + pyarrow cpu/io threads 1 (no taskset)"


def run_child(name: str, rows: int, tmp: Path, pin: list[str]) -> dict[str, Any]:
    out = tmp / f"{name}-{rows}"
    result = tmp / f"{name}-{rows}.json"
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = "1"
    cmd = [*pin, sys.executable, __file__, "--child", name, str(rows), str(out), str(result)]
    print(f"  {name}: {rows:,} rows ...", flush=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        return {
            "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"rc {proc.returncode}"
        }
    return json.loads(result.read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000, help="simulacra rows timed (default 5M)")
    ap.add_argument("--slow-rows", type=int, default=20_000, help="Mimesis / Faker rows (default 20k)")
    ap.add_argument("--small-rows", type=int, default=1_000_000, help="memory: small case (default 1M)")
    ap.add_argument("--big-rows", type=int, default=100_000_000, help="memory: big case (default 100M)")
    ap.add_argument("--quick", action="store_true", help="1M timed, 2k row-by-row, memory 100k vs 1M")
    ap.add_argument("--output", type=Path, default=RESULTS)
    ap.add_argument("--child", nargs=4, metavar=("NAME", "ROWS", "OUT", "RESULT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        name, rows, out, result = args.child
        Path(result).write_text(json.dumps(CHILDREN[name](int(rows), Path(out))))
        return 0
    if args.quick:
        args.rows, args.slow_rows, args.small_rows, args.big_rows = 1_000_000, 2_000, 100_000, 1_000_000
    run = Run(__file__, PACKAGES, SCHEMA)
    pin, pinning = _pin()
    tmp = Path(tempfile.mkdtemp(prefix="simulacra-rules-bench-"))
    free = shutil.disk_usage(tmp).free
    need = args.big_rows * 30  # about 25 bytes per transactions row in Parquet, plus the other tables
    print(f"temp folder {tmp}: {free / 1e9:.1f} GB free, the big case needs about {need / 1e9:.1f} GB")
    if need > 0.8 * free:
        args.big_rows = min(args.big_rows, 30_000_000)
        print(f"  not enough disk: big case reduced to {args.big_rows:,} rows")
    report: dict[str, Any] = {
        "args": {
            "rows": args.rows,
            "slow_rows": args.slow_rows,
            "small_rows": args.small_rows,
            "big_rows": args.big_rows,
            "quick": args.quick,
        },
        "pinning": pinning,
        "columns": COLUMNS,
        "targets": TARGETS,
    }
    try:
        print("throughput (one core):")
        sim = run_child("simulacra", args.rows, tmp, pin)
        mim = run_child("mimesis", args.slow_rows, tmp, pin)
        fak = run_child("faker", args.slow_rows, tmp, pin)
        report["throughput"] = {"simulacra": sim, "mimesis": mim, "faker": fak}
        print("peak memory:")
        small = run_child("simulacra", args.small_rows, tmp, [])
        big = run_child("simulacra", args.big_rows, tmp, [])
        tx_small = run_child("transactions_only", args.small_rows, tmp, [])
        tx_big = run_child("transactions_only", args.big_rows, tmp, [])
        report["memory"] = {
            "small": small,
            "big": big,
            "transactions_only": {"small": tx_small, "big": tx_big},
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rate = sim.get("rows_per_s", float("nan"))
    vs_m = rate / mim.get("rows_per_s", float("nan"))
    vs_f = rate / fak.get("rows_per_s", float("nan"))
    mem = big.get("peak_rss_mb", float("nan")) / small.get("peak_rss_mb", float("nan"))
    tx_mem = tx_big.get("peak_rss_mb", float("nan")) / tx_small.get("peak_rss_mb", float("nan"))
    report["summary"] = {
        "simulacra_rows_per_s": rate,
        "mimesis_rows_per_s": mim.get("rows_per_s"),
        "faker_rows_per_s": fak.get("rows_per_s"),
        "vs_mimesis": vs_m,
        "vs_faker": vs_f,
        "memory_rows": [args.small_rows, args.big_rows],
        "memory_mb": [small.get("peak_rss_mb"), big.get("peak_rss_mb")],
        "memory_ratio": mem,
        "memory_mb_transactions_only": [tx_small.get("peak_rss_mb"), tx_big.get("peak_rss_mb")],
        "memory_ratio_transactions_only": tx_mem,
        "met": {
            "rows_per_s": rate >= TARGETS["rows_per_s"],
            "vs_mimesis": vs_m >= TARGETS["vs_mimesis"],
            "vs_faker": vs_f >= TARGETS["vs_faker"],
            "memory_ratio": mem <= TARGETS["memory_ratio"],
        },
    }
    run.write(args.output, report)
    s = report["summary"]
    print()
    print(f"pinning: {pinning}")
    print(f"simulacra payments transactions -> Parquet: {rate:>12,.0f} rows/s  ({args.rows:,} rows)")
    for tool, ratio in (("mimesis", vs_m), ("faker", vs_f)):
        label = f"{tool.capitalize()}, same 14 columns row by row:"
        print(f"{label:<44}{s[tool + '_rows_per_s'] or 0:>12,.0f} rows/s  ratio {ratio:,.1f}x")
    print(
        f"peak RSS: {args.small_rows:,} rows {s['memory_mb'][0] or 0:,.0f} MB, "
        f"{args.big_rows:,} rows {s['memory_mb'][1] or 0:,.0f} MB, ratio {mem:.2f}"
    )
    print(
        f"peak RSS, transactions table only: {s['memory_mb_transactions_only'][0] or 0:,.0f} MB vs "
        f"{s['memory_mb_transactions_only'][1] or 0:,.0f} MB, ratio {tx_mem:.2f}"
    )
    print(f"targets met: {s['met']}")
    print(f"written to {args.output}")
    return 0 if "error" not in sim else 1


if __name__ == "__main__":
    sys.exit(main())
