"""Sequence benchmark: simulacra's SequenceSynthesizer side by side with SDV's PARSynthesizer.

Run from the repository root::

    python benchmarks/sequences.py                 # both data sets, PAR with its default 128 epochs
    python benchmarks/sequences.py --par-epochs 16 # a quicker, weaker PAR (say so when quoting it)
    python benchmarks/sequences.py --skip-par --output /tmp/seq.json  # simulacra only (a smoke run)

Every score is computed against **held-out** sequences, never against the sequences a model learned
from (a model that replays its training sequences would score perfectly there):

- sktime's ``load_japanese_vowels``: 640 utterances of 7–29 frames, 12 LPC cepstrum channels, the
  speaker (1–9) as context. Utterances are split 80/20 at random (seed 0): both models learn from the
  512 training utterances and sample 512; the 128 held-out utterances are what everything is scored
  against.
- statsmodels ``macrodata``: one quarterly series (1959–2009, 203 quarters, 12 channels), split in
  time. The last 64 quarters (1993Q4–2009Q3) are the holdout, cut into 8 non-overlapping windows of
  8 quarters; the models learn from windows of 8 quarters with stride 1 inside the first 139 quarters
  (no training window reaches into the holdout period) and sample as many windows as they learned
  from. Eight held-out windows make every macrodata score noisy, and a time split scores the
  extrapolation to a later period as well (levels grow): read them beside the reference row.

Scores (:func:`simulacra.evaluation.sequences.compare_sequences` against the holdout): mean KS distance
over per-sequence statistics (length; each channel's mean, std, mean and std of first differences),
autocorrelation difference (lags 1..5) and cross-correlation difference (lags 0..5), lower is better;
and the per-sequence detector's ROC-AUC (a gradient-boosted classifier on the same summaries, from
:func:`simulacra.evaluation.sequences.sequence_section`, separating a model's sequences from held-out
ones on equal-sized samples; 0.5 = indistinguishable). The reference row scores the real training
sequences against the holdout in the same way: what fresh real sequences reach. Targets: the
detector's AUC at most 0.75 (issue #14); simulacra below PAR on the KS score and the autocorrelation
difference, with at most 1/5 of PAR's fit time (issue #8; only when PAR ran).

All numbers go to ``benchmarks/results/sequences.json``, with provenance (``benchmarks/provenance.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from provenance import Opt, Run

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "sequences.json"
SEED = 0
MAX_LAG = 5
FIT_TIME_RATIO = 0.2
DETECTION_TARGET = 0.75
MACRO_WINDOW = 8
MACRO_HOLDOUT_QUARTERS = 64
PACKAGES = ("sdv", "scikit-learn", "numpy", "pandas", "torch", "sktime", "statsmodels")

_SCORE = {
    "ks": float,
    "acf_diff": float,
    "ccf_diff": float,
    "ks_by_stat": {"*": (float, None)},
    "detection_auc": float,
    "sequences": int,
    "events": int,
    "median_length": float,
}
_RUN = {**_SCORE, "fit_s": float, "sample_s": float}
# what this script writes under "results" (checked on write and by tests/test_results_files.py)
SCHEMA = {
    "args": {
        "par_epochs": int,
        "datasets": [str],
        "skip_par": bool,
        "macro_window": int,
        "macro_holdout_quarters": int,
    },
    "datasets": {
        "*": {
            "split": str,
            "train_sequences": int,
            "train_events": int,
            "holdout_sequences": int,
            "holdout_events": int,
            "simulacra": _RUN,
            "par": (_RUN, None),
            "holdout_reference": _SCORE,
            "ratios": ({"ks": float, "acf_diff": float, "ccf_diff": float, "fit_time": float}, None),
            "targets": {"*": bool},
        }
    },
    "printed": [str],
    "all_targets_met": Opt(bool),
}


def load_vowels() -> dict[str, Any]:
    """Japanese vowels in long format, split 80/20 by utterance."""
    from sktime.datasets import load_japanese_vowels

    from simulacra.seeding import derive_rng

    x, y = load_japanese_vowels(return_type="pd-multiindex")
    df = x.reset_index()
    df.columns = ["utterance", "frame"] + [f"c{i}" for i in range(12)]
    df.insert(1, "speaker", np.asarray(y)[df["utterance"].to_numpy()].astype(str))
    ids = derive_rng(SEED).permutation(df["utterance"].nunique())  # the split quoted since issue #8
    cut = int(0.8 * ids.size)
    train = df[df["utterance"].isin(ids[:cut])].reset_index(drop=True)
    holdout = df[df["utterance"].isin(ids[cut:])].reset_index(drop=True)
    return {
        "name": "japanese_vowels",
        "split": "random 80/20 by utterance (seed 0)",
        "train": train,
        "holdout": holdout,
        "key": "utterance",
        "order": "frame",
        "context": ["speaker"],
    }


def load_macro(window: int = MACRO_WINDOW, holdout_quarters: int = MACRO_HOLDOUT_QUARTERS) -> dict[str, Any]:
    """statsmodels macrodata split in time: training windows (stride 1) from the early quarters,
    non-overlapping held-out windows from the last ``holdout_quarters``."""
    import statsmodels.api as sm

    from simulacra.sequences import make_windows

    d = sm.datasets.macrodata.load_pandas().data
    d["date"] = pd.PeriodIndex.from_fields(
        year=d["year"].astype(int), quarter=d["quarter"].astype(int), freq="Q"
    ).to_timestamp()
    d = d.drop(columns=["year", "quarter"]).sort_values("date", kind="stable").reset_index(drop=True)
    cut = len(d) - holdout_quarters
    early, late = d.iloc[:cut], d.iloc[cut:]
    train = make_windows(early, window, stride=1, order_by="date")
    holdout = make_windows(late, window, stride=window, order_by="date")
    assert train["date"].max() < holdout["date"].min()  # no training window reaches the holdout
    first, last = (f"{t.year}Q{t.quarter}" for t in (late["date"].iloc[0], late["date"].iloc[-1]))
    return {
        "name": "macrodata_windows",
        "split": f"time: training windows of {window} quarters (stride 1) before {first}; "
        f"holdout {first}-{last} as non-overlapping windows of {window}",
        "train": train,
        "holdout": holdout,
        "key": "window",
        "order": "date",
        "context": [],
    }


def run_simulacra(ds: dict[str, Any], n: int) -> dict[str, Any]:
    from simulacra.sequences import SequenceSynthesizer

    t0 = time.perf_counter()
    synth = SequenceSynthesizer(seed=SEED).fit(
        ds["train"], ds["key"], order_by=ds["order"], context=ds["context"]
    )
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = synth.sample(n, seed=SEED)
    return {"fit_s": fit_s, "sample_s": time.perf_counter() - t0, "data": out}


def run_par(ds: dict[str, Any], n: int, epochs: int) -> dict[str, Any]:
    from sdv.metadata import Metadata
    from sdv.sequential import PARSynthesizer

    train = ds["train"]
    md = Metadata.detect_from_dataframes({"t": train})
    md.update_column(table_name="t", column_name=ds["key"], sdtype="id")
    for c in ds["context"]:
        md.update_column(table_name="t", column_name=c, sdtype="categorical")
    md.set_sequence_key(table_name="t", column_name=ds["key"])
    md.set_sequence_index(table_name="t", column_name=ds["order"])
    t0 = time.perf_counter()
    par = PARSynthesizer(md, context_columns=ds["context"] or None, epochs=epochs, cuda=False, verbose=False)
    par.fit({"t": train})  # SDV 2.0 takes the one table by name
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = par.sample_sequences(n)
    if isinstance(out, dict):  # SDV 2.0 answers with {table name: frame}
        (out,) = out.values()
    return {"fit_s": fit_s, "sample_s": time.perf_counter() - t0, "data": out}


def score(ds: dict[str, Any], data: pd.DataFrame) -> dict[str, Any]:
    """``data``'s sequences scored against the held-out ones (never against the training sequences)."""
    from simulacra.evaluation.sequences import compare_sequences, sequence_section

    kw = {"sequence_key": ds["key"], "order_by": ds["order"], "context": ds["context"]}
    r = compare_sequences(ds["holdout"], data, max_lag=MAX_LAG, seed=SEED, **kw)
    # The report section with the holdout in its "train" role: its detector then separates ``data``
    # from held-out sequences (equal-sized samples). Only that score is read from it here.
    section = sequence_section(ds["holdout"], ds["train"], data, max_lag=MAX_LAG, seed=SEED, **kw)
    detection = next(x["value"] for x in section["scores"] if x["key"] == "sequence_detection_auc")
    lengths = data.groupby(ds["key"]).size()
    return {
        "ks": r["ks"],
        "acf_diff": r["acf_diff"],
        "ccf_diff": r["ccf_diff"],
        "ks_by_stat": r["ks_by_stat"],
        "detection_auc": float(detection),
        "sequences": int(lengths.size),
        "events": len(data),
        "median_length": float(lengths.median()),
    }


def _fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--par-epochs", type=int, default=128, help="PAR's epochs (default: its default, 128)"
    )
    parser.add_argument(
        "--skip-par", action="store_true", help="Run simulacra only (no PAR, no PAR targets)."
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--datasets", default="japanese_vowels,macrodata_windows", help="Comma-separated data sets to run."
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    run = Run(__file__, PACKAGES, SCHEMA)
    results: dict[str, Any] = {
        "args": {
            "par_epochs": args.par_epochs,
            "skip_par": bool(args.skip_par),
            "macro_window": MACRO_WINDOW,
            "macro_holdout_quarters": MACRO_HOLDOUT_QUARTERS,
        },
        "datasets": {},
    }
    printed: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        printed.append(line)

    ok = True
    loaders = {"japanese_vowels": load_vowels, "macrodata_windows": load_macro}
    chosen = [x.strip() for x in args.datasets.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in loaders]
    if unknown:
        parser.error(f"unknown data set {unknown[0]!r}; choose from {', '.join(loaders)}")
    results["args"]["datasets"] = chosen
    args.output.parent.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        ds = loaders[name]()
        n = int(ds["train"][ds["key"]].nunique())
        n_hold = int(ds["holdout"][ds["key"]].nunique())
        say(f"== {ds['name']}: {n} training sequences, {len(ds['train']):,} events; {n_hold} held out ==")
        say(f"split: {ds['split']}")
        ours = run_simulacra(ds, n)
        say(f"simulacra fitted in {ours['fit_s']:.1f} s, sampled in {ours['sample_s']:.1f} s")
        par = None if args.skip_par else run_par(ds, n, args.par_epochs)
        if par is not None:
            say(f"PAR fitted in {par['fit_s']:.1f} s, sampled in {par['sample_s']:.1f} s")
        s_ours = score(ds, ours["data"])
        s_par = score(ds, par["data"]) if par is not None else None
        ref = score(ds, ds["train"])
        say("scored against the held-out sequences; reference = the real training sequences")
        say(f"{'':28}{'simulacra':>10}{'PAR':>10}{'ratio':>8}{'reference':>11}")
        for key, label in (
            ("ks", "per-sequence stats KS"),
            ("acf_diff", "autocorrelation diff"),
            ("ccf_diff", "cross-correlation diff"),
            ("detection_auc", "detector ROC-AUC"),
        ):
            a = s_ours[key]
            b = s_par[key] if s_par is not None else None
            ratio = a / b if b else None
            say(f"{label:28}{_fmt(a):>10}{_fmt(b):>10}{_fmt(ratio, 2):>8}{_fmt(ref[key]):>11}")
        targets = {"detection_auc_at_most_0.75": s_ours["detection_auc"] <= DETECTION_TARGET}
        ratios = None
        if par is not None:
            say(
                f"{'fit time (s)':28}{ours['fit_s']:>10.1f}{par['fit_s']:>10.1f}"
                f"{ours['fit_s'] / par['fit_s']:>8.3f}"
            )
            targets.update(
                {
                    "ks_below_par": s_ours["ks"] < s_par["ks"],
                    "acf_below_par": s_ours["acf_diff"] < s_par["acf_diff"],
                    "fit_time_at_most_one_fifth": ours["fit_s"] <= FIT_TIME_RATIO * par["fit_s"],
                }
            )
            ratios = {
                "ks": s_ours["ks"] / s_par["ks"],
                "acf_diff": s_ours["acf_diff"] / s_par["acf_diff"],
                "ccf_diff": s_ours["ccf_diff"] / s_par["ccf_diff"],
                "fit_time": ours["fit_s"] / par["fit_s"],
            }
        ok &= all(targets.values())
        say("targets: " + ", ".join(f"{k} {'MET' if v else 'MISSED'}" for k, v in targets.items()))
        say()
        results["datasets"][ds["name"]] = {
            "split": ds["split"],
            "train_sequences": n,
            "train_events": len(ds["train"]),
            "holdout_sequences": n_hold,
            "holdout_events": len(ds["holdout"]),
            "simulacra": {**s_ours, "fit_s": ours["fit_s"], "sample_s": ours["sample_s"]},
            "par": None if par is None else {**s_par, "fit_s": par["fit_s"], "sample_s": par["sample_s"]},
            "holdout_reference": ref,
            "ratios": ratios,
            "targets": targets,
        }
        results["printed"] = printed  # written after every data set, so a long run keeps what it did
        run.write(args.output, results)
    results["all_targets_met"] = bool(ok)
    results["printed"] = printed
    run.write(args.output, results)
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
