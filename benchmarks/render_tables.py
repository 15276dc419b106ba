"""Render the number tables of README.md and benchmarks/README.md from benchmarks/results/*.json.

Run from the repository root::

    python benchmarks/render_tables.py           # rewrite every table between its markers
    python benchmarks/render_tables.py --check   # exit 1 when a README differs from what the files give

A table lives between ``<!-- table:NAME -->`` and ``<!-- /table:NAME -->``; everything between the two
markers is replaced by ``TABLES[NAME]`` rendered from the results files. No number in those tables is
typed by hand: ``tests/test_results_files.py`` re-renders them and fails on any difference. A results
file that is not in ``benchmarks/results/`` (for example one kept in ``results/legacy/``, written
before provenance was recorded) is never rendered: its table says so and gives the command to rerun.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
READMES = (ROOT / "README.md", HERE / "README.md")
MARKER = re.compile(r"(<!-- table:(?P<name>[a-z0-9_]+) -->\n)(?P<body>.*?)(<!-- /table:(?P=name) -->)", re.S)

# expensive benchmarks not rerun since provenance recording began: the command that reruns each
RERUN = {
    "deep": "python benchmarks/deep.py",
    "sequences": "python benchmarks/sequences.py",
    "text_generation": "python benchmarks/text_generation.py",
    "text_eval": "python benchmarks/text_eval.py",
}


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    doc = json.loads(path.read_text()) if path.exists() else None
    return doc if isinstance(doc, dict) and "provenance" in doc else None  # no provenance: not rendered


def _script(name: str) -> ModuleType:
    """Import ``benchmarks/NAME.py`` (for its own table formatters)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def provenance_line(doc: dict[str, Any]) -> str:
    """One line saying when, how and under what load a results file was written."""
    p = doc["provenance"]
    commit = (p["git_commit"] or "unknown")[:10] + (" (uncommitted changes)" if p["git_dirty"] else "")
    cmd = " ".join(["python", *p["command"][1:]])
    load = lambda xs: ", ".join(f"{x:.1f}" for x in xs)  # noqa: E731
    return (
        f"_Run {p['started_utc']} to {p['finished_utc']}: `{cmd}` at commit {commit}, "
        f"{p['cpu_count']} CPUs, load average (1, 5, 15 min) {load(p['load_average_start'])} at start and "
        f"{load(p['load_average_end'])} at end._"
    )


def not_rerun(name: str) -> list[str]:
    """The printed output of a rerun, or the text that stands where its numbers would be."""
    doc = _load(name)
    if doc is not None:
        printed = doc["results"].get("printed")
        if printed:
            text = printed if isinstance(printed, str) else "\n".join(printed)
            return ["```text", *text.strip("\n").splitlines(), "```", "", provenance_line(doc)]
        return [f"See `benchmarks/results/{name}.json`.", "", provenance_line(doc)]
    return [
        f"Not rerun since provenance recording began: no `benchmarks/results/{name}.json` yet. The earlier "
        f"run's file is kept in `benchmarks/results/legacy/` and is not rendered. Rerun with "
        f"`{RERUN[name]}`, then `python benchmarks/render_tables.py`."
    ]


def _md(headers: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + [
        "| " + " | ".join(r) + " |" for r in rows
    ]


# ------------------------------------------------------------------------------------------- tables


def t_tabular_headline() -> list[str]:
    doc = _load("tabular")
    if doc is None or "main" not in doc["results"]:
        return [
            "No main comparison in `benchmarks/results/tabular.json`; run `python benchmarks/tabular.py`."
        ]
    main = doc["results"]["main"]
    rows = []
    ref = main["reference"]
    rows.append(
        [
            "real holdout (reference)",
            f"{ref['fidelity']['overall']:.4f}",
            f"{ref['auc_real']:.4f}",
            "n/a (≈ 0.5 expected)",
            "",
        ]
    )
    labels = _script("tabular").CONTENDERS
    for name, r in main["contenders"].items():
        if r["status"] != "ok":
            rows.append([labels.get(name, name), r["status"], "", "", ""])
            continue
        m = r["metrics"]
        cap = " (cap hit)" if r.get("cap_hit") else ""
        rows.append(
            [
                labels.get(name, name),
                f"{m['fidelity']['overall']:.4f}",
                f"{m['utility']['auc_synthetic']:.4f}",
                f"{m['dcr']['share_closer_to_train']:.3f}",
                f"{r['fit_s'] + r['sample_s']:.2f}{cap}",
            ]
        )
    return _md(["UCI Adult", "fidelity", "TSTR ROC-AUC", "DCR share", "fit + sample s"], rows) + [
        "",
        provenance_line(doc),
    ]


def t_tabular_main() -> list[str]:
    doc = _load("tabular")
    if doc is None or "main" not in doc["results"]:
        return [
            "No main comparison in `benchmarks/results/tabular.json`; run `python benchmarks/tabular.py`."
        ]
    tab = _script("tabular")
    res = doc["results"]
    lines = ["```text", *tab.main_table(res["main"]), "", 'Targets (simulacra default, model "trees"):']
    lines += [f"  [{t['status']}] {t['target']}: {t['detail']}" for t in res["targets"]]
    return [*lines, "```", "", provenance_line(doc)]


def t_tabular_stress() -> list[str]:
    doc = _load("tabular")
    if doc is None or "stress" not in doc["results"]:
        return [
            "The last `benchmarks/results/tabular.json` holds no stress part (run "
            "`python benchmarks/tabular.py --stress` or without `--no-stress`)."
        ]
    tab = _script("tabular")
    return ["```text", *tab.stress_table(doc["results"]["stress"]), "```", "", provenance_line(doc)]


def _tune_cell(t: dict) -> str:
    tstr = "n/a" if t["tstr_ratio"] is None else f"{t['tstr_ratio']:.3f}"
    return f"{t['fidelity']:.4f} / {t['dcr_share']:.3f} / {tstr}"


def t_tune_trees() -> list[str]:
    doc = _load("tune_trees")
    if doc is None:
        return ["Not run yet: `python benchmarks/tune_trees.py`."]
    res = doc["results"]
    names = [n for n, t in res["tables"].items() if t["skipped"] is None]
    headers = ["rule", *names, "fidelity mean", "DCR share mean / max", "TSTR ratio mean", "admissible"]
    rows = []
    for rule, v in res["rules"].items():
        cells = [_tune_cell(v["per_table"][n]) for n in names]
        tstr = "n/a" if v["tstr_ratio_mean"] is None else f"{v['tstr_ratio_mean']:.3f}"
        mark = " (fixed rule before)" if rule == res["current_rule"] else ""
        mark += " **chosen**" if rule == res["chosen_rule"] else ""
        rows.append(
            [
                f"`{rule}`{mark}",
                *cells,
                f"{v['fidelity_mean']:.4f}",
                f"{v['dcr_share_mean']:.3f} / {v['dcr_share_max']:.3f}",
                tstr,
                "yes" if v["admissible"] else "no",
            ]
        )
    current = res["rules"][res["current_rule"]]["per_table"]
    holdout = [f"{n} {current[n]['holdout_fidelity']:.4f}" for n in names]
    return _md(headers, rows) + [
        "",
        "Cells: fidelity / DCR share / TSTR ratio, each the mean over folds. Holdout fold's own fidelity "
        "against train: " + ", ".join(holdout) + ".",
        f"Chosen by: {res.get('chosen_by', 'admissible')}.",
        "",
        provenance_line(doc),
    ]


def t_rules() -> list[str]:
    doc = _load("rules")
    if doc is None:
        return ["Not run yet: `python benchmarks/rules.py`."]
    s, t, a = doc["results"]["summary"], doc["results"]["targets"], doc["results"]["args"]
    met = lambda k: "met" if s["met"][k] else "**missed**"  # noqa: E731
    mb, tx = s["memory_mb"], s["memory_mb_transactions_only"]
    small, big = s["memory_rows"]
    rows = [
        [
            "simulacra payments transactions → Parquet, one core",
            f"**{s['simulacra_rows_per_s']:,.0f} rows/s** ({a['rows']:,} rows)",
            f"≥ {t['rows_per_s']:,} — {met('rows_per_s')}",
        ],
        [
            "Mimesis, same 14 columns",
            f"{s['mimesis_rows_per_s'] or 0:,.0f} rows/s → **{s['vs_mimesis']:.1f}×**",
            f"≥ {t['vs_mimesis']}× — {met('vs_mimesis')}",
        ],
        [
            "Faker, same 14 columns",
            f"{s['faker_rows_per_s'] or 0:,.0f} rows/s → **{s['vs_faker']:.1f}×**",
            f"≥ {t['vs_faker']}× — {met('vs_faker')}",
        ],
        [
            f"peak RSS, whole pack, {small:,} vs {big:,} transactions",
            f"{mb[0] or 0:,.0f} MB vs {mb[1] or 0:,.0f} MB → **{s['memory_ratio']:.2f}×**",
            f"≤ {t['memory_ratio']}× — {met('memory_ratio')}",
        ],
        [
            f"peak RSS, transactions table alone, {small:,} vs {big:,}",
            f"{tx[0] or 0:,.0f} MB vs {tx[1] or 0:,.0f} MB → **{s['memory_ratio_transactions_only']:.2f}×**",
            f"≤ {t['memory_ratio']}×",
        ],
    ]
    return _md(["measure", "result", "target"], rows) + ["", provenance_line(doc)]


def t_report() -> list[str]:
    doc = _load("report")
    if doc is None:
        return ["Not run yet: `python benchmarks/report.py`."]
    return ["```text", *doc["results"]["printed"].strip("\n").splitlines(), "```", "", provenance_line(doc)]


def t_scale() -> list[str]:
    doc = _load("scale")
    if doc is None:
        return ["Not run yet: `python benchmarks/scale.py`."]
    res = doc["results"]
    whole = res["whole_process"]
    sizes = sorted(whole, key=int)
    engines = list(whole[sizes[0]])
    rows = [[e, *(f"{whole[s][e]['wall_s']:.1f} s" for s in sizes)] for e in engines]
    payoff = res["ray_pays_off_from_rows"]
    runs, n_all = res["result"]["runs"], res["result"]["rows_all_tables"]
    job = [
        [label, f"{runs[key]['wall_s']:.2f} s", f"{n_all / runs[key]['wall_s']:,.0f}"]
        for key, label in (
            ("local-1", "1 process"),
            ("local-2", "2 local processes"),
            ("ray-2", "2 Ray workers (already started and warm)"),
        )
    ]
    m = res["model"]
    return (
        [
            "Whole process, as a user waits for it (`simulacra rules payments -n N --out DIR [...]`, from "
            "start to exit: interpreter start-up, imports, Ray start-up and its workers' imports included):",
            "",
        ]
        + _md(["engine", *(f"{int(s):,} transactions" for s in sizes)], rows)
        + [
            "",
            (
                f"Ray beat one process from {payoff:,} transactions on (of the sizes measured)."
                if payoff
                else "Ray beat one process at none of the sizes measured: on this machine it did not pay "
                "off up to the largest size tried."
            ),
            "",
            f"Inside one process, the {res['result']['rows_transactions']:,}-transaction job alone "
            f"({n_all:,} rows in all tables; Ray start-up {runs['ray_start_s']:.1f} s and worker warm-up "
            f"{runs['ray_warm_up_s']:.1f} s not counted here):",
            "",
        ]
        + _md(["engine", "job wall", "rows/s"], job)
        + [
            "",
            f"Outputs identical across the three engines: {'yes' if res['identical'] else '**no**'}. "
            f"Ray overhead {m['ray_overhead_share']:.1%} of the job "
            f"({m['ray_overhead_per_unit_s'] * 1000:.0f} ms a unit). "
            f"Scaling model fitted on this run (unit {m['unit_s']:.2f} s per million transactions, serial "
            f"{m['serial_s_1b']:.1f} s for 1,000 units), 1 billion transactions: "
            + ", ".join(
                f"{w} worker{'s' if w != '1' else ''} {p['seconds']:.0f} s"
                for w, p in m["predictions_1b_transactions"].items()
            )
            + ".",
            "",
            provenance_line(doc),
        ]
    )


def t_relational() -> list[str]:
    doc = _load("relational")
    if doc is None:
        return ["Not run yet: `python benchmarks/relational.py`."]
    return ["```text", *doc["results"]["printed"].strip("\n").splitlines(), "```", "", provenance_line(doc)]


def t_images() -> list[str]:
    doc = _load("images")
    if doc is None:
        return ["Not run yet: `python benchmarks/images.py`."]
    return ["```text", *doc["results"]["printed"].strip("\n").splitlines(), "```", "", provenance_line(doc)]


def t_privacy() -> list[str]:
    doc = _load("privacy")
    if doc is None:
        return ["Not run yet: `python benchmarks/privacy.py --anchor-python PATH`."]
    r = doc["results"]
    ref = r["reference"]
    real = ["real test split (reference)", "", f"{ref['fidelity']:.4f}", f"{ref['auc_real']:.3f} (1.000)", ""]
    rows = [real]
    for run in r["runs"].values():
        s = run.get("scores")
        cap = f"{run['cap_s']:.0f} s cap hit" if run.get("cap_hit") else ""
        if s is None:
            rows.append([run["label"], f"{run['epsilon']:g}", run["status"], run.get("error", ""), cap])
            continue
        rows.append(
            [
                run["label"],
                f"{run['epsilon']:g}",
                f"{s['fidelity']:.4f}",
                f"{s['auc_synthetic']:.3f} ({s['tstr_ratio']:.3f})",
                f"{run['fit_s']:.1f}",
            ]
        )
    head = ["contender", "ε (δ = 1e-6)", "fidelity", "TSTR AUC (ratio)", "fit s"]
    targets = ", ".join(
        f"{k.replace('_', ' ')}: {'n/a' if v is None else ('met' if v else 'missed')}"
        for k, v in r["targets"].items()
    )
    return [*_md(head, rows), "", f"Targets: {targets}.", "", provenance_line(doc)]


def t_text_generation() -> list[str]:
    doc = _load("text_generation")
    if doc is None:
        return not_rerun("text_generation")
    r = doc["results"]
    t = r["targets"]
    rows = ["| measure | simulacra | anchor | ratio | target |", "|---|---|---|---|---|"]
    for key, what in (("runner_overhead", "requests/s"), ("runner_overhead_cpu_bound", "requests/s")):
        run = r[key]
        ours, bare = max(run["runner_requests_per_s"]), max(run["bare_client_requests_per_s"])
        rows.append(
            f"| {run['server']}, concurrency {run['concurrency']} ({what}, best of {run['rounds']}) | "
            f"{ours:.1f} | {bare:.1f} (bare asyncio client) | {ours / bare:.3f} | "
            f"≥ {t['runner_vs_bare_client']} |"
        )
    emb = r["embedded"]
    ours, raw = emb["runner"]["tokens_per_s"], emb["raw_llama_cpp_same_requests"]["tokens_per_s"]
    rows.append(
        f"| embedded {emb['model']}, {emb['threads']} thread (tokens/s, same requests) | {ours:.2f} | "
        f"{raw:.2f} (raw llama-cpp-python) | {ours / raw:.3f} | ≥ {t['embedded_vs_raw_llama_cpp']} |"
    )
    f = r["fault_injection"]
    k = f["kill9"]
    rows.append(
        f"| {f['fault_rate']:.0%} faults ({f['faults']}), n={f['n']} | {f['kept']} kept, {f['valid']} valid, "
        f"{f['retries']} retries | | | exactly {t['fault_run_exact_n']} |"
    )
    rows.append(
        f"| kill -9 at {k['lines_at_kill']} lines, then --resume | {k['final_lines']} lines, "
        f"{k['distinct_indices']} distinct, same bytes as uninterrupted: "
        f"{k['same_bytes_as_uninterrupted_run']} | | | no loss, no duplicate |"
    )
    return [*rows, "", provenance_line(doc)]


def t_finetune() -> list[str]:
    doc = _load("finetune")
    if doc is None:
        return ["Not run yet: `python benchmarks/finetune.py`."]
    r = doc["results"]

    def ci(m: dict) -> str:
        lo, hi = m["interval"]
        return f"{m['value']:.3f} [{lo:.3f}, {hi:.3f}]"

    rows = []
    for arm, a in r["arms"].items():
        trained = "none" if not a.get("steps") else f"{a['steps']} steps, {a['train_seconds']:.0f} s"
        if a.get("stopped_by_time_cap"):
            trained += " (time cap hit)"
        rows.append([arm, trained, ci(a["accuracy"]), ci(a["macro_f1"])])
    head = ["arm", "training", "accuracy (95% interval)", "macro-F1 (95% interval)"]
    d = r["data"]
    data = f"{d['seeds']} real seeds, {d['synthetic']} synthetic, {d['holdout']} real held out."
    extra = [f"Inherited mistakes: {r['teacher']['text']}"] if "teacher" in r else []
    extra += [f"Chat (chatterbot-corpus dialogues): {r['chat']['verdict']}"] if "chat" in r else []
    return [*_md(head, rows), "", " ".join([data, r["verdict"], *extra]), "", provenance_line(doc)]


TABLES: dict[str, Callable[[], list[str]]] = {
    "tabular_headline": t_tabular_headline,
    "tabular_main": t_tabular_main,
    "tabular_stress": t_tabular_stress,
    "tune_trees": t_tune_trees,
    "rules": t_rules,
    "report": t_report,
    "scale": t_scale,
    "relational": t_relational,
    "privacy": t_privacy,
    "images": t_images,
    "finetune": t_finetune,
    **{name: (lambda n=name: not_rerun(n)) for name in RERUN},
    "text_generation": t_text_generation,
}


def render(text: str) -> str:
    """``text`` with every marked table re-rendered."""

    def one(m: re.Match) -> str:
        name = m.group("name")
        if name not in TABLES:
            raise KeyError(f"unknown table marker {name!r}; known: {', '.join(TABLES)}")
        return m.group(1) + "\n".join(TABLES[name]()) + "\n" + m.group(4)

    return MARKER.sub(one, text)


def stale() -> list[Path]:
    """READMEs whose tables differ from what the results files give."""
    return [p for p in READMES if render(p.read_text()) != p.read_text()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check; exit 1 when a table is stale")
    args = ap.parse_args(argv)
    if args.check:
        bad = stale()
        for p in bad:
            print(
                f"{p.relative_to(ROOT)}: tables differ from the results files; "
                "run benchmarks/render_tables.py"
            )
        return 1 if bad else 0
    for p in READMES:
        text = p.read_text()
        new = render(text)
        if new != text:
            p.write_text(new)
            print(f"rendered {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
