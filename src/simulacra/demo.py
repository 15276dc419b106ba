"""``simulacra demo``: the main job end to end on bundled real data, offline.

Fits the default synthesizer on UCI Adult's train split, samples as many rows, and checks them
against the real test split held out from training: fidelity, train-synthetic/test-real utility and
privacy, each beside the same score for the real holdout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .datasets import ADULT_TARGET, load_adult
from .errors import UsageError
from .io import write_table
from .tabular import TabularSynthesizer


def run_demo(
    out_dir: Path,
    seed: int = 0,
    quiet: bool = False,
    console: Console | None = None,
    progress: Callable | None = None,
) -> dict:
    """Run the demo, write its outputs under ``out_dir`` and return the measured numbers."""
    from .evaluate.fidelity import accuracy
    from .evaluate.privacy import dcr, identical_match_share
    from .evaluate.utility import tstr_auc

    console = console or Console()
    say = (lambda *_a, **_k: None) if quiet else console.print
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: exists and is not a folder; choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    train, holdout = load_adult("train"), load_adult("test")
    say(
        f"UCI Adult census data: {len(train):,} training rows, {len(holdout):,} held out (never shown to "
        "the model)"
    )
    t0 = time.perf_counter()
    synth = TabularSynthesizer(seed=seed)
    with progress(None, "learning") if progress else _null() as step:
        synth.fit(train, progress=lambda _m: step())
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    with progress(len(train), "sampling") if progress else _null() as step:
        syn = synth.sample(len(train), seed=seed, progress=step)
    sample_s = time.perf_counter() - t1
    synth.save(out_dir / "model")
    write_table(syn, out_dir / "synthetic.csv")

    say("checking the synthetic rows against the real holdout ...")
    fid_syn, fid_real = accuracy(train, syn)["overall"], accuracy(train, holdout)["overall"]
    util = tstr_auc(train, syn, holdout, ADULT_TARGET, seed=seed)
    priv = dcr(train, holdout, syn, max_rows=len(syn), seed=seed)
    ims_syn, ims_real = identical_match_share(train, syn), identical_match_share(train, holdout)
    metrics = {
        "rows": {"train": len(train), "holdout": len(holdout), "synthetic": len(syn)},
        "seconds": {"fit": round(fit_s, 3), "sample": round(sample_s, 3)},
        "fidelity_accuracy": {"synthetic": fid_syn, "real_holdout": fid_real},
        "utility_auc": {
            "trained_on_synthetic": util["auc_synthetic"],
            "trained_on_real": util["auc_real"],
            "ratio": util["ratio"],
        },
        "privacy": {
            "identical_match_share": {"synthetic": ims_syn, "real_holdout": ims_real},
            "dcr_share_closer_to_train": priv["share_closer_to_train"],
            "dcr_p_value": priv["p_value"],
        },
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))

    table = Table(title="synthetic Adult vs the real holdout (the reference)")
    for col in ("check", "synthetic", "real holdout", "verdict"):
        table.add_column(col)
    ok = "[green]pass[/]"
    table.add_row(
        "fidelity: 1 − TVD, columns and pairs",
        f"{fid_syn:.3f}",
        f"{fid_real:.3f}",
        ok if fid_syn >= fid_real - 0.02 else "[yellow]warn[/]",
    )
    table.add_row(
        "utility: ROC-AUC on real holdout",
        f"{util['auc_synthetic']:.3f}",
        f"{util['auc_real']:.3f}",
        ok if util["ratio"] >= 0.95 else "[yellow]warn[/]",
    )
    table.add_row(
        "privacy: rows identical to a training row",
        f"{ims_syn:.2%}",
        f"{ims_real:.2%}",
        ok if ims_syn <= ims_real else "[red]fail[/]",
    )
    table.add_row(
        "privacy: share closer to train than holdout",
        f"{priv['share_closer_to_train']:.3f}",
        "0.500",
        ok if priv["share_closer_to_train"] <= 0.52 else "[yellow]warn[/]",
    )
    say(table)
    say(f"fit {fit_s:.1f}s, sampled {len(syn):,} rows in {sample_s:.2f}s")
    say(
        f"look at: {out_dir}/synthetic.csv (the data), {out_dir}/metrics.json (every number), "
        f"{out_dir}/model/ (reuse: simulacra sample {out_dir}/model -n 1000 --out more.csv)"
    )
    return metrics


class _null:
    def __enter__(self):  # noqa: ANN204
        return lambda *_: None

    def __exit__(self, *_):  # noqa: ANN002, ANN204
        return False
